"""Disassemble a run of machine code into (address, words, LLVM text) rows, as llvm-objdump -d lists them."""

from __future__ import annotations

from pytest_amdgpu.sim.shader import memspecs, salu, valu  # noqa: F401  (registers operand widths)
from pytest_amdgpu.sim.shader.decoder import decode_words
from pytest_amdgpu.sim.shader.syntax import format_instruction


def disassemble(
    code: bytes, isa_family: str, target: str, address: int = 0, wave_size: int | None = None
) -> list[tuple[int, tuple[int, ...], str]]:
    """Every instruction in `code` (dword aligned), decoded back to back from `address`."""
    words = [int.from_bytes(code[i : i + 4], "little") for i in range(0, len(code) - len(code) % 4, 4)]
    rows = []
    index = 0
    while index < len(words):
        try:
            inst = decode_words(isa_family, target, words[index:], address + 4 * index)
        except ValueError:  # truncated instruction at the end of the code
            rows.append((address + 4 * index, (words[index],), f".long {words[index]:#010x}"))
            index += 1
            continue
        rows.append((inst.pc, inst.words, format_instruction(inst, wave_size)))
        index += len(inst.words)
    return rows
