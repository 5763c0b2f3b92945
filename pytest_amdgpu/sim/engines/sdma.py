"""The simulated SDMA engine: copies, fills, writes, fences, traps, polls, atomics and timestamps."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pytest_amdgpu.packets import sdma
from pytest_amdgpu.packets.layout import Packet
from pytest_amdgpu.sim.engines import EngineError, GpuEngines, QueueRuntime, StepResult
from pytest_amdgpu.sim.engines.cp import COMPARE, COMPARE_TEXT
from pytest_amdgpu.sim.engines.stream import PacketEngine, consume
from pytest_amdgpu.sim.memory import GpuFaultError, GpuMemory

SDMA_INTERRUPT_ID_BITS = 28  # the SDMA trap interrupt carries 28 bits of context
PACKET_TICKS = 4
BYTES_PER_TICK = 64  # simulated copy bandwidth: 64 bytes per 10 ns tick, 6.4 GB/s per engine
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1

# TC atomic opcodes (the *_RTN forms return the old value; SDMA drops it): op -> (bytes, new value).
# Only the add/sub/min/max/logic codes whose numbers are certain are modelled; others stop the queue.
ATOMIC_OPS: dict[int, tuple[int, Callable[[int, int, int], int]]] = {
    0x0F: (4, lambda old, src, cmp: (old + src) & MASK32),  # ADD_RTN_32
    0x10: (4, lambda old, src, cmp: (old - src) & MASK32),  # SUB_RTN_32
    0x12: (4, lambda old, src, cmp: min(old, src)),  # UMIN_RTN_32
    0x14: (4, lambda old, src, cmp: max(old, src)),  # UMAX_RTN_32
    0x15: (4, lambda old, src, cmp: old & src),  # AND_RTN_32
    0x16: (4, lambda old, src, cmp: old | src),  # OR_RTN_32
    0x17: (4, lambda old, src, cmp: old ^ src),  # XOR_RTN_32
    0x2F: (8, lambda old, src, cmp: (old + src) & MASK64),  # ADD_RTN_64
    0x30: (8, lambda old, src, cmp: (old - src) & MASK64),  # SUB_RTN_64
    0x32: (8, lambda old, src, cmp: min(old, src)),  # UMIN_RTN_64
    0x34: (8, lambda old, src, cmp: max(old, src)),  # UMAX_RTN_64
    0x35: (8, lambda old, src, cmp: old & src),  # AND_RTN_64
    0x36: (8, lambda old, src, cmp: old | src),  # OR_RTN_64
    0x37: (8, lambda old, src, cmp: old ^ src),  # XOR_RTN_64
    0x6F: (8, lambda old, src, cmp: (old + src) & MASK64),  # ADD_64 (no return)
    0x70: (8, lambda old, src, cmp: (old - src) & MASK64),  # SUB_64 (no return)
}


def _copy(memory: GpuMemory, src: int, dst: int, size: int) -> None:
    """Copy through the VM; one numpy copy when both ranges sit inside single mappings."""
    try:
        source = memory.view(src, size)
    except GpuFaultError:
        source = memory.read(src, size)
    try:
        memory.view(dst, size, write=True)[:] = source
    except GpuFaultError:
        memory.write(dst, np.array(source, copy=True))


class SdmaEngine(PacketEngine):
    """Executes SDMA packets of one generation, one per step."""

    engine = "SDMA"
    packet_ticks = PACKET_TICKS

    def __init__(self, engines: GpuEngines, generation: int) -> None:
        super().__init__(engines, lambda words, offset: sdma.decode(words, offset, generation))
        self.generation = generation
        self._handlers.update(
            {
                "NOP": self._skip,
                "TIMESTAMP_SET": self._skip,
                "COPY_LINEAR": self._copy_linear,
                "WRITE_LINEAR": self._write_linear,
                "CONSTANT_FILL": self._constant_fill,
                "FENCE": self._fence,
                "TRAP": self._trap,
                "POLL_REGMEM": self._poll_regmem,
                "TIMESTAMP_GET": self._timestamp,
                "TIMESTAMP_GET_GLOBAL": self._timestamp,
                "ATOMIC": self._atomic,
            }
        )

    def _copy_linear(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        size = fields["byte_count"]
        _copy(runtime.memory, fields["src_addr"], fields["dst_addr"], size)
        self.engines.advance_clock(size // BYTES_PER_TICK)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _write_linear(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        runtime.memory.write(fields["dst_addr"], np.asarray(fields["data"], dtype=np.uint32).view(np.uint8))
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _constant_fill(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        size = fields["byte_count"]
        width = {0: 1, 1: 2, 2: 4}.get(fields["fillsize"])
        if width is None or size % width:
            raise EngineError(
                f"CONSTANT_FILL of {size} bytes with fillsize {fields['fillsize']} is malformed"
            )
        pattern = np.array([fields["data"]], dtype=np.uint32).view(np.uint8)[:width]
        target = runtime.memory.view(fields["dst_addr"], size, write=True)
        target[:] = np.resize(pattern, size)
        self.engines.advance_clock(size // BYTES_PER_TICK)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _fence(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        runtime.memory.write_u32(packet.fields["addr"], packet.fields["data"])
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _trap(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        self.engines.hooks.interrupt(packet.fields["int_context"], SDMA_INTERRUPT_ID_BITS)
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _poll_regmem(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        if not fields["mem_poll"]:
            raise EngineError("POLL_REGMEM on a register is not simulated (memory only)")
        addr = fields["addr"]
        value = runtime.memory.read_u32(addr)
        compare = COMPARE.get(fields["func"])
        if compare is None:
            raise EngineError(f"POLL_REGMEM function {fields['func']} is not a compare function")
        if compare(value & fields["mask"], fields["value"]):
            consume(runtime, packet, from_ib)
            return StepResult.EXECUTED
        runtime.blocked_reason = (
            f"POLL_REGMEM waits for [{addr:#x}] & {fields['mask']:#x} {COMPARE_TEXT[fields['func']]} "
            f"{fields['value']:#x}; it holds {value:#x}"
        )
        return StepResult.BLOCKED

    def _timestamp(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        runtime.memory.write_u64(packet.fields["addr"], self.engines.advance_clock(PACKET_TICKS))
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED

    def _atomic(self, runtime: QueueRuntime, packet: Packet, from_ib: bool) -> str:
        fields = packet.fields
        op = ATOMIC_OPS.get(fields["atomic_op"])
        if op is None:
            raise EngineError(f"SDMA ATOMIC op {fields['atomic_op']:#x} is not simulated")
        size, apply = op
        addr = fields["addr"]
        if size == 8:
            runtime.memory.write_u64(
                addr, apply(runtime.memory.read_u64(addr), fields["src_data"], fields["cmp_data"])
            )
        else:
            old = runtime.memory.read_u32(addr)
            runtime.memory.write_u32(
                addr, apply(old, fields["src_data"] & MASK32, fields["cmp_data"] & MASK32)
            )
        consume(runtime, packet, from_ib)
        return StepResult.EXECUTED
