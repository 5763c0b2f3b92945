"""Hangs and faults in pytest: the GPU wait timeout, queue fixtures' teardown checks, failure dumps."""

from __future__ import annotations

import pytest

from pytest_amdgpu.driver import Device
from pytest_amdgpu.errors import GpuFaultError
from pytest_amdgpu.session import active_session

DEFAULT_TIMEOUT_S = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amdgpu")
    group.addoption(
        "--amdgpu-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"how long a GPU wait may take before the test fails with a queue dump "
        f"(default: ini amdgpu_timeout, else {DEFAULT_TIMEOUT_S:g})",
    )
    parser.addini("amdgpu_timeout", "default for --amdgpu-timeout (seconds)", default=str(DEFAULT_TIMEOUT_S))


def gpu_timeout(config: pytest.Config) -> float:
    value = config.getoption("--amdgpu-timeout")
    if value is None:
        value = float(config.getini("amdgpu_timeout"))
    if value <= 0:
        raise pytest.UsageError(f"--amdgpu-timeout must be a positive number of seconds, got {value}")
    return value


def queue_report(device: Device) -> list[tuple[str, str]]:
    """Sections describing a device after a failure: busy queues decoded, semaphores, faults, stalls."""
    sections = []
    for queue in device.live_queues:
        if queue.busy or (queue.submitted_value == 0 and queue.ring.write_units):
            sections.append((f"busy {queue.name}", queue.dump()))
    semaphores = device.live_semaphores
    if semaphores:
        sections.append((f"semaphores on gpu{device.index}", "\n".join(repr(s) for s in semaphores)))
    device.memory_faults()
    if device.fault_log:
        sections.append((f"memory faults on gpu{device.index}", "\n".join(str(f) for f in device.fault_log)))
    stalls = device.transport.stall_report()
    if stalls:
        sections.append((f"stalled queues on gpu{device.index}", "\n".join(stalls)))
    return sections


@pytest.hookimpl
def pytest_amdgpu_failure_sections(
    item: pytest.Item, when: str, devices: list[Device]
) -> list[tuple[str, str]]:
    sections = []
    for device in devices:
        if not device.closed:
            sections.extend(queue_report(device))
    return sections


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After the test's fixtures are gone: a GPU memory fault nobody waited for fails the test here."""
    session = active_session(item.config)
    if session is None or session.device_set is None:
        return
    faults = [fault for device in session.selection for fault in device.memory_faults()]
    if faults:
        raise GpuFaultError(
            f"{len(faults)} GPU memory fault(s) during {item.nodeid}: " + "; ".join(str(f) for f in faults)
        )
