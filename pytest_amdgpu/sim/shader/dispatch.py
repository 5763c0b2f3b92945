"""Run one compute dispatch: the state the CP latched, initial wave state as the SPI sets it, scheduling."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from pytest_amdgpu.sim.memory import GpuFaultError, GpuMemory
from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
from pytest_amdgpu.sim.shader.errors import ShaderError
from pytest_amdgpu.sim.shader.exec_gws import wake_waiters
from pytest_amdgpu.sim.shader.opcodes import tables_for
from pytest_amdgpu.sim.shader.operands import EXEC_LO, LAYOUTS
from pytest_amdgpu.sim.shader.targets import TargetProperties, properties
from pytest_amdgpu.sim.shader.waves import (
    FLAT_SCRATCH_ROW,
    HWREG_MODE_ROW,
    WaveBatch,
    store_where,
    words_from_lanes,
)

DEFAULT_MAX_WAVE_INSTRUCTIONS = 1 << 22  # a wave executing more than this is treated as hung
CHECK_EVERY_STEPS = 1024  # steps between checks of the instruction limit and of a slice's end
DEFAULT_BATCH_LANES = 1 << 20  # lanes simulated together: enough to amortise the per-instruction Python
BATCH_VGPR_BYTES = 64 << 20  # ... but a batch's VGPR file stays within this (wide kernels batch fewer lanes)
MAX_WORKGROUP_SIZE = 1024
USER_DATA_REGISTERS = 16
GFX9_FLAT_SCRATCH_ROW = 102
TTMP7, TTMP9 = 115, 117
# Self-check of the workgroup templates (waves.py) after every instruction: slow, for the shader core's tests
CHECK_TEMPLATES = os.environ.get("PYTEST_AMDGPU_SIM_CHECK_TEMPLATES") == "1"


@dataclass
class DispatchState:
    """Everything the command processor latched when DISPATCH_DIRECT arrived."""

    gfx_target: str  # "gfx942", "gfx1100", ...
    isa_family: str  # families.get_target(gfx_target).isa_family
    pgm_addr: int  # (COMPUTE_PGM_HI << 32 | COMPUTE_PGM_LO) << 8: address of the first instruction
    rsrc1: int  # COMPUTE_PGM_RSRC1
    rsrc2: int  # COMPUTE_PGM_RSRC2
    rsrc3: int  # COMPUTE_PGM_RSRC3
    user_data: list[int]  # COMPUTE_USER_DATA_0..15 (only the first RSRC2.USER_SGPR are loaded)
    grid_workgroups: tuple[int, int, int]  # DISPATCH_DIRECT dim_x/y/z in workgroups
    workgroup_size: tuple[int, int, int]  # COMPUTE_NUM_THREAD_X/Y/Z
    wave_size: int  # 64 on gfx9; on gfx10+ 32 if DISPATCH_INITIATOR.CS_W32_EN else 64
    dispatch_initiator: int
    scratch_base: int  # per-queue scratch backing VA (0 if none)
    tmpring_size: int  # COMPUTE_TMPRING_SIZE
    lds_limit_bytes: int  # the device's LDS per workgroup
    gws: np.ndarray | None = None  # the process's GWS entries (uint32, updated in place), None: no GWS


@dataclass(frozen=True)
class DispatchStats:
    """What a dispatch cost: deterministic for the same inputs."""

    workgroups: int
    waves: int
    instructions: int  # wave-instructions executed (one instruction issued for one wave)
    cycles: int  # summed per-wave issue cycles: the time if one SIMD ran every wave back to back


@dataclass(frozen=True)
class Rsrc2:
    """COMPUTE_PGM_RSRC2 fields the shader core uses (AMDGPUUsage compute_pgm_rsrc2 table)."""

    scratch_en: bool
    user_sgpr: int
    tgid_en: tuple[bool, bool, bool]
    tg_size_en: bool
    tidig_comp_cnt: int
    lds_size: int  # in granules

    @classmethod
    def decode(cls, value: int) -> Rsrc2:
        return cls(
            scratch_en=bool(value & 1),
            user_sgpr=(value >> 1) & 0x1F,
            tgid_en=(bool(value >> 7 & 1), bool(value >> 8 & 1), bool(value >> 9 & 1)),
            tg_size_en=bool(value >> 10 & 1),
            tidig_comp_cnt=(value >> 11) & 3,
            lds_size=(value >> 15) & 0x1FF,
        )


@dataclass
class _Plan:
    """Dispatch-wide facts derived once from the latched state."""

    state: DispatchState
    props: TargetProperties
    rsrc2: Rsrc2
    lanes: int
    n_vgprs: int
    lds_bytes: int
    threads_per_workgroup: int
    waves_per_workgroup: int
    workgroups: int
    scratch_slots: int
    scratch_wave_bytes: int
    workgroups_per_batch: int = 1
    stats: dict[str, int] = field(default_factory=lambda: {"instructions": 0, "cycles": 0, "waves": 0})
    _template: tuple[list[np.ndarray], np.ndarray] | None = None

    def wave_template(self) -> tuple[list[np.ndarray], np.ndarray]:
        """VGPR work-item id rows ((waves, lanes) each) and EXEC words of one workgroup's waves."""
        if self._template is None:
            lanes = self.lanes
            thread = np.arange(self.waves_per_workgroup)[:, None] * lanes + np.arange(lanes)[None, :]
            live = thread < self.threads_per_workgroup
            size_x, size_y, _ = self.state.workgroup_size
            ids = [thread % size_x, (thread // size_x) % size_y, thread // (size_x * size_y)]
            ids = [np.where(live, value, 0).astype(np.uint32) for value in ids]
            count = min(self.rsrc2.tidig_comp_cnt, 2) + 1
            if self.props.packed_workitem_ids:
                packed = ids[0].copy()
                for axis in range(1, count):
                    packed |= (ids[axis] & np.uint32(0x3FF)) << np.uint32(10 * axis)
                rows = [packed]
            else:
                rows = ids[:count]
            self._template = (rows[: self.n_vgprs], words_from_lanes(live))
        return self._template


def _check_state(state: DispatchState) -> None:
    if state.isa_family == "gfx9" and state.wave_size != 64:
        raise ShaderError(f"{state.gfx_target} runs wave64 only, not wave{state.wave_size}")
    if state.wave_size not in (32, 64):
        raise ShaderError(f"wave size {state.wave_size} is neither 32 nor 64")
    for label, values in (("grid", state.grid_workgroups), ("workgroup size", state.workgroup_size)):
        if len(values) != 3 or any(not isinstance(v, int | np.integer) or v < 0 for v in values):
            raise ShaderError(f"{label} {values!r} must be three non-negative integers")
    if 0 in state.workgroup_size or math.prod(state.workgroup_size) > MAX_WORKGROUP_SIZE:
        raise ShaderError(
            f"workgroup size {state.workgroup_size} is not 1 to {MAX_WORKGROUP_SIZE} work-items "
            "(COMPUTE_NUM_THREAD_X/Y/Z)"
        )


def _plan(state: DispatchState, batch_lanes: int) -> _Plan:
    _check_state(state)
    props = properties(state.gfx_target, state.isa_family)
    rsrc2 = Rsrc2.decode(state.rsrc2)
    lanes = state.wave_size
    lds_bytes = rsrc2.lds_size * props.lds_granule_bytes
    if lds_bytes > state.lds_limit_bytes:
        raise ShaderError(
            f"COMPUTE_PGM_RSRC2.LDS_SIZE asks for {lds_bytes} bytes of LDS per workgroup; the device has "
            f"{state.lds_limit_bytes}"
        )
    threads = math.prod(state.workgroup_size)
    waves_per_workgroup = -(-threads // lanes)
    slots = wave_bytes = 0
    if rsrc2.scratch_en:
        slots = props.tmpring.waves(state.tmpring_size)
        wave_bytes = props.tmpring.wave_bytes(state.tmpring_size)
        if slots < waves_per_workgroup:
            raise ShaderError(
                f"SCRATCH_EN with COMPUTE_TMPRING_SIZE.WAVES = {slots}: a workgroup of {waves_per_workgroup} "
                "waves "
                "can never launch"
            )
    plan = _Plan(
        state=state,
        props=props,
        rsrc2=rsrc2,
        lanes=lanes,
        n_vgprs=props.vgpr_count(state.rsrc1, lanes),
        lds_bytes=lds_bytes,
        threads_per_workgroup=threads,
        waves_per_workgroup=waves_per_workgroup,
        workgroups=math.prod(state.grid_workgroups),
        scratch_slots=slots,
        scratch_wave_bytes=wave_bytes,
    )
    batch_lanes = min(batch_lanes, BATCH_VGPR_BYTES // (4 * max(plan.n_vgprs, 1)))
    per_batch = max(1, batch_lanes // (waves_per_workgroup * lanes))
    if rsrc2.scratch_en:  # every resident wave needs its own scratch slot
        per_batch = min(per_batch, slots // waves_per_workgroup)
    plan.workgroups_per_batch = max(1, per_batch)
    return plan


def _initial_state(plan: _Plan, first_workgroup: int, count: int, reuse: WaveBatch | None) -> WaveBatch:
    """Registers as CP (user SGPRs), ADC/SPI (system SGPRs, VGPR ids, EXEC) leave them (AMDGPUUsage)."""
    state, rsrc2, lanes = plan.state, plan.rsrc2, plan.lanes
    per_wg = plan.waves_per_workgroup
    n_waves = count * per_wg
    if reuse is not None and reuse.n_waves == n_waves:
        b = reuse
        b.reset()
    else:
        b = WaveBatch(n_waves, lanes, plan.n_vgprs, count, plan.lds_bytes)
    local_wg = np.repeat(np.arange(count), per_wg)
    wave_in_wg = np.tile(np.arange(per_wg), count)
    b.workgroup[:] = local_wg
    linear = first_workgroup + local_wg
    gx, gy, gz = state.grid_workgroups
    if gy == gz == 1:  # a 1-D grid: no divisions over every wave
        zero = np.zeros_like(linear)
        wg_ids = (linear, zero, zero)
    else:
        wg_ids = (linear % gx, (linear // gx) % gy, linear // (gx * gy))
    # user SGPRs: COMPUTE_USER_DATA_0.. in order
    user = [int(v) & 0xFFFF_FFFF for v in list(state.user_data)[:USER_DATA_REGISTERS]]
    for row in range(min(rsrc2.user_sgpr, len(user))):
        b.write_sgpr_pattern(row, user[row], None)  # the same in every wave
    # system SGPRs right after the user SGPRs, in AMDGPUUsage order
    row = rsrc2.user_sgpr
    for axis in range(3):
        if rsrc2.tgid_en[axis] and row < 106:
            b.sgpr[row] = wg_ids[axis]
            row += 1
    if rsrc2.tg_size_en and row < 106:
        b.sgpr[row] = ((wave_in_wg == 0).astype(np.uint32) << np.uint32(31)) | np.uint32(per_wg & 0x3F)
        row += 1
    slot = np.arange(n_waves, dtype=np.uint64)
    wave_offset = slot * np.uint64(plan.scratch_wave_bytes)
    if rsrc2.scratch_en:
        if plan.props.architected_flat_scratch:
            flat_scratch = np.uint64(state.scratch_base) + wave_offset
            target_row = GFX9_FLAT_SCRATCH_ROW if state.isa_family == "gfx9" else FLAT_SCRATCH_ROW
            b.sgpr[target_row] = (flat_scratch & np.uint64(0xFFFF_FFFF)).astype(np.uint32)
            b.sgpr[target_row + 1] = (flat_scratch >> np.uint64(32)).astype(np.uint32)
        elif row < 106:
            b.sgpr[row] = wave_offset.astype(np.uint32)
            row += 1
    if state.isa_family == "gfx12":  # GFX12 also keeps the workgroup ids in TTMP9 (x) and TTMP7 (z:y)
        b.sgpr[TTMP9] = wg_ids[0]
        b.sgpr[TTMP7] = (wg_ids[1] & 0xFFFF) | (wg_ids[2] << 16)
    b.sgpr[HWREG_MODE_ROW] = (state.rsrc1 >> 12) & 0xFF  # FP rounding and denormal modes
    # work-item ids and EXEC: the same for every workgroup, so built once per dispatch and broadcast
    id_rows, exec_words = plan.wave_template()
    for row, values in enumerate(id_rows):
        b.write_template(row, values, None)
    for i in range(b.mask_dwords):
        b.write_sgpr_pattern(EXEC_LO + i, exec_words[:, i], None)
    b.pc[:] = state.pgm_addr
    return b


def _release_barriers(b: WaveBatch) -> bool:
    """Let waves through a barrier once every live wave of their workgroup has signalled it."""
    waiting = b.blocked & ~b.done
    if not waiting.any():
        return False
    # a workgroup's waves are consecutive in the batch: the lowest count of signals of its live waves
    signals = np.where(b.done, np.iinfo(np.int64).max, b.barrier_signals)
    lowest = signals.reshape(b.n_workgroups, b.waves_per_workgroup).min(axis=1)
    release = waiting & (b.barrier_signals <= np.repeat(lowest, b.waves_per_workgroup))
    b.blocked &= ~release
    return bool(release.any())


def _store_pc(b: WaveBatch, pc: int, active: np.ndarray, all_active: bool) -> None:
    if all_active:
        b.pc.fill(pc)
    else:
        store_where(b.pc, pc, active)


def _count(b: WaveBatch, steps: int, active: np.ndarray, all_active: bool) -> None:
    """Add `steps` instructions to the running waves' counts (np.add with where= is 3x slower)."""
    if all_active:
        b.executed += steps
    else:
        b.executed += active * steps


def _run_batch(
    ctx: ShaderContext, b: WaveBatch, plan: _Plan, budget: int | None, pause_after: int | None = None
) -> bool:
    """Issue instructions until every wave ends: always the lowest PC among the waves that can run, for all
    the waves at that PC together (so waves of a workgroup reconverge after divergent branches).

    Returns True when every wave has ended. With `pause_after`, returns False when the batch pauses with
    its state kept in `b` (call again to go on): after a wave has run `pause_after` instructions in this
    call, or when every live wave sleeps (s_sleep), waits at ds_gws_sema_p, or waits at a barrier behind
    such a wave: a polling loop or a semaphore, which only a change made by someone else can end. Without
    it, sleeping waves run on and GWS waiters nobody can release are a deadlock error. A wave past `budget`
    instructions in all is an error (None: no limit).
    """
    never = np.iinfo(np.int64).max
    stats = plan.stats
    cache = ctx.cache
    steps = 0
    started = b.executed.copy() if pause_after is not None else None
    b.sleeping[:] = False  # (re)starting: sleeping waves wake; GWS waiters whose entry another
    wake_waiters(b, ctx.gws)  # queue's dispatch raised try their sema_p again, the others keep waiting
    active: np.ndarray | None = None
    pc = n_active = 0
    all_active = False
    others = never  # the lowest PC of the runnable waves outside `active`
    run_length = 0  # steps the current set of active waves has run without b.executed updated
    while True:
        if active is None:
            ready = ~(b.done | b.blocked | b.gws_wait | b.sleeping)
            if not ready.any():
                if b.done.all():
                    return True
                if pause_after is not None and (b.sleeping.any() or b.gws_wait.any()):
                    return False  # polling, or waiting on GWS: pause until someone else changes something
                if (
                    b.sleeping.any()
                ):  # run_dispatch runs polling loops on: only the instruction limit ends them
                    b.sleeping[:] = False
                    continue
                if not _release_barriers(b):
                    if b.gws_wait.any():
                        raise ShaderError(
                            "GWS deadlock: waves wait at ds_gws_sema_p and no running wave is left to "
                            "release the semaphore",
                            int(b.pc[b.gws_wait].min()),
                        )
                    stuck = int(b.pc[b.blocked & ~b.done].min())
                    raise ShaderError(
                        "barrier deadlock: every live wave of a workgroup waits at a barrier the others "
                        "never reach",
                        stuck,
                    )
                continue
            pcs = b.pc if ready.all() else np.where(ready, b.pc, never)  # (read only)
            pc = int(pcs.min())
            active = pcs == pc
            n_active = int(np.count_nonzero(active))
            all_active = n_active == b.n_waves
            others = never if all_active else int(np.where(active, never, pcs).min())
        compiled: Compiled = cache.get(pc) or ctx.compiled(pc)
        size = compiled.inst.size
        # the same waves run the next instruction too unless this one is control flow or the next PC is
        # where other waves wait (they join there): then the set is chosen again
        sequential = not compiled.control and pc + size < others
        if not sequential and not compiled.writes_pc:  # b.pc must be exact for the next PC choice
            _store_pc(b, pc + size, active, all_active)
        try:
            next_pc = compiled.run(b, active, all_active)
        except (ShaderError, GpuFaultError):
            raise
        except Exception as exc:  # safety net: hostile code must end in ShaderError, never a stray exception
            raise ctx.error(compiled.inst, f"the shader core failed on this instruction ({exc!r})") from exc
        if CHECK_TEMPLATES:
            b.check_templates(f"{compiled.inst.mnemonic} at {compiled.inst.pc:#x}")
        stats["instructions"] += n_active
        stats["cycles"] += compiled.cost_cycles * n_active
        ctx.cycles = stats["cycles"]
        steps += 1
        run_length += 1
        if sequential:
            pc += size  # every runnable wave moves on together; b.pc is brought up to date later
        elif compiled.control and next_pc is not None and next_pc < others:
            pc = next_pc  # a branch every running wave took the same way: they are still the lowest
        else:
            if compiled.writes_pc and next_pc is not None:
                _store_pc(b, next_pc, active, all_active)
            _count(b, run_length, active, all_active)
            run_length = 0
            if compiled.control:
                _release_barriers(b)
            active = None
        if steps >= CHECK_EVERY_STEPS:
            if active is not None:
                _count(b, run_length, active, all_active)
                run_length = 0
                _store_pc(b, pc, active, all_active)
                active = None
            if budget is not None and int(b.executed.max()) > budget:
                raise ctx.error(
                    compiled.inst,
                    f"a wave executed more than {budget} instructions (infinite loop guard; raise "
                    "max_wave_instructions)",
                )
            if started is not None and int((b.executed - started).max()) >= pause_after:
                return bool(b.done.all())  # (the slice may end on the last s_endpgm)
            steps = 0


class DispatchRun:
    """A dispatch in flight, run in slices: how the CP runs kernels that take long or never end by themselves
    (a persistent kernel polling memory the CPU writes, preempted and resumed meanwhile).

    Raises what run_dispatch raises. By default there is no instruction limit (a kernel that never ends is
    a hang, found by whoever waits for it); run_dispatch sets one and runs it without slices.
    """

    def __init__(
        self,
        state: DispatchState,
        memory: GpuMemory,
        *,
        batch_lanes: int = DEFAULT_BATCH_LANES,
        max_wave_instructions: int | None = None,
    ):
        self.plan = _plan(state, batch_lanes)
        self.max_wave_instructions = max_wave_instructions
        self.ctx = _context(state, memory, self.plan)
        self.batch: WaveBatch | None = None
        self.batch_running = False
        self.next_workgroup = 0
        self.stats: DispatchStats | None = DispatchStats(0, 0, 0, 0) if self.plan.workgroups == 0 else None
        self.polling = False  # the last pause came with every live wave asleep (a polling loop)

    @property
    def workgroups(self) -> int:
        return self.plan.workgroups

    @property
    def holds_scratch(self) -> bool:
        """Whether waves of this dispatch hold scratch slots now (a batch of a scratch user is under way):
        the queue's scratch ring numbers slots from 0 for every batch, so no other dispatch may use it."""
        return self.plan.rsrc2.scratch_en and self.batch_running

    @property
    def uses_scratch(self) -> bool:
        return self.plan.rsrc2.scratch_en

    def run(self, slice_instructions: int | None) -> DispatchStats | None:
        """Go on until the dispatch ends (its stats) or pauses (None): a wave ran `slice_instructions` in
        this call, or every live wave sleeps in a polling loop. Without a slice it never pauses."""
        plan = self.plan
        with np.errstate(all="ignore"):
            while self.stats is None:
                if not self.batch_running:
                    if self.next_workgroup >= plan.workgroups:
                        self.stats = _stats(plan)
                        break
                    count = min(plan.workgroups_per_batch, plan.workgroups - self.next_workgroup)
                    self.batch = _initial_state(plan, self.next_workgroup, count, self.batch)
                    self.next_workgroup += count
                    plan.stats["waves"] += self.batch.n_waves
                    self.batch_running = True
                b = self.batch
                assert b is not None
                if not _run_batch(self.ctx, b, plan, self.max_wave_instructions, slice_instructions):
                    self.polling = not (~(b.done | b.blocked | b.gws_wait | b.sleeping)).any()
                    return None
                self.batch_running = False
        return self.stats

    def where(self) -> str:
        """The PCs the live waves of the running batch are at (for hang and stall reports)."""
        b = self.batch
        if b is None or not self.batch_running:
            return "between batches"
        live = ~b.done
        pcs = sorted({int(pc) for pc in b.pc[live]})
        shown = ", ".join(f"{pc:#x}" for pc in pcs[:4]) + (" ..." if len(pcs) > 4 else "")
        asleep = int(np.count_nonzero(b.sleeping & live))
        waiting = int(np.count_nonzero(b.gws_wait & live))
        first = self.next_workgroup - b.n_workgroups
        notes = [f"{asleep} asleep in s_sleep"] * bool(asleep) + [
            f"{waiting} waiting at ds_gws_sema_p"
        ] * bool(waiting)
        return (
            f"{int(np.count_nonzero(live))} live waves of workgroups {first} to {self.next_workgroup - 1} "
            f"of {self.plan.workgroups} at PC {shown}" + (f" ({', '.join(notes)})" if notes else "")
        )


def _context(state: DispatchState, memory: GpuMemory, plan: _Plan) -> ShaderContext:
    return ShaderContext(
        memory=memory,
        tables=tables_for(state.isa_family, state.gfx_target),
        props=plan.props,
        layout=LAYOUTS[state.isa_family],
        lanes=plan.lanes,
        n_vgprs=plan.n_vgprs,
        lds_bytes=plan.lds_bytes,
        gws=state.gws,
    )


def _stats(plan: _Plan) -> DispatchStats:
    return DispatchStats(
        workgroups=plan.workgroups,
        waves=plan.stats["waves"],
        instructions=plan.stats["instructions"],
        cycles=plan.stats["cycles"],
    )


def run_dispatch(
    state: DispatchState,
    memory: GpuMemory,
    *,
    max_wave_instructions: int = DEFAULT_MAX_WAVE_INSTRUCTIONS,
    batch_lanes: int = DEFAULT_BATCH_LANES,
) -> DispatchStats:
    """Execute the dispatch the CP latched in `state` on the waves of every workgroup; return what it cost.

    Raises GpuFaultError for an access the VM refuses and ShaderError for anything the shader core (or the
    hardware) would stop on: unknown or unsupported instructions, s_trap, LDS over the device limit, a wave
    past `max_wave_instructions`, a barrier nobody can pass.
    """
    run = DispatchRun(state, memory, batch_lanes=batch_lanes, max_wave_instructions=max_wave_instructions)
    stats = run.run(None)
    assert stats is not None  # without a slice, a batch runs to its end or raises
    return stats
