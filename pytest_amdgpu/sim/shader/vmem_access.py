"""Vectorised access to GPU memory through its VM: gather, scatter and atomics for many lanes at once.

Every access goes through GpuMemory: a lane whose address is unmapped (or read-only, for a write) raises the
GpuFaultError GpuMemory raises for it, naming the lowest such address, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pytest_amdgpu.sim.memory import GpuFaultError, GpuMemory
from pytest_amdgpu.sim.shader import atomics

U8, U16, U32, U64 = np.uint8, np.uint16, np.uint32, np.uint64


def _pieces(
    memory: GpuMemory, addr: np.ndarray, nbytes: int, write: bool
) -> Iterator[tuple[np.ndarray | None, np.ndarray, np.ndarray]]:
    """Split lane addresses by VM mapping: (lane indices or None for all, mapping bytes, byte offsets)."""
    if addr.size == 0:
        return
    addr = addr.view(np.int64) if addr.dtype == U64 else addr.astype(np.int64, copy=False)
    lowest, highest = int(addr.min()), int(addr.max())
    if lowest < 0:  # an address at or above 2**63 is never mapped
        bad = int(addr[addr < 0][0]) & ((1 << 64) - 1)
        memory.view(bad, nbytes, write)  # raises the fault
        raise GpuFaultError(memory.vm.gpu_id, bad, write, "not mapped")
    mapping = memory.vm.lookup(lowest, 1)
    if mapping is not None and getattr(mapping, "bo", None) is not None and highest + nbytes <= mapping.end:
        yield None, memory.view(mapping.va, mapping.size, write), addr - mapping.va
        return
    # several mappings (or a fault): resolve each mapping once, lowest address first
    remaining = np.ones(addr.size, dtype=np.bool_)
    pieces = []
    while remaining.any():
        start = int(addr[remaining].min())
        mapping = memory.vm.lookup(start, 1)
        if mapping is None or getattr(mapping, "bo", None) is None:
            memory.view(start, nbytes, write)  # raises the fault for this address
            raise GpuFaultError(memory.vm.gpu_id, start, write, "not mapped")
        inside = remaining & (addr >= mapping.va) & (addr + nbytes <= mapping.end)
        straddling = remaining & (addr >= mapping.va) & (addr < mapping.end) & ~inside
        view = memory.view(mapping.va, mapping.size, write)
        pieces.append((np.flatnonzero(inside), view, addr[inside] - mapping.va))
        if straddling.any():  # crosses into the next mapping: element by element, through GpuMemory
            lanes = np.flatnonzero(straddling)
            for lane in lanes:
                memory.read(int(addr[lane]), nbytes)  # faults if the rest is not mapped
                if write:
                    memory.view(int(addr[lane]) + nbytes - 1, 1, write)
            pieces.append((lanes, None, addr[straddling]))
        remaining &= ~(inside | straddling)
    yield from pieces


def load_dwords(memory: GpuMemory, addr: np.ndarray, dwords: int) -> np.ndarray:
    """(N,) byte addresses -> (N, dwords) uint32 read from memory."""
    out = np.empty((addr.size, dwords), dtype=U32)
    for lanes, view, offset in _pieces(memory, addr, 4 * dwords, write=False):
        if view is None:
            values = np.stack([memory.read(int(a), 4 * dwords).view(U32) for a in offset])
        elif not np.bitwise_or.reduce(offset) & 3:
            words = view.view(U32)
            index = offset >> 2
            values = words[index][:, None] if dwords == 1 else words[index[:, None] + np.arange(dwords)]
        else:
            values = view[offset[:, None] + np.arange(4 * dwords)].view(U32).reshape(-1, dwords)
        if lanes is None:
            out[...] = values
        else:
            out[lanes] = values
    return out


def load_small(memory: GpuMemory, addr: np.ndarray, size: int, signed: bool) -> np.ndarray:
    """(N,) addresses -> (N,) uint32 of 1- or 2-byte values, zero- or sign-extended."""
    out = np.empty(addr.size, dtype=U32)
    dtype = {(1, False): np.uint8, (1, True): np.int8, (2, False): np.uint16, (2, True): np.int16}[
        (size, signed)
    ]
    for lanes, view, offset in _pieces(memory, addr, size, write=False):
        if view is None:
            raw = np.concatenate([memory.read(int(a), size) for a in offset]).view(dtype)
        else:
            raw = view[offset[:, None] + np.arange(size)].copy().view(dtype).reshape(-1)
        values = raw.astype(np.int64).astype(U32) if signed else raw.astype(U32)
        if lanes is None:
            out[...] = values
        else:
            out[lanes] = values
    return out


def store_dwords(memory: GpuMemory, addr: np.ndarray, data: np.ndarray) -> None:
    """Write (N, dwords) uint32 at (N,) addresses; every lane is checked before any byte is written."""
    data = np.asarray(data, dtype=U32).reshape(addr.size, -1)
    dwords = data.shape[1]
    pieces = list(_pieces(memory, addr, 4 * dwords, write=True))
    for lanes, view, offset in pieces:
        values = data if lanes is None else data[lanes]
        if view is None:
            for address, row in zip(offset, values, strict=True):
                memory.write(int(address), np.ascontiguousarray(row))
        elif not np.bitwise_or.reduce(offset) & 3:
            words = view.view(U32)
            index = offset >> 2
            if dwords == 1:
                words[index] = values[:, 0]
            else:
                words[index[:, None] + np.arange(dwords)] = values
        else:
            view[offset[:, None] + np.arange(4 * dwords)] = (
                np.ascontiguousarray(values).view(U8).reshape(-1, 4 * dwords)
            )


def store_small(memory: GpuMemory, addr: np.ndarray, data: np.ndarray, size: int) -> None:
    """Write the low 1 or 2 bytes of (N,) uint32 values."""
    pieces = list(_pieces(memory, addr, size, write=True))
    narrow = np.asarray(data, dtype=U32).astype(U8 if size == 1 else U16)
    for lanes, view, offset in pieces:
        values = narrow if lanes is None else narrow[lanes]
        if view is None:
            for address, value in zip(offset, values, strict=True):
                memory.write(int(address), np.ascontiguousarray(value).view(U8))
        else:
            view[offset[:, None] + np.arange(size)] = values.view(U8).reshape(-1, size)


def atomic(
    memory: GpuMemory, addr: np.ndarray, op: str, data: np.ndarray, compare: np.ndarray | None, dwords: int
) -> np.ndarray:
    """Apply lane atomics in lane order; return the pre-op values ((N,) uint32 or uint64)."""
    size = 4 * dwords
    dtype = U64 if dwords == 2 else U32
    misaligned = (addr.astype(np.int64) % size) != 0
    if misaligned.any():
        raise GpuFaultError(memory.vm.gpu_id, int(addr[misaligned].min()), True, "misaligned atomic")
    old = np.empty(addr.size, dtype=dtype)
    data = np.asarray(data).astype(dtype)
    compare = None if compare is None else np.asarray(compare).astype(dtype)
    for lanes, view, offset in list(_pieces(memory, addr, size, write=True)):
        if view is None:  # an aligned atomic cannot straddle two mappings
            raise GpuFaultError(memory.vm.gpu_id, int(offset[0]), True, "atomic crosses a mapping boundary")
        cells = view.view(dtype)
        selected = slice(None) if lanes is None else lanes
        old[selected] = atomics.apply(
            cells, offset // size, op, data[selected], None if compare is None else compare[selected]
        )
    return old


def _wave_words(
    memory: GpuMemory, wave_base: np.ndarray | None, const: int, write: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The mapping holding the lowest wave base as uint32 words, and each wave base + const as a word index
    into it; None unless those are dword aligned and inside a mapping of a buffer."""
    if wave_base is None:
        return None
    wave_base = wave_base.astype(np.int64) + const
    lowest = int(wave_base.min())
    mapping = memory.vm.lookup(lowest, 1) if lowest >= 0 else None
    if mapping is None or getattr(mapping, "bo", None) is None:
        return None
    relative = wave_base - mapping.va
    if (relative & 3).any():
        return None
    return memory.view(mapping.va, mapping.size, write).view(U32), relative >> 2


