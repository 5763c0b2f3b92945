"""Register state of a batch of waves as numpy arrays: SGPRs (row, wave), VGPRs (wave, lane), EXEC, SCC.

Workgroup templates: a VGPR whose value depends only on where a lane sits in its workgroup (the work-item
ids, and anything computed from them and values every workgroup shares) is the same (waves_per_workgroup, L)
block repeated for every workgroup of the batch. The batch keeps that block next to the full array, so an
instruction whose inputs are all such blocks can compute once per batch instead of once per workgroup.
The full arrays stay the truth: every write that does not maintain a template drops it.
"""

from __future__ import annotations

import numpy as np

from pytest_amdgpu.sim.shader.operands import EXEC_LO

# Scalar rows 0..127 are the operand codes themselves; extra rows follow for state with no operand code.
DISCARD_ROW = 128  # writes to null land here
FLAT_SCRATCH_ROW = 129  # GFX10+: the FLAT_SCRATCH base (lo, hi), reachable only through s_setreg/s_getreg
HWREG_MODE_ROW = 131
SCALAR_ROWS = 132


def store_where(target: np.ndarray, values, where: np.ndarray) -> None:
    """target[where] = values (a scalar or an array of target's shape) for per-wave (W,) arrays:
    np.putmask is 1.3-2.5x faster than np.where and a store, and np.copyto(..., where=) slower still, on
    arrays of thousands of elements. (putmask casts safely only: values are cast first, wrapping.)"""
    values = np.asarray(values)
    if values.dtype != target.dtype:
        values = values.astype(target.dtype)
    np.putmask(target, where, values)


def lanes_from_words(words: np.ndarray) -> np.ndarray:
    """(W, n) uint32 mask words -> (W, 32n) bool, lane i = bit i."""
    packed = np.ascontiguousarray(words, dtype=np.uint32).view(np.uint8)
    return np.unpackbits(packed, axis=1, bitorder="little").view(np.bool_)


def words_from_lanes(lanes: np.ndarray) -> np.ndarray:
    """(W, L) bool -> (W, L/32) uint32 mask words."""
    packed = np.packbits(np.ascontiguousarray(lanes), axis=1, bitorder="little")
    return packed.view(np.uint32)


MAX_COLUMN_WRITES = 16  # queued column writes of one VGPR before it is built


def _same_lanes(a: slice | np.ndarray, b: slice | np.ndarray) -> bool:
    if isinstance(a, slice) or isinstance(b, slice):
        return isinstance(a, slice) and isinstance(b, slice) and (a.start, a.stop) == (b.start, b.stop)
    return a is b or np.array_equal(a, b)


def _overlap(a: slice | np.ndarray, b: slice | np.ndarray) -> bool:
    """Whether two word selections may share a word (runs as slices; anything else is assumed to)."""
    if isinstance(a, slice) and isinstance(b, slice):
        return a.start < b.stop and b.start < a.stop
    return True


def _covers(outer: slice | np.ndarray, inner: slice | np.ndarray) -> bool:
    """Every lane position of `inner` is one of `outer`'s (runs as slices; index arrays only when equal)."""
    if isinstance(outer, slice) and isinstance(inner, slice):
        return outer.start <= inner.start and inner.stop <= outer.stop
    return _same_lanes(outer, inner)


