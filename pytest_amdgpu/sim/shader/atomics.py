"""Atomic read-modify-write over numpy arrays, lane by lane in order even when lanes share an address."""

from __future__ import annotations

import numpy as np

U32, U64, I32, I64, F32, F64 = np.uint32, np.uint64, np.int32, np.int64, np.float32, np.float64


def _signed(values: np.ndarray) -> np.ndarray:
    return values.view(I64 if values.dtype == U64 else I32)


def _float(values: np.ndarray) -> np.ndarray:
    return values.view(F64 if values.dtype == U64 else F32)


def combine(op: str, old: np.ndarray, data: np.ndarray, compare: np.ndarray | None = None) -> np.ndarray:
    """The value an atomic `op` leaves in memory, elementwise (old and data share one unsigned dtype)."""
    if op == "add":
        return old + data
    if op == "sub":
        return old - data
    if op == "rsub":
        return data - old
    if op == "swap":
        return data.copy()
    if op == "cmpswap":
        return np.where(old == compare, data, old)
    if op == "and":
        return old & data
    if op == "or":
        return old | data
    if op == "xor":
        return old ^ data
    if op == "umin":
        return np.minimum(old, data)
    if op == "umax":
        return np.maximum(old, data)
    if op == "smin":
        return np.minimum(_signed(old), _signed(data)).view(old.dtype)
    if op == "smax":
        return np.maximum(_signed(old), _signed(data)).view(old.dtype)
    if op == "inc":
        return np.where(old >= data, old.dtype.type(0), old + old.dtype.type(1))
    if op == "dec":
        return np.where((old == 0) | (old > data), data, old - old.dtype.type(1))
    if op == "fadd":
        return (_float(old) + _float(data)).view(old.dtype)
    if op == "fmin":
        return np.fmin(_float(old), _float(data)).view(old.dtype)
    if op == "fmax":
        return np.fmax(_float(old), _float(data)).view(old.dtype)
    raise ValueError(f"unknown atomic operation {op!r}")


def apply(
    memory: np.ndarray, index: np.ndarray, op: str, data: np.ndarray, compare: np.ndarray | None = None
) -> np.ndarray:
    """Apply one atomic per element of `index` (into `memory`) in element order; return the pre-op values."""
    if index.size == 0:
        return np.empty(0, dtype=memory.dtype)
    _, counts = np.unique(index, return_counts=True)
    if counts.max() == 1:
        old = memory[index].copy()
        memory[index] = combine(op, old, data, compare)
        return old
    if op in ("add", "sub"):
        return _integer_sum(memory, index, op, data)
    return _in_rounds(memory, index, op, data, compare)


def _integer_sum(memory: np.ndarray, index: np.ndarray, op: str, data: np.ndarray) -> np.ndarray:
    """Wrapping add/sub with shared addresses: each lane sees the sum of the lanes before it."""
    signed_data = data if op == "add" else (-data.astype(np.int64)).astype(data.dtype)
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    sorted_data = signed_data[order]
    starts = np.flatnonzero(np.r_[True, sorted_index[1:] != sorted_index[:-1]])
    inclusive = np.cumsum(sorted_data, dtype=memory.dtype)
    before_group = np.repeat(
        inclusive[starts] - sorted_data[starts], np.diff(np.r_[starts, sorted_index.size])
    )
    exclusive = inclusive - sorted_data - before_group
    group_index = sorted_index[starts]
    initial = memory[group_index]
    old_sorted = np.repeat(initial, np.diff(np.r_[starts, sorted_index.size])) + exclusive
    ends = np.r_[starts[1:], sorted_index.size] - 1
    group_total = inclusive[ends] - (inclusive[starts] - sorted_data[starts])
    memory[group_index] = initial + group_total
    old = np.empty_like(old_sorted)
    old[order] = old_sorted
    return old


def _in_rounds(
    memory: np.ndarray, index: np.ndarray, op: str, data: np.ndarray, compare: np.ndarray | None
) -> np.ndarray:
    """General case: each round applies the earliest pending lane of every address (as many rounds as the
    most-shared address has lanes)."""
    old = np.empty(index.size, dtype=memory.dtype)
    pending = np.arange(index.size)
    while pending.size:
        _, first = np.unique(index[pending], return_index=True)
        take = pending[first]
        current = memory[index[take]]
        old[take] = current
        memory[index[take]] = combine(op, current, data[take], None if compare is None else compare[take])
        pending = np.delete(pending, first)
    return old
