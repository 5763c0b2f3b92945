"""Compile LDS (DS) instructions: loads, stores, two-address forms, atomics, swizzle and lane permutes.

Each workgroup of a batch owns `lds_bytes` of the batch's LDS array. Addresses are 32-bit (VGPR + offset,
wrapping); an element at or past the allocation reads 0 and is not written, as on hardware since GFX9.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader import atomics
from pytest_amdgpu.sim.shader.access import vector_reader, vgpr_writer, write_vgpr
from pytest_amdgpu.sim.shader.exec_gws import compile_gws
from pytest_amdgpu.sim.shader.exec_vector import COMPACT_FRACTION, executing_lanes, lane_run, scope_of
from pytest_amdgpu.sim.shader.operands import VGPR_BASE
from pytest_amdgpu.sim.shader.specs import DS, MemSpec
from pytest_amdgpu.sim.shader.waves import WaveBatch

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

U8, U16, U32, U64 = np.uint8, np.uint16, np.uint32, np.uint64
LDS_CYCLES = 8


def _compiled(inst: Instruction, run, cost: int) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    return Compiled(inst, run, cost)


def _flat(array: np.ndarray, selection: np.ndarray | None) -> np.ndarray:
    """A (W, L) array as the flat values of the selected lanes."""
    flat = array.reshape(-1)
    return flat if selection is None else flat[selection]


class _LdsAddresses:
    """Byte addresses into the batch LDS array for selected lanes, with the in-allocation test."""

    def __init__(self, b: WaveBatch, selection: np.ndarray | None, local: np.ndarray) -> None:
        wave_of_lane = np.repeat(np.arange(b.n_waves), b.lanes) if selection is None else selection // b.lanes
        self.base = b.workgroup[wave_of_lane] * b.lds_bytes
        self.local = local.astype(np.int64)
        self.limit = b.lds_bytes

    def element(self, byte_offset: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        local = (self.local + byte_offset) & 0xFFFF_FFFF
        return self.base + local, local + size <= self.limit


def _fast_index(
    b: WaveBatch,
    local: np.ndarray,
    lanes: np.ndarray | None,
    byte_offset: int,
    size: int,
    workgroups: np.ndarray,
):
    """(W, L) word index into the batch LDS of dword accesses at local + byte_offset, or None when some
    executing lane is misaligned or outside the allocation (then the element-wise path handles it)."""
    if local.dtype != U32 or size != 4 or b.lds_bytes == 0:
        return None
    limit = b.lds_bytes - byte_offset - size

    def fits(values: np.ndarray) -> bool:
        return (
            not (int(np.bitwise_or.reduce(values, axis=None)) | byte_offset) & 3
            and int(values.max()) <= limit
        )

    # every lane (cheap); failing that, only the executing ones (inactive lanes may hold anything)
    if not fits(local) and (lanes is None or not fits(np.where(lanes, local, U32(0)))):
        return None
    wave_words = workgroups * (b.lds_bytes // 4) + byte_offset // 4
    return (local >> U32(2)) + wave_words[:, None]


def _template_access(
    b: WaveBatch, active: np.ndarray, all_active: bool, address: int, byte_offsets: list[int]
):
    """Dword LDS accesses whose address VGPR and executing lanes are the same in every workgroup: each
    workgroup reads or writes the same LDS words, so the batch LDS is a (workgroups, words) array and each
    access is a column selection in it. Returns (lane positions within a workgroup's lanes, the LDS as
    (workgroups, words), column selection per offset), or None to take the general path."""
    if b.templates[address] is None or b.lds_bytes == 0:
        return None
    scope = scope_of(b, active, all_active)
    if scope is None or scope.flat.size == 0:
        return None
    block = b.template(address, scope.executing)
    if block is None:
        return None
    key = (address, tuple(byte_offsets))
    kept = scope.memo.get(key)  # the same address template under the same lanes: the same columns
    if kept is not None and kept[0] is block:
        return kept[1]
    local = block.reshape(-1)[scope.flat].astype(np.int64)
    columns = []
    for byte_offset in byte_offsets:
        where = (local + byte_offset) & 0xFFFF_FFFF
        if (where & 3).any() or int(where.max()) + 4 > b.lds_bytes:
            return None  # misaligned or outside the allocation: the element-wise path has the rules
        columns.append(lane_run(where >> 2))
    lds = b.lds[: b.n_workgroups * b.lds_bytes].view(U32).reshape(b.n_workgroups, b.lds_bytes // 4)
    found = (scope.run, lds, columns)
    scope.memo[key] = (block, found)
    return found


def _scope(b: WaveBatch, active: np.ndarray, all_active: bool, address):
    """(rows or None, lane mask or None, local addresses), restricted to the active waves when few are."""
    if not all_active:
        rows = np.flatnonzero(active)
        if rows.size <= COMPACT_FRACTION * b.n_waves:
            executing = b.exec_lanes()[rows]
            local = np.broadcast_to(address(b), (b.n_waves, b.lanes))[rows]
            return rows, (None if executing.all() else executing), local
    lanes = b.lane_mask(active, all_active)
    return None, lanes, np.broadcast_to(address(b), (b.n_waves, b.lanes))


def _read(
    lds: np.ndarray, where: np.ndarray, valid: np.ndarray, size: int, signed: bool = False
) -> np.ndarray:
    safe = np.where(valid, where, 0)
    if size == 4:
        if not (safe & 3).any():
            values = lds.view(U32)[safe >> 2]
        else:
            values = lds[safe[:, None] + np.arange(4)].view(U32).reshape(-1)
    else:
        dtype = {(1, False): np.uint8, (1, True): np.int8, (2, False): np.uint16, (2, True): np.int16}[
            (size, signed)
        ]
        raw = lds[safe[:, None] + np.arange(size)].copy().view(dtype).reshape(-1)
        values = raw.astype(np.int64).astype(U32)
    return np.where(valid, values, U32(0))


def _write(lds: np.ndarray, where: np.ndarray, valid: np.ndarray, values: np.ndarray, size: int) -> None:
    where, values = where[valid], np.asarray(values, dtype=U32)[valid]
    if size == 4 and not (where & 3).any():
        lds.view(U32)[where >> 2] = values
    elif size == 4:
        lds[where[:, None] + np.arange(4)] = values.view(U8).reshape(-1, 4)
    else:
        narrow = values.astype(U8 if size == 1 else U16)
        lds[where[:, None] + np.arange(size)] = narrow.view(U8).reshape(-1, size)


def compile_ds(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    spec = DS.get(name)
    if spec is None:
        raise ctx.error(inst, f"unsupported LDS instruction {name}")
    f = inst.fields
    if spec.kind == "gws":
        return compile_gws(ctx, inst, spec)
    if f.get("gds"):
        raise ctx.error(inst, "GDS is not modelled")
    if f.get("acc"):
        raise ctx.error(inst, "AGPR data operands are not modelled")
    ops = ctx.operands(inst)
    if spec.kind == "nop":
        return _compiled(inst, lambda b, a, full: None, LDS_CYCLES)
    address = vector_reader(ops, VGPR_BASE + f["addr"])
    offset = f["offset1"] << 8 | f["offset0"]
    if spec.kind in ("permute", "swizzle"):
        return _compiled(inst, _cross_lane(ctx, inst, spec, address, offset), LDS_CYCLES)
    data0 = [vector_reader(ops, VGPR_BASE + f["data0"] + i) for i in range(spec.dwords)]
    data1 = [vector_reader(ops, VGPR_BASE + f["data1"] + i) for i in range(spec.dwords)]
    kind, size, dwords = spec.kind, spec.byte_size, spec.dwords
    element = min(size, 4)

    if kind in ("load", "load2"):
        pairs = 2 if kind == "load2" else 1
        stride = (64 if spec.stride64 else 1) * 4 * dwords
        offsets = [f["offset0"] * stride, f["offset1"] * stride] if kind == "load2" else [offset]
        targets = [f["vdst"] + i for i in range(dwords * pairs)]
        for target in targets:
            ops.check_vgpr(target, 1)

        template_offsets = [base + 4 * i for base in offsets for i in range(dwords)]

        def load(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            if element == 4:
                found = _template_access(b, active, all_active, f["addr"], template_offsets)
                if found is not None:
                    positions, lds, columns = found
                    for target, column in zip(targets, columns, strict=True):
                        b.forget_template(target)
                        if isinstance(column, slice):  # a view of the LDS, copied if a store comes
                            b.vgpr.write_columns(target, positions, lds[:, column], False, column)
                        else:
                            b.vgpr.write_columns(target, positions, lds[:, column], own=True)
                    return
            rows, lanes, local = _scope(b, active, all_active, address)
            if element == 4:
                workgroups = b.workgroup if rows is None else b.workgroup[rows]
                indices = [
                    _fast_index(b, local, lanes, base + 4 * i, 4, workgroups)
                    for base in offsets
                    for i in range(dwords)
                ]
                if all(index is not None for index in indices):
                    words = b.lds.view(U32)
                    for target, index in zip(targets, indices, strict=True):
                        loaded = np.take(words, index, mode="raise" if lanes is None else "clip")
                        write_vgpr(b, target, loaded, lanes, rows)
                    return
            if rows is not None:
                lanes = b.lane_mask(active, all_active)
                local = np.broadcast_to(address(b), (b.n_waves, b.lanes))
            selection = None if lanes is None else np.flatnonzero(lanes)
            addresses = _LdsAddresses(
                b, selection, _flat(np.broadcast_to(address(b), (b.n_waves, b.lanes)), selection)
            )
            results = []
            for base in offsets:
                for i in range(dwords):
                    where, valid = addresses.element(base + 4 * i, element)
                    results.append(_read(b.lds, where, valid, element, spec.signed))
            for target, values in zip(targets, results, strict=True):
                b.forget_template(target)
                row = b.vgpr[target].reshape(-1)
                if selection is None:
                    row[...] = values
                else:
                    row[selection] = values

        return _compiled(inst, load, LDS_CYCLES)

    if kind in ("store", "store2"):
        stride = (64 if spec.stride64 else 1) * 4 * dwords
        parts = (
            [(f["offset0"] * stride, data0), (f["offset1"] * stride, data1)]
            if kind == "store2"
            else [(offset, data0)]
        )

        store_offsets = [base + 4 * i for base, sources in parts for i in range(len(sources))]
        store_data = [
            f[name] + i
            for (_, sources), name in zip(parts, ("data0", "data1"), strict=False)
            for i in range(len(sources))
        ]

        def store(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            if element == 4:
                found = _template_access(b, active, all_active, f["addr"], store_offsets)
                if found is not None:
                    positions, lds, columns = found
                    b.vgpr.lds_written(columns)  # (first: a data register may be a view of these words)
                    values = [b.vgpr.column_values(register, positions) for register in store_data]
                    for column, value in zip(columns, values, strict=True):
                        lds[:, column] = value
                    return
            rows, lanes, local = _scope(b, active, all_active, address)
            shape = (b.n_waves, b.lanes)
            if element == 4:
                workgroups = b.workgroup if rows is None else b.workgroup[rows]
                indices = [
                    _fast_index(b, local, lanes, base + 4 * i, 4, workgroups)
                    for base, sources in parts
                    for i in range(len(sources))
                ]
                if all(index is not None for index in indices):
                    values = [np.broadcast_to(read(b), shape) for _, sources in parts for read in sources]
                    if rows is not None:
                        values = [value[rows] for value in values]
                    words = b.lds.view(U32)
                    b.vgpr.lds_written(None)
                    spare = (b.lds.size // 4) - 1  # inactive lanes write the spare word past every allocation
                    for index, value in zip(indices, values, strict=True):
                        words[index if lanes is None else np.where(lanes, index, spare)] = value
                    return
            if rows is not None:
                lanes = b.lane_mask(active, all_active)
                local = np.broadcast_to(address(b), shape)
            selection = None if lanes is None else np.flatnonzero(lanes)
            addresses = _LdsAddresses(b, selection, _flat(local, selection))
            pending = []
            for base, sources in parts:  # read every source before writing (data may alias)
                for i, read in enumerate(sources):
                    where, valid = addresses.element(base + 4 * i, element)
                    pending.append((where, valid, _flat(np.broadcast_to(read(b), shape), selection).copy()))
            b.vgpr.lds_written(None)
            for where, valid, values in pending:
                _write(b.lds, where, valid, values, element)

        return _compiled(inst, store, LDS_CYCLES)

    return _compiled(inst, _atomic(ctx, inst, spec, address, offset, data0, data1), LDS_CYCLES)


def _atomic(ctx: ShaderContext, inst: Instruction, spec: MemSpec, address, offset: int, data0, data1):
    f = inst.fields
    ops = ctx.operands(inst)
    dwords = spec.dwords
    dtype = U64 if dwords == 2 else U32
    compare_first = bool(spec.extra.get("compare_first"))
    returns = spec.returns
    if returns:
        for i in range(dwords):
            ops.check_vgpr(f["vdst"] + i, 1)
    if dwords > 2:
        raise ctx.error(inst, f"{dwords}-dword LDS atomics are not modelled")

    def value_of(b: WaveBatch, sources, selection) -> np.ndarray:
        shape = (b.n_waves, b.lanes)
        parts = [_flat(np.broadcast_to(read(b), shape), selection).astype(dtype) for read in sources]
        return parts[0] if dwords == 1 else parts[0] | (parts[1] << U64(32))

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        selection = executing_lanes(b, active, all_active)
        addresses = _LdsAddresses(
            b, selection, _flat(np.broadcast_to(address(b), (b.n_waves, b.lanes)), selection)
        )
        where, valid = addresses.element(offset, 4 * dwords)
        if ((where % (4 * dwords)) != 0).any():
            raise ctx.error(inst, "misaligned LDS atomic")
        first = value_of(b, data0, selection)
        second = value_of(b, data1, selection) if spec.atomic == "cmpswap" else None
        if spec.atomic == "cmpswap":
            new, compare = (second, first) if compare_first else (first, second)
        else:
            new, compare = first, None
        old = np.zeros(where.size, dtype=dtype)
        cells = b.lds.view(dtype)
        b.vgpr.lds_written(None)
        index = (where // (4 * dwords))[valid]
        old[valid] = atomics.apply(
            cells, index, spec.atomic, new[valid], None if compare is None else compare[valid]
        )
        if returns:
            for i in range(dwords):
                b.forget_template(f["vdst"] + i)
                row = b.vgpr[f["vdst"] + i].reshape(-1)
                part = ((old >> dtype(32 * i)) & dtype(0xFFFF_FFFF)).astype(U32) if dwords == 2 else old
                if selection is None:
                    row[...] = part
                else:
                    row[selection] = part

    return run


def _cross_lane(ctx: ShaderContext, inst: Instruction, spec: MemSpec, address, offset: int):
    """ds_swizzle_b32 and ds_(b)permute_b32: lanes exchange data through the LDS crossbar, not LDS memory."""
    f = inst.fields
    ops = ctx.operands(inst)
    write = vgpr_writer(ops, f["vdst"], 32)
    lanes_per_wave = ctx.lanes
    if spec.kind == "swizzle":
        lane = np.arange(lanes_per_wave)
        if offset & 0x8000:  # quad permute: lane i of a quad takes lane offset[2i+1:2i] of that quad
            source_lane = (lane & ~3) | ((offset >> (2 * (lane & 3))) & 3)
        else:  # bit masks within groups of 32 lanes
            and_mask, or_mask, xor_mask = offset & 0x1F, (offset >> 5) & 0x1F, (offset >> 10) & 0x1F
            source_lane = (lane & ~0x1F) | ((((lane & 0x1F) & and_mask) | or_mask) ^ xor_mask)
        data = vector_reader(ops, VGPR_BASE + f["addr"])

        def swizzle(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            executing = b.exec_lanes()
            values = np.broadcast_to(data(b), (b.n_waves, b.lanes))
            picked = np.where(executing[:, source_lane], values[:, source_lane], U32(0))
            write(b, picked, b.lane_mask(active, all_active))

        return swizzle
    source = vector_reader(ops, VGPR_BASE + f["data0"])
    backward = bool(spec.extra.get("backward"))

    def permute(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        executing = b.exec_lanes()
        shape = (b.n_waves, b.lanes)
        lane_index = ((np.broadcast_to(address(b), shape).astype(np.int64) + offset) >> 2) % b.lanes
        values = np.where(executing, np.broadcast_to(source(b), shape), U32(0))
        waves = np.arange(b.n_waves)[:, None]
        if backward:  # ds_bpermute: each lane reads the lane it addresses
            result = values[waves, lane_index]
        else:  # ds_permute: each executing lane writes to the lane it addresses
            result = np.zeros(shape, dtype=U32)
            order = np.flatnonzero(executing.reshape(-1))
            result.reshape(-1)[(order // b.lanes) * b.lanes + lane_index.reshape(-1)[order]] = values.reshape(
                -1
            )[order]
        write(b, result, b.lane_mask(active, all_active))

    return permute
