"""Simulated KFD events: the signal page, the event ioctls and interrupt routing, per kfd_events.c."""

from __future__ import annotations

import ctypes
import errno
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd import mmap_offsets as mo
from pytest_amdgpu.sim.memory import Backing, UserFaultError, UserPtrBacking, copy_from_user, copy_to_user

UNSIGNALED_EVENT_SLOT = 0xFFFF_FFFF_FFFF_FFFF
SIGNAL_SLOT_BYTES = 8
SIGNAL_PAGE_BYTES = abi.KFD_SIGNAL_EVENT_LIMIT * SIGNAL_SLOT_BYTES  # 32 KiB: every slot
DEFAULT_MAPPED_SIGNAL_BYTES = 256 * SIGNAL_SLOT_BYTES  # what a kernel-allocated page offers before mmap
FIRST_NONSIGNAL_EVENT_ID = 0x4000_0000
GPU_SIGNALED_TYPES = (abi.KFD_IOC_EVENT_SIGNAL, abi.KFD_IOC_EVENT_DEBUG_EVENT)


class EventError(Exception):
    """Raised by event handlers; the kfd model turns it into the ioctl's errno."""

    def __init__(self, errno_value: int, rule: str) -> None:
        super().__init__(rule)
        self.errno = errno_value
        self.rule = rule


@dataclass
class SimEvent:
    """One KFD event of the process."""

    event_id: int
    event_type: int
    auto_reset: bool
    node_id: int
    signaled: bool = False
    age: int = 1
    memory_exception: abi.kfd_hsa_memory_exception_data | None = None
    hw_exception: abi.kfd_hsa_hw_exception_data | None = None

    @property
    def is_signal(self) -> bool:
        return self.event_type in GPU_SIGNALED_TYPES


