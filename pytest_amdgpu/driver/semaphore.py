"""Timeline semaphores: a monotonic 64-bit value in GPU memory, signalled and awaited by CPU and GPU."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from pytest_amdgpu.errors import ConfigurationError, GpuFaultError, GpuTimeoutError, ResourceClosedError

if TYPE_CHECKING:
    from pytest_amdgpu.driver.device import Device

SPIN_S = 0.0002  # poll this long before sleeping on the event
MAX_VALUE = (1 << 64) - 1
DEFAULT_TIMEOUT_S = 10.0


class TimelineSemaphore:
    """A 64-bit counter that only grows; waiters wait for a value, signallers raise it.

    The value lives in a GTT buffer (written whole, so no reader sees a torn 64-bit update); every GPU
    signal also writes this semaphore's event mailbox and interrupts, so a CPU waiter can sleep.
    """

    def __init__(self, device: Device, initial: int = 0, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if not 0 <= initial <= MAX_VALUE:
            raise ConfigurationError(f"initial value {initial} is not a 64-bit unsigned integer")
        self.device = device
        self.default_timeout = timeout
        self.buffer = device.alloc(8, "gtt")
        self.buffer.owner = self
        try:
            self.event = device.process.events.create("signal", auto_reset=True, device=device)
        except BaseException:
            self.buffer.free()
            raise
        self.buffer.cpu.store_u64(0, initial)
        self.closed = False
        device.register_semaphore(self)

    @property
    def gpu_addr(self) -> int:
        return self.buffer.gpu_addr

    @property
    def value(self) -> int:
        self._check()
        return self.buffer.cpu.load_u64(0)

    def map_to(self, *devices: Device) -> None:
        """Let more GPUs signal and wait on this semaphore (their queues write and poll its memory)."""
        self.buffer.map_to(*devices)
        for device in devices:
            device.process.events.map_page_on(device)

    def signal(self, value: int) -> None:
        """CPU signal: raise the value (never lower it) and wake sleeping waiters."""
        self._check()
        if not 0 <= value <= MAX_VALUE:
            raise ConfigurationError(f"semaphore value {value} is not a 64-bit unsigned integer")
        current = self.value
        if value < current:
            raise ConfigurationError(
                f"timeline semaphore values only grow: {value} is below the current {current}"
            )
        self.buffer.cpu.store_u64(0, value)
        self.event.set()

    def wait(self, value: int, timeout: float | None = None) -> None:
        """Return once the value is at least `value`; else raise GpuTimeoutError with the value reached."""
        self._check()
        if timeout is None:
            timeout = self.default_timeout
        deadline = time.monotonic() + timeout
        spin_until = time.monotonic() + SPIN_S
        while self.value < value and time.monotonic() < spin_until:
            pass
        while self.value < value:
            self._raise_on_fault(value)
            report = self.device.transport.stall_report()
            if report is not None and threading.active_count() == 1 and self.value < value:
                # Nothing else in this process can signal, and no GPU queue can make progress.
                raise self._timeout(
                    value, report, "no queue can make progress, so waiting longer cannot help"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(value, report or [], f"not reached within {timeout} s")
            self.event.wait(min(remaining, 0.05))

    def _raise_on_fault(self, value: int) -> None:
        faults = self.device.memory_faults()
        if faults:
            raise GpuFaultError(
                f"waiting for semaphore at {self.gpu_addr:#x} to reach {value}: {faults[0]} "
                f"(value reached: {self.value})"
            )

    def _timeout(self, value: int, report: list[str], why: str) -> GpuTimeoutError:
        lines = [f"semaphore at {self.gpu_addr:#x}: waited for {value}, value reached {self.value}; {why}"]
        lines.extend(f"  {line}" for line in report)
        return GpuTimeoutError("\n".join(lines))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.device.forget_semaphore(self)
        try:
            self.event.destroy()
        finally:
            self.buffer.free()

    def _check(self) -> None:
        if self.closed:
            raise ResourceClosedError(f"semaphore at {self.buffer.gpu_addr:#x} was closed")

    def __enter__(self) -> TimelineSemaphore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"value {self.buffer.cpu.load_u64(0)}"
        return f"<TimelineSemaphore at {self.buffer.gpu_addr:#x} on gpu {self.device.gpu_id}, {state}>"
