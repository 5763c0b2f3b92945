"""Opcode tables per ISA family: for one gfx target, each encoding format's opcode -> LLVM mnemonic map."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType, ModuleType

FORMATS = (
    "SOP2", "SOPK", "SOP1", "SOPC", "SOPP", "SMEM", "VOP1", "VOP2", "VOPC", "VOP3", "VOP3P",
    "DS", "FLAT", "GLOBAL", "SCRATCH", "MUBUF",
)  # fmt: skip


def parse_table(text: str) -> dict[int, str]:
    """Parse "opcode:mnemonic" tokens separated by white space."""
    table: dict[int, str] = {}
    for token in text.split():
        number, _, name = token.partition(":")
        table[int(number)] = name
    return table


@dataclass(frozen=True)
class OpcodeTables:
    """Every format's opcode map for one target, with the VOP3 forms of VOP1/VOP2/VOPC filled in."""

    isa_family: str
    target: str
    formats: Mapping[str, Mapping[int, str]]
    vopd_x: Mapping[int, str]
    vopd_y: Mapping[int, str]
    promoted_vop3: frozenset[int]  # VOP3 opcodes that are the e64 form of a VOP1/VOP2/VOPC opcode
    no_e32_suffix: frozenset[str]  # VOP1/VOP2 mnemonics LLVM prints without "_e32" (no VOP3 twin)

    def name(self, fmt: str, opcode: int) -> str | None:
        return self.formats.get(fmt, {}).get(opcode)


def _family_module(isa_family: str) -> ModuleType:
    return importlib.import_module(f"pytest_amdgpu.sim.shader.opcodes.{isa_family}")


@cache
def tables_for(isa_family: str, target: str) -> OpcodeTables:
    """The opcode tables for `target` of `isa_family`: the family base plus the target's variants."""
    module = _family_module(isa_family)
    formats = {fmt: parse_table(text) for fmt, text in module.BASE.items()}
    for variant in module.TARGET_VARIANTS.get(target, ()):
        added, removed = module.VARIANTS[variant]
        for fmt, opcodes in removed.items():
            for opcode in opcodes:
                formats[fmt].pop(opcode, None)
        for fmt, text in added.items():
            formats.setdefault(fmt, {}).update(parse_table(text))
    promoted: set[int] = set()
    vop3 = formats.setdefault("VOP3", {})
    for fmt, base in module.VOP3_PROMOTED_BASE.items():
        for opcode, name in formats.get(fmt, {}).items():
            if name in module.NO_E32_SUFFIX.get(fmt, ()):
                continue  # no VOP3 twin (e.g. v_madmk_f32, v_readfirstlane_b32)
            vop3.setdefault(base + opcode, name)
            if vop3[base + opcode] == name:
                promoted.add(base + opcode)
    no_suffix = {name for names in module.NO_E32_SUFFIX.values() for name in names}
    return OpcodeTables(
        isa_family=isa_family,
        target=target,
        formats=MappingProxyType({fmt: MappingProxyType(table) for fmt, table in formats.items()}),
        vopd_x=MappingProxyType(dict(module.VOPD_X)),
        vopd_y=MappingProxyType(dict(module.VOPD_Y)),
        promoted_vop3=frozenset(promoted),
        no_e32_suffix=frozenset(no_suffix),
    )
