"""Event conformance: signal events up to the slot limit, raised by CP and SDMA, waited for all or any."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator

import pytest

from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.driver.events import Event, EventManager
from pytest_amdgpu.driver.queues import ComputeQueue, SdmaQueue
from pytest_amdgpu.errors import KfdIoctlError, ResourceClosedError
from pytest_amdgpu.kfd.abi import KFD_SIGNAL_EVENT_LIMIT
from pytest_amdgpu.packets import pm4, sdma

# The kernel keeps signal slot 0 for interrupts that name no event, so one fewer is usable.
USABLE_SIGNAL_SLOTS = KFD_SIGNAL_EVENT_LIMIT - 1
SIGNALS_PER_SUBMISSION = 512
EVENTS_PER_WAIT = 256


def cp_signal(queue: ComputeQueue, event: Event) -> list[int]:
    """RELEASE_MEM at end of pipe: the event id into its mailbox slot, then an interrupt naming it."""
    return pm4.build(
        queue.device.target,
        "RELEASE_MEM",
        event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
        event_index=pm4.EVENT_INDEX_END_OF_PIPE,
        data_sel=pm4.EOP_DATA_SEL_VALUE_32BIT,
        addr=event.mailbox_va,
        data=event.event_id,
        int_sel=pm4.EOP_INT_SEL_SEND_INT_ON_CONFIRM,
        int_ctxid=event.event_id,
    )


def cp_interrupt_naming_no_event(queue: ComputeQueue) -> list[int]:
    """RELEASE_MEM that writes no mailbox and interrupts with context id 0, which names no event."""
    return pm4.build(
        queue.device.target,
        "RELEASE_MEM",
        event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
        event_index=pm4.EVENT_INDEX_END_OF_PIPE,
        data_sel=pm4.EOP_DATA_SEL_DISCARD,
        int_sel=pm4.EOP_INT_SEL_SEND_INT,
        int_ctxid=0,
    )


def sdma_signal(queue: SdmaQueue, event: Event) -> list[int]:
    """FENCE writing the event id into its mailbox slot, then TRAP with the event id as context."""
    target = queue.device.target
    return sdma.build(target, "FENCE", addr=event.mailbox_va, data=event.event_id) + sdma.build(
        target, "TRAP", int_context=event.event_id
    )


def signal_event_count(manager: EventManager) -> int:
    return sum(1 for event in manager.events.values() if event.kind == "signal")


@pytest.fixture
def events(amdgpu_devices: DeviceSet) -> Iterator[list[Event]]:
    """A list the test appends its events to; every one still alive afterwards is destroyed."""
    made: list[Event] = []
    yield made
    for event in made:
        event.destroy()


def fill_signal_slots(manager: EventManager, device: Device, made: list[Event]) -> KfdIoctlError:
    """Create signal events until the kernel refuses one; return the refusal."""
    for _ in range(KFD_SIGNAL_EVENT_LIMIT + 1):
        try:
            made.append(manager.create("signal", device=device))
        except KfdIoctlError as refusal:
            return refusal
    raise AssertionError(f"the kernel accepted more than {KFD_SIGNAL_EVENT_LIMIT} signal events")


def test_an_event_of_each_kind_is_created_and_destroyed(amdgpu_devices: DeviceSet) -> None:
    """CreateDestroyEvent: every kind gets its own id; a signal event gets a mailbox slot in the page."""
    device = amdgpu_devices[0]
    manager = device.process.events
    created = [manager.create(kind, device=device) for kind in ("signal", "memory", "hw_exception")]
    try:
        assert len({event.event_id for event in created}) == 3
        assert 0 < created[0].event_id < KFD_SIGNAL_EVENT_LIMIT
        assert manager.page_va <= created[0].mailbox_va < manager.page_va + 8 * KFD_SIGNAL_EVENT_LIMIT
        assert all(manager.events[event.event_id] is event for event in created)
    finally:
        for event in created:
            event.destroy()
    assert not any(event.event_id in manager.events for event in created)
    with pytest.raises(ResourceClosedError, match="destroyed"):
        created[0].set()


def test_signal_events_are_created_until_the_slots_run_out(amdgpu_devices: DeviceSet, events) -> None:
    """CreateMaxEvents, to the end: 4095 signal events at once, the next is ENOSPC, a freed slot is reused."""
    device = amdgpu_devices[0]
    manager = device.process.events
    already = signal_event_count(manager)
    refusal = fill_signal_slots(manager, device, events)
    assert refusal.errno == errno.ENOSPC, refusal
    assert already + len(events) == USABLE_SIGNAL_SLOTS
    assert len({event.event_id for event in events}) == len(events)
    other = manager.create("memory", device=device)  # only signal events take slots
    other.destroy()
    freed = events.pop(len(events) // 2)
    freed.destroy()
    events.append(manager.create("signal", device=device))
    assert signal_event_count(manager) == USABLE_SIGNAL_SLOTS


def test_every_usable_slot_is_signalled_by_a_compute_queue(amdgpu_devices: DeviceSet, events) -> None:
    """SignalMaxEvents: one RELEASE_MEM per event, thousands of interrupts, every event wakes its waiter."""
    device = amdgpu_devices[0]
    manager = device.process.events
    with device.compute_queue(ring_bytes=64 << 10) as queue:
        fill_signal_slots(manager, device, events)
        assert not manager.wait(events[:EVENTS_PER_WAIT], 0, wait_for_all=False)
        for start in range(0, len(events), SIGNALS_PER_SUBMISSION):
            for event in events[start : start + SIGNALS_PER_SUBMISSION]:
                queue.emit(cp_signal(queue, event))
            queue.submit()
        queue.wait_idle()
        for start in range(0, len(events), EVENTS_PER_WAIT):
            batch = events[start : start + EVENTS_PER_WAIT]
            assert manager.wait(batch, 5.0, wait_for_all=True), f"events {start}.. were not all signalled"


def test_a_compute_queue_signals_an_event_on_every_gpu(amdgpu_device: Device, compute_queue, events) -> None:
    """SignalEvent / PM4EventInterrupt: the mailbox write and the interrupt together wake the waiter."""
    manager = amdgpu_device.process.events
    events.extend(manager.create("signal", device=amdgpu_device) for _ in range(2))
    bystander, target = events  # the target's id is not the lowest free one
    assert not target.wait(0)
    compute_queue.emit(cp_signal(compute_queue, target)).submit().wait()
    assert target.wait(5.0)
    assert not bystander.wait(0), "an interrupt for one event woke another"
    assert not target.wait(0), "an auto-reset event stayed signalled after its wait"


def test_an_sdma_queue_signals_an_event_on_every_gpu(amdgpu_device: Device, sdma_queue, events) -> None:
    """SdmaEventInterrupt: FENCE to the mailbox and TRAP wake the waiter."""
    manager = amdgpu_device.process.events
    events.extend(manager.create("signal", device=amdgpu_device) for _ in range(2))
    bystander, target = events
    sdma_queue.emit(sdma_signal(sdma_queue, target)).submit().wait()
    assert target.wait(5.0)
    assert not bystander.wait(0), "a trap for one event woke another"


def test_an_interrupt_naming_no_event_wakes_nobody(amdgpu_devices: DeviceSet, events) -> None:
    """SignalInvalidEvent: context id 0 is ignored; a real signal right behind it still arrives."""
    device = amdgpu_devices[0]
    manager = device.process.events
    events.extend(manager.create("signal", device=device) for _ in range(65))
    *bystanders, target = events
    with device.compute_queue() as queue:
        for _ in range(20):
            queue.emit(cp_interrupt_naming_no_event(queue))
            queue.emit(cp_signal(queue, target)).submit()
            assert target.wait(5.0)
        queue.wait_idle()
    assert not manager.wait(bystanders, 0, wait_for_all=False), "an interrupt without an event woke one"


def test_wait_for_all_needs_every_event_and_wait_for_any_needs_one(amdgpu_devices: DeviceSet, events) -> None:
    """SignalMultipleEventsWaitForAll, with manual-reset events so the waits themselves consume nothing."""
    device = amdgpu_devices[0]
    manager = device.process.events
    events.extend(manager.create("signal", auto_reset=False, device=device) for _ in range(64))
    *early, last = events
    with device.compute_queue() as queue:
        for event in early:
            queue.emit(cp_signal(queue, event)).submit()
        queue.wait_idle()
        assert not manager.wait(events, 0.05, wait_for_all=True), "wait-all passed with one event unsignalled"
        assert manager.wait(events, 0, wait_for_all=False)
        assert not last.wait(0)
        queue.emit(cp_signal(queue, last)).submit().wait()
        assert manager.wait(events, 5.0, wait_for_all=True)
    assert manager.wait(events, 0, wait_for_all=True), "a manual-reset event was reset by a wait"
    for event in events:
        event.reset()
    assert not manager.wait(events, 0, wait_for_all=False)


def test_a_satisfied_wait_consumes_an_auto_reset_event(amdgpu_devices: DeviceSet, events) -> None:
    device = amdgpu_devices[0]
    events.append(device.process.events.create("signal", auto_reset=True, device=device))
    (event,) = events
    event.set()
    assert event.wait(1.0)
    assert not event.wait(0)
    event.set()
    event.set()  # signals do not count up
    assert event.wait(1.0)
    assert not event.wait(0)


def test_a_failed_wait_for_all_consumes_the_auto_reset_events_it_found_signalled(
    amdgpu_devices: DeviceSet, events
) -> None:
    """A wait for all that times out has used up the auto-reset signals it found.

    kfd_wait_on_events takes an auto-reset event's signal as it sets up the waiter and gives it back only
    when the wait is interrupted, not when it times out.
    """
    device = amdgpu_devices[0]
    manager = device.process.events
    events.extend(manager.create("signal", auto_reset=True, device=device) for _ in range(2))
    fired, silent = events
    fired.set()
    assert not manager.wait([fired, silent], 0.01, wait_for_all=True)
    assert not fired.wait(0), "the timed-out wait for all left the auto-reset event signalled"


@pytest.mark.parametrize("timeout_s", [0.0, 0.05, 0.2])
def test_a_wait_times_out_after_about_the_time_asked(amdgpu_devices: DeviceSet, events, timeout_s) -> None:
    device = amdgpu_devices[0]
    events.append(device.process.events.create("signal", device=device))
    started = time.monotonic()
    assert not events[0].wait(timeout_s)
    elapsed = time.monotonic() - started
    assert timeout_s - 0.005 <= elapsed <= timeout_s + 0.25, f"asked {timeout_s} s, waited {elapsed:.3f} s"


def test_a_signal_given_before_the_wait_is_kept_for_it(amdgpu_devices: DeviceSet, events) -> None:
    """A CPU set while nobody waits stays signalled, so the next wait returns at once."""
    device = amdgpu_devices[0]
    events.append(device.process.events.create("signal", device=device))
    events[0].set()
    started = time.monotonic()
    assert events[0].wait(10.0)
    assert time.monotonic() - started < 1.0


def test_an_old_age_finds_a_signal_an_auto_reset_already_consumed(amdgpu_devices: DeviceSet) -> None:
    """SignalEventExt: a wait given a signal event's last age returns at once if it was signalled since."""
    device = amdgpu_devices[0]
    event = device.process.events.create("signal", auto_reset=True, device=device)
    try:
        event.set()
        assert event.wait(0, since_age=1)  # the first wait learns the age
        seen = event.age
        assert seen > 1
        assert not event.wait(0, since_age=seen)  # nothing since: no signal, same age
        event.set()
        assert event.wait(0)  # a plain wait consumes the auto-reset signal...
        assert event.wait(0, since_age=seen)  # ...but the age still shows it happened
        assert event.age > seen
        with device.compute_queue() as queue:
            seen = event.age
            queue.emit(cp_signal(queue, event)).submit().wait()
            assert event.wait(1.0, since_age=seen) and event.age > seen  # a GPU signal moves the age too
    finally:
        event.destroy()