def word_index(
    memory: GpuMemory,
    wave_base: np.ndarray | None,
    lane_part: np.ndarray,
    const: int,
    nbytes: int,
    write: bool,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path for whole-wave dword accesses: (the mapping as uint32 words, (W, L) word index of each lane).

    The address of a lane is wave_base[w] + lane_part[w, l] + const. Returns None (use the general path)
    unless every address is dword aligned and at or above the start of the mapping holding the lowest wave
    base. The caller must still keep the index below len(words) (np.take raises IndexError otherwise, and a
    store checks the maximum first), falling back to the general path, which finds the fault.
    """
    if lane_part.dtype != U32:
        return None
    found = _wave_words(memory, wave_base, const, write)
    if found is None or np.bitwise_or.reduce(lane_part, axis=None) & 3:
        return None
    words, wave_words = found
    return words, (lane_part >> U32(2)) + wave_words[:, None]


def contiguous_words(
    memory: GpuMemory,
    wave_base: np.ndarray | None,
    lane_part: np.ndarray,
    const: int,
    nbytes: int,
    write: bool,
) -> np.ndarray | None:
    """When the (W, L) lanes address one run of consecutive dwords (lane by lane, wave after wave) inside
    one mapping, that run as a (W, L) view of the mapping's words; else None. The common case of a kernel
    reading or writing an array at its global work-item id, done as one copy instead of a gather."""
    if lane_part.dtype != U32 or nbytes != 4 or lane_part.ndim != 2:
        return None
    first = lane_part[:, 0]
    run = _consecutive_waves(memory, wave_base, first, lane_part.shape[1], const, write)
    if run is None:
        return None
    step = np.arange(0, 4 * lane_part.shape[1], 4, dtype=U32)
    if not (lane_part == first[:, None] + step).all():
        return None
    return run


def contiguous_offset_words(
    memory: GpuMemory,
    wave_base: np.ndarray | None,
    base: np.ndarray,
    block: np.ndarray,
    const: int,
    write: bool,
) -> np.ndarray | None:
    """contiguous_words for a lane part kept as a per-wave base (W,) plus a workgroup block (see
    WaveBatch.offsets): its lanes step by one dword exactly when each row of the block does, so the check
    costs the block, not every lane."""
    per_wg, lanes = block.shape
    if block.dtype != U32 or base.dtype != U32 or base.size % per_wg:
        return None
    step = np.arange(0, 4 * lanes, 4, dtype=U32)
    if not ((block - block[:, :1]) == step).all():  # (mod 2**32, as the registers hold it)
        return None
    first = (base.reshape(-1, per_wg) + block[:, 0]).reshape(-1)
    return _consecutive_waves(memory, wave_base, first, lanes, const, write)


def _consecutive_waves(
    memory: GpuMemory, wave_base: np.ndarray | None, first: np.ndarray, lanes: int, const: int, write: bool
) -> np.ndarray | None:
    """The (W, L) view of one mapping's words when wave w's lane 0 sits at wave_base[w] + first[w] + const
    and each wave starts L words after the one before (the lanes of a wave are the caller's to check)."""
    found = _wave_words(memory, wave_base, const, write)
    if found is None:
        return None
    words, wave_words = found
    if (first & 3).any() or int(first.max()) + 4 * (lanes - 1) > 0xFFFF_FFFF:
        return None  # misaligned, or some wave's 32-bit offsets wrap (the address does not)
    starts = wave_words + (first >> U32(2))
    n_waves = first.size
    start = int(starts[0])
    if start < 0 or start + n_waves * lanes > words.size:
        return None
    if n_waves > 1 and not (np.diff(starts) == lanes).all():
        return None
    return words[start : start + n_waves * lanes].reshape(n_waves, lanes)


def take_words(words: np.ndarray, index: np.ndarray) -> np.ndarray | None:
    """words[index] (index >= 0), or None when some index is past the mapping."""
    try:
        return np.take(words, index, mode="raise")
    except IndexError:
        return None