@dataclass
class SimEvents:
    """The events of one process and its signal page (the mailbox slots GPUs write before interrupting)."""

    events: dict[int, SimEvent] = field(default_factory=dict)
    slots: np.ndarray | None = None  # uint64 view of the signal page
    signal_handle: int = 0
    signal_mapped_size: int = 0
    signal_event_count: int = 1  # id 0 is reserved at process creation
    next_other_id: int = FIRST_NONSIGNAL_EVENT_ID
    kernel_page: Backing | None = None
    interrupts_seen: list[tuple[int, int]] = field(default_factory=list)
    waiting: set[int] = field(default_factory=set)  # event ids a WAIT_EVENTS in progress sleeps on
    woken: set[int] = field(default_factory=set)  # auto-reset events set during that wait

    # -- the signal page ---------------------------------------------------------------------------

    def set_event_page(self, handle: int, backing_bytes: np.ndarray) -> None:
        """kfd_kmap_event_page + kfd_event_page_set: a user BO becomes the signal page."""
        if self.slots is not None:
            raise EventError(errno.EINVAL, "the process already has a signal page")
        if backing_bytes.size < SIGNAL_PAGE_BYTES:
            raise EventError(
                errno.EINVAL,
                f"an event page must be at least {SIGNAL_PAGE_BYTES} bytes, not {backing_bytes.size}",
            )
        self.slots = backing_bytes[: backing_bytes.size - backing_bytes.size % 8].view(np.uint64)
        self.slots[:] = UNSIGNALED_EVENT_SLOT
        self.signal_mapped_size = backing_bytes.size
        self.signal_handle = handle

    def _ensure_kernel_page(self) -> None:
        """allocate_signal_page: a kernel page, 256 slots usable until user space maps more of it."""
        if self.slots is None:
            self.kernel_page = Backing(SIGNAL_PAGE_BYTES, "signal-page")
            self.slots = self.kernel_page.bytes.view(np.uint64)
            self.slots[:] = UNSIGNALED_EVENT_SLOT
            self.signal_mapped_size = DEFAULT_MAPPED_SIGNAL_BYTES

    def mmap_kernel_page(self, length: int) -> Backing:
        """kfd_event_mmap: map the kernel signal page; its length decides how many slots are usable."""
        if length > SIGNAL_PAGE_BYTES:
            raise EventError(
                errno.EINVAL, f"an event page mapping is at most {SIGNAL_PAGE_BYTES} bytes, not {length}"
            )
        if self.kernel_page is None:
            raise EventError(
                errno.EINVAL, "there is no kernel signal page to map (create a signal event first)"
            )
        self.signal_mapped_size = length
        return self.kernel_page

    def close(self) -> None:
        if self.kernel_page is not None:
            self.kernel_page.close()
            self.kernel_page = None
        self.slots = None

    # -- ioctls ------------------------------------------------------------------------------------

    def create(self, args: ctypes.Structure) -> None:
        event_type = args.event_type
        args.event_page_offset = 0
        if event_type in GPU_SIGNALED_TYPES:
            if (
                self.signal_mapped_size
                and self.signal_event_count == self.signal_mapped_size // SIGNAL_SLOT_BYTES
            ):
                raise EventError(
                    errno.ENOSPC,
                    f"all {self.signal_mapped_size // SIGNAL_SLOT_BYTES} signal slots are in use",
                )
            self._ensure_kernel_page()
            assert self.slots is not None
            limit = min(self.signal_mapped_size // SIGNAL_SLOT_BYTES, abi.KFD_SIGNAL_EVENT_LIMIT)
            event_id = next((i for i in range(1, limit) if i not in self.events), None)
            if event_id is None:
                raise EventError(errno.ENOSPC, "no free signal slot")
            self.slots[event_id] = UNSIGNALED_EVENT_SLOT
            self.signal_event_count += 1
            args.event_page_offset = mo.events_mmap_offset()
            args.event_slot_index = event_id
        else:
            event_id = self.next_other_id
            self.next_other_id += 1
        event = SimEvent(
            event_id=event_id, event_type=event_type, auto_reset=bool(args.auto_reset), node_id=args.node_id
        )
        self.events[event_id] = event
        args.event_id = event_id
        args.event_trigger_data = event_id

    def _lookup(self, event_id: int) -> SimEvent:
        event = self.events.get(event_id)
        if event is None:
            raise EventError(errno.EINVAL, f"event id {event_id} does not exist")
        return event

    def destroy(self, args: ctypes.Structure) -> None:
        event = self._lookup(args.event_id)
        del self.events[event.event_id]
        if event.is_signal:
            self.signal_event_count -= 1

    def set(self, args: ctypes.Structure) -> None:
        event = self._lookup(args.event_id)
        if event.event_type != abi.KFD_IOC_EVENT_SIGNAL:
            raise EventError(errno.EINVAL, f"event {event.event_id} is not a signal event")
        self._set_event(event)

    def reset(self, args: ctypes.Structure) -> None:
        event = self._lookup(args.event_id)
        if event.event_type != abi.KFD_IOC_EVENT_SIGNAL:
            raise EventError(errno.EINVAL, f"event {event.event_id} is not a signal event")
        event.signaled = False

    def _set_event(self, event: SimEvent) -> None:
        """set_event: an auto-reset event a wait is sleeping on wakes that wait instead of staying set."""
        if event.auto_reset and event.event_id in self.waiting:
            self.woken.add(event.event_id)
        else:
            event.signaled = True
        event.age += 1
        if event.age in (0, 1):
            event.age = 2

    def wait(
        self, args: ctypes.Structure, pump: Callable[[], None], idle: Callable[[float], None] = time.sleep
    ) -> None:
        """kfd_wait_on_events: consume auto-reset signals, honour ages, time out in milliseconds."""
        args.wait_result = abi.KFD_IOC_WAIT_RESULT_FAIL
        count = args.num_events
        if count == 0:
            args.wait_result = abi.KFD_IOC_WAIT_RESULT_COMPLETE
            return
        size = ctypes.sizeof(abi.kfd_event_data)
        try:
            raw = copy_from_user(args.events_ptr, count * size)
        except UserFaultError:
            raise EventError(
                errno.EFAULT, f"cannot read {count} event records at {args.events_ptr:#x}"
            ) from None
        records = (abi.kfd_event_data * count).from_buffer_copy(raw)
        waited = [self._lookup(record.event_id) for record in records]
        deadline = (
            None if args.timeout == 0xFFFF_FFFF else time.monotonic() + min(args.timeout, 0x7FFF_FFFF) / 1e3
        )
        # init_event_waiter: a signalled auto-reset event is consumed by this wait as it starts, whatever
        # the wait's outcome; ones set while the wait sleeps wake it without staying signalled.
        activated = [self._activated(event, record) for event, record in zip(waited, records, strict=True)]
        for event in waited:
            if event.signaled and event.auto_reset:
                event.signaled = False
        self.waiting = {event.event_id for event in waited}
        self.woken = set()
        try:
            while True:
                pump()
                activated = [
                    fired or event.event_id in self.woken or self._activated(event, record)
                    for fired, event, record in zip(activated, waited, records, strict=True)
                ]
                if all(activated) if args.wait_for_all else any(activated):
                    self._report(waited, activated, records)
                    try:
                        copy_to_user(args.events_ptr, bytes(records))
                    except UserFaultError:
                        raise EventError(errno.EFAULT, "cannot write the event records back") from None
                    args.wait_result = abi.KFD_IOC_WAIT_RESULT_COMPLETE
                    return
                if args.timeout == 0 or (deadline is not None and time.monotonic() >= deadline):
                    args.wait_result = abi.KFD_IOC_WAIT_RESULT_TIMEOUT
                    return
                idle(0.0005)  # only another thread can change anything now
        finally:
            self.waiting = set()

    @staticmethod
    def _activated(event: SimEvent, record: abi.kfd_event_data) -> bool:
        if event.signaled:
            return True
        last_age = record.signal_event_data.last_event_age
        return event.event_type == abi.KFD_IOC_EVENT_SIGNAL and last_age not in (0, event.age)

    @staticmethod
    def _report(events: list[SimEvent], activated: list[bool], records: ctypes.Array) -> None:
        """Copy back what the fired events carry: fault data, or the age a signal event reached."""
        for event, fired, record in zip(events, activated, records, strict=True):
            if not fired:
                continue
            if event.event_type == abi.KFD_IOC_EVENT_MEMORY and event.memory_exception is not None:
                record.memory_exception_data = event.memory_exception
            elif event.event_type == abi.KFD_IOC_EVENT_HW_EXCEPTION and event.hw_exception is not None:
                record.hw_exception_data = event.hw_exception
            elif event.event_type == abi.KFD_IOC_EVENT_SIGNAL and record.signal_event_data.last_event_age:
                record.signal_event_data.last_event_age = event.age

    # -- what the GPUs raise -----------------------------------------------------------------------

    def interrupt(self, context_id: int, valid_bits: int) -> None:
        """kfd_signal_event_interrupt with a pending mailbox required (the v9/v10/v11 routing)."""
        self.interrupts_seen.append((context_id, valid_bits))
        if self.slots is None:
            return
        full_id = valid_bits > 31 or (1 << valid_bits) >= abi.KFD_SIGNAL_EVENT_LIMIT
        event = None
        if (
            full_id
            and context_id < abi.KFD_SIGNAL_EVENT_LIMIT
            and self.slots[context_id] != UNSIGNALED_EVENT_SLOT
        ):
            event = self.events.get(context_id)
        if event is not None:
            self._from_interrupt(event)
            return
        # The id did not name a pending mailbox: scan every signal slot, as the kernel does.
        for event_id, candidate in sorted(self.events.items()):
            if event_id < abi.KFD_SIGNAL_EVENT_LIMIT and self.slots[event_id] != UNSIGNALED_EVENT_SLOT:
                self._from_interrupt(candidate)

    def _from_interrupt(self, event: SimEvent) -> None:
        if event.is_signal:
            assert self.slots is not None
            self.slots[event.event_id] = UNSIGNALED_EVENT_SLOT  # acknowledge the mailbox
            self._set_event(event)

    def memory_fault(self, gpu_id: int, va: int, *, not_present: bool, read_only: bool) -> None:
        """kfd_signal_vm_fault_event: every memory event of the process learns the faulting page."""
        data = abi.kfd_hsa_memory_exception_data(va=va & ~0xFFF, gpu_id=gpu_id)
        data.failure.NotPresent = int(not_present)
        data.failure.ReadOnly = int(read_only)
        for event in self.events.values():
            if event.event_type == abi.KFD_IOC_EVENT_MEMORY:
                event.memory_exception = data
                self._set_event(event)


def page_bytes_of(backing: object) -> np.ndarray | None:
    """The bytes of a BO the kernel can kmap as an event page (not userptr memory)."""
    if isinstance(backing, UserPtrBacking):
        return None
    return backing.bytes  # type: ignore[attr-defined]