class VgprFile(list):
    """The batch's VGPRs, one (W, L) uint32 array each, some of them not built yet.

    A write of a workgroup template (WaveBatch.write_template) is kept as the (waves_per_workgroup, L) block
    and the lanes it covers, over the array as it was; the array is built when something reads it. A VGPR
    that only ever feeds instructions running on templates (an LDS address, a lane mask's operand) is then
    never spread over the whole batch.

    A VGPR written on every lane with a per-wave value plus a workgroup template (a global work-item id:
    the workgroup's first id plus the work-item id) is kept the same way, as that (W,) base and block, in
    `offsets`: v[w, l] = base[w] + block[w % waves_per_workgroup, l] (mod 2**32).

    A VGPR written on the same lanes of every workgroup with values that differ between workgroups (an LDS
    load, arithmetic on it, an LDS store, under a lane mask the same in every workgroup) is kept as the
    (workgroups, k) values of those lanes, in `columns`, over the array as it was: the next instruction on
    the same lanes reads them as one contiguous array instead of a strided slice of the (W, L) one. Writes
    to other lanes queue up (each hiding the earlier ones it covers); the array is written when read whole.
    """

    def __init__(self, count: int, n_workgroups: int, shape: tuple[int, int]) -> None:
        super().__init__([None] * count)
        self.n_workgroups = n_workgroups
        self.shape = shape
        # index -> (array under the block or None, block (waves_per_workgroup, L), lanes it covers or None)
        self.pending: dict[int, tuple[np.ndarray | None, np.ndarray, np.ndarray | None]] = {}
        # every VGPR starts as zeros, built only when read: most are written whole first, and a dispatch
        # then allocates (and clears) only the registers its kernel reads before writing
        zero = np.zeros((shape[0] // max(n_workgroups, 1), shape[1]), dtype=np.uint32)
        for index in range(count):
            self.pending[index] = (None, zero, None)
        self.offsets: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # index -> (base (W,), block)
        # index -> (array under them, [(lane positions within a workgroup, values (workgroups, k)), ...])
        self.columns: dict[int, tuple[np.ndarray, list[tuple[slice | np.ndarray, np.ndarray]]]] = {}

    def __getitem__(self, index):
        row = list.__getitem__(self, index)
        return self._build(index) if row is None else row

    def write_offsets(self, index: int, base: np.ndarray, block: np.ndarray) -> None:
        """v[index] = base (W,) per wave + block (waves_per_workgroup, L) per workgroup, built when read."""
        self.pending.pop(index, None)
        self.columns.pop(index, None)
        self.offsets[index] = (base, block)
        list.__setitem__(self, index, None)

    def offset_row(self, base: np.ndarray, block: np.ndarray) -> np.ndarray:
        """The (W, L) values of an offset row (mod 2**32)."""
        per_wg = block.shape[0]
        return (base.reshape(self.n_workgroups, per_wg, 1) + block).reshape(self.shape)

    def column_values(self, index: int, positions: slice | np.ndarray) -> np.ndarray:
        """The lanes at `positions` of v[index] in every workgroup, (workgroups, k): to read only."""
        found = self.columns.get(index)
        if found is not None and _same_lanes(found[1][-1][0], positions):
            return found[1][-1][1]
        return self[index].reshape(self.n_workgroups, -1)[:, positions]

    def write_columns(
        self,
        index: int,
        positions: slice | np.ndarray,
        values: np.ndarray,
        own: bool,
        lds_columns: slice | None = None,
    ) -> None:
        """Put (workgroups, k) `values` on the lanes at `positions` of v[index] in every workgroup, building
        nothing. `own`: `values` is a new array the register may keep (else it is copied). `lds_columns`:
        `values` is a view of these words of every workgroup's LDS, kept as a view until an LDS store to
        them (lds_written) makes it take a copy: an LDS load then costs nothing until its value is used."""
        if not own and lds_columns is None:
            values = np.array(values)
        found = self.columns.get(index)
        if found is None:
            self.columns[index] = (self[index], [(positions, values, lds_columns)])  # (others are built)
            list.__setitem__(self, index, None)
            return
        chain = found[1]
        chain[:] = [entry for entry in chain if not _covers(positions, entry[0])]
        chain.append((positions, values, lds_columns))
        if len(chain) > MAX_COLUMN_WRITES:
            self._build(index)

    def lds_written(self, columns: list | None) -> None:
        """Before a store to LDS words `columns` (word selections of every workgroup's LDS; None: any):
        column values that are views of those words take copies."""
        for _, chain in self.columns.values():
            for k, (positions, values, seen) in enumerate(chain):
                if seen is not None and (columns is None or any(_overlap(seen, c) for c in columns)):
                    chain[k] = (positions, np.array(values), None)

    def drop_columns(self) -> None:
        """A new batch: its waves find in their VGPRs whatever was there (hardware leaves them undefined),
        so queued column values are dropped rather than written (they may be views of the LDS)."""
        for index, (under, _) in self.columns.items():
            list.__setitem__(self, index, under)
        self.columns.clear()

    def _build(self, index: int) -> np.ndarray:
        if index in self.columns:
            under, chain = self.columns.pop(index)
            grouped = under.reshape(self.n_workgroups, -1)
            for positions, values, _ in chain:
                grouped[:, positions] = values
            list.__setitem__(self, index, under)
            return under
        if index in self.offsets:
            row = self.offset_row(*self.offsets.pop(index))
            list.__setitem__(self, index, row)
            return row
        under, block, lanes = self.pending.pop(index)
        per_wg, width = block.shape
        if lanes is None:
            if under is None:
                under = np.empty((self.n_workgroups * per_wg, width), dtype=np.uint32)
            under.reshape(self.n_workgroups, per_wg, width)[...] = block
        else:
            positions = np.flatnonzero(lanes)
            first, last = int(positions[0]), int(positions[-1])
            grouped = under.reshape(self.n_workgroups, per_wg * width)
            values = block.reshape(-1)[positions]
            if last - first + 1 == positions.size:  # one run of lanes: a slice, not a gather
                grouped[:, first : last + 1] = values
            else:
                grouped[:, positions] = values
        list.__setitem__(self, index, under)
        return under

    def _reusable(self, index: int) -> np.ndarray | None:
        """v[index]'s array, or the one under what is pending for it (dropped, not built): for a write of
        every lane to reuse instead of allocating."""
        row = list.__getitem__(self, index)
        if row is None:
            row = self.pending.pop(index)[0] if index in self.pending else None
            self.offsets.pop(index, None)
            if index in self.columns:
                row = self.columns.pop(index)[0]
        return row

    def overwritten(self, index: int) -> np.ndarray:
        """v[index]'s array for a write of every lane: a block still pending is dropped, not built."""
        row = self._reusable(index)
        if row is None:
            row = np.empty(self.shape, dtype=np.uint32)
        list.__setitem__(self, index, row)
        return row

    def write_block(self, index: int, block: np.ndarray, lanes: np.ndarray | None) -> None:
        """Put `block` on `lanes` (None: all) of v[index] in every workgroup, building nothing yet."""
        if lanes is None:  # every lane: what was there is dropped, its array kept to be built into
            self.pending[index] = (self._reusable(index), block, None)
            list.__setitem__(self, index, None)
            return
        if index in self.offsets or index in self.columns:
            self._build(index)  # a block on some lanes over an offset or column row: built first
        row = list.__getitem__(self, index)
        if row is not None:
            self.pending[index] = (row, block, lanes)
        else:
            under, old_block, old_lanes = self.pending[index]
            merged = np.where(lanes, block, old_block)
            self.pending[index] = (under, merged, None if old_lanes is None else old_lanes | lanes)
        list.__setitem__(self, index, None)

    def __setitem__(self, index, value) -> None:
        self.pending.pop(index, None)
        self.offsets.pop(index, None)
        self.columns.pop(index, None)
        list.__setitem__(self, index, value)


class WaveBatch:
    """The waves of a group of workgroups, executed together: every array has a wave dimension W."""

    def __init__(self, n_waves: int, lanes: int, n_vgprs: int, n_workgroups: int, lds_bytes: int) -> None:
        self.n_waves = n_waves
        self.lanes = lanes
        self.mask_dwords = lanes // 32
        self.n_vgprs = n_vgprs
        self.sgpr = np.zeros((SCALAR_ROWS, n_waves), dtype=np.uint32)
        # one (W, L) array per VGPR: a full-width result can replace a row without copying it
        self.vgpr = VgprFile(n_vgprs, n_workgroups, (n_waves, lanes))
        self.scc = np.zeros(n_waves, dtype=np.bool_)
        self.pc = np.zeros(n_waves, dtype=np.int64)
        self.done = np.zeros(n_waves, dtype=np.bool_)
        self.blocked = np.zeros(n_waves, dtype=np.bool_)  # waiting at a barrier
        self.gws_wait = np.zeros(n_waves, dtype=np.bool_)  # waiting at a ds_gws_sema_p for a release
        self.gws_entry = np.zeros(n_waves, dtype=np.int64)  # the GWS entry a waiting wave's sema_p named
        self.sleeping = np.zeros(n_waves, dtype=np.bool_)  # ran s_sleep: polling; runs on at the next slice
        self.barrier_signals = np.zeros(n_waves, dtype=np.int64)
        self.executed = np.zeros(n_waves, dtype=np.int64)
        self.workgroup = np.zeros(n_waves, dtype=np.int64)  # index of the wave's workgroup within the batch
        self.n_workgroups = n_workgroups
        self.lds_bytes = lds_bytes
        # +16 spare bytes so that a 16-byte access at the last valid address never needs a special case
        self.lds = np.zeros(n_workgroups * lds_bytes + 16, dtype=np.uint8)
        self._exec_lanes: np.ndarray | None = None
        self._exec_full = False
        self.waves_per_workgroup = n_waves // n_workgroups
        # per VGPR: the (waves_per_workgroup, L) block every workgroup's waves hold, or None; and the lanes
        # of the block that hold it (None: all), since a write under EXEC leaves the other lanes as they were
        self.templates: list[np.ndarray | None] = [None] * n_vgprs
        self.template_lanes: list[np.ndarray | None] = [None] * n_vgprs
        self._exec_template: np.ndarray | None = None
        self._exec_template_known = False
        self._active_pattern: tuple | None = None
        # (running waves' mask, exec_vector.Scope of them or None): dropped whenever EXEC changes
        self.scope_cache: tuple | None = None
        # SGPR row -> its (waves_per_workgroup,) workgroup pattern, or None when it has none: known from the
        # last write of the row (or worked out when first asked) until the row is written again
        self.row_patterns: dict[int, np.ndarray | None] = {}

    def reset(self) -> None:
        """Ready for the next batch of the same shape. Like hardware, a wave finds its SGPRs and VGPRs (other
        than those the CP and SPI initialise) holding whatever was there (mostly what the last batch left),
        and a workgroup's LDS what an earlier workgroup left. (Zeroing them cost a pass over the scalar
        file and the LDS per batch.)"""
        for array in (self.scc, self.done, self.blocked, self.gws_wait, self.sleeping):
            array.fill(False)
        for array in (self.pc, self.barrier_signals, self.executed, self.workgroup):
            array.fill(0)
        self._exec_lanes = None
        self.scope_cache = None
        self._active_pattern = None
        self.row_patterns.clear()
        self.vgpr.drop_columns()
        self.templates = [None] * self.n_vgprs
        self.template_lanes = [None] * self.n_vgprs
        self._exec_template_known = False

    def set_vgpr_row(self, index: int, values: np.ndarray, fresh: bool = False) -> None:
        """Write a whole VGPR: adopt `values` when it is a new (W, L) uint32 array (`fresh`: the caller
        knows it shares memory with nothing the batch holds, as a VALU result that is not a view of its
        sources), else copy it in."""
        self.templates[index] = None
        if (
            values.dtype == np.uint32
            and values.shape == (self.n_waves, self.lanes)
            and values.flags.c_contiguous
            and (
                fresh or (values.flags.owndata and not any(values is row for row in self.vgpr))
            )  # (iterating a list does not build rows)
        ):
            self.vgpr[index] = values
        else:
            self.vgpr.overwritten(index)[...] = values

    # --- EXEC -------------------------------------------------------------------------------------------
    def exec_lanes(self) -> np.ndarray:
        """(W, L) bool view of EXEC, rebuilt only after EXEC was written."""
        if self._exec_lanes is None:
            self._exec_lanes = self.mask_lanes(EXEC_LO)
            self._exec_full = bool(self._exec_lanes.all())
        return self._exec_lanes

    def lane_mask(self, active: np.ndarray, all_active: bool) -> np.ndarray | None:
        """Lanes an instruction executes on: EXEC and the wave being active; None means every lane."""
        lanes = self.exec_lanes()
        if all_active:
            return None if self._exec_full else lanes
        return lanes & active[:, None]

    def exec_changed(self) -> None:
        self._exec_lanes = None
        self._exec_template_known = False
        self.scope_cache = None

    # --- workgroup templates ----------------------------------------------------------------------------
    def wave_pattern(self, values: np.ndarray) -> np.ndarray | None:
        """The first workgroup's part of per-wave `values` (W, ...) when every workgroup has the same."""
        per_wg = self.waves_per_workgroup
        # every workgroup equals the one before it: a contiguous compare of the array with itself shifted
        # by one workgroup, cheaper than broadcasting the first workgroup against all of them
        if self.n_workgroups > 1 and not np.array_equal(values[per_wg:], values[:-per_wg]):
            return None
        return values[:per_wg]

    def row_pattern(self, row: int) -> np.ndarray | None:
        """SGPR row `row`'s workgroup pattern ((waves_per_workgroup,) uint32), None when workgroups differ."""
        try:
            return self.row_patterns[row]
        except KeyError:
            pattern = self.wave_pattern(self.sgpr[row])
            pattern = None if pattern is None else pattern.copy()
            self.row_patterns[row] = pattern
            return pattern

    def active_pattern(self, active: np.ndarray) -> np.ndarray | None:
        """The running waves as one workgroup's (waves_per_workgroup,) bool, when alike in every workgroup."""
        cached = self._active_pattern
        if cached is not None and cached[0] is active:
            return cached[1]
        pattern = self.wave_pattern(active)
        self._active_pattern = (active, pattern)  # (the scheduler makes a new `active` for each running set)
        return pattern

    def write_sgpr_pattern(self, row: int, pattern: np.ndarray, active: np.ndarray | None) -> None:
        """Store the (waves_per_workgroup,) `pattern` into SGPR row `row` of every workgroup's waves, where
        `active` ((waves_per_workgroup,) bool, None: all) runs, keeping the row's pattern known."""
        pattern = np.array(np.broadcast_to(pattern, (self.waves_per_workgroup,)), dtype=np.uint32)
        old = None if active is None else self.row_pattern(row)
        if active is not None and old is None:  # the waves that do not run differ between workgroups
            store_where(self.sgpr[row], self.spread(pattern), self.spread(active))
            self.row_patterns[row] = None
        else:
            if active is not None:
                pattern = np.where(active, pattern, old).astype(np.uint32)
            self.sgpr[row] = self.spread(pattern)
            self.row_patterns[row] = pattern
        if row in (EXEC_LO, EXEC_LO + 1):
            self.exec_changed()

    def spread(self, pattern: np.ndarray) -> np.ndarray:
        """(W,) per-wave values from one workgroup's (waves_per_workgroup,) pattern (np.tile: a broadcast
        store of so short a pattern is 3-5x slower)."""
        return np.tile(pattern, self.n_workgroups)

    def exec_template(self) -> np.ndarray | None:
        """(waves_per_workgroup, L) bool EXEC of one workgroup when every workgroup has the same EXEC."""
        if not self._exec_template_known:
            self._exec_template = None
            rows = []
            for i in range(self.mask_dwords):  # row by row: no (W, dwords) copy of EXEC
                row = self.row_pattern(EXEC_LO + i)
                if row is None:
                    break
                rows.append(row)
            else:
                self._exec_template = lanes_from_words(np.stack(rows, axis=1))
            self._exec_template_known = True
        return self._exec_template

    def check_templates(self, after: str) -> None:
        """Self-check: every template kept must be what each workgroup's VGPR holds, and EXEC's too."""
        shape = (self.n_workgroups, self.waves_per_workgroup, self.lanes)
        for index, block in enumerate(self.templates):
            if block is None:
                continue
            known = self.template_lanes[index]
            same = self.vgpr[index].reshape(shape) == block
            if not (same if known is None else same | ~known).all():
                raise AssertionError(f"v{index} no longer matches its workgroup template after {after}")
        known = self._exec_template if self._exec_template_known else None
        if known is not None and not (self.exec_lanes().reshape(shape) == known).all():
            raise AssertionError(f"EXEC no longer matches its workgroup template after {after}")
        for row, pattern in self.row_patterns.items():
            if pattern is not None and not (self.sgpr[row].reshape(shape[:2]) == pattern).all():
                raise AssertionError(f"SGPR row {row} no longer matches its workgroup pattern after {after}")

    def write_offsets(self, index: int, base: np.ndarray, block: np.ndarray) -> None:
        """Every lane of v[index] = base (W,) per wave + block (waves_per_workgroup, L) per workgroup."""
        self.templates[index] = None
        self.vgpr.write_offsets(index, base, block)

    def offsets(self, index: int) -> tuple[np.ndarray | None, np.ndarray] | None:
        """v[index] as (per-wave base or None for 0, (waves_per_workgroup, L) block) on every lane, when it
        is one (an offset row, or a template of every lane); None otherwise."""
        found = self.vgpr.offsets.get(index)
        if found is not None:
            return found
        block = self.templates[index]
        if block is not None and self.template_lanes[index] is None:
            return None, block
        return None

    def forget_template(self, index: int) -> None:
        """VGPR `index` was written in a way that does not keep its template."""
        self.templates[index] = None

    def template(self, index: int, executing: np.ndarray) -> np.ndarray | None:
        """v[index]'s workgroup template when it holds on every lane in `executing`, else None."""
        block = self.templates[index]
        if block is None:
            return None
        known = self.template_lanes[index]
        if known is not None and (executing & ~known).any():
            return None
        return block

    def write_template(self, index: int, block: np.ndarray, executing: np.ndarray | None) -> None:
        """Store the same (waves_per_workgroup, L) `block` into v[index] of every workgroup, on the lanes
        `executing` ((waves_per_workgroup, L) bool, None for all); keep a template where one results."""
        block = np.array(
            np.broadcast_to(np.asarray(block, dtype=np.uint32), (self.waves_per_workgroup, self.lanes))
        )
        old, old_lanes = self.templates[index], self.template_lanes[index]
        if executing is None:
            self.vgpr.write_block(index, block, None)
            self.templates[index], self.template_lanes[index] = block, None
            return
        if not executing.any():
            return
        executing = executing.copy()
        self.vgpr.write_block(index, block, executing)
        if old is None:
            self.templates[index], self.template_lanes[index] = block, executing
        else:
            self.templates[index] = np.where(executing, block, old)
            self.template_lanes[index] = None if old_lanes is None else old_lanes | executing

    # --- lane masks kept in SGPRs (VCC, EXEC, s[n:n+1]) ---------------------------------------------------
    def mask_words(self, row: int) -> np.ndarray:
        return np.stack([self.sgpr[row + i] for i in range(self.mask_dwords)], axis=1)

    def mask_any(self, row: int) -> np.ndarray:
        """(W,) bool: some lane of the mask in SGPR row(s) `row` is set (VCCNZ / EXECNZ)."""
        if self.mask_dwords == 1:
            return self.sgpr[row] != 0
        return (self.sgpr[row] | self.sgpr[row + 1]) != 0

    def mask_lanes(self, row: int) -> np.ndarray:
        return lanes_from_words(self.mask_words(row))

    def write_mask_template(
        self, row: int, lanes: np.ndarray, active: np.ndarray | None, all_active: bool
    ) -> None:
        """Store a (waves_per_workgroup, L) lane mask into SGPR row(s) of every workgroup's waves."""
        words = words_from_lanes(lanes)
        running = None if all_active else self.active_pattern(active)
        for i in range(self.mask_dwords):
            if all_active or running is not None:
                self.write_sgpr_pattern(row + i, words[:, i], running)
            else:
                self.write_sgpr(row + i, self.spread(words[:, i]), active, all_active)

    def write_mask_lanes(
        self,
        row: int,
        lanes: np.ndarray,
        active: np.ndarray | None,
        all_active: bool,
        rows: np.ndarray | None = None,
    ) -> None:
        """Store a lane mask into SGPR row(s); with `rows`, `lanes` is (R, L) for those waves only."""
        words = words_from_lanes(lanes)
        for i in range(self.mask_dwords):
            if rows is None:
                self.write_sgpr(row + i, words[:, i], active, all_active)
            else:
                self.sgpr[row + i, rows] = words[:, i]
                self.row_patterns.pop(row + i, None)
        if rows is not None and row in (EXEC_LO, EXEC_LO + 1):
            self.exec_changed()

    # --- scalar writes --------------------------------------------------------------------------------------
    def write_sgpr(self, row: int, values: np.ndarray | int, active: np.ndarray, all_active: bool) -> None:
        self.row_patterns.pop(row, None)
        if all_active:
            self.sgpr[row] = values
        else:
            store_where(self.sgpr[row], values, active)
        if row in (EXEC_LO, EXEC_LO + 1):
            self.exec_changed()
