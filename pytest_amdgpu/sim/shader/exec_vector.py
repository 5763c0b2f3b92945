"""Compile vector ALU instructions (VOP1, VOP2, VOPC, VOP3, VOP3P, VOPD) into whole-batch numpy operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader.access import (
    OperandContext,
    mask_reader,
    mask_row,
    mask_writer,
    offsets_reader,
    scalar_reader,
    scalar_writer,
    template_reader,
    vector_reader,
    vgpr_writer,
    write_vgpr,
)
from pytest_amdgpu.sim.shader.operands import EXEC_LO, LITERAL, VGPR_BASE
from pytest_amdgpu.sim.shader.specs import VALU, ValuSpec
from pytest_amdgpu.sim.shader.syntax_vector import vopd_destinations
from pytest_amdgpu.sim.shader.valu import b32
from pytest_amdgpu.sim.shader.waves import WaveBatch, lanes_from_words, words_from_lanes

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

U32, U64, I32, I64, F32, F64 = np.uint32, np.uint64, np.int32, np.int64, np.float32, np.float64


def _compiled(inst: Instruction, run, cost: int) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    return Compiled(inst, run, cost)


def _cycles(ctx: ShaderContext) -> int:
    """VALU issue cost per wave: GFX9 runs a wave64 over four cycles of a SIMD16; GFX10+ SIMD32 needs two."""
    if ctx.isa_family == "gfx9":
        return 4
    return 1 if ctx.lanes == 32 else 2


# --- source modifiers --------------------------------------------------------------------------------------
def _modify(read, bits: int, use_abs: bool, use_neg: bool):
    if not (use_abs or use_neg):
        return read
    dtype = U64 if bits == 64 else U32
    sign = dtype(1) << dtype(bits - 1)

    def modified(b: WaveBatch, *executing):
        value = read(b, *executing)
        if value is None:  # a template reader with no template
            return None
        value = np.asarray(value, dtype=dtype)
        if use_abs:
            value = value & ~sign
        if use_neg:
            value = value ^ sign
        return value

    return modified


def _float_result(spec: ValuSpec, clamp: bool, omod: int):
    """Output modifiers of float results: multiply by 2, 4 or 0.5, then clamp to [0, 1]."""
    if not clamp and not omod:
        return None
    factor = {0: 1.0, 1: 2.0, 2: 4.0, 3: 0.5}[omod]
    as_float = F64 if spec.dst_bits == 64 else F32
    as_bits = U64 if spec.dst_bits == 64 else U32

    def apply(result):
        value = np.asarray(result, dtype=as_bits).view(as_float)
        if factor != 1.0:
            value = value * as_float(factor)
        if clamp:
            value = np.where(np.isnan(value), as_float(0), np.clip(value, as_float(0), as_float(1)))
        return np.asarray(value, dtype=as_float).view(as_bits)

    return apply


def _integer_clamp(kind: str):
    """VOP3 clamp on integer add/sub: saturate instead of wrapping."""

    def apply(sources, result):
        a, b = (np.asarray(s).astype(I64) for s in sources[:2])
        if kind == "u_add":
            exact = (a & 0xFFFF_FFFF) + (b & 0xFFFF_FFFF)
        elif kind == "u_sub":
            exact = (a & 0xFFFF_FFFF) - (b & 0xFFFF_FFFF)
        elif kind == "u_subrev":
            exact = (b & 0xFFFF_FFFF) - (a & 0xFFFF_FFFF)
        else:
            x, y = np.asarray(sources[0]).view(I32).astype(I64), np.asarray(sources[1]).view(I32).astype(I64)
            exact = x + y if kind == "i_add" else x - y
            return np.clip(exact, -(2**31), 2**31 - 1).astype(I32).view(U32)
        return np.clip(exact, 0, 2**32 - 1).astype(U32)

    return apply


# --- generic ALU --------------------------------------------------------------------------------------------
class _Plan:
    """How one VALU instruction gets its sources and where its results go."""

    def __init__(self) -> None:
        self.sources: list = []
        self.mask_in = None
        self.dst = None  # (batch, values, mask) writer of the vector result
        self.mask_out = None  # (batch, lanes, active, all_active) writer of a lane mask
        self.exec_out = False  # v_cmpx: the compare result also becomes EXEC
        self.post = None  # float output modifiers
        self.int_clamp = None
        self.template_sources: list = []  # the sources as workgroup templates (see waves.py)
        self.column_sources: list = []  # the sources as (workgroups, lanes that run) columns
        self.mask_row: int | None = None  # where mask_out writes (None: nowhere)
        self.dst_index: int | None = None
        self.dst_bits = 32


def _vop_sources(
    ctx: ShaderContext, inst: Instruction, spec: ValuSpec, ops: OperandContext, reader=vector_reader
) -> list:
    f = inst.fields
    fmt = inst.format
    bits = spec.src_bits
    if fmt == "VOP1":
        codes = [f["src0"]]
    elif fmt in ("VOP2", "VOPC"):
        codes = [f["src0"], VGPR_BASE + f["vsrc1"]]
    else:
        codes = [f["src0"], f["src1"], f["src2"]]
    if spec.constant_k == "mk":  # d = s0 * K + s1
        codes = [codes[0], LITERAL, codes[1]]
    elif spec.constant_k == "ak":  # d = s0 * s1 + K
        codes = [codes[0], codes[1], LITERAL]
    elif spec.accumulate:
        codes = [codes[0], codes[1], VGPR_BASE + f["vdst"]]
    count = len(bits)
    readers = [reader(ops, code, bits[i], spec.is_float) for i, code in enumerate(codes[:count])]
    if fmt == "VOP3" and not spec.carry_out:
        if not spec.is_float and (f["abs"] or f["neg"]):
            raise ctx.error(inst, "abs/neg source modifiers on an integer operation are not modelled")
        readers = [
            _modify(read, bits[i], bool(f["abs"] >> i & 1), bool(f["neg"] >> i & 1))
            for i, read in enumerate(readers)
        ]
    elif fmt == "VOP3" and f["neg"] and spec.is_float:
        readers = [_modify(read, bits[i], False, bool(f["neg"] >> i & 1)) for i, read in enumerate(readers)]
    return readers


def _plan_alu(ctx: ShaderContext, inst: Instruction, spec: ValuSpec) -> _Plan:
    ops = ctx.operands(inst)
    f = inst.fields
    fmt = inst.format
    plan = _Plan()
    plan.sources = _vop_sources(ctx, inst, spec, ops)
    plan.template_sources = _vop_sources(ctx, inst, spec, ops, template_reader)
    plan.column_sources = _vop_sources(ctx, inst, spec, ops, column_reader)
    vop3 = fmt == "VOP3"
    if spec.mask_in:
        plan.mask_in = mask_reader(ops, f["src2"] if vop3 else None)
    mask_code = None
    if spec.compare:
        if spec.cmpx:
            plan.exec_out = True
            if ctx.isa_family == "gfx9":  # GFX9 v_cmpx writes VCC (or SDST) as well
                mask_code = f["vdst"] if vop3 else None
                plan.mask_out = mask_writer(ops, mask_code)
        else:
            mask_code = f["vdst"] if vop3 else None
            plan.mask_out = mask_writer(ops, mask_code)
    else:
        plan.dst = vgpr_writer(ops, f["vdst"], spec.dst_bits) if spec.dst_bits else None
        if spec.dst_bits:
            plan.dst_index, plan.dst_bits = f["vdst"], spec.dst_bits
        if spec.carry_out:
            mask_code = f["sdst"] if vop3 else None
            plan.mask_out = mask_writer(ops, mask_code)
    if plan.mask_out is not None:
        plan.mask_row = mask_row(ops, mask_code)
    if vop3:
        if spec.is_float:
            plan.post = _float_result(spec, bool(f["clamp"]), f["omod"])
        elif f["clamp"]:
            if not spec.int_clamp:
                raise ctx.error(inst, "clamp on this integer operation is not modelled")
            plan.int_clamp = _integer_clamp(spec.int_clamp)
        elif f["omod"]:
            raise ctx.error(inst, "output modifiers on an integer operation are not modelled")
    return plan


def _rows_of(value, rows: np.ndarray, n_waves: int):
    """The part of an operand (W, L), (W, 1) or a constant that belongs to the waves `rows`."""
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == n_waves:
        return value[rows]
    return value


def _results(spec: ValuSpec, plan: _Plan, values: list, result):
    """A VALU result after its carry is split off, integer clamping and float output modifiers: (result,
    carry or None)."""
    carry = None
    if spec.carry_out:
        result, carry = result
    if plan.int_clamp is not None:
        result = plan.int_clamp(values, result)
    if plan.post is not None:
        result = plan.post(result)
    return result, carry


COMPACT_FRACTION = 0.5  # below this share of active waves, compute only their rows
TEMPLATE_MIN_WORKGROUPS = 4  # with fewer workgroups in a batch, computing on templates saves nothing


class Scope:
    """The lanes that execute, the same in every workgroup of the batch, and what instructions derive from
    them: kept while EXEC and the running waves stay the same (the instructions of one running set)."""

    def __init__(self, executing: np.ndarray) -> None:
        self.executing = executing  # (waves_per_workgroup, L) bool
        self.flat = np.flatnonzero(executing)  # positions within a workgroup's lanes
        self.every_lane = self.flat.size == executing.size
        self.run = lane_run(self.flat, increasing=True) if self.flat.size else None  # a slice if one run
        self.memo: dict = {}  # per-instruction results that depend only on these lanes (LDS columns)


def scope_of(b: WaveBatch, active: np.ndarray, all_active: bool) -> Scope | None:
    """The Scope of the running waves when the executing lanes are the same in every workgroup of the
    batch (None otherwise, or when the batch is too small), computed once per running set and EXEC."""
    if b.n_workgroups < TEMPLATE_MIN_WORKGROUPS:
        return None
    cached = b.scope_cache
    if cached is not None and cached[0] is active:
        return cached[1]
    executing = b.exec_template()
    if executing is not None and not all_active:
        waves = b.wave_pattern(active)
        executing = None if waves is None else executing & waves[:, None]
    scope = None if executing is None else Scope(executing)
    b.scope_cache = (active, scope)  # (the scheduler makes a new `active` for every running set)
    return scope


def executing_lanes(b: WaveBatch, active: np.ndarray, all_active: bool) -> np.ndarray | None:
    """Flat (wave * L + lane) indices of the lanes that execute, None for every lane. When they are the
    same in every workgroup, built from one workgroup's positions: a store from one lane per workgroup
    then costs its lanes, not a scan of every lane of the batch."""
    scope = scope_of(b, active, all_active)
    if scope is None:
        lanes = b.lane_mask(active, all_active)
        return None if lanes is None else np.flatnonzero(lanes)
    if scope.every_lane:
        return None
    return (np.arange(b.n_workgroups)[:, None] * scope.executing.size + scope.flat).reshape(-1)


def _is_new(result: np.ndarray, sources: list) -> bool:
    """Whether a VALU result is no view of any of its sources: a new array a register may keep as it is."""
    return not any(isinstance(value, np.ndarray) and np.may_share_memory(result, value) for value in sources)


def _template_alu(plan: _Plan, spec: ValuSpec):
    """Run a VALU instruction once on workgroup templates, when its sources and EXEC allow it: the result
    is the same for every workgroup, so it is computed on (waves_per_workgroup, L) and broadcast."""
    fn, sources, exec_out, compare = spec.fn, plan.template_sources, plan.exec_out, spec.compare
    row, dst_index, dst_bits = plan.mask_row, plan.dst_index, plan.dst_bits

    def run(b: WaveBatch, active: np.ndarray, all_active: bool, executing: np.ndarray) -> bool:
        values = [read(b, executing) for read in sources]
        if any(value is None for value in values):
            return False
        result = fn(*values)
        if compare:
            bits = np.broadcast_to(result, executing.shape) & executing
            if row is not None:
                b.write_mask_template(row, bits, active, all_active)
            if exec_out:
                b.write_mask_template(EXEC_LO, bits, active, all_active)
            return True
        result, carry = _results(spec, plan, values, result)
        if dst_index is not None:
            lanes = None if executing.all() else executing
            if dst_bits == 64:
                wide = np.asarray(result).astype(U64)
                b.write_template(dst_index, (wide & U64(0xFFFF_FFFF)).astype(U32), lanes)
                b.write_template(dst_index + 1, (wide >> U64(32)).astype(U32), lanes)
            else:
                b.write_template(dst_index, np.asarray(result).astype(U32), lanes)
        if carry is not None and row is not None:
            b.write_mask_template(
                row, np.broadcast_to(carry, executing.shape) & executing, active, all_active
            )
        return True

    return run


def lane_run(indices: np.ndarray, increasing: bool = False) -> slice | np.ndarray:
    """A slice when the indices are one ascending run (a view instead of a gather), else the indices.
    `increasing`: they are known to be strictly increasing (then first and last tell)."""
    first = int(indices[0])
    if int(indices[-1]) - first + 1 == indices.size and (
        increasing or indices.size == 1 or bool((np.diff(indices) == 1).all())
    ):
        return slice(first, first + indices.size)
    return indices


def workgroup_columns(b: WaveBatch, value, positions, waves):
    """The lanes at `positions` (of a workgroup's waves_per_workgroup * L lanes) of every workgroup, as a
    (workgroups, k) array; `waves` are those lanes' waves. (W, 1) per-wave values and constants too."""
    if not isinstance(value, np.ndarray) or value.ndim < 2:
        return value
    if value.shape[1] == 1:
        return value.reshape(b.n_workgroups, b.waves_per_workgroup)[:, waves]
    return value.reshape(b.n_workgroups, -1)[:, positions]


def _column_alu(plan: _Plan, spec: ValuSpec):
    """Run a VALU instruction on the same lanes of every workgroup, when the executing lanes are the same
    in every workgroup but the values are not: a (workgroups, lanes that run) computation on views of the
    VGPRs, instead of the whole batch under a mask. Lane-mask results (compares, carries) vary per
    workgroup and take the general path."""
    if spec.compare or spec.carry_out or plan.dst_index is None:
        return None
    fn, sources = spec.fn, plan.column_sources
    dst_index, dwords = plan.dst_index, max(plan.dst_bits // 32, 1)

    def run(b: WaveBatch, scope: Scope) -> None:
        flat = scope.flat
        if flat.size == 0:
            return
        positions = scope.run
        waves = flat // b.lanes
        values = [read(b, positions, waves) for read in sources]
        result = np.asarray(_results(spec, plan, values, fn(*values))[0])
        if dwords == 2:
            wide = result.astype(U64)
            parts = [(wide & U64(0xFFFF_FFFF)).astype(U32), (wide >> U64(32)).astype(U32)]
        else:
            parts = [result]
        shape = (b.n_workgroups, flat.size)
        for i, part in enumerate(parts):
            part = np.broadcast_to(np.asarray(part, U32), shape)
            new = part.flags.owndata or (  # a whole view of a new array may be kept as it is
                part.base is not None and part.shape == part.base.shape and _is_new(part, values)
            )
            b.forget_template(dst_index + i)
            b.vgpr.write_columns(dst_index + i, positions, part, own=new)

    return run


def column_reader(ctx: OperandContext, code: int, bits: int = 32, is_float: bool = False):
    """The column twin of vector_reader: a function (batch, positions, waves) giving the operand's lanes at
    `positions` of every workgroup as (workgroups, k) (see VgprFile.columns and workgroup_columns)."""
    if code >= VGPR_BASE and bits == 32:
        index = code - VGPR_BASE
        ctx.check_vgpr(index, 1)
        return lambda b, positions, waves: b.vgpr.column_values(index, positions)
    read = vector_reader(ctx, code, bits, is_float)
    return lambda b, positions, waves: workgroup_columns(b, read(b), positions, waves)


# VALU operations that keep "per-wave base + workgroup block" sums in that form (mod 2**32): the base and
# the block are combined separately. A shift left by a constant distributes over the sum too.
_OFFSET_OPS = {
    "v_add_u32": "add",
    "v_add_nc_u32": "add",
    "v_sub_u32": "sub",
    "v_sub_nc_u32": "sub",
    "v_subrev_u32": "subrev",
    "v_subrev_nc_u32": "subrev",
    "v_lshlrev_b32": "shl",
    "v_mov_b32": "mov",
}
CHECK_OFFSETS = False  # tests: compare every offset-row result with the ALU's function applied lane by lane


def _spread_parts(b: WaveBatch, part) -> np.ndarray:
    """(W, L) values of a (base, block) source, for the self-check (reading the register would build it)."""
    base, block = part
    shape = (b.n_workgroups, b.waves_per_workgroup, b.lanes)
    base = U32(0) if base is None else np.asarray(base, U32).reshape(shape[0], shape[1], 1)
    block = U32(0) if block is None else np.asarray(block, U32)
    return np.broadcast_to(base + block, shape).reshape(b.n_waves, b.lanes)


def _sum_part(x, y):
    if x is None:
        return y
    return x if y is None else x + y


def _offset_alu(ctx: ShaderContext, inst: Instruction, spec: ValuSpec, plan: _Plan):
    """Run an add, subtract, constant shift or move on every lane of every wave whose sources are a per-wave
    value plus a workgroup template (a global work-item id and what is computed from it) without building
    the (W, L) result: it is kept as base and block (VgprFile.offsets) and built only if read."""
    kind = _OFFSET_OPS.get(inst.mnemonic or "")
    if kind is None or inst.format not in ("VOP1", "VOP2", "VOP3") or plan.dst_index is None:
        return None
    if plan.dst_bits != 32 or plan.int_clamp is not None or plan.post is not None or plan.mask_out:
        return None
    if inst.format == "VOP3" and (inst.fields["abs"] or inst.fields["neg"]):
        return None
    ops = ctx.operands(inst)
    readers = _vop_sources(ctx, inst, spec, ops, offsets_reader)
    dst, fn = plan.dst_index, spec.fn

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> bool:
        parts = [read(b) for read in readers]
        if any(part is None for part in parts):
            return False
        if kind == "mov":
            base, block = parts[0]
        elif kind == "shl":
            (amount_base, amount), (base, block) = parts
            if amount_base is not None or np.ndim(amount) != 0:
                return False  # only a shift by a constant distributes over the sum
            shift = U32(int(amount) & 31)
            base = None if base is None else base << shift
            block = None if block is None else np.asarray(block, dtype=U32) << shift
        else:
            (base_a, block_a), (base_b, block_b) = parts
            if kind == "subrev":
                (base_a, block_a), (base_b, block_b) = (base_b, block_b), (base_a, block_a)
            if kind != "add":
                base_b = None if base_b is None else U32(0) - base_b
                block_b = None if block_b is None else U32(0) - np.asarray(block_b, dtype=U32)
            base, block = _sum_part(base_a, base_b), _sum_part(block_a, block_b)
        if base is None:
            return False  # the same in every workgroup: the template path's case
        shape = (b.waves_per_workgroup, b.lanes)
        block = np.zeros(shape, U32) if block is None else np.array(np.broadcast_to(block, shape), U32)
        base = np.array(base, dtype=U32)  # a copy: the base may be an SGPR row or another register's
        if CHECK_OFFSETS:
            expected = b32(fn(*[_spread_parts(b, part) for part in parts]))
        b.write_offsets(dst, base, block)
        if CHECK_OFFSETS and not np.array_equal(b.vgpr.offset_row(base, block), expected):
            raise AssertionError(f"{inst.mnemonic} at {inst.pc:#x}: the offset row differs from the result")
        return True

    return run


_MONOTONE_COMPARES = frozenset(f"v_cmp_{cond}_u32" for cond in ("lt", "le", "gt", "ge"))


def _offset_compare(ctx: ShaderContext, inst: Instruction, spec: ValuSpec, plan: _Plan):
    """An unsigned less/greater compare of an offset row (see _offset_alu) with a per-wave value or a
    constant, on every lane: a wave whose values, base + the block's lowest to base + its highest, do not
    wrap and give the same answer at both ends gives it on every lane (the compare is monotone); only the
    other waves (those a bound such as n cuts through) are compared lane by lane."""
    if inst.mnemonic not in _MONOTONE_COMPARES or plan.exec_out or plan.mask_row is None:
        return None
    if inst.format == "VOP3" and (inst.fields["abs"] or inst.fields["neg"]):
        return None
    readers = _vop_sources(ctx, inst, spec, ctx.operands(inst), offsets_reader)
    fn, row = spec.fn, plan.mask_row

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> bool:
        parts = [read(b) for read in readers]
        if any(part is None for part in parts):
            return False
        rows = [i for i, (base, block) in enumerate(parts) if np.ndim(block) == 2]
        if len(rows) != 1 or parts[rows[0]][0] is None:
            return False  # not one offset row against a per-wave value or a constant
        k = rows[0]
        base, block = parts[k]
        other_base, other_const = parts[1 - k]
        other = np.zeros(b.n_waves, I64) if other_base is None else other_base.astype(I64)
        if other_const is not None:
            other = (other + int(other_const)) & 0xFFFF_FFFF
        per_wg = b.waves_per_workgroup
        start = base.astype(I64).reshape(-1, per_wg)
        low = (start + block.min(axis=1).astype(I64)).reshape(-1)
        high = (start + block.max(axis=1).astype(I64)).reshape(-1)

        def compare(values: np.ndarray, against: np.ndarray) -> np.ndarray:
            return fn(values, against) if k == 0 else fn(against, values)

        at_low, at_high = compare(low, other), compare(high, other)
        mixed = np.flatnonzero((high > 0xFFFF_FFFF) | (at_low != at_high))
        words = np.where(at_low, U32(0xFFFF_FFFF), U32(0))[:, None].repeat(b.mask_dwords, axis=1)
        if mixed.size:
            lanes = (base[mixed, None] + block[mixed % per_wg]).astype(U32)  # (mod 2**32, as registers)
            words[mixed] = words_from_lanes(compare(lanes, other[mixed, None].astype(U32)))
        for i in range(b.mask_dwords):
            b.write_sgpr(row + i, words[:, i], active, all_active)
        if CHECK_OFFSETS:
            full = np.broadcast_to(fn(*[_spread_parts(b, part) for part in parts]), (b.n_waves, b.lanes))
            if not np.array_equal(words_from_lanes(np.ascontiguousarray(full)), words):
                raise AssertionError(f"{inst.mnemonic} at {inst.pc:#x}: the offset compare differs")
        return True

    return run


def _execute(plan: _Plan, spec: ValuSpec, on_offsets=None):
    fn = spec.fn
    sources, mask_in, dst, mask_out = plan.sources, plan.mask_in, plan.dst, plan.mask_out
    exec_out, compare = plan.exec_out, spec.compare
    on_templates = _template_alu(plan, spec) if mask_in is None else None
    on_columns = _column_alu(plan, spec) if mask_in is None else None

    def finish(b, values, result, executing, lanes, active, all_active, rows) -> None:
        """Store a result: `executing` holds the lanes that run ((R, L) with rows, else (W, L))."""
        if compare:
            bits = np.broadcast_to(result, executing.shape) & executing
            if mask_out is not None:
                mask_out(b, bits, active, all_active, rows)
            if exec_out:
                b.write_mask_lanes(EXEC_LO, bits, active, all_active, rows)
            return
        result, carry = _results(spec, plan, values, result)
        if dst is not None:
            dst(b, result, lanes, rows, lanes is None and _is_new(result, values))  # (adopted, not copied)
        if carry is not None:
            mask_out(b, np.broadcast_to(carry, executing.shape) & executing, active, all_active, rows)

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        if on_templates is not None:
            scope = scope_of(b, active, all_active)
            if scope is not None:
                if on_templates(b, active, all_active, scope.executing):
                    return
                if on_columns is not None and not scope.every_lane:
                    on_columns(b, scope)
                    return
                if on_offsets is not None and scope.every_lane and on_offsets(b, active, all_active):
                    return
        if not all_active:
            rows = np.flatnonzero(active)
            if rows.size <= COMPACT_FRACTION * b.n_waves:
                n_waves = b.n_waves
                executing = b.exec_lanes()[rows]
                values = [_rows_of(read(b), rows, n_waves) for read in sources]
                if mask_in is not None:
                    values.append(mask_in(b)[rows])
                lanes = None if executing.all() else executing
                finish(b, values, fn(*values), executing, lanes, active, all_active, rows)
                return
        lanes = b.lane_mask(active, all_active)
        values = [read(b) for read in sources]
        if mask_in is not None:
            values.append(mask_in(b))
        executing = b.exec_lanes() if lanes is None else lanes
        finish(b, values, fn(*values), executing, lanes, active, all_active, None)

    return run


# --- cross-lane and special VALU instructions --------------------------------------------------------------
def _first_active_lane(b: WaveBatch) -> np.ndarray:
    executing = b.exec_lanes()
    return np.where(executing.any(axis=1), executing.argmax(axis=1), 0)


def _compile_special(ctx: ShaderContext, inst: Instruction, spec: ValuSpec):
    ops = ctx.operands(inst)
    f = inst.fields
    kind = spec.kind
    if kind == "nop":
        return lambda b, a, full: None
    if kind == "readfirstlane":
        read = vector_reader(ops, f["src0"])
        write = scalar_writer(ops, f["vdst"])

        def readfirstlane(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            values = np.broadcast_to(read(b), (b.n_waves, b.lanes))
            write(b, values[np.arange(b.n_waves), _first_active_lane(b)], active, all_active)

        return readfirstlane
    if kind == "readlane":
        read = vector_reader(ops, f["src0"])
        lane = scalar_reader(ops, f["src1"])
        write = scalar_writer(ops, f["vdst"])

        def readlane(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            values = np.broadcast_to(read(b), (b.n_waves, b.lanes))
            index = np.broadcast_to(np.asarray(lane(b)) & U32(b.lanes - 1), (b.n_waves,)).astype(np.int64)
            write(b, values[np.arange(b.n_waves), index], active, all_active)

        return readlane
    if kind == "writelane":
        value = scalar_reader(ops, f["src0"])
        lane = scalar_reader(ops, f["src1"])
        index_dst = f["vdst"]
        ops.check_vgpr(index_dst, 1)

        def writelane(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            waves = np.flatnonzero(active)
            lanes = (np.broadcast_to(np.asarray(lane(b)), (b.n_waves,)) & U32(b.lanes - 1)).astype(np.int64)
            values = np.broadcast_to(np.asarray(value(b)), (b.n_waves,))
            b.forget_template(index_dst)
            b.vgpr[index_dst][waves, lanes[waves]] = values[waves]

        return writelane
    if kind in ("mbcnt_lo", "mbcnt_hi"):
        plan_sources = _vop_sources(ctx, inst, spec, ops)
        write = vgpr_writer(ops, f["vdst"], 32)
        high = kind == "mbcnt_hi"

        def mbcnt(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            mask_bits, addend = (np.asarray(read(b)) for read in plan_sources)
            words = np.broadcast_to(mask_bits, (b.n_waves, b.lanes))[:, :1].astype(U32)
            bits = lanes_from_words(words)  # (W, 32)
            below = np.concatenate(
                [np.zeros((b.n_waves, 1), U32), np.cumsum(bits, axis=1, dtype=U32)], axis=1
            )
            lane = np.arange(b.lanes)
            shift = lane - 32 if high else lane
            counts = below[:, np.clip(shift, 0, 32)]
            counts = np.where(shift[None, :] < 0, U32(0), counts)
            write(b, counts + addend, b.lane_mask(active, all_active))

        return mbcnt
    if kind == "swap":
        first, second = f["vdst"], f["src0"] - VGPR_BASE
        ops.check_vgpr(first, 1)
        ops.check_vgpr(second, 1)

        def swap(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            lanes = b.lane_mask(active, all_active)
            old_first = b.vgpr[first].copy()
            write_vgpr(b, first, b.vgpr[second].copy(), lanes)
            write_vgpr(b, second, old_first, lanes)

        return swap
    return None


def _compile_vop3p(ctx: ShaderContext, inst: Instruction, spec: ValuSpec):
    """Packed 32-bit pairs (GFX90A+ v_pk_*_f32, v_pk_mov_b32): op_sel picks each element's source half."""
    ops = ctx.operands(inst)
    f = inst.fields
    count = len(spec.src_bits)
    readers = [vector_reader(ops, f[f"src{i}"], 64) for i in range(count)]
    write = vgpr_writer(ops, f["vdst"], 64)
    opsel = [f["opsel"] >> i & 1 for i in range(count)]
    opsel_hi = [(f["opsel_hi"] | f["opsel_hi2"] << 2) >> i & 1 for i in range(count)]
    neg_lo = [f["neg"] >> i & 1 for i in range(count)]
    neg_hi = [f["neg_hi"] >> i & 1 for i in range(count)]
    packed_constant = [not (code < 128 or code >= VGPR_BASE) for code in (f[f"src{i}"] for i in range(count))]

    def half(value, high: int, negate: int, constant: bool):
        value = np.asarray(value, dtype=U64)
        part = value if constant else (value >> U64(32) if high else value)
        part = (part & U64(0xFFFF_FFFF)).astype(U32)
        return part ^ U32(0x8000_0000) if negate else part

    if spec.kind == "pk_mov":

        def pk_mov(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            a, c = readers[0](b), readers[1](b)
            low = half(a, opsel[0], 0, packed_constant[0]).astype(U64)
            high = half(c, opsel[1], 0, packed_constant[1]).astype(U64)
            write(b, low | (high << U64(32)), b.lane_mask(active, all_active))

        return pk_mov
    fn = spec.fn

    def packed(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        values = [read(b) for read in readers]
        low = fn(*[half(v, opsel[i], neg_lo[i], packed_constant[i]) for i, v in enumerate(values)])
        high = fn(*[half(v, opsel_hi[i], neg_hi[i], packed_constant[i]) for i, v in enumerate(values)])
        result = np.asarray(low, dtype=U32).astype(U64) | (np.asarray(high, dtype=U32).astype(U64) << U64(32))
        write(b, result, b.lane_mask(active, all_active))

    return packed


def _compile_vopd(ctx: ShaderContext, inst: Instruction):
    """Dual issue: both halves read their sources before either writes."""
    ops = ctx.operands(inst)
    f = inst.fields
    vdst_x, vdst_y = vopd_destinations(f)
    halves = []
    for name, dst, src0, vsrc1 in (
        (inst.vopd[0], vdst_x, f["src0x"], f["vsrc1x"]),
        (inst.vopd[1], vdst_y, f["src0y"], f["vsrc1y"]),
    ):
        spec = VALU.get(name or "")
        if spec is None:
            raise ctx.error(inst, f"unsupported VOPD operation {name}")
        codes = [src0, VGPR_BASE + vsrc1]
        if spec.constant_k == "mk":
            codes = [src0, LITERAL, VGPR_BASE + vsrc1]
        elif spec.constant_k == "ak":
            codes = [src0, VGPR_BASE + vsrc1, LITERAL]
        elif spec.accumulate:
            codes = [src0, VGPR_BASE + vsrc1, VGPR_BASE + dst]
        readers = [vector_reader(ops, code) for code in codes[: len(spec.src_bits)]]
        if spec.mask_in:
            readers.append(mask_reader(ops, None))
        halves.append((spec.fn, readers, vgpr_writer(ops, dst, 32)))

    def dual(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        lanes = b.lane_mask(active, all_active)
        results = [fn(*[read(b) for read in readers]) for fn, readers, _ in halves]
        for (_, _, write), result in zip(halves, results, strict=True):
            write(b, result, lanes)

    return dual


def compile_vector(ctx: ShaderContext, inst: Instruction) -> Compiled:
    if inst.format == "VOPD":
        return _compiled(inst, _compile_vopd(ctx, inst), _cycles(ctx))
    name = inst.mnemonic or ""
    if inst.extension is not None:
        raise ctx.error(inst, f"{inst.extension.upper()} operand forms are not modelled")
    spec = VALU.get(name)
    if spec is None:
        raise ctx.error(inst, f"unsupported vector instruction {name}")
    if inst.format == "VOP3P":
        if not spec.kind.startswith("pk_"):
            raise ctx.error(inst, f"unsupported packed instruction {name}")
        return _compiled(inst, _compile_vop3p(ctx, inst, spec), _cycles(ctx))
    if spec.kind != "alu":
        run = _compile_special(ctx, inst, spec)
        if run is None:
            raise ctx.error(inst, f"unsupported vector instruction {name}")
        return _compiled(inst, run, _cycles(ctx))
    plan = _plan_alu(ctx, inst, spec)
    offsets = _offset_compare if spec.compare else _offset_alu
    on_offsets = offsets(ctx, inst, spec, plan)
    return _compiled(inst, _execute(plan, spec, on_offsets), _cycles(ctx))
