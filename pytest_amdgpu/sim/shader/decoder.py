"""Decode machine code into Instruction records: format, opcode, mnemonic, raw fields and literal constant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_amdgpu.sim.shader import encodings
from pytest_amdgpu.sim.shader.opcodes import OpcodeTables, tables_for
from pytest_amdgpu.sim.shader.operands import LITERAL, SRC_DPP8, SRC_DPP8FI, SRC_DPP16, SRC_SDWA

# Source fields that may select the literal constant, per format (VOP3/VOP3P only from GFX10 on).
_LITERAL_SOURCES = {
    "SOP1": ("ssrc0",),
    "SOP2": ("ssrc0", "ssrc1"),
    "SOPC": ("ssrc0", "ssrc1"),
    "VOP1": ("src0",),
    "VOP2": ("src0",),
    "VOPC": ("src0",),
    "VOP3": ("src0", "src1", "src2"),
    "VOP3P": ("src0", "src1", "src2"),
    "VOPD": ("src0x", "src0y"),
}
# Mnemonics whose encoding always carries a 32-bit constant after the instruction word(s).
_IMPLICIT_LITERAL = frozenset(
    {
        "v_madmk_f32",
        "v_madak_f32",
        "v_fmamk_f32",
        "v_fmaak_f32",
        "v_madmk_f16",
        "v_madak_f16",
        "v_fmamk_f16",
        "v_fmaak_f16",
        "s_setreg_imm32_b32",
        "s_fmaak_f32",
        "s_fmamk_f32",
        "s_version_imm",
    }
)
_VOPD_IMPLICIT_LITERAL = frozenset({"v_dual_fmaak_f32", "v_dual_fmamk_f32"})


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction. `mnemonic` is None when the opcode is not in the family's tables."""

    pc: int
    isa_family: str
    target: str
    format: str | None
    opcode: int
    mnemonic: str | None
    fields: dict[str, int]
    words: tuple[int, ...]
    literal: int | None = None
    extension: str | None = None  # "dpp16", "dpp8" or "sdwa" when src0 selects an extra DPP/SDWA dword
    vopd: tuple[str | None, str | None] = field(default=(None, None))

    @property
    def size(self) -> int:
        return 4 * len(self.words)

    @property
    def hex_words(self) -> str:
        return " ".join(f"{word:08X}" for word in self.words)


def _has_literal(family: str, fmt: str, fields: dict[str, int], mnemonic: str | None) -> bool:
    if mnemonic in _IMPLICIT_LITERAL:
        return True
    if fmt in ("VOP3", "VOP3P") and family == "gfx9":
        return False
    return any(fields.get(name) == LITERAL for name in _LITERAL_SOURCES.get(fmt, ()))


def _extension(family: str, fmt: str, fields: dict[str, int]) -> str | None:
    if fmt not in ("VOP1", "VOP2", "VOPC"):
        return None
    src0 = fields["src0"]
    if src0 == SRC_DPP16:
        return "dpp16"
    if src0 == SRC_SDWA and family == "gfx9":
        return "sdwa"
    if src0 in (SRC_DPP8, SRC_DPP8FI) and family != "gfx9":
        return "dpp8"
    return None


def decode(tables: OpcodeTables, read_dword: Callable[[int], int], pc: int) -> Instruction:
    """Decode the instruction at `pc`; `read_dword(i)` returns the i-th dword from `pc` (and may fault)."""
    family = tables.isa_family
    first = read_dword(0)
    fmt = encodings.identify(family, first)
    if fmt is None:
        return Instruction(pc, family, tables.target, None, 0, None, {}, (first,))
    words = [first] + [read_dword(i) for i in range(1, fmt.dwords)]
    fields = fmt.extract(words)
    if fmt.name == "VOPD":
        return _decode_vopd(tables, read_dword, pc, words, fields)
    opcode = fields.get("op", 0) | fields.pop("op_msb", 0) << 7
    mnemonic = tables.name(fmt.name, opcode)
    extension = _extension(family, fmt.name, fields)
    literal = None
    if extension is not None:
        words.append(read_dword(len(words)))
    elif _has_literal(family, fmt.name, fields, mnemonic):
        literal = read_dword(len(words))
        words.append(literal)
    return Instruction(
        pc, family, tables.target, fmt.name, opcode, mnemonic, fields, tuple(words), literal, extension
    )


def _decode_vopd(
    tables: OpcodeTables, read_dword: Callable[[int], int], pc: int, words: list[int], fields: dict[str, int]
) -> Instruction:
    name_x = tables.vopd_x.get(fields["opx"])
    name_y = tables.vopd_y.get(fields["opy"])
    literal = None
    if LITERAL in (fields["src0x"], fields["src0y"]) or {name_x, name_y} & _VOPD_IMPLICIT_LITERAL:
        literal = read_dword(2)
        words.append(literal)
    mnemonic = f"{name_x}::{name_y}" if name_x and name_y else None
    return Instruction(
        pc,
        tables.isa_family,
        tables.target,
        "VOPD",
        fields["opx"] << 5 | fields["opy"],
        mnemonic,
        fields,
        tuple(words),
        literal,
        None,
        (name_x, name_y),
    )


def decode_words(
    isa_family: str, target: str, words: list[int] | tuple[int, ...], pc: int = 0
) -> Instruction:
    """Decode from a word list (for tests and disassembly); reading past the end is a ValueError."""

    def read(index: int) -> int:
        if index >= len(words):
            raise ValueError(f"instruction at {pc:#x} needs dword {index} but only {len(words)} were given")
        return words[index]

    return decode(tables_for(isa_family, target), read, pc)
