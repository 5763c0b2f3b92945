"""Compile GWS (global wave sync) instructions: semaphores a process's waves share across workgroups.

ALLOC_QUEUE_GWS gives one queue of a process the GPU's GWS entries; while that queue is mapped, the
process's waves may use them (kfd maps the process with num_gws). An instruction names entry
offset[5:0] + M0[21:16]. The operations are per wave, not per lane, and run in wave order:

- ds_gws_init: the entry takes the value of the data VGPR in the wave's first active lane;
- ds_gws_sema_v: the entry goes up by one; ds_gws_sema_br: up by the data VGPR's value;
- ds_gws_sema_p: a wave takes one from the entry, or waits at this instruction until it can;
- ds_gws_sema_release_all: every wave waiting on the entry goes on without taking anything.

A wave that waits is retried whenever another wave releases. On the CP (DispatchRun) waves that only
wait on GWS pause the dispatch, as polling does: a dispatch of another queue of the process may release
them. Run to the end at once (run_dispatch), waves left waiting with nothing to release them are a
deadlock error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.sim.shader.access import vector_reader
from pytest_amdgpu.sim.shader.operands import VGPR_BASE
from pytest_amdgpu.sim.shader.specs import MemSpec
from pytest_amdgpu.sim.shader.waves import WaveBatch

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

GWS_CYCLES = 16


def _first_active_values(b: WaveBatch, values: np.ndarray, waves: np.ndarray) -> np.ndarray:
    """The data VGPR in each wave's first active lane (lane 0 when EXEC is empty: GWS works per wave)."""
    executing = b.exec_lanes()[waves]
    lane = np.where(executing.any(axis=1), executing.argmax(axis=1), 0)
    return np.broadcast_to(values, (b.n_waves, b.lanes))[waves, lane].astype(np.int64)


def compile_gws(ctx: ShaderContext, inst: Instruction, spec: MemSpec) -> Compiled:
    from pytest_amdgpu.sim.shader.context import Compiled

    name = inst.mnemonic or ""
    f = inst.fields
    if not f.get("gds"):
        raise ctx.error(inst, f"{name} without gds: GWS instructions always address the GWS")
    if name == "ds_gws_barrier":
        raise ctx.error(inst, "ds_gws_barrier is not modelled (GWS semaphores are)")
    ops = ctx.operands(inst)
    # the value operand is encoded in the ADDR field (as llvm-mc encodes it on every GWS family)
    data = vector_reader(ops, VGPR_BASE + f["addr"]) if spec.extra.get("data") else None
    offset = f["offset0"] & 0x3F
    m0 = ctx.layout.m0

    def entries_of(b: WaveBatch, waves: np.ndarray) -> np.ndarray:
        if ctx.gws is None:
            raise ctx.error(
                inst,
                f"{name}: the process has no GWS on this GPU (no queue of it holds GWS: ALLOC_QUEUE_GWS)",
            )
        entries = offset + ((b.sgpr[m0, waves].astype(np.int64) >> 16) & 0x3F)
        beyond = entries >= ctx.gws.size
        if beyond.any():
            raise ctx.error(
                inst,
                f"{name}: GWS entry {int(entries[beyond][0])} is beyond the {ctx.gws.size} the process holds",
            )
        return entries

    def run(b: WaveBatch, active: np.ndarray, all_active: bool) -> None:
        waves = np.flatnonzero(active)
        entries = entries_of(b, waves)
        gws = ctx.gws
        assert gws is not None  # entries_of raised otherwise
        if name == "ds_gws_sema_p":
            refused = []
            for wave, entry in zip(waves.tolist(), entries.tolist(), strict=True):
                if gws[entry] > 0:
                    gws[entry] -= 1
                else:
                    refused.append(wave)
            if refused:  # they wait here, and run this instruction again after a release
                b.pc[refused] = inst.pc
                b.gws_wait[refused] = True
                b.gws_entry[refused] = entries[np.isin(waves, refused)]
            return
        if name == "ds_gws_sema_v":
            np.add.at(gws, entries, 1)
        elif name == "ds_gws_sema_br":
            np.add.at(gws, entries, _first_active_values(b, data(b), waves).astype(np.uint32))
        elif name == "ds_gws_init":
            values = _first_active_values(b, data(b), waves).astype(np.uint32)
            gws[entries] = values  # in wave order: the last wave to initialise an entry sets it
        else:  # ds_gws_sema_release_all: the waiting waves go on past their sema_p
            waiting = np.flatnonzero(b.gws_wait)
            released = waiting[np.isin(b.gws_entry[waiting], entries)]  # the entry each one's sema_p named
            b.pc[released] += inst.size
            b.gws_wait[released] = False
            return
        wake_waiters(b, gws)  # the waves whose entry now has something to take try their sema_p again

    return Compiled(inst, run, GWS_CYCLES, False, True)


def wake_waiters(b: WaveBatch, gws: np.ndarray | None) -> None:
    """Waves waiting at ds_gws_sema_p whose entry is above 0 may take it: they run their sema_p again (in
    wave order, so the first ones get it). The others keep waiting, for a later release or release_all."""
    waiting = np.flatnonzero(b.gws_wait)
    if gws is None or waiting.size == 0:
        return
    b.gws_wait[waiting[gws[b.gws_entry[waiting]] > 0]] = False
