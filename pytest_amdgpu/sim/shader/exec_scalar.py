"""Compile scalar instructions (SOP1/SOP2/SOPC/SOPK, SOPP control flow, SMEM) into batch operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader import vmem_access
from pytest_amdgpu.sim.shader.access import scalar_reader, scalar_writer
from pytest_amdgpu.sim.shader.operands import EXEC_LO, aligned_scalar
from pytest_amdgpu.sim.shader.specs import SALU, SMEM, SaluSpec
from pytest_amdgpu.sim.shader.syntax_base import signed
from pytest_amdgpu.sim.shader.waves import (
    DISCARD_ROW,
    FLAT_SCRATCH_ROW,
    HWREG_MODE_ROW,
    WaveBatch,
    store_where,
)

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

U32, U64 = np.uint32, np.uint64
SALU_CYCLES, BRANCH_CYCLES, SMEM_CYCLES = 1, 2, 20

# s_getreg/s_setreg register ids that the shader core models, per family
HW_REG_MODE = 1
HW_REG_FLAT_SCR_LO, HW_REG_FLAT_SCR_HI = 20, 21


def _compiled(inst: Instruction, run, cost: int, control: bool = False) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    return Compiled(inst, run, cost, False, control)


def _write_scc(b: WaveBatch, scc, active: np.ndarray, all_active: bool) -> None:
    if all_active:
        b.scc[...] = scc
    else:
        store_where(b.scc, scc, active)


# --- SALU ------------------------------------------------------------------------------------------------
def _sgpr_rows(ops, codes: list[int], dwords: int) -> list[int] | None:
    """The first SGPR rows of register operands `codes`, or None if one is a constant or null."""
    if any(code >= 128 or ops.layout.is_null(code) for code in codes):
        return None
    return [aligned_scalar(code, dwords) for code in codes]


def _known_patterns(b: WaveBatch, rows: list[int], all_active: bool) -> list[np.ndarray] | None:
    """The workgroup patterns of SGPR rows `rows` when every one is known and every wave runs: then a
    bitwise mask operation on them (EXEC and VCC arithmetic) knows its result's pattern at the cost of
    the same operation on one workgroup's waves (WaveBatch.row_patterns)."""
    if not all_active:
        return None
    known = [b.row_patterns.get(row) for row in rows]
    return None if any(pattern is None for pattern in known) else known


def _dword_wise(inst: Instruction, spec: SaluSpec, rows: list[int], dst: int, dwords: int):
    """A bitwise SALU instruction on register operands, one dword at a time: no uint64 copies of 64-bit
    operands, and the result's workgroup pattern when the sources' are known (EXEC and VCC arithmetic is
    most of what a kernel's scalar unit does)."""
    fn = spec.fn
    targets = [dst + i if dst + i < 128 else DISCARD_ROW for i in range(dwords)]

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        known = _known_patterns(b, [row + i for i in range(dwords) for row in rows], all_active)
        results = [fn(*[b.sgpr[row + i] for row in rows]) for i in range(dwords)]  # every read, then writes
        for target, (value, _) in zip(targets, results, strict=True):
            b.write_sgpr(target, value, active, all_active)
        if results[0][1] is not None:
            nonzero = results[0][0] != 0 if dwords == 1 else (results[0][0] | results[1][0]) != 0
            _write_scc(b, nonzero, active, all_active)
        if known is not None:  # the result's workgroup pattern, for EXEC and template reads
            count = len(rows)
            for i, target in enumerate(targets):
                b.row_patterns[target] = np.asarray(fn(*known[i * count : (i + 1) * count])[0], dtype=U32)

    return _compiled(inst, run, SALU_CYCLES)


def compile_salu(ctx: ShaderContext, inst: Instruction, spec: SaluSpec) -> Compiled:
    ops = ctx.operands(inst)
    f = inst.fields
    if spec.bitwise and inst.format in ("SOP1", "SOP2"):
        names = ("ssrc0",) if inst.format == "SOP1" else ("ssrc0", "ssrc1")
        dwords = spec.dst_bits // 32
        rows = _sgpr_rows(ops, [f[name] for name in names], dwords)
        if rows is not None and not ops.layout.is_null(f["sdst"]) and f["sdst"] < 128:
            return _dword_wise(inst, spec, rows, aligned_scalar(f["sdst"], dwords), dwords)
    readers = []
    if inst.format == "SOPK":
        imm = f["simm16"]
        value = signed(imm, 16) & 0xFFFF_FFFF if spec.simm16 == "signed" else imm
        constant = np.array(value, dtype=U32)
        if spec.dst_is_source or spec.dst_bits == 0:
            readers.append(scalar_reader(ops, f["sdst"], 32))
        readers.append(lambda b: constant)
    else:
        if spec.dst_is_source:
            readers.append(scalar_reader(ops, f["sdst"], spec.dst_bits))
        names = ("ssrc0",) if inst.format == "SOP1" else ("ssrc0", "ssrc1")
        for name, bits in zip(names, spec.src_bits, strict=True):
            readers.append(scalar_reader(ops, f[name], bits))
    writer = scalar_writer(ops, f["sdst"], spec.dst_bits) if spec.dst_bits else None
    fn, reads_scc = spec.fn, spec.reads_scc

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        args = [read(b) for read in readers]
        if reads_scc:
            args.append(b.scc)
        value, scc = fn(*args)
        if value is not None and writer is not None:
            writer(b, value, active, all_active)
        if scc is not None:
            _write_scc(b, scc, active, all_active)

    return _compiled(inst, run, SALU_CYCLES)


_SAVEEXEC = {
    "and": lambda s, e: s & e,
    "or": lambda s, e: s | e,
    "xor": lambda s, e: s ^ e,
    "andn2": lambda s, e: s & ~e,
    "and_not1": lambda s, e: s & ~e,
    "orn2": lambda s, e: s | ~e,
    "or_not1": lambda s, e: s | ~e,
    "nand": lambda s, e: ~(s & e),
    "nor": lambda s, e: ~(s | e),
    "xnor": lambda s, e: ~(s ^ e),
    "andn1": lambda s, e: ~s & e,
    "and_not0": lambda s, e: ~s & e,
    "orn1": lambda s, e: ~s | e,
    "or_not0": lambda s, e: ~s | e,
}


