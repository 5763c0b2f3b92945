"""Compile vector memory instructions: FLAT, GLOBAL, SCRATCH and MUBUF loads, stores and atomics.

Scratch (private) memory is per lane and interleaved a dword at a time across the lanes of a wave
("swizzled"): private byte p of lane l is at base + (p // 4) * 4L + 4l + p % 4, base being the wave's
FLAT_SCRATCH (scratch_*) or the swizzled buffer resource (MUBUF with SWIZZLE_ENABLE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader import vmem_access
from pytest_amdgpu.sim.shader.access import scalar_reader, vector_reader
from pytest_amdgpu.sim.shader.exec_vector import executing_lanes, scope_of
from pytest_amdgpu.sim.shader.operands import VGPR_BASE, aligned_scalar
from pytest_amdgpu.sim.shader.specs import VMEM, MemSpec
from pytest_amdgpu.sim.shader.syntax_base import signed
from pytest_amdgpu.sim.shader.syntax_vector import saddr_is_off, scratch_uses_vaddr
from pytest_amdgpu.sim.shader.waves import FLAT_SCRATCH_ROW, WaveBatch

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

U32, U64, I64 = np.uint32, np.uint64, np.int64
VMEM_CYCLES = 40
GFX9_FLAT_SCRATCH_ROW = 102  # flat_scratch_lo/hi are SGPRs 102/103 on GFX9


def _compiled(inst: Instruction, run, cost: int) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    return Compiled(inst, run, cost)


def _flat_offset(ctx: ShaderContext, inst: Instruction) -> int:
    raw = inst.fields["offset"]
    if ctx.isa_family == "gfx12":
        return signed(raw, 24)
    if inst.format == "FLAT":
        return raw & (0xFFF if ctx.isa_family == "gfx10" else 0x1FFF)
    return signed(raw, 12 if ctx.isa_family == "gfx10" else 13)


def _returns(ctx: ShaderContext, inst: Instruction, spec: MemSpec) -> bool:
    if spec.kind == "load":
        return True
    if spec.kind != "atomic":
        return False
    f = inst.fields
    return bool(f.get("th", 0) & 1) if ctx.isa_family == "gfx12" else bool(f.get("glc"))


def _flat_scratch_base(ctx: ShaderContext):
    row = GFX9_FLAT_SCRATCH_ROW if ctx.isa_family == "gfx9" else FLAT_SCRATCH_ROW
    return lambda b: b.sgpr[row].astype(U64) | (b.sgpr[row + 1].astype(U64) << U64(32))


def _swizzled(base: np.ndarray, private: np.ndarray, lanes: int) -> np.ndarray:
    """Byte address of private byte offsets (W, L) of each lane, dword-interleaved across the wave."""
    private = private.astype(I64)
    lane = np.arange(lanes, dtype=I64)[None, :]
    return (base.astype(I64)[:, None] + (private >> 2) * (4 * lanes) + lane * 4 + (private & 3)).astype(U64)


def _address_function(ctx: ShaderContext, inst: Instruction):
    """A function (batch, element byte offset) -> (wave base (W,) or None, lane part (W, L), const).

    A lane's address is wave_base[w] + lane_part[w, l] + const; keeping the parts apart lets whole-wave
    accesses index memory without building 64-bit addresses for every lane.
    """
    ops = ctx.operands(inst)
    f = inst.fields
    offset = _flat_offset(ctx, inst)
    lanes = ctx.lanes
    if inst.format == "SCRATCH":
        uses_vaddr = scratch_uses_vaddr(ctx.isa_family, ctx.props.cache_syntax == "sc", f)
        uses_saddr = not saddr_is_off(ctx.isa_family, f["saddr"])
        vaddr = vector_reader(ops, VGPR_BASE + f["addr"]) if uses_vaddr else None
        saddr = scalar_reader(ops, f["saddr"]) if uses_saddr else None
        base = _flat_scratch_base(ctx)

        def scratch(b: WaveBatch, element_bytes: int):
            private = np.full((b.n_waves, lanes), offset + element_bytes, dtype=I64)
            if vaddr is not None:
                private += np.broadcast_to(vaddr(b), (b.n_waves, lanes)).astype(I64)
            if saddr is not None:
                private += np.asarray(saddr(b)).astype(I64).reshape(-1, 1)
            return None, _swizzled(base(b), private & 0xFFFF_FFFF, lanes), 0

        return scratch
    if inst.format == "GLOBAL" and not saddr_is_off(ctx.isa_family, f["saddr"]):
        saddr = scalar_reader(ops, f["saddr"], 64)
        vaddr32 = vector_reader(ops, VGPR_BASE + f["addr"])

        def global_saddr(b: WaveBatch, element_bytes: int):
            base = saddr(b)
            lane_part = np.broadcast_to(vaddr32(b), (b.n_waves, lanes))
            return base.view(I64), lane_part, offset + element_bytes

        return global_saddr
    vaddr64 = vector_reader(ops, VGPR_BASE + f["addr"], 64)

    def flat(b: WaveBatch, element_bytes: int):
        return None, np.broadcast_to(vaddr64(b), (b.n_waves, lanes)), offset + element_bytes

    return flat


def _lane_addresses(b: WaveBatch, parts, selection: np.ndarray | None) -> np.ndarray:
    """uint64 addresses of the selected lanes (flat wave * L + lane indices; None: every lane), computed for
    those lanes only: a store of one lane per workgroup must not cost an address for every lane."""
    if selection is None:
        return _full_address(parts).reshape(-1)
    wave_base, lane_part, const = parts
    address = _lane_values(b, lane_part, selection).astype(U64) + U64(const & 0xFFFF_FFFF_FFFF_FFFF)
    if wave_base is not None:
        address = address + wave_base.view(U64)[selection // b.lanes]
    return address


def _full_address(parts) -> np.ndarray:
    """(W, L) uint64 addresses from address parts (wrapping at 2**64)."""
    wave_base, lane_part, const = parts
    address = lane_part.astype(U64) + U64(const & 0xFFFF_FFFF_FFFF_FFFF)
    if wave_base is not None:
        address = address + wave_base.view(U64)[:, None]
    return address


def _saddr_offsets(ctx: ShaderContext, inst: Instruction):
    """For a GLOBAL access with an SGPR base: a function (batch) -> (wave base, lane part as base and block,
    const) when its 32-bit VGPR offset is kept as an offset row (WaveBatch.offsets), else None."""
    f = inst.fields
    if inst.format != "GLOBAL" or saddr_is_off(ctx.isa_family, f["saddr"]):
        return None
    saddr = scalar_reader(ctx.operands(inst), f["saddr"], 64)
    index, offset = f["addr"], _flat_offset(ctx, inst)

    def parts(b: WaveBatch):
        found = b.vgpr.offsets.get(index)
        return None if found is None else (saddr(b).view(I64), found, offset)

    return parts


def _whole_wave_offsets(b: WaveBatch, memory, store: bool, parts, register: int) -> bool:
    """A dword load or store of every lane at a run of consecutive dwords whose VGPR offsets are an offset
    row: one copy, and the offsets are never built; False when another path must do it."""
    wave_base, (base, block), const = parts
    run = vmem_access.contiguous_offset_words(memory, wave_base, base, block, const, store)
    if run is None:
        return False
    if store:
        run[...] = b.vgpr[register]
    else:
        b.set_vgpr_row(register, run.copy())
    return True


def _whole_wave(b: WaveBatch, memory, store: bool, parts, dwords: int, register: int) -> bool:
    """Load or store every lane of every wave by word index; False when the general path must do it.

    `register` is the first destination VGPR of a load or the first data VGPR of a store.
    """
    if dwords == 1:
        run = vmem_access.contiguous_words(memory, *parts, 4, store)
        if run is not None:
            if store:
                run[...] = b.vgpr[register]
            else:
                b.set_vgpr_row(register, run.copy())
            return True
    found = vmem_access.word_index(memory, *parts, 4 * dwords, store)
    if found is None:
        return False
    words, index = found
    if store:
        if int(index.max()) + dwords > words.size:
            return False
        for i in range(dwords):
            words[index if i == 0 else index + i] = b.vgpr[register + i]
        return True
    values = []
    for i in range(dwords):
        loaded = vmem_access.take_words(words, index if i == 0 else index + i)
        if loaded is None:
            return False
        values.append(loaded)
    for i, loaded in enumerate(values):
        b.set_vgpr_row(register + i, loaded)
    return True


def _lane_values(b: WaveBatch, array: np.ndarray, selection: np.ndarray | None) -> np.ndarray:
    flat = np.broadcast_to(array, (b.n_waves, b.lanes)).reshape(-1)
    return flat if selection is None else flat[selection]


def _joined_pairs(data: list[np.ndarray]) -> list[np.ndarray]:
    """Consecutive dword registers (lo, hi, lo, hi, ...) as 64-bit values, one per pair."""
    return [data[i].astype(U64) | (data[i + 1].astype(U64) << U64(32)) for i in range(0, len(data), 2)]


def _dword_columns(values: np.ndarray, dwords: int) -> np.ndarray:
    """(N,) 32- or 64-bit values as (N, dwords) uint32 register columns (low dword first)."""
    if dwords == 1:
        return values[:, None]
    return np.stack([(values & U64(0xFFFF_FFFF)).astype(U32), (values >> U64(32)).astype(U32)], axis=1)


def _store_rows(b: WaveBatch, first_row: int, values: np.ndarray, selection: np.ndarray | None) -> None:
    """values (N, k): write column i into v[first_row + i] for the selected lanes."""
    for i in range(values.shape[1]):
        b.forget_template(first_row + i)
        row = b.vgpr[first_row + i].reshape(-1)
        if selection is None:
            row[...] = values[:, i]
        else:
            row[selection] = values[:, i]


def compile_flat(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    spec = VMEM.get(name.split("_", 1)[1])
    if spec is None:
        raise ctx.error(inst, f"unsupported vector memory instruction {name}")
    f = inst.fields
    if f.get("acc"):
        raise ctx.error(inst, "AGPR data operands are not modelled")
    if f.get("lds") and ctx.props.cache_syntax != "sc":
        raise ctx.error(inst, "loads straight into LDS are not modelled")
    ops = ctx.operands(inst)
    address = _address_function(ctx, inst)
    swizzled = inst.format == "SCRATCH"
    returns = _returns(ctx, inst, spec)
    memory = ctx.memory
    dwords, size = spec.dwords, spec.byte_size
    if returns:
        ops.check_vgpr(f["vdst"], dwords)
    data_dwords = dwords * (2 if spec.atomic == "cmpswap" else 1)
    if spec.kind != "load":
        ops.check_vgpr(f["data"], data_dwords)
    data_row = f["data"]

    fast_path = spec.kind in ("load", "store") and size >= 4 and not swizzled
    saddr_offsets = _saddr_offsets(ctx, inst) if fast_path and dwords == 1 else None

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        selection = executing_lanes(b, active, all_active)
        if selection is not None and selection.size == 0:
            return
        if fast_path and selection is None:
            store = spec.kind == "store"
            register = data_row if store else f["vdst"]
            parts = None if saddr_offsets is None else saddr_offsets(b)
            if parts is not None and _whole_wave_offsets(b, memory, store, parts, register):
                return
            if _whole_wave(b, memory, store, address(b, 0), dwords, register):
                return
        if spec.kind == "atomic":
            addr = _lane_addresses(b, address(b, 0), selection)
            data = [_lane_values(b, b.vgpr[data_row + i], selection) for i in range(data_dwords)]
            if dwords == 2:
                data = _joined_pairs(data)
            new, compare = (data[0], data[1]) if spec.atomic == "cmpswap" else (data[0], None)
            old = vmem_access.atomic(memory, addr, spec.atomic, new, compare, dwords)
            if returns:
                _store_rows(b, f["vdst"], _dword_columns(old, dwords), selection)
            return
        if size < 4:
            addr = _lane_addresses(b, address(b, 0), selection)
            if spec.kind == "load":
                _store_rows(
                    b, f["vdst"], vmem_access.load_small(memory, addr, size, spec.signed)[:, None], selection
                )
            else:
                vmem_access.store_small(memory, addr, _lane_values(b, b.vgpr[data_row], selection), size)
            return
        if swizzled and dwords > 1:  # each dword of a lane sits 4L bytes after the previous one
            addresses = np.concatenate(
                [_lane_addresses(b, address(b, 4 * i), selection) for i in range(dwords)]
            )
            count = addresses.size // dwords
            if spec.kind == "load":
                values = vmem_access.load_dwords(memory, addresses, 1).reshape(dwords, count).T
                _store_rows(b, f["vdst"], values, selection)
            else:
                data = np.concatenate(
                    [_lane_values(b, b.vgpr[data_row + i], selection) for i in range(dwords)]
                )
                vmem_access.store_dwords(memory, addresses, data[:, None])
            return
        addr = _lane_addresses(b, address(b, 0), selection)
        if spec.kind == "load":
            _store_rows(b, f["vdst"], vmem_access.load_dwords(memory, addr, dwords), selection)
            return
        scope = scope_of(b, active, all_active) if selection is not None else None
        if scope is not None:  # the selection is these lanes of every workgroup, workgroup by workgroup
            data = [b.vgpr.column_values(data_row + i, scope.run).reshape(-1) for i in range(dwords)]
        else:
            data = [_lane_values(b, b.vgpr[data_row + i], selection) for i in range(dwords)]
        vmem_access.store_dwords(memory, addr, np.stack(data, axis=1))

    return _compiled(inst, run, VMEM_CYCLES)


# --- MUBUF --------------------------------------------------------------------------------------------------
_INDEX_STRIDES = (8, 16, 32, 64)
_ELEMENT_SIZES = (2, 4, 8, 16)


def compile_mubuf(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    spec = VMEM.get(name.split("_", 1)[1])
    if spec is None:
        raise ctx.error(inst, f"unsupported buffer instruction {name}")
    if spec.kind == "cache":  # no caches in the simulator: nothing to write back or invalidate
        return _compiled(inst, lambda b, active, all_active: None, VMEM_CYCLES)
    f = inst.fields
    if f.get("lds") or f.get("tfe") or f.get("acc"):
        raise ctx.error(inst, "buffer loads to LDS, TFE and AGPR data are not modelled")
    ops = ctx.operands(inst)
    family = ctx.isa_family
    rsrc = aligned_scalar(f["srsrc"] * (1 if family == "gfx12" else 4), 4)
    soffset = scalar_reader(ops, f["soffset"])
    instruction_offset = signed(f["offset"], 24) if family == "gfx12" else f["offset"]
    vaddr = VGPR_BASE + f["vaddr"]
    index_reader = vector_reader(ops, vaddr) if f["idxen"] else None
    offset_reader = vector_reader(ops, vaddr + (1 if f["idxen"] else 0)) if f["offen"] else None
    returns = _returns(ctx, inst, spec)
    memory = ctx.memory
    dwords, size = spec.dwords, spec.byte_size
    lanes_per_wave = ctx.lanes
    data_row = f["vdata"]
    ops.check_vgpr(data_row, dwords * (2 if spec.atomic == "cmpswap" else 1))

    def element_addresses(b: WaveBatch, element: int, element_bytes: int):
        """(W, L) byte address and in-range flags of one element of every lane."""
        words = b.sgpr[rsrc : rsrc + 4].astype(U64)
        base = (words[0] | ((words[1] & U64(0xFFFF)) << U64(32))).astype(I64)[:, None]
        stride = ((words[1] >> U64(16)) & U64(0x3FFF)).astype(I64)[:, None]
        swizzle = ((words[1] >> U64(31)) & U64(1)).astype(np.bool_)[:, None]
        records = words[2].astype(I64)[:, None]
        add_tid = ((words[3] >> U64(23)) & U64(1)).astype(np.bool_)[:, None]
        index_stride = np.array(_INDEX_STRIDES)[((words[3] >> U64(21)) & U64(3)).astype(np.int64)][:, None]
        if family == "gfx9":
            element_size = np.array(_ELEMENT_SIZES)[((words[3] >> U64(19)) & U64(3)).astype(np.int64)][
                :, None
            ]
        else:
            element_size = np.full_like(index_stride, 4)
        shape = (b.n_waves, lanes_per_wave)
        index = np.zeros(shape, dtype=I64)
        if index_reader is not None:
            index += np.broadcast_to(index_reader(b), shape).astype(I64)
        index += np.where(add_tid, np.arange(lanes_per_wave, dtype=I64)[None, :], 0)
        offset = np.full(shape, instruction_offset + element, dtype=I64)
        if offset_reader is not None:
            offset += np.broadcast_to(offset_reader(b), shape).astype(I64)
        sgpr_offset = np.asarray(soffset(b)).astype(I64).reshape(-1, 1)
        swizzled_offset = (
            (index // index_stride) * stride * index_stride
            + (offset // element_size) * element_size * index_stride
            + (index % index_stride) * element_size
            + offset % element_size
        )
        linear_offset = offset + index * stride
        address = base + sgpr_offset + np.where(swizzle, swizzled_offset, linear_offset)
        in_range = np.where((stride == 0) & ~swizzle, offset + element_bytes <= records, index < records)
        return address.astype(U64), in_range

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        lanes = b.lane_mask(active, all_active)
        selection = None if lanes is None else np.flatnonzero(lanes)
        if spec.kind == "atomic":
            address, in_range = element_addresses(b, 0, 4 * dwords)
            address, valid = _lane_values(b, address, selection), _lane_values(b, in_range, selection)
            data = [_lane_values(b, b.vgpr[data_row + i], selection) for i in range(dwords * 2)]
            if dwords == 2:
                data = _joined_pairs(data)
            compare = data[1][valid] if spec.atomic == "cmpswap" else None
            old = np.zeros(address.size, dtype=U64 if dwords == 2 else U32)
            old[valid] = vmem_access.atomic(
                memory, address[valid], spec.atomic, data[0][valid], compare, dwords
            )
            if returns:
                _store_rows(b, data_row, _dword_columns(old, dwords), selection)
            return
        loaded = []
        for i in range(dwords):
            element_bytes = min(size, 4)
            address, in_range = element_addresses(b, 4 * i, element_bytes)
            address, valid = _lane_values(b, address, selection), _lane_values(b, in_range, selection)
            if spec.kind == "load":
                values = np.zeros(address.size, dtype=U32)
                if size < 4:
                    values[valid] = vmem_access.load_small(memory, address[valid], size, spec.signed)
                else:
                    values[valid] = vmem_access.load_dwords(memory, address[valid], 1)[:, 0]
                loaded.append(values)
            else:
                data = _lane_values(b, b.vgpr[data_row + i], selection)[valid]
                if size < 4:
                    vmem_access.store_small(memory, address[valid], data, size)
                else:
                    vmem_access.store_dwords(memory, address[valid], data[:, None])
        if loaded:
            _store_rows(b, data_row, np.stack(loaded, axis=1), selection)

    return _compiled(inst, run, VMEM_CYCLES)
