"""The simulated command processor: executes PM4 packets of a compute queue, packet by packet."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pytest_amdgpu.packets import pm4
from pytest_amdgpu.packets.layout import Packet
from pytest_amdgpu.sim.engines import EngineError, GpuEngines, QueueRuntime, StepResult
from pytest_amdgpu.sim.engines.stream import PacketEngine, consume

COMPARE: dict[int, Callable[[int, int], bool]] = {
    pm4.WAIT_REG_MEM_FUNCTION_ALWAYS: lambda value, reference: True,
    pm4.WAIT_REG_MEM_FUNCTION_LESS: lambda value, reference: value < reference,
    pm4.WAIT_REG_MEM_FUNCTION_LESS_EQUAL: lambda value, reference: value <= reference,
    pm4.WAIT_REG_MEM_FUNCTION_EQUAL: lambda value, reference: value == reference,
    pm4.WAIT_REG_MEM_FUNCTION_NOT_EQUAL: lambda value, reference: value != reference,
    pm4.WAIT_REG_MEM_FUNCTION_GREATER_EQUAL: lambda value, reference: value >= reference,
    pm4.WAIT_REG_MEM_FUNCTION_GREATER: lambda value, reference: value > reference,
}
COMPARE_TEXT = {0: "(always)", 1: "<", 2: "<=", 3: "==", 4: "!=", 5: ">=", 6: ">"}
PACKET_TICKS = 4  # simulated GPU clock ticks a packet costs at least
CP_INTERRUPT_ID_BITS = 32  # the end-of-pipe interrupt carries the whole context id


class CommandProcessor(PacketEngine):
    """Executes one PM4 packet per step; waits block the queue instead of spinning.

    Dispatches overlap what follows them, as on a GPU: DISPATCH_DIRECT starts a dispatch and the CP goes on
    to the next packet without waiting for its waves. EVENT_WRITE CS_PARTIAL_FLUSH waits for every dispatch
    before it; a WAIT_REG_MEM that cannot pass and a ring with nothing more to do let them run too.
    RELEASE_MEM does not stop the CP: its write and interrupt happen once the dispatches before it have
    ended (end of pipe), in order with the other RELEASE_MEMs. The simulator runs the dispatches in flight
    the latest first: the order a GPU may finish them in that is hardest on a driver that forgot a wait, so
    a dependent dispatch, WRITE_DATA or COPY_DATA issued without one sees the work before it undone.
    """

    engine = "compute"
    packet_ticks = PACKET_TICKS

    def __init__(self, engines: GpuEngines, dialect: str, dispatcher: Callable | None = None) -> None:
        super().__init__(engines, lambda words, offset: pm4.decode(words, offset, dialect))
        self.dialect = dialect
        self.dispatcher = dispatcher
        self._handlers.update(
            {
                "NOP": self._skip,
                "PACKET2": self._skip,
                "ACQUIRE_MEM": self._skip,
                "EVENT_WRITE": self._event_write,
                "WRITE_DATA": self._write_data,
                "COPY_DATA": self._copy_data,
                "WAIT_REG_MEM": self._wait_reg_mem,
                "WAIT_REG_MEM64": self._wait_reg_mem,
                "RELEASE_MEM": self._release_mem,
                "SET_SH_REG": self._set_reg,
                "SET_UCONFIG_REG": self._set_reg,
                "DISPATCH_DIRECT": self._dispatch_direct,
            }
        )

    def step(self, runtime: QueueRuntime) -> str:
        result = super().step(runtime)
        if result == StepResult.IDLE and runtime.dispatches:  # no packet to take: the dispatches run on
            return self._finish_dispatches(runtime) or StepResult.EXECUTED
        return result

    def describe(self, runtime: QueueRuntime) -> str:
        if runtime.failed_dispatch:  # a dispatch in flight stopped the queue, whatever packet the CP is at
            return runtime.failed_dispatch
        return super().describe(runtime)

    def _finish_dispatches(self, runtime: QueueRuntime) -> str | None:
        """Give every dispatch in flight a slice, the latest first; None once none is left in flight, else
        EXECUTED when one ended, RUNNING when one ran on, POLLING when all of them wait (for each other,
        perhaps: a polling dispatch may wait for an earlier one, which runs in the same round)."""
        assert self.dispatcher is not None
        result = StepResult.POLLING
        for flight in list(reversed(runtime.dispatches)):
            if flight[0].uses_scratch and any(
                other[0].holds_scratch for other in runtime.dispatches if other is not flight
            ):
                continue  # the scratch ring is the other's (each batch takes it whole) until its waves end
            try:
                ticks = self.dispatcher.run(runtime, flight)
            except BaseException:  # it stops the queue: it is not in flight any more
                runtime.dispatches.remove(flight)
                runtime.failed_dispatch = flight[2]
                raise
            if ticks is None:
                if not flight[0].polling and result == StepResult.POLLING:
                    result = StepResult.RUNNING
                continue
            runtime.dispatches.remove(flight)
            self.engines.advance_clock(ticks)
            self._fire_end_of_pipe(runtime)
            result = StepResult.EXECUTED
        return None if not runtime.dispatches else result

    def _fire_end_of_pipe(self, runtime: QueueRuntime) -> None:
        """Carry out the RELEASE_MEMs whose earlier dispatches have all ended, in the order they came."""
        while runtime.end_of_pipe:
            fields, before = runtime.end_of_pipe[0]
            if any(flight in runtime.dispatches for flight in before):
                return
            runtime.end_of_pipe.pop(0)
            self._release(runtime, fields)

    # -- packets -------------------------------------------------------------------------------------

    def _event_write(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        """EVENT_WRITE: CS_PARTIAL_FLUSH waits for every dispatch before it; the other events change
        nothing the simulator keeps (caches)."""
        if packet.fields.get("event_type") == pm4.CS_PARTIAL_FLUSH:
            waiting = self._finish_dispatches(runtime)
            if waiting is not None:
                return waiting
        return self._skip(runtime, packet, from_ib)

    def _write_data(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        if fields["dst_sel"] not in (pm4.WRITE_DATA_DST_SEL_MEMORY, pm4.WRITE_DATA_DST_SEL_TC_L2):
            raise EngineError(f"WRITE_DATA to dst_sel {fields['dst_sel']} is not simulated (memory only)")
        data = np.asarray(fields["data"], dtype=np.uint32)
        if fields["addr_incr"]:
            for value in data:
                runtime.memory.write_u32(fields["dst_addr"], int(value))
        else:
            runtime.memory.write(fields["dst_addr"], data.view(np.uint8))
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _copy_data(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        size = 8 if fields["count_sel"] else 4
        source = fields["src_sel"]
        if source == pm4.COPY_DATA_IMM:
            value = fields["src_addr"]
        elif source in (pm4.COPY_DATA_SRC_MEM, pm4.COPY_DATA_TC_L2):
            raw = runtime.memory.read(fields["src_addr"], size)
            value = int(raw.view(np.uint64 if size == 8 else np.uint32)[0])
        elif source == pm4.COPY_DATA_TIMESTAMP:
            value = self.engines.clock_ticks
        else:
            raise EngineError(f"COPY_DATA from src_sel {source} is not simulated")
        if fields["dst_sel"] not in (pm4.COPY_DATA_DST_MEM, pm4.COPY_DATA_TC_L2):
            raise EngineError(f"COPY_DATA to dst_sel {fields['dst_sel']} is not simulated (memory only)")
        if size == 8:
            runtime.memory.write_u64(fields["dst_addr"], value)
        else:
            runtime.memory.write_u32(fields["dst_addr"], value)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _wait_reg_mem(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        if fields["mem_space"] != pm4.WAIT_REG_MEM_MEM_SPACE_MEMORY:
            raise EngineError(f"{packet.name} on a register is not simulated (memory only)")
        wide = packet.name == "WAIT_REG_MEM64"
        addr = fields["poll_addr"]
        value = runtime.memory.read_u64(addr) if wide else runtime.memory.read_u32(addr)
        mask, reference = fields["mask"], fields["reference"]
        compare = COMPARE.get(fields["function"])
        if compare is None:
            raise EngineError(f"{packet.name} function {fields['function']} is not a compare function")
        if compare(value & mask, reference):
            consume(runtime, packet, from_ib)
            return StepResult.EXECUTED
        if runtime.dispatches:  # the CP waits; the dispatches in flight run on (they may write the value)
            waiting = self._finish_dispatches(runtime)
            return waiting or StepResult.EXECUTED  # (then the wait is tried again)
        runtime.blocked_reason = (
            f"{packet.name} waits for [{addr:#x}] & {mask:#x} {COMPARE_TEXT[fields['function']]} "
            f"{reference:#x}; it holds {value:#x}"
        )
        return StepResult.BLOCKED

    def _release_mem(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        """End of pipe: once every dispatch before it has ended (and every RELEASE_MEM before it has been
        carried out), write the data, then interrupt; the CP goes on meanwhile."""
        if runtime.dispatches or runtime.end_of_pipe:
            runtime.end_of_pipe.append((packet.fields, list(runtime.dispatches)))
        else:
            self._release(runtime, packet.fields)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _release(self, runtime: QueueRuntime, fields: dict) -> None:
        data_sel, addr = fields["data_sel"], fields["addr"]
        if data_sel == pm4.EOP_DATA_SEL_VALUE_32BIT:
            runtime.memory.write_u32(addr, fields["data"])
        elif data_sel == pm4.EOP_DATA_SEL_VALUE_64BIT:
            runtime.memory.write_u64(addr, fields["data"])
        elif data_sel in (pm4.EOP_DATA_SEL_TIMESTAMP, pm4.EOP_DATA_SEL_SYSTEM_TIMESTAMP):
            runtime.memory.write_u64(addr, self.engines.advance_clock(PACKET_TICKS))
        elif data_sel != pm4.EOP_DATA_SEL_DISCARD:
            raise EngineError(f"RELEASE_MEM data_sel {data_sel} is not simulated")
        if fields["int_sel"] != pm4.EOP_INT_SEL_NONE:
            self.engines.hooks.interrupt(fields["int_ctxid"], CP_INTERRUPT_ID_BITS)

    def _set_reg(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        base = (
            pm4.PACKET3_SET_SH_REG_START if packet.name == "SET_SH_REG" else pm4.PACKET3_SET_UCONFIG_REG_START
        )
        for index, value in enumerate(fields["values"]):
            runtime.registers[base + fields["reg_offset"] + index] = int(value)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _dispatch_direct(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        """Start the dispatch with the registers as they are now, and go on (see the class docstring)."""
        if self.dispatcher is None:
            raise EngineError("DISPATCH_DIRECT: this simulated GPU has no shader core attached")
        run, cus = self.dispatcher.start(runtime, packet)
        runtime.dispatches.append((run, cus, self.describe(runtime)))  # (what a fault report names)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED
