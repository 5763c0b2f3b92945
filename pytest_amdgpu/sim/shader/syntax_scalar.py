"""LLVM syntax of scalar instructions: SOP1, SOP2, SOPC, SOPK, SOPP and SMEM."""

from __future__ import annotations

from pytest_amdgpu.sim.shader import specs
from pytest_amdgpu.sim.shader.syntax_base import Printer, cache_bits, hex_text, imm16_text, signed, th_text

_DELAY_IDS = [
    "NO_DEP",
    "VALU_DEP_1",
    "VALU_DEP_2",
    "VALU_DEP_3",
    "VALU_DEP_4",
    "TRANS32_DEP_1",
    "TRANS32_DEP_2",
    "TRANS32_DEP_3",
    "FMA_ACCUM_CYCLE_1",
    "SALU_CYCLE_1",
    "SALU_CYCLE_2",
    "SALU_CYCLE_3",
]
_DELAY_SKIPS = ["SAME", "NEXT", "SKIP_1", "SKIP_2", "SKIP_3", "SKIP_4"]
_SENDMSG = {
    "gfx9": {1: "MSG_INTERRUPT", 10: "MSG_GET_DOORBELL", 15: "MSG_SYSMSG"},
    "gfx10": {1: "MSG_INTERRUPT", 10: "MSG_GET_DOORBELL", 11: "MSG_GET_DDID", 15: "MSG_SYSMSG"},
    "gfx11": {1: "MSG_INTERRUPT", 3: "MSG_DEALLOC_VGPRS"},
    "gfx12": {1: "MSG_INTERRUPT", 3: "MSG_DEALLOC_VGPRS"},
}
_BRANCH_LIKE = frozenset(
    {
        "s_branch",
        "s_cbranch_scc0",
        "s_cbranch_scc1",
        "s_cbranch_vccz",
        "s_cbranch_vccnz",
        "s_cbranch_execz",
        "s_cbranch_execnz",
        "s_cbranch_cdbgsys",
        "s_cbranch_cdbguser",
        "s_cbranch_cdbgsys_or_user",
        "s_cbranch_cdbgsys_and_user",
    }
)
_DECIMAL_SOPP = frozenset({"s_nop", "s_denorm_mode", "s_endpgm"})
_SMALL_DECIMAL_SOPP = frozenset(
    {"s_sleep", "s_setkill", "s_sethalt", "s_setprio", "s_trap", "s_incperflevel", "s_decperflevel"}
)
_UNSIGNED_BRANCHES = frozenset(
    {"s_cbranch_cdbgsys", "s_cbranch_cdbguser", "s_cbranch_cdbgsys_or_user", "s_cbranch_cdbgsys_and_user"}
)
_NO_OPERAND_SOPP = frozenset(
    {
        "s_barrier",
        "s_icache_inv",
        "s_wakeup",
        "s_ttracedata",
        "s_endpgm_saved",
        "s_code_end",
        "s_wait_idle",
        "s_barrier_leave",
        "s_endpgm_ordered_ps_done",
        "s_set_gpr_idx_off",
    }
)


def _salu_widths(name: str) -> tuple[int, tuple[int, ...]]:
    spec = specs.SALU.get(name)
    if spec is not None:
        return spec.dst_bits, spec.src_bits
    bits = 64 if name.endswith(("_b64", "_u64", "_i64")) else 32
    return bits, (bits, bits)


def format_sop(p: Printer, fmt: str, name: str) -> str:
    f = p.f
    if fmt == "SOP2":
        dst, srcs = _salu_widths(name)
        return f"{name} {p.sreg(f['sdst'], dst)}, {p.src(f['ssrc0'], srcs[0])}, {p.src(f['ssrc1'], srcs[-1])}"
    if fmt == "SOPC":
        _, srcs = _salu_widths(name)
        return f"{name} {p.src(f['ssrc0'], srcs[0])}, {p.src(f['ssrc1'], srcs[-1])}"
    if fmt == "SOP1":
        dst, srcs = _salu_widths(name)
        if name in ("s_setpc_b64", "s_rfe_b64"):
            return f"{name} {p.src(f['ssrc0'], 64)}"
        if name == "s_getpc_b64":
            return f"{name} {p.sreg(f['sdst'], 64)}"
        if name == "s_swappc_b64":
            return f"{name} {p.sreg(f['sdst'], 64)}, {p.src(f['ssrc0'], 64)}"
        if name in ("s_barrier_signal", "s_barrier_signal_isfirst", "s_cbranch_join", "s_set_gpr_idx_idx"):
            return f"{name} {p.src(f['ssrc0'])}"
        if name.endswith("saveexec_b64") or name.endswith("wrexec_b64"):
            dst, srcs = 64, (64,)
        elif name.endswith(("saveexec_b32", "wrexec_b32")):
            dst, srcs = 32, (32,)
        return f"{name} {p.sreg(f['sdst'], dst)}, {p.src(f['ssrc0'], srcs[0])}"
    if fmt == "SOPK":
        return _format_sopk(p, name)
    return _format_sopp(p, name)


