"""Reading packets for an engine: from the ring at the read pointer, or from an indirect buffer it entered."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pytest_amdgpu.packets import dump
from pytest_amdgpu.packets.layout import Packet, PacketDecodeError
from pytest_amdgpu.sim.engines import EngineError, GpuEngines, IndirectBuffer, QueueRuntime, StepResult

WINDOW_DWORDS = 64  # how much is read to decode a packet before reading everything pending

Decoder = Callable[[np.ndarray, int], Packet]


def next_packet(runtime: QueueRuntime, decode: Decoder, engine: str) -> tuple[Packet, bool] | None:
    """The packet at the queue's read position (the innermost IB first); None if it is not all written yet.

    Returns the packet and whether it came from an IB. An undecodable stream raises EngineError with a dump.
    """
    stack = runtime.ib_stack
    if stack:
        ib = stack[-1]
        remaining = ib.size_dwords - ib.offset_dwords
        words = runtime.memory.read(ib.base_va + ib.offset_dwords * 4, remaining * 4).view(np.uint32)
        try:
            return decode(words, 0), True
        except PacketDecodeError as error:
            raise EngineError(
                f"{engine} queue {runtime.queue.queue_id}: cannot decode the indirect buffer at "
                f"{ib.base_va:#x} (dword {ib.offset_dwords} of {ib.size_dwords}): {error.reason}\n"
                + dump.format_ring(words, read_pointer=0, write_pointer=len(words), decode=decode)
            ) from None
    pending = runtime.pending_bytes // 4
    if pending == 0:
        return None
    window = min(pending, WINDOW_DWORDS)
    words = runtime.ring_dwords(runtime.read_bytes, window)
    try:
        return decode(words, 0), False
    except PacketDecodeError as error:
        if window < pending and "remain" in error.reason:
            words = runtime.ring_dwords(runtime.read_bytes, pending)
            try:
                return decode(words, 0), False
            except PacketDecodeError as second:
                error = second
        if "remain" in error.reason:
            return None  # the rest of the packet is not published yet
        ring = runtime.ring_dwords(0, runtime.ring_bytes // 4)
        read = runtime.read_bytes // 4
        raise EngineError(
            f"{engine} queue {runtime.queue.queue_id} stopped: {error.reason} at ring dword "
            f"{read % len(ring):#x}\n"
            + dump.format_ring(
                ring,
                read_pointer=read,
                write_pointer=runtime.write_units * runtime.unit_bytes // 4,
                decode=decode,
            )
        ) from None


def consume(runtime: QueueRuntime, packet: Packet, from_ib: bool) -> None:
    """Move past `packet`: inside its IB (leaving finished IBs), or along the ring."""
    if not from_ib:
        runtime.advance(packet.size_dwords * 4)
        return
    stack = runtime.ib_stack
    stack[-1].offset_dwords += packet.size_dwords
    runtime.executed_packets += 1
    while stack and stack[-1].offset_dwords >= stack[-1].size_dwords:
        finished = stack.pop()
        if stack:
            stack[-1].offset_dwords += finished.packet_dwords
        else:
            runtime.advance(finished.packet_dwords * 4)


def enter_ib(runtime: QueueRuntime, packet: Packet, base_va: int, size_dwords: int, from_ib: bool) -> None:
    """Start executing an indirect buffer; the IB packet itself is consumed when the IB ends."""
    if len(runtime.ib_stack) >= 2:
        raise EngineError(f"queue {runtime.queue.queue_id}: indirect buffers nest at most two deep")
    if size_dwords == 0:
        consume(runtime, packet, from_ib)
        return
    runtime.ib_stack.append(IndirectBuffer(base_va, size_dwords, packet.size_dwords))


Handler = Callable[[QueueRuntime, Packet, bool], str]


class PacketEngine:
    """What the CP and SDMA engines share: decode the packet at the read position, run its handler."""

    engine = "engine"
    packet_ticks = 4  # simulated GPU clock ticks a packet costs at least

    def __init__(self, engines: GpuEngines, decode: Decoder) -> None:
        self.engines = engines
        self._decode = decode
        self._handlers: dict[str, Handler] = {"INDIRECT_BUFFER": self._indirect_buffer}

    def describe(self, runtime: QueueRuntime) -> str:
        current = next_packet(runtime, self._decode, self.engine)
        if current is None:
            return f"{self.engine} queue {runtime.queue.queue_id} (no complete packet at the read pointer)"
        packet, from_ib = current
        where = "an indirect buffer" if from_ib else f"ring byte {runtime.read_bytes % runtime.ring_bytes:#x}"
        return f"{packet.name} at {where} of {self.engine} queue {runtime.queue.queue_id}"

    def step(self, runtime: QueueRuntime) -> str:
        current = next_packet(runtime, self._decode, self.engine)
        if current is None:
            return StepResult.IDLE
        packet, from_ib = current
        handler = self._handlers.get(packet.name)
        if handler is None:
            raise EngineError(f"{self.engine} queue {runtime.queue.queue_id}: {packet.name} is not simulated")
        result = handler(runtime, packet, from_ib)
        if result == StepResult.EXECUTED:
            self.engines.advance_clock(self.packet_ticks)
        return result

    def _skip(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _indirect_buffer(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        enter_ib(runtime, packet, packet.fields["ib_base"], packet.fields["ib_size"], from_ib)
        return StepResult.EXECUTED
