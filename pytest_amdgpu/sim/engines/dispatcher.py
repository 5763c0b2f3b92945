"""DISPATCH_DIRECT in the simulated CP: latch the SH registers the driver set and run the shader core."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pytest_amdgpu import families
from pytest_amdgpu.packets import registers
from pytest_amdgpu.packets.layout import Packet
from pytest_amdgpu.sim.engines import EngineError, QueueRuntime
from pytest_amdgpu.sim.shader import DispatchRun, DispatchState, ShaderError
from pytest_amdgpu.topology import Node

USER_DATA_REGISTERS = 16
CYCLES_PER_TICK = 4  # shader-core cycles to one tick of the 100 MHz GPU clock the CP reports
SLICE_WAVE_INSTRUCTIONS = 4096  # a dispatch pauses (and the CP looks at other queues) after a wave runs this


class ShaderDispatcher:
    """Turns the CP's latched register state into a DispatchState for one node's shader core."""

    def __init__(
        self,
        node: Node,
        scratch_base: Callable[[], int],
        gws_values: Callable[[], np.ndarray | None] = lambda: None,
    ) -> None:
        self.target = families.get_target(node.properties.get("gfx_target_version", 0))
        self.registers = registers.compute_registers(self.target)
        self.lds_limit_bytes = node.properties.get("lds_size_in_kb", 64) * 1024
        self.compute_units = max(node.compute_units, 1)
        self.scratch_base = scratch_base
        self.gws_values = gws_values  # the dispatching process's GWS entries, or None

    def _read(self, runtime: QueueRuntime, name: str, index: int = 0) -> int:
        return runtime.registers.get(self.registers[name].offset + index, 0)

    def active_compute_units(self, cu_mask: int | None) -> int:
        """CUs a queue's dispatches may use: those its CU mask enables (mask bits past the GPU's CUs drop)."""
        if cu_mask is None:
            return self.compute_units
        return (cu_mask & ((1 << self.compute_units) - 1)).bit_count()

    def start(self, runtime: QueueRuntime, packet: Packet) -> tuple[DispatchRun, int]:
        """Latch the registers for `packet`'s dispatch: (the dispatch, the CUs the queue's mask enables)."""
        return self._start(runtime, packet), self.active_compute_units(runtime.queue.cu_mask)

    def run(self, runtime: QueueRuntime, flight: tuple[DispatchRun, int, str]) -> int | None:
        """Go on with a dispatch in flight: its GPU time in ticks once it has ended, None while it runs on
        (a slice ended, or its waves poll memory in s_sleep loops)."""
        run, cus = flight[0], flight[1]
        try:
            stats = run.run(SLICE_WAVE_INSTRUCTIONS)
        except ShaderError as error:
            raise EngineError(f"compute queue {runtime.queue.queue_id}: dispatch stopped: {error}") from None
        if stats is None:
            runtime.blocked_reason = f"a DISPATCH_DIRECT in flight: {run.where()}"
            return None
        # Timing model: workgroups cost the same, each CU runs one at a time, and the enabled CUs take
        # them in rounds, so a dispatch lasts (cycles per workgroup) x (rounds of the enabled CUs).
        workgroups = max(run.workgroups, 1)
        rounds = -(-workgroups // max(cus, 1))
        return max(stats.cycles * rounds // workgroups // CYCLES_PER_TICK, 1)

    def _start(self, runtime: QueueRuntime, packet: Packet) -> DispatchRun:
        fields = packet.fields
        active_cus = self.active_compute_units(runtime.queue.cu_mask)
        if active_cus == 0:
            raise EngineError(
                f"compute queue {runtime.queue.queue_id}: dispatch cannot start: its CU mask "
                f"{runtime.queue.cu_mask:#x} enables none of the GPU's {self.compute_units} CUs"
            )
        initiator = fields["dispatch_initiator"]
        initiator_fields = self.registers.COMPUTE_DISPATCH_INITIATOR.decode(initiator)
        wave32 = bool(initiator_fields.get("CS_W32_EN", 0)) and 32 in self.target.supported_wave_sizes
        pgm_addr = (self._read(runtime, "COMPUTE_PGM_HI") << 32 | self._read(runtime, "COMPUTE_PGM_LO")) << 8
        state = DispatchState(
            gfx_target=self.target.name,
            isa_family=self.target.isa_family,
            pgm_addr=pgm_addr,
            rsrc1=self._read(runtime, "COMPUTE_PGM_RSRC1"),
            rsrc2=self._read(runtime, "COMPUTE_PGM_RSRC2"),
            rsrc3=self._read(runtime, "COMPUTE_PGM_RSRC3"),
            user_data=[self._read(runtime, "COMPUTE_USER_DATA_0", i) for i in range(USER_DATA_REGISTERS)],
            grid_workgroups=(fields["dim_x"], fields["dim_y"], fields["dim_z"]),
            workgroup_size=tuple(  # type: ignore[arg-type]
                self._read(runtime, name) & 0xFFFF
                for name in ("COMPUTE_NUM_THREAD_X", "COMPUTE_NUM_THREAD_Y", "COMPUTE_NUM_THREAD_Z")
            ),
            wave_size=32 if wave32 else 64,
            dispatch_initiator=initiator,
            scratch_base=self.scratch_base(),
            tmpring_size=self._read(runtime, "COMPUTE_TMPRING_SIZE"),
            lds_limit_bytes=self.lds_limit_bytes,
            gws=self.gws_values(),
        )
        try:
            return DispatchRun(state, runtime.memory)
        except ShaderError as error:
            raise EngineError(f"compute queue {runtime.queue.queue_id}: dispatch stopped: {error}") from None
