"""Driver events: the signal page on first use, CPU set/wait, fault events armed per device."""

from __future__ import annotations

import time

import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.errors import ConfigurationError, KfdIoctlError, ResourceClosedError


@pytest.fixture
def devices():
    with driver.open_devices(backend="sim", machine="mi300x") as opened:
        yield opened


def test_the_first_signal_event_places_the_page_and_mailboxes_are_slots(devices) -> None:
    events = devices.process.events
    first = events.create("signal", device=devices[0])
    second = events.create("signal")
    assert events.page is not None and events.page.size == 32768
    assert second.mailbox_va - first.mailbox_va == 8 * (second.event_id - first.event_id)
    kernel = devices.transport.kernel
    assert kernel.process.events.signal_handle == events.page.handle
    with pytest.raises(KfdIoctlError, match="EPERM"):
        devices[0]._free_handle(events.page.handle)  # the kernel keeps the page until exit
    first.destroy()
    second.destroy()


def test_cpu_set_wakes_a_wait_and_auto_reset_consumes_it(devices) -> None:
    event = devices.process.events.create("signal", device=devices[0])
    assert not event.wait(0)
    started = time.monotonic()
    assert not event.wait(0.02)
    assert time.monotonic() - started >= 0.015
    event.set()
    assert event.wait(1.0)
    assert not event.wait(0)
    event.destroy()
    with pytest.raises(ResourceClosedError, match="destroyed"):
        event.set()


def test_every_device_arms_a_memory_event(devices) -> None:
    kernel = devices.transport.kernel
    memory_events = [e for e in kernel.process.events.events.values() if e.event_type == 8]
    assert len(memory_events) == len(devices)
    assert devices[0].memory_faults() == []
    kernel.process.events.memory_fault(devices[0].gpu_id, 0xDEAD_B000, not_present=True, read_only=False)
    faults = devices[0].memory_faults()
    assert [(f.va, f.gpu_id, f.not_present) for f in faults] == [(0xDEAD_B000, devices[0].gpu_id, True)]
    assert "page not present" in str(faults[0])


def test_bad_event_kind_names_the_choices(devices) -> None:
    with pytest.raises(ConfigurationError, match="unknown event kind 'timer'"):
        devices.process.events.create("timer")
    with pytest.raises(ConfigurationError, match="needs a device"):
        devices.process.events.create("signal")
