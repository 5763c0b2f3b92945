"""The simulated GPU engines: queues read from ring memory after a doorbell, scheduled deterministically."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pytest_amdgpu.sim.memory import GpuFaultError, GpuMemory

if TYPE_CHECKING:
    from pytest_amdgpu.sim.queues import SimQueue

# The GPU clock KFD reports (GET_CLOCK_COUNTERS, timestamps) runs at the 100 MHz reference clock.
GPU_CLOCK_HZ = 100_000_000
MAX_STEPS_PER_PUMP = 1_000_000
RUNNING_SLICE_S = 0.05  # wall time a pump gives dispatches in flight before returning to the CPU


@dataclass
class IndirectBuffer:
    """An IB the engine is executing: packets at `base_va`, `size_dwords` long, `offset_dwords` done.

    `packet_dwords` is the size of the INDIRECT_BUFFER packet that entered it, consumed when it ends.
    """

    base_va: int
    size_dwords: int
    packet_dwords: int
    offset_dwords: int = 0


class StepResult:
    """What one engine step did to a queue."""

    EXECUTED = "executed"
    BLOCKED = "blocked"
    IDLE = "idle"
    RUNNING = "running"  # a dispatch paused after a slice of work: it goes on in this pump, for a while
    POLLING = "polling"  # a dispatch paused with every wave asleep in a polling loop: it goes on at the next
    # pump, or in this one if another queue made progress (it may have written what the waves poll)


class EngineError(Exception):
    """A packet the engine cannot execute: the queue stops with this report (the hardware's bad opcode)."""


@dataclass
class QueueRuntime:
    """A queue as its engine runs it: ring memory through the GPU's VM, pointers in the queue's units."""

    queue: SimQueue
    memory: GpuMemory
    unit_bytes: int  # 4: PM4 pointers count dwords; 1: SDMA pointers count bytes
    write_units: int = 0  # the last write pointer the doorbell carried
    executed_packets: int = 0
    blocked_reason: str = ""
    history: list[int] = field(default_factory=list)  # ring offsets (bytes) of recent packets, for dumps
    ib_stack: list[IndirectBuffer] = field(default_factory=list)
    registers: dict[int, int] = field(default_factory=dict)  # SET_SH_REG / SET_UCONFIG_REG state
    # DISPATCH_DIRECTs the CP has started and not seen end, oldest first: (shader-core DispatchRun, the CUs
    # the queue's CU mask enabled when it started, the packet as a fault report names it). Later packets do
    # not wait for them (see cp.py).
    dispatches: list[tuple[Any, int, str]] = field(default_factory=list)
    # RELEASE_MEMs waiting for the dispatches that were in flight when the CP passed them: (fields, those)
    end_of_pipe: list[tuple[dict, list]] = field(default_factory=list)
    failed_dispatch: str = ""  # the dispatch in flight that stopped the queue

    @property
    def ring_bytes(self) -> int:
        return self.queue.ring_size

    @property
    def read_bytes(self) -> int:
        return self.queue.read_units * self.unit_bytes

    @property
    def pending_bytes(self) -> int:
        return max(self.write_units * self.unit_bytes - self.read_bytes, 0)

    def ring_dwords(self, start_bytes: int, count: int) -> np.ndarray:
        """`count` dwords of the ring from monotonic byte position `start_bytes`, wrapping at the end."""
        offset = start_bytes % self.ring_bytes
        first = min(count * 4, self.ring_bytes - offset)
        head = self.memory.read(self.queue.ring_va + offset, first)
        if first < count * 4:
            tail = self.memory.read(self.queue.ring_va, count * 4 - first)
            head = np.concatenate([head, tail])
        return head.view(np.uint32)

    def advance(self, size_bytes: int) -> None:
        """Consume a packet: move the read pointer and report it where user space reads it."""
        self.history = [*self.history[-15:], self.read_bytes % self.ring_bytes]
        self.queue.read_units += size_bytes // self.unit_bytes
        self.executed_packets += 1
        self.memory.write_u64(self.queue.rptr_va, self.queue.read_units)


class Executor(Protocol):
    """Runs the packet at a queue's read pointer."""

    def step(self, runtime: QueueRuntime) -> str: ...

    def describe(self, runtime: QueueRuntime) -> str: ...


@dataclass
class EngineHooks:
    """What the engines tell the simulated kernel: interrupts, faults, stopped queues."""

    interrupt: Callable[[int, int], None]
    memory_fault: Callable[[int, int, bool, bool], None]
    queue_error: Callable[[SimQueue, str], None]
    doorbell_write: Callable[[object, int], None] = lambda bo, offset: None  # a packet wrote a doorbell


class GpuEngines:
    """The command processor and SDMA engines of one simulated GPU, with its clock."""

    def __init__(
        self, gpu_id: int, memory: GpuMemory, executors: dict[str, Executor], hooks: EngineHooks
    ) -> None:
        self.gpu_id = gpu_id
        self.memory = memory
        self.executors = executors
        self.hooks = hooks
        self.queues: dict[int, QueueRuntime] = {}
        self.clock_ticks = 0

    def add(self, queue: SimQueue) -> None:
        unit = 1 if queue.is_sdma else 4
        self.queues[queue.queue_id] = QueueRuntime(queue=queue, memory=self.memory, unit_bytes=unit)

    def remove(self, queue: SimQueue) -> None:
        self.queues.pop(queue.queue_id, None)

    def doorbell(self, queue_id: int, value: int) -> None:
        runtime = self.queues.get(queue_id)
        if runtime is not None:
            runtime.write_units = value

    def fail(self, queue_id: int, report: str) -> None:
        """Stop a queue with a report (a rule broken outside its packets, such as by its doorbell)."""
        runtime = self.queues.get(queue_id)
        if runtime is not None:
            self._fail(runtime, report)

    def advance_clock(self, ticks: int) -> int:
        self.clock_ticks += max(ticks, 1)
        return self.clock_ticks

    def run(self) -> bool:
        """Step every runnable queue round-robin until none makes progress; True if anything ran.

        A dispatch in flight (RUNNING) keeps the round going for RUNNING_SLICE_S of wall time: long and
        persistent kernels run on while the CPU works, as on a GPU, and the CPU gets control back.
        """
        progressed_at_all = False
        deadline = time.monotonic() + RUNNING_SLICE_S
        for _ in range(MAX_STEPS_PER_PUMP):
            progressed = running = False
            for queue_id in sorted(self.queues):
                runtime = self.queues.get(queue_id)
                if runtime is None:  # removed by a hook of another queue's step
                    continue
                result = self._step(runtime)
                if result == StepResult.EXECUTED:
                    progressed = True
                elif result == StepResult.RUNNING:
                    running = True  # (POLLING is no progress: the waves wait for someone else)
            if not progressed and not (running and time.monotonic() < deadline):
                return progressed_at_all
            progressed_at_all = progressed_at_all or progressed
        for runtime in self.queues.values():
            if runtime.pending_bytes and runtime.queue.state != "error":
                self._fail(
                    runtime, f"the engine ran {MAX_STEPS_PER_PUMP} steps without going idle (runaway queue)"
                )
        return progressed_at_all

    def _step(self, runtime: QueueRuntime) -> str:
        queue = runtime.queue
        idle = runtime.pending_bytes == 0 and not runtime.dispatches and not runtime.end_of_pipe
        if queue.state == "error" or not queue.active or idle:
            if idle and queue.state == "blocked":
                queue.state, queue.blocked_on = "idle", ""
            return StepResult.IDLE
        executor = self.executors.get(queue.kind)
        if executor is None:
            self._fail(runtime, f"{queue.kind} queues are not simulated")
            return StepResult.IDLE
        try:
            result = self._execute(executor, runtime)
        except GpuFaultError as fault:
            self.hooks.memory_fault(
                self.gpu_id, fault.va, fault.reason != "mapping is read-only", fault.write
            )
            self._fail(runtime, f"{fault} while executing {executor.describe(runtime)}")
            return StepResult.IDLE
        except EngineError as error:
            self._fail(runtime, str(error))
            return StepResult.IDLE
        if result == StepResult.BLOCKED:
            queue.state, queue.blocked_on = "blocked", runtime.blocked_reason
        elif result in (StepResult.RUNNING, StepResult.POLLING):  # state "running" or "polling"
            queue.state, queue.blocked_on = result, runtime.blocked_reason
        elif result == StepResult.EXECUTED:
            queue.state, queue.blocked_on = ("idle" if runtime.pending_bytes == 0 else "busy"), ""
        return result

    def _execute(self, executor: Executor, runtime: QueueRuntime) -> str:
        """One step; then the doorbells its writes landed in ring, whether or not the step finished."""
        try:
            return executor.step(runtime)
        finally:
            while self.memory.doorbell_writes:
                self.hooks.doorbell_write(*self.memory.doorbell_writes.pop(0))

    def _fail(self, runtime: QueueRuntime, report: str) -> None:
        runtime.queue.state = "error"
        runtime.queue.error_report = report
        self.hooks.queue_error(runtime.queue, report)

    def has_blocked(self) -> bool:
        """Whether a queue waits on memory, or runs a dispatch whose waves poll it (only such a queue can go
        on after a CPU store; a dispatch that is merely long goes on when someone waits for it)."""
        return any(runtime.queue.state in ("blocked", "polling") for runtime in self.queues.values())

    def has_running(self) -> bool:
        """Whether a dispatch is in flight on an active queue: the GPU is busy, not stalled."""
        return any(
            runtime.queue.state in ("running", "polling") and runtime.queue.active
            for runtime in self.queues.values()
        )

    def stall_report(self) -> list[str]:
        """Each queue that has work but cannot run, and why."""
        lines = []
        for queue_id in sorted(self.queues):
            runtime = self.queues[queue_id]
            queue = runtime.queue
            if queue.state == "blocked":
                lines.append(f"gpu_id {self.gpu_id} {queue.kind} queue {queue_id}: {queue.blocked_on}")
            elif queue.state == "error":
                lines.append(
                    f"gpu_id {self.gpu_id} {queue.kind} queue {queue_id} stopped: {queue.error_report}"
                )
            elif (runtime.pending_bytes or runtime.dispatches or runtime.end_of_pipe) and not queue.active:
                lines.append(
                    f"gpu_id {self.gpu_id} {queue.kind} queue {queue_id} is paused with work pending"
                )
        return lines
