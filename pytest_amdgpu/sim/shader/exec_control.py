"""Compile program-control instructions (SOPP): branches, s_endpgm, barriers, waits, traps and hints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader.operands import EXEC_LO, VCC_LO
from pytest_amdgpu.sim.shader.syntax_base import signed
from pytest_amdgpu.sim.shader.waves import WaveBatch, store_where

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

BRANCH_CYCLES, WAIT_CYCLES, BARRIER_CYCLES = 2, 1, 4

# Instructions that only hint, order memory or pace issue: memory operations complete in order here.
_NO_EFFECT = frozenset(
    {
        "s_nop",
        "s_waitcnt",
        "s_icache_inv",
        "s_wakeup",
        "s_setprio",
        "s_setkill",
        "s_ttracedata",
        "s_incperflevel",
        "s_decperflevel",
        "s_delay_alu",
        "s_clause",
        "s_set_inst_prefetch_distance",
        "s_waitcnt_depctr",
        "s_wait_alu",
        "s_wait_idle",
        "s_singleuse_vdst",
        "s_round_mode",
        "s_denorm_mode",
        "s_wait_event",
        "s_wait_loadcnt",
        "s_wait_storecnt",
        "s_wait_samplecnt",
        "s_wait_bvhcnt",
        "s_wait_expcnt",
        "s_wait_dscnt",
        "s_wait_kmcnt",
        "s_wait_loadcnt_dscnt",
        "s_wait_storecnt_dscnt",
        "s_sendmsg",
        "s_sendmsghalt",
    }
)
# Branches taken only in debug modes the simulator never enables.
_DEBUG_BRANCHES = frozenset(
    {"s_cbranch_cdbgsys", "s_cbranch_cdbguser", "s_cbranch_cdbgsys_or_user", "s_cbranch_cdbgsys_and_user"}
)


def _compiled(
    inst: Instruction, run, cost: int, ends: bool = False, control: bool = True, writes_pc: bool = False
) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    return Compiled(inst, run, cost, ends, control, writes_pc)


def _nothing(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
    return None


def _condition(name: str):
    """Per-wave branch condition of a conditional branch."""
    if name == "s_cbranch_scc0":
        return lambda b: ~b.scc
    if name == "s_cbranch_scc1":
        return lambda b: b.scc
    if name == "s_cbranch_vccz":
        return lambda b: ~b.mask_any(VCC_LO)
    if name == "s_cbranch_vccnz":
        return lambda b: b.mask_any(VCC_LO)
    if name == "s_cbranch_execz":
        return lambda b: ~b.mask_any(EXEC_LO)
    if name == "s_cbranch_execnz":
        return lambda b: b.mask_any(EXEC_LO)
    return None


def _pattern_condition(name: str, mask_dwords: int):
    """The branch condition of an EXEC or VCC test from the mask's workgroup pattern: a function (batch)
    giving (waves_per_workgroup,) bool, or None when the pattern is not known (WaveBatch.row_patterns)."""
    tests = {"s_cbranch_execz": (EXEC_LO, True), "s_cbranch_execnz": (EXEC_LO, False),
             "s_cbranch_vccz": (VCC_LO, True), "s_cbranch_vccnz": (VCC_LO, False)}  # fmt: skip
    if name not in tests:
        return None
    row, zero = tests[name]

    def condition(b: WaveBatch) -> np.ndarray | None:
        words = [b.row_patterns.get(row + i) for i in range(mask_dwords)]
        if any(word is None for word in words):
            return None
        nonzero = (words[0] | words[1]) != 0 if mask_dwords == 2 else words[0] != 0
        return ~nonzero if zero else nonzero

    return condition


def compile_sopp(ctx: ShaderContext, inst: Instruction) -> Compiled:
    name = inst.mnemonic or ""
    imm = inst.fields["simm16"]
    if name in _NO_EFFECT or name in _DEBUG_BRANCHES:
        return _compiled(inst, _nothing, WAIT_CYCLES, control=False)
    if name == "s_sleep":  # the wave sleeps: a polling loop; the batch pauses once every live wave is asleep

        def sleep(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            b.sleeping |= active

        return _compiled(inst, sleep, 64 * max(imm & 0x7F, 1))
    if name in ("s_endpgm", "s_endpgm_saved", "s_endpgm_ordered_ps_done"):

        def end(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            b.done |= active

        return _compiled(inst, end, 1, ends=True)
    target = inst.pc + 4 + signed(imm, 16) * 4
    if name == "s_branch":

        def branch(b: WaveBatch, active: np.ndarray, all_active: bool) -> int:
            return target

        return _compiled(inst, branch, BRANCH_CYCLES, writes_pc=True)
    condition = _condition(name)
    if condition is not None:
        fall_through = inst.pc + inst.size
        on_patterns = _pattern_condition(name, ctx.lanes // 32)

        def conditional(b: WaveBatch, active: np.ndarray, all_active: bool) -> int | None:
            if all_active and on_patterns is not None:  # every wave runs: decided on one workgroup's
                pattern = on_patterns(b)
                if pattern is not None:
                    if pattern.all():
                        return target
                    if not pattern.any():
                        return fall_through
                    b.pc[...] = b.spread(np.where(pattern, target, fall_through))
                    return None
            taken = condition(b) if all_active else active & condition(b)
            if not taken.any():
                return fall_through
            if taken.all() if all_active else np.array_equal(taken, active):
                return target
            store_where(b.pc, np.where(taken, target, fall_through), active)  # the waves part ways
            return None

        return _compiled(inst, conditional, BRANCH_CYCLES, writes_pc=True)
    if name == "s_barrier":
        after = inst.pc + inst.size

        def barrier(b: WaveBatch, active: np.ndarray, all_active: bool) -> int | None:
            if all_active:  # every wave of every workgroup has arrived: the barrier is passed at once
                b.barrier_signals += 1
                return after
            b.barrier_signals[active] += 1
            b.blocked |= active
            store_where(b.pc, after, active)
            return None

        return _compiled(inst, barrier, BARRIER_CYCLES, writes_pc=True)
    if name == "s_barrier_wait":
        after = inst.pc + inst.size

        def wait(b: WaveBatch, active: np.ndarray, all_active: bool) -> int | None:
            if all_active and b.barrier_signals.min() == b.barrier_signals.max():
                return after  # every wave is here and every one has signalled as often: no wait
            b.blocked |= active
            store_where(b.pc, after, active)
            return None

        return _compiled(inst, wait, BARRIER_CYCLES, writes_pc=True)
    if name == "s_trap":
        raise_error = ctx.error(inst, f"s_trap {imm:#x}: the wave trapped (no trap handler continues it)")

        def trap(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            raise raise_error

        return _compiled(inst, trap, 1)
    if name == "s_sethalt":
        halted = ctx.error(inst, "s_sethalt halted the wave; nothing resumes it")

        def halt(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
            if imm & 1:
                raise halted

        return _compiled(inst, halt, 1)
    if name == "s_code_end":
        raise ctx.error(inst, "executed s_code_end, the padding after the last kernel")
    raise ctx.error(inst, f"unsupported program-control instruction {name}")


def compile_barrier_signal(ctx: ShaderContext, inst: Instruction) -> Compiled:
    """GFX12 s_barrier_signal -1: this wave arrives at the workgroup barrier (s_barrier_wait waits)."""
    if inst.fields["ssrc0"] != 0xC1:  # -1: the workgroup barrier; named barriers are not modelled
        raise ctx.error(inst, "only the workgroup barrier (-1) is modelled for s_barrier_signal")

    after = inst.pc + inst.size

    def signal(b: WaveBatch, active: np.ndarray, all_active: bool) -> int | None:
        if all_active:  # no wave waits at the barrier (none is blocked): the same waves run on
            b.barrier_signals += 1
            return after
        b.barrier_signals[active] += 1
        store_where(b.pc, after, active)
        return None  # (waves waiting for these signals may go on: the set is chosen again)

    return _compiled(inst, signal, BARRIER_CYCLES, writes_pc=True)  # control: barrier state changes
