"""KFD events in the driver: the process's signal page, signal events GPUs interrupt, fault events."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_amdgpu.errors import ConfigurationError, ResourceClosedError
from pytest_amdgpu.kfd import abi

if TYPE_CHECKING:
    from pytest_amdgpu.driver.buffer import Buffer
    from pytest_amdgpu.driver.device import Device
    from pytest_amdgpu.driver.process import KfdProcess

EVENT_PAGE_BYTES = abi.KFD_SIGNAL_EVENT_LIMIT * 8  # one 8-byte mailbox per signal event
EVENT_KINDS = {
    "signal": abi.KFD_IOC_EVENT_SIGNAL,
    "memory": abi.KFD_IOC_EVENT_MEMORY,
    "hw_exception": abi.KFD_IOC_EVENT_HW_EXCEPTION,
}
INFINITE_TIMEOUT_MS = 0xFFFF_FFFF


@dataclass(frozen=True)
class MemoryFault:
    """What a memory-exception event reported: the faulting page, the GPU and why."""

    gpu_id: int
    va: int
    not_present: bool
    read_only: bool

    def __str__(self) -> str:
        why = "write to a read-only page" if self.read_only else "page not present"
        return f"GPU memory fault on gpu_id {self.gpu_id} at {self.va:#x} ({why})"


class Event:
    """One KFD event; a signal event also has a mailbox a GPU packet writes before interrupting."""

    def __init__(self, manager: EventManager, event_id: int, kind: str, auto_reset: bool) -> None:
        self.manager = manager
        self.event_id = event_id
        self.kind = kind
        self.auto_reset = auto_reset
        self.destroyed = False
        self.last_memory_fault: MemoryFault | None = None
        self.age = 0  # the signal count KFD reported at the last completed wait (interface 1.14 and later)

    @property
    def mailbox_va(self) -> int:
        """GPU address of this event's mailbox slot (signal events only)."""
        if self.kind != "signal":
            raise ConfigurationError(f"a {self.kind} event has no mailbox")
        return self.manager.page_va + 8 * self.event_id

    def set(self) -> None:
        self._check()
        self.manager.process.ioctl(
            abi.AMDKFD_IOC_SET_EVENT, abi.kfd_ioctl_set_event_args(event_id=self.event_id)
        )

    def reset(self) -> None:
        self._check()
        self.manager.process.ioctl(
            abi.AMDKFD_IOC_RESET_EVENT, abi.kfd_ioctl_reset_event_args(event_id=self.event_id)
        )

    def wait(self, timeout_s: float | None, *, since_age: int = 0) -> bool:
        """Sleep until the event fires (True) or `timeout_s` passes (False); None waits forever.

        With `since_age` (an `age` seen before), a signal event that was signalled since then counts as
        fired even if an auto-reset consumed it meanwhile: KFD compares the event's age with it.
        """
        return self.manager.wait([self], timeout_s, wait_for_all=True, ages=[since_age])

    def destroy(self) -> None:
        if self.destroyed:
            return
        self.destroyed = True
        self.manager.forget(self)
        self.manager.process.ioctl(
            abi.AMDKFD_IOC_DESTROY_EVENT, abi.kfd_ioctl_destroy_event_args(event_id=self.event_id)
        )

    def _check(self) -> None:
        if self.destroyed:
            raise ResourceClosedError(f"event {self.event_id} was destroyed")

    def __repr__(self) -> str:
        return f"<Event {self.kind} {self.event_id}{' destroyed' if self.destroyed else ''}>"


class EventManager:
    """The events of one KFD process; the signal page is a GTT buffer the GPUs can write."""

    def __init__(self, process: KfdProcess) -> None:
        self.process = process
        self.page: Buffer | None = None
        self._mapped_on: set[int] = set()
        self.events: dict[int, Event] = {}

    @property
    def page_va(self) -> int:
        if self.page is None:
            raise ConfigurationError("the process has no event page yet: create a signal event first")
        return self.page.gpu_addr

    def map_page_on(self, device: Device) -> None:
        """Make the signal page writable by `device` (it writes mailboxes there)."""
        if self.page is None:
            self.page = device.alloc_process_buffer(EVENT_PAGE_BYTES, "gtt")
            self._mapped_on.add(device.gpu_id)
        elif device.gpu_id not in self._mapped_on:
            device.map_handle(self.page.handle, [device])
            self._mapped_on.add(device.gpu_id)

    def create(self, kind: str = "signal", *, auto_reset: bool = True, device: Device | None = None) -> Event:
        """CREATE_EVENT; the first signal event hands the kernel the signal page (allocated on `device`)."""
        if kind not in EVENT_KINDS:
            raise ConfigurationError(f"unknown event kind {kind!r}: expected one of {', '.join(EVENT_KINDS)}")
        page_handle = 0
        if kind == "signal":
            if device is None and self.page is None:
                raise ConfigurationError("the first signal event needs a device to place the event page on")
            first_page = self.page is None
            if device is not None:
                self.map_page_on(device)
            if first_page and self.page is not None:
                page_handle = self.page.handle
        args = abi.kfd_ioctl_create_event_args(
            event_page_offset=page_handle,
            event_type=EVENT_KINDS[kind],
            auto_reset=int(auto_reset),
            node_id=device.node_index if device is not None else 0,
        )
        self.process.ioctl(abi.AMDKFD_IOC_CREATE_EVENT, args)
        event = Event(self, args.event_id, kind, auto_reset)
        self.events[event.event_id] = event
        return event

    def forget(self, event: Event) -> None:
        self.events.pop(event.event_id, None)

    def wait(
        self,
        events: Sequence[Event],
        timeout_s: float | None,
        *,
        wait_for_all: bool,
        ages: Sequence[int] | None = None,
    ) -> bool:
        """WAIT_EVENTS on `events` (all of them, or any); False when `timeout_s` passed first."""
        if not events:
            return True
        for event in events:
            event._check()
        records = (abi.kfd_event_data * len(events))()
        for record, event in zip(records, events, strict=True):
            record.event_id = event.event_id
        for record, age in zip(records, ages or (), strict=False):
            record.signal_event_data.last_event_age = age
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        while True:
            if deadline is None:
                timeout_ms = INFINITE_TIMEOUT_MS
            else:
                timeout_ms = min(int(max(deadline - time.monotonic(), 0.0) * 1000), INFINITE_TIMEOUT_MS - 1)
            args = abi.kfd_ioctl_wait_events_args(
                events_ptr=ctypes.addressof(records),
                num_events=len(events),
                wait_for_all=int(wait_for_all),
                timeout=timeout_ms,
            )
            self.process.ioctl(abi.AMDKFD_IOC_WAIT_EVENTS, args)
            if args.wait_result == abi.KFD_IOC_WAIT_RESULT_COMPLETE:
                break
            if deadline is None or time.monotonic() >= deadline:
                return False
        for record, event in zip(records, events, strict=True):
            if event.kind == "signal" and ages:
                event.age = record.signal_event_data.last_event_age
            if event.kind == "memory":
                data = record.memory_exception_data
                event.last_memory_fault = MemoryFault(
                    gpu_id=data.gpu_id,
                    va=data.va,
                    not_present=bool(data.failure.NotPresent),
                    read_only=bool(data.failure.ReadOnly),
                )
        return True

    def close(self) -> None:
        """Destroy every event; the signal page stays until the process exits, as the kernel wants."""
        for event in list(self.events.values()):
            event.destroy()
