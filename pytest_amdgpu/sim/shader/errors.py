"""ShaderError: the shader core stopped a dispatch (bad instruction, trap, hang guard, LDS limit)."""

from __future__ import annotations

from pytest_amdgpu.errors import AmdgpuError


class ShaderError(AmdgpuError):
    """A dispatch the shader core cannot (or hardware would not) complete; names the PC and encoding."""

    def __init__(
        self, reason: str, pc: int | None = None, words: tuple[int, ...] = (), text: str = ""
    ) -> None:
        self.reason = reason
        self.pc = pc
        self.words = tuple(words)
        self.text = text
        where = ""
        if pc is not None:
            where = f" at pc {pc:#x}"
            if words:
                where += " [" + " ".join(f"{word:08X}" for word in words) + "]"
            if text:
                where += f" ({text})"
        super().__init__(f"{reason}{where}")