_HWREG_COMMON = {1: "MODE", 2: "STATUS", 3: "TRAPSTS", 5: "GPR_ALLOC", 6: "LDS_ALLOC", 7: "IB_STS",
                 15: "SH_MEM_BASES"}  # fmt: skip
_HWREG_NAMES = {  # s_getreg/s_setreg register ids as LLVM names them, per family
    "gfx9": {**_HWREG_COMMON, 4: "HW_ID", 16: "TBA_LO", 17: "TBA_HI", 18: "TMA_LO", 19: "TMA_HI"},
    "gfx10": {**_HWREG_COMMON, 16: "TBA_LO", 17: "TBA_HI", 18: "TMA_LO", 19: "TMA_HI", 20: "FLAT_SCR_LO",
              21: "FLAT_SCR_HI", 23: "HW_ID1", 24: "HW_ID2", 25: "POPS_PACKER", 29: "SHADER_CYCLES"},
    "gfx11": {**_HWREG_COMMON, 18: "PERF_SNAPSHOT_PC_LO", 19: "PERF_SNAPSHOT_PC_HI", 20: "FLAT_SCR_LO",
              21: "FLAT_SCR_HI", 23: "HW_ID1", 24: "HW_ID2", 27: "PERF_SNAPSHOT_DATA", 29: "SHADER_CYCLES"},
    "gfx12": {1: "MODE", 2: "STATUS", 4: "STATE_PRIV", 5: "GPR_ALLOC", 6: "LDS_ALLOC", 7: "IB_STS",
              10: "PERF_SNAPSHOT_DATA", 11: "PERF_SNAPSHOT_PC_LO", 12: "PERF_SNAPSHOT_PC_HI",
              15: "PERF_SNAPSHOT_DATA1", 16: "PERF_SNAPSHOT_DATA2", 17: "EXCP_FLAG_PRIV",
              18: "EXCP_FLAG_USER",
              19: "TRAP_CTRL", 20: "SCRATCH_BASE_LO", 21: "SCRATCH_BASE_HI", 23: "HW_ID1", 24: "HW_ID2",
              29: "SHADER_CYCLES_LO", 30: "SHADER_CYCLES_HI", 31: "DVGPR_ALLOC_LO", 32: "DVGPR_ALLOC_HI"},
}  # fmt: skip
_HWREG_GFX940 = {20: "XCC_ID", 21: "SQ_PERF_SNAPSHOT_DATA", 22: "SQ_PERF_SNAPSHOT_DATA1",
                 23: "SQ_PERF_SNAPSHOT_PC_LO", 24: "SQ_PERF_SNAPSHOT_PC_HI"}  # fmt: skip


def _hwreg(p: Printer, value: int) -> str:
    register, offset, size = value & 0x3F, (value >> 6) & 0x1F, ((value >> 11) & 0x1F) + 1
    names = _HWREG_NAMES[p.family]
    if p.cache_syntax == "sc":
        names = {**names, **_HWREG_GFX940}
    label = f"HW_REG_{names[register]}" if register in names else str(register)
    return f"hwreg({label})" if (offset, size) == (0, 32) else f"hwreg({label}, {offset}, {size})"


def _format_sopk(p: Printer, name: str) -> str:
    f = p.f
    imm = f["simm16"]
    if name == "s_getreg_b32":
        return f"{name} {p.sreg(f['sdst'])}, {_hwreg(p, imm)}"
    if name == "s_setreg_b32":
        return f"{name} {_hwreg(p, imm)}, {p.sreg(f['sdst'])}"
    if name == "s_setreg_imm32_b32":
        return f"{name} {_hwreg(p, imm)}, {hex_text(p.inst.literal or 0)}"
    if name in ("s_call_b64", "s_cbranch_i_fork"):
        return f"{name} {p.sreg(f['sdst'], 64)}, {signed(imm, 16)}"
    if name in ("s_version",):
        return f"{name} {imm}"
    if name in ("s_subvector_loop_begin", "s_subvector_loop_end"):
        return f"{name} {p.sreg(f['sdst'])}, {signed(imm, 16)}"
    return f"{name} {p.sreg(f['sdst'])}, {imm:#x}"


