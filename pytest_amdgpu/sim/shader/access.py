"""Operand access for compiled instructions: readers and writers of SGPRs, VGPRs, constants and lane masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pytest_amdgpu.sim.shader.errors import ShaderError
from pytest_amdgpu.sim.shader.operands import (
    APERTURE_NAMES,
    EXEC_LO,
    EXECZ,
    LITERAL,
    SCC,
    VCC_LO,
    VCCZ,
    VGPR_BASE,
    ScalarLayout,
    aligned_scalar,
    inline_value,
)
from pytest_amdgpu.sim.shader.waves import DISCARD_ROW, WaveBatch

U32, U64 = np.uint32, np.uint64
Reader = Callable[[WaveBatch], np.ndarray]


class OperandContext:
    """What operand decoding needs to know about the dispatch: family layout, VGPR budget, the literal."""

    def __init__(
        self, layout: ScalarLayout, n_vgprs: int, lanes: int, pc: int, words: tuple[int, ...]
    ) -> None:
        self.layout = layout
        self.n_vgprs = n_vgprs
        self.lanes = lanes
        self.pc = pc
        self.words = words
        self.literal: int | None = None

    def error(self, reason: str) -> ShaderError:
        return ShaderError(reason, self.pc, self.words)

    def check_vgpr(self, index: int, dwords: int) -> None:
        if index + dwords > self.n_vgprs:
            raise self.error(
                f"v{index}{'' if dwords == 1 else f'..v{index + dwords - 1}'} is beyond the "
                f"{self.n_vgprs} VGPRs "
                "the wave owns (COMPUTE_PGM_RSRC1.VGPRS)"
            )


def _constant(value: int, bits: int) -> np.ndarray:
    return np.array(value & ((1 << bits) - 1), dtype=U64 if bits == 64 else U32)


def literal_value(ctx: OperandContext, bits: int, is_float: bool) -> int:
    """A 32-bit literal in an operand of `bits`: f64 takes it as the high half, integers zero-extend."""
    if ctx.literal is None:
        raise ctx.error("instruction selects a literal constant but none follows it")
    if bits == 64 and is_float:
        return ctx.literal << 32
    return ctx.literal


def scalar_reader(ctx: OperandContext, code: int, bits: int = 32, is_float: bool = False) -> Reader:
    """Per-wave value of scalar operand `code`: (W,) arrays, or 0-d constants that broadcast."""
    dwords = 2 if bits == 64 else 1
    if code < 128:
        if ctx.layout.is_null(code):
            zero = _constant(0, bits)
            return lambda b: zero
        row = aligned_scalar(code, dwords)
        if dwords == 2:
            return lambda b: b.sgpr[row].astype(U64) | (b.sgpr[row + 1].astype(U64) << U64(32))
        return lambda b: b.sgpr[row]
    if code == LITERAL:
        value = _constant(literal_value(ctx, bits, is_float), bits)
        return lambda b: value
    inline = inline_value(code, bits if bits in (16, 64) else 32)
    if inline is not None:
        value = _constant(inline, bits)
        return lambda b: value
    if code == VCCZ:
        return lambda b: (~b.mask_any(VCC_LO)).astype(U32)
    if code == EXECZ:
        return lambda b: (~b.mask_any(EXEC_LO)).astype(U32)
    if code == SCC:
        return lambda b: b.scc.astype(U32)
    if code >= VGPR_BASE:
        raise ctx.error(f"a VGPR (v{code - VGPR_BASE}) is not a valid scalar operand")
    if code in APERTURE_NAMES:
        raise ctx.error(f"{APERTURE_NAMES[code]} (aperture registers) is not modelled by the shader core")
    raise ctx.error(f"scalar operand code {code} is not supported")


def vector_reader(ctx: OperandContext, code: int, bits: int = 32, is_float: bool = False) -> Reader:
    """Per-lane value of a vector-ALU source: (W, L) arrays, (W, 1) for scalars, 0-d for constants."""
    if code >= VGPR_BASE:
        index = code - VGPR_BASE
        if bits == 64:
            ctx.check_vgpr(index, 2)
            return lambda b: b.vgpr[index].astype(U64) | (b.vgpr[index + 1].astype(U64) << U64(32))
        ctx.check_vgpr(index, 1)
        return lambda b: b.vgpr[index]
    scalar = scalar_reader(ctx, code, bits, is_float)
    if code < 128 or code in (VCCZ, EXECZ, SCC):
        return lambda b: scalar(b)[:, None]
    return scalar


def template_reader(ctx: OperandContext, code: int, bits: int = 32, is_float: bool = False):
    """The workgroup-template twin of vector_reader: a function (batch, executing lanes) giving a value
    broadcastable to (waves_per_workgroup, L) that every workgroup of the batch holds on those lanes, or
    None when this operand differs between workgroups there (see waves.py)."""
    if code >= VGPR_BASE:
        index = code - VGPR_BASE
        if bits == 64:

            def pair(b: WaveBatch, executing: np.ndarray):
                low, high = b.template(index, executing), b.template(index + 1, executing)
                if low is None or high is None:
                    return None
                return low.astype(U64) | (high.astype(U64) << U64(32))

            return pair
        return lambda b, executing: b.template(index, executing)
    if code < 128 and not ctx.layout.is_null(code):
        if bits <= 32:
            row = aligned_scalar(code, 1)

            def sgpr_row(b: WaveBatch, executing: np.ndarray):
                pattern = b.row_pattern(row)
                return None if pattern is None else pattern[:, None]

            return sgpr_row
        read = scalar_reader(ctx, code, bits, is_float)

        def sgpr(b: WaveBatch, executing: np.ndarray):
            pattern = b.wave_pattern(read(b))
            return None if pattern is None else pattern[:, None]

        return sgpr
    if code in (VCCZ, EXECZ, SCC):
        return lambda b, executing: None
    read = scalar_reader(ctx, code, bits, is_float)  # constants: the same everywhere
    return lambda b, executing: read(b)


def offsets_reader(ctx: OperandContext, code: int, bits: int = 32, is_float: bool = False):
    """A 32-bit source as (per-wave base (W,) or None, per-workgroup block or constant or None) summing to
    its value on every lane (see WaveBatch.offsets), or None when it is not of that form."""
    if bits != 32:
        return lambda b: None
    if code >= VGPR_BASE:
        index = code - VGPR_BASE
        ctx.check_vgpr(index, 1)
        return lambda b: b.offsets(index)
    if code < 128 and not ctx.layout.is_null(code):
        row = aligned_scalar(code, 1)
        return lambda b: (b.sgpr[row], None)
    if code in (VCCZ, EXECZ, SCC):
        return lambda b: None
    read = scalar_reader(ctx, code, bits, is_float)  # constants
    return lambda b: (None, read(b))


def scalar_writer(ctx: OperandContext, code: int, bits: int = 32):
    """A function (batch, values, active, all_active) storing per-wave values into SGPR operand `code`."""
    dwords = max(bits // 32, 1)
    if ctx.layout.is_null(code):
        return lambda b, v, a, full: None
    if code >= 128:
        raise ctx.error(f"scalar destination code {code} is not writable")
    row = aligned_scalar(code, dwords)
    if dwords == 1:
        return lambda b, v, a, full: b.write_sgpr(row, v, a, full)

    def write(b: WaveBatch, values, active, all_active) -> None:
        values = np.asarray(values).astype(U64)
        for i in range(dwords):
            target = row + i if row + i < 128 else DISCARD_ROW
            b.write_sgpr(target, (values >> U64(32 * i)) & U64(0xFFFF_FFFF), active, all_active)

    return write


def write_vgpr(
    b: WaveBatch,
    index: int,
    values,
    mask: np.ndarray | None,
    rows: np.ndarray | None = None,
    fresh: bool = False,
) -> None:
    """Store 32-bit lane values into v[index] where mask (None: every lane).

    With `rows` (wave indices), `values` and `mask` cover only those waves: (R, L) or broadcastable.
    `fresh`: `values` shares memory with nothing the batch holds (see WaveBatch.set_vgpr_row).
    """
    b.templates[index] = None
    if rows is None:
        if mask is None:
            b.set_vgpr_row(index, np.asarray(values), fresh)
        else:
            np.copyto(b.vgpr[index], values, where=mask, casting="unsafe")
        return
    target = b.vgpr[index]
    if mask is None:
        target[rows] = values
    else:
        current = target[rows]
        np.copyto(current, values, where=mask, casting="unsafe")
        target[rows] = current


def vgpr_writer(ctx: OperandContext, index: int, bits: int):
    """A function (batch, values, mask, rows=None, fresh=False) storing lane values of `bits` width into
    v[index...]."""
    dwords = max(bits // 32, 1)
    ctx.check_vgpr(index, dwords)
    if dwords == 1:
        return lambda b, v, m, rows=None, fresh=False: write_vgpr(b, index, v, m, rows, fresh)

    def write(b: WaveBatch, values, mask, rows=None, fresh=False) -> None:
        values = np.asarray(values)
        if values.dtype != U64:
            values = values.astype(U64)
        for i in range(dwords):
            write_vgpr(b, index + i, ((values >> U64(32 * i)) & U64(0xFFFF_FFFF)).astype(U32), mask, rows)

    return write


def mask_reader(ctx: OperandContext, code: int | None) -> Callable[[WaveBatch], np.ndarray]:
    """A lane mask (W, L) bool from VCC (code None) or an SGPR / SGPR pair (wave64)."""
    if code is None:
        return lambda b: b.mask_lanes(VCC_LO)
    if code < 128 and not ctx.layout.is_null(code):
        row = aligned_scalar(code, 2 if ctx.lanes == 64 else 1)
        return lambda b: b.mask_lanes(row)
    words = scalar_reader(ctx, code, 64 if ctx.lanes == 64 else 32)

    def read_constant(b: WaveBatch) -> np.ndarray:
        value = np.broadcast_to(np.asarray(words(b)).astype(U64), (b.n_waves,))
        lanes = np.arange(b.lanes, dtype=U64)
        return ((value[:, None] >> lanes) & U64(1)).astype(np.bool_)

    return read_constant


def mask_row(ctx: OperandContext, code: int | None) -> int | None:
    """The SGPR row a lane-mask destination starts at (VCC for None), or None for the null register."""
    if code is None:
        return VCC_LO
    if ctx.layout.is_null(code):
        return None
    if code >= 128:
        raise ctx.error(f"lane-mask destination code {code} is not writable")
    return aligned_scalar(code, 2 if ctx.lanes == 64 else 1)


def mask_writer(ctx: OperandContext, code: int | None):
    """A function (batch, lanes, active, all_active, rows=None) writing a lane mask to VCC or SGPRs.

    `lanes` is (W, L) bool, or (R, L) for the waves `rows` when given.
    """
    if code is None:
        return lambda b, lanes, a, full, rows=None: b.write_mask_lanes(VCC_LO, lanes, a, full, rows)
    if ctx.layout.is_null(code):
        return lambda b, lanes, a, full, rows=None: None
    if code >= 128:
        raise ctx.error(f"lane-mask destination code {code} is not writable")
    row = aligned_scalar(code, 2 if ctx.lanes == 64 else 1)
    return lambda b, lanes, a, full, rows=None: b.write_mask_lanes(row, lanes, a, full, rows)
