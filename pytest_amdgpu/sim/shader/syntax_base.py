"""Operand printing shared by the scalar and vector halves of the LLVM-syntax printer."""

from __future__ import annotations

from pytest_amdgpu.sim.shader.decoder import Instruction
from pytest_amdgpu.sim.shader.operands import (
    APERTURE_NAMES,
    INLINE_FLOATS,
    INV_2PI_CODE,
    LAYOUTS,
    LITERAL,
    ScalarLayout,
    inline_int,
    inline_value,
    scalar_register_name,
    vector_register_name,
)
from pytest_amdgpu.sim.shader.targets import properties

_SPECIAL_SOURCES = {
    239: "src_pops_exiting_wave_id",
    251: "src_vccz",
    252: "src_execz",
    253: "src_scc",
    254: "src_lds_direct",
}
_INV_2PI_TEXT = {16: "0.15915494", 32: "0.15915494", 64: "0.15915494309189532"}


def hex_text(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def imm16_text(value: int) -> str:
    """LLVM prints small 16-bit immediates (those an inline constant could hold) in decimal, others in hex."""
    return str(value) if value <= 64 else f"{value:#x}"


def signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Printer:
    def __init__(self, inst: Instruction, wave_size: int) -> None:
        self.inst = inst
        self.family = inst.isa_family
        self.layout: ScalarLayout = LAYOUTS[inst.isa_family]
        self.wave_size = wave_size
        self.f = inst.fields
        self.cache_syntax = properties(inst.target, inst.isa_family).cache_syntax

    # --- operands ---------------------------------------------------------------------------------------
    def src(self, code: int, bits: int = 32, is_float: bool = True) -> str:
        if code >= 256:
            return vector_register_name(code - 256, max(bits // 32, 1))
        if code == LITERAL:
            literal = self.inst.literal or 0
            return hex_text(literal & 0xFFFF if bits == 16 else literal)
        integer = inline_int(code)
        if integer is not None:
            return str(integer)
        if (code in INLINE_FLOATS or code == INV_2PI_CODE) and bits == 16 and not is_float:
            return hex_text(inline_value(code, 16) or 0)  # a float constant in a 16-bit integer operand
        if code in INLINE_FLOATS:
            return repr(INLINE_FLOATS[code])
        if code == INV_2PI_CODE:
            return _INV_2PI_TEXT[bits if bits in _INV_2PI_TEXT else 32]
        if code in APERTURE_NAMES:
            return APERTURE_NAMES[code]
        if code in _SPECIAL_SOURCES:
            return _SPECIAL_SOURCES[code]
        name = scalar_register_name(self.layout, code, max(bits // 32, 1))
        return name if name is not None else f"<src {code}>"

    def sreg(self, code: int, bits: int = 32) -> str:
        return self.src(code, bits)

    def mask(self, code: int | None = None) -> str:
        """A lane-mask operand: VCC (implicit when code is None) or an SGPR (pair in wave64)."""
        bits = 64 if self.wave_size == 64 else 32
        if code is None:
            return "vcc" if bits == 64 else "vcc_lo"
        return self.src(code, bits)

    def vgpr(self, index: int, bits: int = 32, prefix: str = "v") -> str:
        return vector_register_name(index, max(bits // 32, 1), prefix)


def cache_bits(p: Printer, names: tuple[str, ...], scalar: bool = False) -> str:
    f = p.f
    if p.family == "gfx12":
        th, scope = f.get("th", 0), f.get("scope", 0)
        out = ""
        if th:
            out += f" th:{th}"
        if scope:
            out += f" scope:{('SCOPE_CU', 'SCOPE_SE', 'SCOPE_DEV', 'SCOPE_SYS')[scope]}"
        return out
    if p.cache_syntax == "sc" and not scalar:
        out = " sc0" if f.get("glc") else ""
        out += " nt" if f.get("slc") else ""
        out += " sc1" if f.get("sc1") else ""
        return out
    out = "".join(f" {bit}" for bit in names if f.get(bit))
    if p.family == "gfx9" and f.get("sc1"):
        out += " scc"
    return out


_TH_LOAD_STORE = {1: "NT", 2: "HT", 4: "NT_RT", 5: "RT_NT", 6: "NT_HT", 7: "NT_WB"}
_SCOPES = ("SCOPE_CU", "SCOPE_SE", "SCOPE_DEV", "SCOPE_SYS")


def th_text(p: Printer, kind: str) -> str:
    """GFX12 temporal hint and scope, named the way LLVM's printer names them."""
    th, scope = p.f.get("th", 0), p.f.get("scope", 0)
    out = ""
    if th and kind == "atomic":
        if th & 4:
            name = ("CASCADE_NT" if th & 2 else "CASCADE_RT") if scope >= 2 else f"{th:#x}"
        elif th & 2:
            name = "NT_RETURN" if th & 1 else "NT"
        else:
            name = "RETURN" if th & 1 else f"{th:#x}"
        out = f" th:TH_ATOMIC_{name}"
    elif th:
        store = kind == "store"
        if not store and th == 7:
            out = f" th:{th:#x}"
        elif th == 3:
            out = f" th:TH_{'STORE' if store else 'LOAD'}_" + (
                "BYPASS" if scope == 3 else ("RT_WB" if store else "LU")
            )
        else:
            out = f" th:TH_{'STORE' if store else 'LOAD'}_{_TH_LOAD_STORE[th]}"
    if scope:
        out += f" scope:{_SCOPES[scope]}"
    return out