def _waitcnt(family: str, imm: int) -> str:
    if family in ("gfx9", "gfx10"):
        vm = (imm & 0xF) | ((imm >> 14) & 0x3) << 4
        exp = (imm >> 4) & 0x7
        lgkm = (imm >> 8) & (0x3F if family == "gfx10" else 0xF)
        maxima = (63, 7, 63 if family == "gfx10" else 15)
    else:
        vm, exp, lgkm = (imm >> 10) & 0x3F, imm & 0x7, (imm >> 4) & 0x3F
        maxima = (63, 7, 63)
    parts = [
        f"{label}({value})"
        for label, value, limit in zip(("vmcnt", "expcnt", "lgkmcnt"), (vm, exp, lgkm), maxima, strict=True)
        if value != limit
    ]
    if not parts:
        parts = [f"vmcnt({vm})", f"expcnt({exp})", f"lgkmcnt({lgkm})"]
    return " ".join(parts)


def _delay_alu(imm: int) -> str:
    first, skip, second = imm & 0xF, (imm >> 4) & 0x7, (imm >> 7) & 0xF
    parts = []
    if first:
        parts.append(f"instid0({_DELAY_IDS[first] if first < len(_DELAY_IDS) else first})")
    if skip:
        parts.append(f"instskip({_DELAY_SKIPS[skip] if skip < len(_DELAY_SKIPS) else skip})")
    if second:
        parts.append(f"instid1({_DELAY_IDS[second] if second < len(_DELAY_IDS) else second})")
    return " | ".join(parts) if parts else "0"


def _format_sopp(p: Printer, name: str) -> str:
    imm = p.f["simm16"]
    if name in _BRANCH_LIKE or name in _UNSIGNED_BRANCHES:
        return f"{name} {imm}"  # llvm-objdump prints the raw 16-bit offset
    if name == "s_endpgm":
        return name if imm == 0 else f"{name} {imm}"
    if name in _NO_OPERAND_SOPP:
        return name
    if name in _DECIMAL_SOPP or name in _SMALL_DECIMAL_SOPP:
        return f"{name} {imm16_text(imm)}"
    if name == "s_waitcnt":
        return f"{name} {_waitcnt(p.family, imm)}"
    if name == "s_delay_alu":
        return f"{name} {_delay_alu(imm)}"
    if name in ("s_sendmsg", "s_sendmsghalt"):
        message = _SENDMSG.get(p.family, {}).get(imm & 0xFF)
        return f"{name} sendmsg({message})" if message and imm >> 8 == 0 else f"{name} {imm}"
    if name == "s_barrier_wait":
        return f"{name} {imm:#x}"
    return f"{name} {imm:#x}"


def format_smem(p: Printer, name: str) -> str:
    f = p.f
    spec = specs.SMEM.get(name)
    data_bits = 32 * (spec.dwords if spec else 1)
    if name in (
        "s_dcache_inv",
        "s_dcache_wb",
        "s_gl1_inv",
        "s_icache_inv",
        "s_dcache_inv_vol",
        "s_dcache_wb_vol",
    ):
        return name
    if name in ("s_memtime", "s_memrealtime"):
        return f"{name} {p.sreg(f['sdata'], 64)}"
    base_bits = 128 if "buffer" in name else 64
    dst = p.sreg(f["sdata"], data_bits)
    base = p.sreg(f["sbase"] * 2, base_bits)
    family = p.family
    if family == "gfx9":
        if not f["imm"]:
            where = p.sreg(f["soffset"] if f["soe"] else f["offset"] & 0x7F)
        elif f["soe"]:
            where = f"{p.sreg(f['soffset'])} offset:{hex_text(signed(f['offset'], 21))}"
        else:
            where = hex_text(signed(f["offset"], 21))
    else:
        width = 24 if family == "gfx12" else 21
        offset = signed(f["offset"], width)
        if p.layout.is_null(f["soffset"]):
            where = "null" if offset == 0 and family in ("gfx10", "gfx11") else hex_text(offset)
        elif offset == 0 and family in ("gfx10", "gfx11"):
            where = p.sreg(f["soffset"])
        else:
            where = f"{p.sreg(f['soffset'])} offset:{hex_text(offset)}"
    text = f"{name} {dst}, {base}, {where}"
    if family == "gfx12":
        return text + th_text(p, "load")
    return text + cache_bits(p, ("glc", "dlc"), scalar=True)
