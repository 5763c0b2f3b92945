"""Source operand encodings per ISA family: register names, inline constants and special values."""

from __future__ import annotations

import struct
from dataclasses import dataclass

LITERAL = 255
VGPR_BASE = 256
VCC_LO = 106
EXEC_LO = 126
INLINE_INT_FIRST, INLINE_INT_LAST = 128, 208  # 0..64 then -1..-16
VCCZ, EXECZ, SCC = 251, 252, 253
SRC_DPP8, SRC_DPP8FI, SRC_SDWA, SRC_DPP16 = 233, 234, 249, 250

# Inline float constants (ISA "inline constants" table): code -> value. 248 is 1/(2*pi) on GFX8 and later.
INLINE_FLOATS = {240: 0.5, 241: -0.5, 242: 1.0, 243: -1.0, 244: 2.0, 245: -2.0, 246: 4.0, 247: -4.0}
INV_2PI_CODE = 248
INV_2PI_BITS = {16: 0x3118, 32: 0x3E22F983, 64: 0x3FC45F306DC9C882}
APERTURE_NAMES = {
    235: "src_shared_base",
    236: "src_shared_limit",
    237: "src_private_base",
    238: "src_private_limit",
}


@dataclass(frozen=True)
class ScalarLayout:
    """Where one family puts its special scalar registers in the 0..127 operand space."""

    sgpr_count: int  # s0 .. s(sgpr_count-1) are addressable SGPRs
    m0: int
    null: int | None
    specials: dict[int, str]  # single-dword names beyond the SGPRs, e.g. {102: "flat_scratch_lo"}
    pairs: dict[int, str]  # register-pair names, e.g. {106: "vcc"}

    def is_null(self, code: int) -> bool:
        return self.null is not None and code == self.null


_COMMON_SPECIALS = {106: "vcc_lo", 107: "vcc_hi", 126: "exec_lo", 127: "exec_hi"}
_TTMP = {108 + n: f"ttmp{n}" for n in range(16)}
LAYOUTS = {
    "gfx9": ScalarLayout(
        sgpr_count=102,
        m0=124,
        null=125,  # LLVM decodes 125 as null on GFX9 too
        specials={
            **_COMMON_SPECIALS,
            **_TTMP,
            102: "flat_scratch_lo",
            103: "flat_scratch_hi",
            104: "xnack_mask_lo",
            105: "xnack_mask_hi",
            124: "m0",
            125: "null",
        },
        pairs={102: "flat_scratch", 104: "xnack_mask", 106: "vcc", 126: "exec"},
    ),
    "gfx10": ScalarLayout(
        sgpr_count=106,
        m0=124,
        null=125,
        specials={**_COMMON_SPECIALS, **_TTMP, 124: "m0", 125: "null"},
        pairs={106: "vcc", 126: "exec"},
    ),
    "gfx11": ScalarLayout(
        sgpr_count=106,
        m0=125,
        null=124,
        specials={**_COMMON_SPECIALS, **_TTMP, 124: "null", 125: "m0"},
        pairs={106: "vcc", 126: "exec"},
    ),
    "gfx12": ScalarLayout(
        sgpr_count=106,
        m0=125,
        null=124,
        specials={**_COMMON_SPECIALS, **_TTMP, 124: "null", 125: "m0"},
        pairs={106: "vcc", 126: "exec"},
    ),
}


def inline_int(code: int) -> int | None:
    """The integer an inline-constant code stands for, or None if it is not an integer inline constant."""
    if 128 <= code <= 192:
        return code - 128
    if 193 <= code <= 208:
        return 192 - code
    return None


def float_bits(value: float, bits: int) -> int:
    if bits == 64:
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    if bits == 16:
        return struct.unpack("<H", struct.pack("<e", value))[0]
    return struct.unpack("<I", struct.pack("<f", value))[0]


def inline_value(code: int, bits: int) -> int | None:
    """Bits of inline constant `code` in a `bits`-wide operand (integers sign-extend; floats are IEEE)."""
    integer = inline_int(code)
    if integer is not None:
        return integer & ((1 << bits) - 1)
    if code in INLINE_FLOATS:
        return float_bits(INLINE_FLOATS[code], bits)
    if code == INV_2PI_CODE:
        return INV_2PI_BITS[bits]
    return None


def aligned_scalar(code: int, dwords: int) -> int:
    """Multi-dword SGPR operands are even-aligned (quad-aligned from 128 bits): the low bits are ignored."""
    if code >= 128 or dwords == 1:
        return code
    return code & ~3 if dwords >= 3 else code & ~1


def scalar_register_name(layout: ScalarLayout, code: int, dwords: int) -> str | None:
    """LLVM's name for `dwords` scalar registers starting at operand code `code` (None if not a register)."""
    if layout.is_null(code):
        return "null"
    code = aligned_scalar(code, dwords)
    if code < layout.sgpr_count:
        return f"s{code}" if dwords == 1 else f"s[{code}:{code + dwords - 1}]"
    if 108 <= code <= 123:
        first = code - 108
        return f"ttmp{first}" if dwords == 1 else f"ttmp[{first}:{first + dwords - 1}]"
    if layout.is_null(code):
        return "null"
    if dwords == 1:
        return layout.specials.get(code)
    if dwords == 2:
        return layout.pairs.get(code)
    return None


def vector_register_name(index: int, dwords: int, prefix: str = "v") -> str:
    return f"{prefix}{index}" if dwords == 1 else f"{prefix}[{index}:{index + dwords - 1}]"
