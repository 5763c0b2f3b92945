"""Instruction encoding formats per ISA family: how to recognise each format and where its bit fields sit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

Field = tuple[int, int, int]  # (dword index, lowest bit, width in bits)


@dataclass(frozen=True)
class Format:
    """One encoding format: matched on the first dword, `dwords` long before any literal constant."""

    name: str  # opcode-table key: "SOP2", "VOP3", "GLOBAL", ...
    match_mask: int
    match_value: int
    dwords: int
    fields: Mapping[str, Field]
    fixed: Mapping[str, int] = field(default_factory=dict)  # constant field values implied by the match

    def extract(self, words: tuple[int, ...] | list[int]) -> dict[str, int]:
        values = dict(self.fixed)
        for name, (index, low, width) in self.fields.items():
            values[name] = (words[index] >> low) & ((1 << width) - 1)
        return values


def _fmt(
    name: str, mask: int, value: int, dwords: int, fixed: dict[str, int] | None = None, **fields: Field
) -> Format:
    return Format(name, mask, value, dwords, MappingProxyType(fields), MappingProxyType(fixed or {}))


# --- scalar formats, the same bit layout from GFX9 to GFX12 -------------------------------------------------
_SOP1 = _fmt("SOP1", 0xFF80_0000, 0xBE80_0000, 1, ssrc0=(0, 0, 8), op=(0, 8, 8), sdst=(0, 16, 7))
_SOPC = _fmt("SOPC", 0xFF80_0000, 0xBF00_0000, 1, ssrc0=(0, 0, 8), ssrc1=(0, 8, 8), op=(0, 16, 7))
_SOPP = _fmt("SOPP", 0xFF80_0000, 0xBF80_0000, 1, simm16=(0, 0, 16), op=(0, 16, 7))
_SOPK = _fmt("SOPK", 0xF000_0000, 0xB000_0000, 1, simm16=(0, 0, 16), sdst=(0, 16, 7), op=(0, 23, 5))
_SOP2 = _fmt(
    "SOP2", 0xC000_0000, 0x8000_0000, 1, ssrc0=(0, 0, 8), ssrc1=(0, 8, 8), sdst=(0, 16, 7), op=(0, 23, 7)
)

# --- VOP1/VOP2/VOPC, also unchanged across the families -----------------------------------------------------
_VOP1 = _fmt("VOP1", 0xFE00_0000, 0x7E00_0000, 1, src0=(0, 0, 9), op=(0, 9, 8), vdst=(0, 17, 8))
_VOPC = _fmt("VOPC", 0xFE00_0000, 0x7C00_0000, 1, src0=(0, 0, 9), vsrc1=(0, 9, 8), op=(0, 17, 8))
_VOP2 = _fmt(
    "VOP2", 0x8000_0000, 0x0000_0000, 1, src0=(0, 0, 9), vsrc1=(0, 9, 8), vdst=(0, 17, 8), op=(0, 25, 6)
)

_VOP3_FIELDS: dict[str, Field] = {
    "vdst": (0, 0, 8),
    "abs": (0, 8, 3),
    "sdst": (0, 8, 7),
    "opsel": (0, 11, 4),
    "clamp": (0, 15, 1),
    "op": (0, 16, 10),
    "src0": (1, 0, 9),
    "src1": (1, 9, 9),
    "src2": (1, 18, 9),
    "omod": (1, 27, 2),
    "neg": (1, 29, 3),
}
_VOP3P_FIELDS: dict[str, Field] = {
    "vdst": (0, 0, 8),
    "neg_hi": (0, 8, 3),
    "opsel": (0, 11, 3),
    "opsel_hi2": (0, 14, 1),
    "clamp": (0, 15, 1),
    "op": (0, 16, 7),
    "src0": (1, 0, 9),
    "src1": (1, 9, 9),
    "src2": (1, 18, 9),
    "opsel_hi": (1, 27, 2),
    "neg": (1, 29, 3),
}
_DS_FIELDS: dict[str, Field] = {
    "offset0": (0, 0, 8),
    "offset1": (0, 8, 8),
    "addr": (1, 0, 8),
    "data0": (1, 8, 8),
    "data1": (1, 16, 8),
    "vdst": (1, 24, 8),
}
_FLAT_DWORD1: dict[str, Field] = {
    "addr": (1, 0, 8),
    "data": (1, 8, 8),
    "saddr": (1, 16, 7),
    "vdst": (1, 24, 8),
}
_VOPD = _fmt(
    "VOPD",
    0xFC00_0000,
    0xC800_0000,
    2,
    src0x=(0, 0, 9),
    vsrc1x=(0, 9, 8),
    opy=(0, 17, 5),
    opx=(0, 22, 4),
    src0y=(1, 0, 9),
    vsrc1y=(1, 9, 8),
    vdsty=(1, 17, 7),
    vdstx=(1, 24, 8),
)


def _flat_segments(layout: dict[str, Field], seg: Field, mask: int, value: int) -> tuple[Format, ...]:
    """FLAT, SCRATCH and GLOBAL share one encoding told apart by the SEG field (0, 1, 2)."""
    _, low, width = seg
    segment_mask = ((1 << width) - 1) << low
    return tuple(
        _fmt(name, mask | segment_mask, value | number << low, 2, {"seg": number}, **layout)
        for number, name in ((0, "FLAT"), (1, "SCRATCH"), (2, "GLOBAL"))
    )


_GFX9_FLAT = {
    **_FLAT_DWORD1,
    "offset": (0, 0, 13),
    "lds": (0, 13, 1),
    "glc": (0, 16, 1),
    "slc": (0, 17, 1),
    "op": (0, 18, 7),
    "sc1": (0, 25, 1),
    "acc": (1, 23, 1),
}
GFX9 = (
    _SOP1,
    _SOPC,
    _SOPP,
    _SOPK,
    _SOP2,
    _VOP1,
    _VOPC,
    _VOP2,
    _fmt(
        "SMEM",
        0xFC00_0000,
        0xC000_0000,
        2,
        sbase=(0, 0, 6),
        sdata=(0, 6, 7),
        soe=(0, 14, 1),
        nv=(0, 15, 1),
        glc=(0, 16, 1),
        imm=(0, 17, 1),
        op=(0, 18, 8),
        offset=(1, 0, 21),
        soffset=(1, 25, 7),
    ),
    _fmt("VOP3P", 0xFF80_0000, 0xD380_0000, 2, **_VOP3P_FIELDS),
    _fmt("VOP3", 0xFC00_0000, 0xD000_0000, 2, **_VOP3_FIELDS),
    _fmt("DS", 0xFC00_0000, 0xD800_0000, 2, **_DS_FIELDS, gds=(0, 16, 1), op=(0, 17, 8), acc=(0, 25, 1)),
    *_flat_segments(_GFX9_FLAT, (0, 14, 2), 0xFC00_0000, 0xDC00_0000),
    _fmt(
        "MUBUF",
        0xFC00_0000,
        0xE000_0000,
        2,
        offset=(0, 0, 12),
        offen=(0, 12, 1),
        idxen=(0, 13, 1),
        glc=(0, 14, 1),
        sc1=(0, 15, 1),
        lds=(0, 16, 1),
        slc=(0, 17, 1),
        op=(0, 18, 7),
        vaddr=(1, 0, 8),
        vdata=(1, 8, 8),
        srsrc=(1, 16, 5),
        acc=(1, 23, 1),
        soffset=(1, 24, 8),
    ),
)

_GFX10_FLAT = {
    **_FLAT_DWORD1,
    "offset": (0, 0, 12),
    "dlc": (0, 12, 1),
    "lds": (0, 13, 1),
    "glc": (0, 16, 1),
    "slc": (0, 17, 1),
    "op": (0, 18, 7),
}
_GFX10_PLUS_VALU = (
    _fmt("VOP3P", 0xFF00_0000, 0xCC00_0000, 2, **_VOP3P_FIELDS),
    _fmt("VOP3", 0xFC00_0000, 0xD400_0000, 2, **_VOP3_FIELDS),
    _fmt("DS", 0xFC00_0000, 0xD800_0000, 2, **_DS_FIELDS, gds=(0, 17, 1), op=(0, 18, 8)),
)
GFX10 = (
    _SOP1,
    _SOPC,
    _SOPP,
    _SOPK,
    _SOP2,
    _VOP1,
    _VOPC,
    _VOP2,
    _fmt(
        "SMEM",
        0xFC00_0000,
        0xF400_0000,
        2,
        sbase=(0, 0, 6),
        sdata=(0, 6, 7),
        dlc=(0, 14, 1),
        glc=(0, 16, 1),
        op=(0, 18, 8),
        offset=(1, 0, 21),
        soffset=(1, 25, 7),
    ),
    *_GFX10_PLUS_VALU,
    *_flat_segments(_GFX10_FLAT, (0, 14, 2), 0xFC00_0000, 0xDC00_0000),
    _fmt(
        "MUBUF",
        0xFC00_0000,
        0xE000_0000,
        2,
        offset=(0, 0, 12),
        offen=(0, 12, 1),
        idxen=(0, 13, 1),
        glc=(0, 14, 1),
        dlc=(0, 15, 1),
        lds=(0, 16, 1),
        op=(0, 18, 7),
        op_msb=(0, 25, 1),
        vaddr=(1, 0, 8),
        vdata=(1, 8, 8),
        srsrc=(1, 16, 5),
        slc=(1, 22, 1),
        tfe=(1, 23, 1),
        soffset=(1, 24, 8),
    ),
)

_GFX11_FLAT = {
    **_FLAT_DWORD1,
    "offset": (0, 0, 13),
    "dlc": (0, 13, 1),
    "glc": (0, 14, 1),
    "slc": (0, 15, 1),
    "op": (0, 18, 7),
    "sve": (1, 23, 1),
}
_GFX11_SMEM = _fmt(
    "SMEM",
    0xFC00_0000,
    0xF400_0000,
    2,
    sbase=(0, 0, 6),
    sdata=(0, 6, 7),
    dlc=(0, 13, 1),
    glc=(0, 14, 1),
    op=(0, 18, 8),
    offset=(1, 0, 21),
    soffset=(1, 25, 7),
)
GFX11 = (
    _SOP1,
    _SOPC,
    _SOPP,
    _SOPK,
    _SOP2,
    _VOP1,
    _VOPC,
    _VOP2,
    _VOPD,
    _GFX11_SMEM,
    *_GFX10_PLUS_VALU,
    *_flat_segments(_GFX11_FLAT, (0, 16, 2), 0xFC00_0000, 0xDC00_0000),
    _fmt(
        "MUBUF",
        0xFC00_0000,
        0xE000_0000,
        2,
        offset=(0, 0, 12),
        slc=(0, 12, 1),
        dlc=(0, 13, 1),
        glc=(0, 14, 1),
        op=(0, 18, 8),
        vaddr=(1, 0, 8),
        vdata=(1, 8, 8),
        srsrc=(1, 16, 5),
        tfe=(1, 21, 1),
        offen=(1, 22, 1),
        idxen=(1, 23, 1),
        soffset=(1, 24, 8),
    ),
)

_GFX12_VFLAT = {
    "saddr": (0, 0, 7),
    "op": (0, 14, 7),
    "vdst": (1, 0, 8),
    "sve": (1, 17, 1),
    "scope": (1, 18, 2),
    "th": (1, 20, 3),
    "data": (1, 23, 8),
    "addr": (2, 0, 8),
    "offset": (2, 8, 24),
}
GFX12 = (
    _SOP1,
    _SOPC,
    _SOPP,
    _SOPK,
    _SOP2,
    _VOP1,
    _VOPC,
    _VOP2,
    _VOPD,
    _fmt(
        "SMEM",
        0xFC00_0000,
        0xF400_0000,
        2,
        sbase=(0, 0, 6),
        sdata=(0, 6, 7),
        op=(0, 13, 6),
        scope=(0, 21, 2),
        th=(0, 23, 2),  # LLVM decodes two TH bits for SMEM
        offset=(1, 0, 24),
        soffset=(1, 25, 7),
    ),
    *_GFX10_PLUS_VALU,
    _fmt("FLAT", 0xFF00_0000, 0xEC00_0000, 3, {"seg": 0}, **_GFX12_VFLAT),
    _fmt("SCRATCH", 0xFF00_0000, 0xED00_0000, 3, {"seg": 1}, **_GFX12_VFLAT),
    _fmt("GLOBAL", 0xFF00_0000, 0xEE00_0000, 3, {"seg": 2}, **_GFX12_VFLAT),
    _fmt(
        "MUBUF",
        0xFC00_0000,
        0xC400_0000,
        3,
        soffset=(0, 0, 7),
        op=(0, 14, 8),
        tfe=(0, 22, 1),
        vdata=(1, 0, 8),
        srsrc=(1, 9, 7),
        scope=(1, 18, 2),
        th=(1, 20, 3),
        format=(1, 23, 7),
        offen=(1, 30, 1),
        idxen=(1, 31, 1),
        vaddr=(2, 0, 8),
        offset=(2, 8, 24),
    ),
)

FAMILY_FORMATS: Mapping[str, tuple[Format, ...]] = MappingProxyType(
    {"gfx9": GFX9, "gfx10": GFX10, "gfx11": GFX11, "gfx12": GFX12}
)


def identify(isa_family: str, first_word: int) -> Format | None:
    """The format whose match bits fit `first_word`, tried in table order (most specific first)."""
    for candidate in FAMILY_FORMATS[isa_family]:
        if first_word & candidate.match_mask == candidate.match_value:
            return candidate
    return None