def compile_special_sop1(ctx: ShaderContext, inst: Instruction) -> Compiled | None:
    name = inst.mnemonic or ""
    f = inst.fields
    ops = ctx.operands(inst)
    next_pc = inst.pc + inst.size
    if name == "s_getpc_b64":
        write = scalar_writer(ops, f["sdst"], 64)
        value = np.array(next_pc, dtype=U64)
        return _compiled(inst, lambda b, a, full: write(b, value, a, full), SALU_CYCLES)
    if name in ("s_setpc_b64", "s_swappc_b64"):
        read = scalar_reader(ops, f["ssrc0"], 64)
        write = scalar_writer(ops, f["sdst"], 64) if name == "s_swappc_b64" else None
        value = np.array(next_pc, dtype=U64)

        def jump(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            target = np.broadcast_to(np.asarray(read(b)).astype(np.int64), (b.n_waves,))
            if write is not None:
                write(b, value, active, all_active)
            store_where(b.pc, target & ~3, active)

        return _compiled(inst, jump, BRANCH_CYCLES, control=True)
    for stem, fn in _SAVEEXEC.items():
        for kind in ("saveexec", "wrexec"):
            for width in (32, 64):
                if name == f"s_{stem}_{kind}_b{width}":
                    return _compile_saveexec(ctx, inst, fn, width, kind == "wrexec")
    if name in ("s_barrier_signal", "s_barrier_signal_isfirst"):
        from pytest_amdgpu.sim.shader.exec_control import compile_barrier_signal

        return compile_barrier_signal(ctx, inst)
    return None


def _compile_saveexec(ctx: ShaderContext, inst: Instruction, fn, width: int, write_new: bool) -> Compiled:
    ops = ctx.operands(inst)
    f = inst.fields
    read_src = scalar_reader(ops, f["ssrc0"], width)
    read_exec = scalar_reader(ops, EXEC_LO, width)
    write_dst = scalar_writer(ops, f["sdst"], width)
    write_exec = scalar_writer(ops, EXEC_LO, width)

    dwords = width // 32
    rows = _sgpr_rows(ops, [f["ssrc0"]], dwords)
    if rows is not None and not ops.layout.is_null(f["sdst"]) and f["sdst"] < 128:
        src, dst = rows[0], aligned_scalar(f["sdst"], dwords)
        targets = [dst + i if dst + i < 128 else DISCARD_ROW for i in range(dwords)]

        def dword_wise(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            known = _known_patterns(
                b, [*range(src, src + dwords), *range(EXEC_LO, EXEC_LO + dwords)], all_active
            )
            old = [b.sgpr[EXEC_LO + i].copy() for i in range(dwords)]
            new = [fn(b.sgpr[src + i], old[i]) for i in range(dwords)]
            for i, target in enumerate(targets):  # (the destination may be the source: every read is done)
                b.write_sgpr(target, new[i] if write_new else old[i], active, all_active)
            for i in range(dwords):
                b.write_sgpr(EXEC_LO + i, new[i], active, all_active)
            _write_scc(b, (new[0] != 0) if dwords == 1 else (new[0] | new[1]) != 0, active, all_active)
            if known is not None:  # the results' workgroup patterns (see _known_patterns)
                new_known = [np.asarray(fn(known[i], known[dwords + i]), dtype=U32) for i in range(dwords)]
                for i, target in enumerate(targets):
                    b.row_patterns[target] = new_known[i] if write_new else known[dwords + i]
                    b.row_patterns[EXEC_LO + i] = new_known[i]

        return _compiled(inst, dword_wise, SALU_CYCLES)

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        old_exec = np.array(read_exec(b), copy=True)
        new_exec = fn(np.asarray(read_src(b)), old_exec)
        write_dst(b, new_exec if write_new else old_exec, active, all_active)
        write_exec(b, new_exec, active, all_active)
        _write_scc(b, new_exec != 0, active, all_active)

    return _compiled(inst, run, SALU_CYCLES)


# --- SOPK specials ------------------------------------------------------------------------------------------
def _hwreg_fields(imm: int) -> tuple[int, int, int]:
    return imm & 0x3F, (imm >> 6) & 0x1F, ((imm >> 11) & 0x1F) + 1


def compile_special_sopk(ctx: ShaderContext, inst: Instruction) -> Compiled | None:
    name = inst.mnemonic or ""
    f = inst.fields
    ops = ctx.operands(inst)
    if name.startswith("s_waitcnt_") or name == "s_version":
        return _compiled(inst, lambda b, a, full: None, SALU_CYCLES)
    if name == "s_call_b64":
        write = scalar_writer(ops, f["sdst"], 64)
        return_address = np.array(inst.pc + inst.size, dtype=U64)
        target = inst.pc + 4 + signed(f["simm16"], 16) * 4

        def call(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            write(b, return_address, active, all_active)
            b.pc[active] = target

        return _compiled(inst, call, BRANCH_CYCLES, control=True)
    if name not in ("s_getreg_b32", "s_setreg_b32", "s_setreg_imm32_b32"):
        return None
    register, offset, size = _hwreg_fields(f["simm16"])
    row = _hwreg_row(ctx, register)
    if row is None:
        raise ctx.error(inst, f"hardware register {register} is not modelled by the shader core")
    field_mask = ((1 << size) - 1) << offset & 0xFFFF_FFFF
    if name == "s_getreg_b32":
        write = scalar_writer(ops, f["sdst"])
        return _compiled(
            inst,
            lambda b, a, full: write(b, (b.sgpr[row] & U32(field_mask)) >> U32(offset), a, full),
            SALU_CYCLES,
        )
    if name == "s_setreg_b32":
        read = scalar_reader(ops, f["sdst"])
    else:
        constant = np.array(inst.literal or 0, dtype=U32)
        read = lambda b: constant  # noqa: E731

    def setreg(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        value = ((np.asarray(read(b)).astype(U32) << U32(offset)) & U32(field_mask)) | (
            b.sgpr[row] & ~U32(field_mask)
        )
        b.write_sgpr(row, value, active, all_active)

    return _compiled(inst, setreg, SALU_CYCLES)


def _hwreg_row(ctx: ShaderContext, register: int) -> int | None:
    if register == HW_REG_MODE:
        return HWREG_MODE_ROW
    if ctx.isa_family != "gfx9" and register in (HW_REG_FLAT_SCR_LO, HW_REG_FLAT_SCR_HI):
        # GFX10 FLAT_SCR_LO/HI, GFX11 the same names, GFX12 SCRATCH_BASE_LO/HI: the wave's scratch base
        return FLAT_SCRATCH_ROW + register - HW_REG_FLAT_SCR_LO
    return None


# --- SMEM ---------------------------------------------------------------------------------------------------
def compile_smem(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    spec = SMEM.get(name)
    if spec is None:
        raise ctx.error(inst, f"unsupported scalar memory instruction {name}")
    if spec.kind == "nop":
        return _compiled(inst, lambda b, a, full: None, SMEM_CYCLES)
    ops = ctx.operands(inst)
    f = inst.fields
    if spec.kind == "time":
        write = scalar_writer(ops, f["sdata"], 64)

        def read_time(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            write(b, np.array(ctx.cycles, dtype=U64), active, all_active)

        return _compiled(inst, read_time, SMEM_CYCLES)
    offset = _smem_offset(ctx, inst, ops)
    base_row = aligned_scalar(f["sbase"] * 2, 2)
    data_row = aligned_scalar(f["sdata"], spec.dwords)
    buffer = spec.kind == "buffer_load"
    memory = ctx.memory

    def address(b: WaveBatch) -> tuple[np.ndarray, np.ndarray | None]:
        lo, hi = b.sgpr[base_row].astype(U64), b.sgpr[base_row + 1].astype(U64)
        base = lo | ((hi & U64(0xFFFF)) << U64(32)) if buffer else lo | (hi << U64(32))
        extra = np.asarray(offset(b), dtype=np.int64)
        addr = base + extra.view(U64)
        limit = b.sgpr[base_row + 2].astype(np.int64) if buffer else None
        return addr, (extra if limit is None else limit - extra)

    if spec.kind == "store":

        def store(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            addr, _ = address(b)
            data = np.stack([b.sgpr[data_row + i] for i in range(spec.dwords)], axis=1)
            waves = np.flatnonzero(active)
            vmem_access.store_dwords(memory, (addr[waves] & ~U64(3)), data[waves])

        return _compiled(inst, store, SMEM_CYCLES)

    def load(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        addr, remaining = address(b)
        waves = slice(None) if all_active else np.flatnonzero(active)  # (a slice: plain stores, no scatter)
        addr = np.broadcast_to(addr, (b.n_waves,))[waves]
        uniform = addr.size > 1 and addr.min() == addr.max()  # usually every wave reads the same kernargs
        unique = addr[:1] if uniform else addr
        if spec.byte_size < 4:
            values = vmem_access.load_small(memory, unique, spec.byte_size, spec.signed)[:, None]
        else:
            values = vmem_access.load_dwords(memory, unique & ~U64(3), spec.dwords)
        if uniform:
            values = np.broadcast_to(values, (addr.size, spec.dwords))
        if buffer:  # s_buffer_load: dwords past NUM_RECORDS read as 0
            remaining = np.broadcast_to(np.asarray(remaining), (b.n_waves,))
            in_range = (np.arange(spec.dwords) * 4)[None, :] < remaining[waves][:, None]
            values = np.where(in_range, values, U32(0))
        for i in range(spec.dwords):
            row = data_row + i
            if row >= 128 or ctx.layout.is_null(data_row):
                continue
            if uniform and all_active and not buffer:  # every wave read the same: a workgroup pattern
                b.write_sgpr_pattern(row, values[0, i], None)
                continue
            b.sgpr[row, waves] = values[:, i]
            b.row_patterns.pop(row, None)
            if row in (EXEC_LO, EXEC_LO + 1):
                b.exec_changed()

    return _compiled(inst, load, SMEM_CYCLES)


def _smem_offset(ctx: ShaderContext, inst: Instruction, ops):
    """A function batch -> (W,) int64 byte offset: the immediate plus an SGPR offset if encoded."""
    f = inst.fields
    family = ctx.isa_family
    if family == "gfx9":
        immediate = signed(f["offset"], 21) if f["imm"] else 0
        if not f["imm"]:
            sgpr = f["soffset"] if f["soe"] else f["offset"] & 0x7F
        else:
            sgpr = f["soffset"] if f["soe"] else None
    else:
        immediate = signed(f["offset"], 24 if family == "gfx12" else 21)
        sgpr = None if ctx.layout.is_null(f["soffset"]) else f["soffset"]
    if sgpr is None:
        constant = np.int64(immediate)
        return lambda b: constant
    read = scalar_reader(ops, sgpr)
    return lambda b: np.asarray(read(b)).astype(np.int64) + immediate


def compile_scalar(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    if inst.format == "SMEM":
        return compile_smem(ctx, inst)
    if inst.format == "SOPP":
        from pytest_amdgpu.sim.shader.exec_control import compile_sopp

        return compile_sopp(ctx, inst)
    special = None
    if inst.format == "SOP1":
        special = compile_special_sop1(ctx, inst)
    elif inst.format == "SOPK":
        special = compile_special_sopk(ctx, inst)
    if special is not None:
        return special
    spec = SALU.get(name)
    if spec is None:
        raise ctx.error(inst, f"unsupported scalar instruction {name}")
    return compile_salu(ctx, inst, spec)
