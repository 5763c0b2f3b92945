"""The user-facing fixtures: devices, buffers, queues and semaphores, each released after the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from pytest_amdgpu.driver import Buffer, Device
from pytest_amdgpu.driver.program import Program
from pytest_amdgpu.driver.queues import ComputeQueue, Queue, SdmaQueue
from pytest_amdgpu.driver.semaphore import TimelineSemaphore
from pytest_amdgpu.errors import QueueTimeoutError, release_each
from pytest_amdgpu.hangs import gpu_timeout
from pytest_amdgpu.selection import DeviceSelection
from pytest_amdgpu.session import AmdgpuSession, active_session


class GpuBufferFactory(Protocol):
    """gpu_buffer(size, domain="vram", device=None, **alloc_options) -> Buffer, freed after the test."""

    def __call__(
        self, size: int, domain: str = "vram", *, device: Device | None = None, **options: bool
    ) -> Buffer: ...


def require_session(config: pytest.Config) -> AmdgpuSession:
    """The active session, or skip: GPU fixtures only run with --amdgpu."""
    session = active_session(config)
    if session is None:
        pytest.skip("AMD GPU tests run only with --amdgpu")
    return session


def device_for_test(request: pytest.FixtureRequest) -> Device:
    """The GPU a test runs on: its amdgpu_device when it has one, else the first selected GPU."""
    if "amdgpu_device" in request.fixturenames:
        return request.getfixturevalue("amdgpu_device")
    selection: DeviceSelection = request.getfixturevalue("amdgpu_devices")
    if not selection:
        pytest.skip("no GPU is selected")
    return selection[0]


@pytest.fixture(scope="session")
def amdgpu_devices(request: pytest.FixtureRequest) -> DeviceSelection:
    """Every selected GPU (a sequence of Device), opened once per session and per xdist worker."""
    return require_session(request.config).selection


@pytest.fixture(scope="session")
def amdgpu_device(request: pytest.FixtureRequest) -> Device:
    """One GPU; a test using it runs once per selected GPU, with ids such as gpu0-gfx942."""
    selection = require_session(request.config).selection
    if not hasattr(request, "param"):  # requested dynamically, so not parametrised: the first selected GPU
        if not selection:
            pytest.skip("no GPU is selected")
        return selection[0]
    return selection.by_index(request.param)


@pytest.fixture
def gpu_buffer(request: pytest.FixtureRequest, amdgpu_devices: DeviceSelection) -> Iterator[GpuBufferFactory]:
    """Factory: gpu_buffer(size, domain="vram") allocates on the test's GPU; all are freed after the test."""
    default_device = device_for_test(request)
    buffers: list[Buffer] = []

    def allocate(size: int, domain: str = "vram", *, device: Device | None = None, **options: bool) -> Buffer:
        buffer = (device or default_device).alloc(size, domain=domain, **options)
        buffers.append(buffer)
        return buffer

    yield allocate
    errors = release_each(reversed(buffers), Buffer.free)
    if errors:
        raise errors[0]


def _finish_queue(queue: Queue) -> None:
    """Destroy a fixture's queue; a queue the test left with work the GPU never finished is an error."""
    if queue.destroyed:
        return
    name, completed, submitted = queue.name, queue.completed_value, queue.submitted_value
    dump = queue.dump() if completed < submitted else ""
    queue.destroy()
    if completed < submitted and queue.reported_fault is None:  # a fault already failed the test
        raise QueueTimeoutError(
            f"the test left {name} with unfinished work (fence {completed} of {submitted} submitted); "
            f"the queue was torn down\n{dump}"
        )


@pytest.fixture
def compute_queue(request: pytest.FixtureRequest) -> Iterator[ComputeQueue]:
    """A PM4 compute queue on the test's GPU, destroyed after the test (with --amdgpu-timeout for waits)."""
    queue = device_for_test(request).compute_queue(timeout=gpu_timeout(request.config))
    yield queue
    _finish_queue(queue)


@pytest.fixture
def sdma_queue(request: pytest.FixtureRequest) -> Iterator[SdmaQueue]:
    """An SDMA queue on the test's GPU, destroyed after the test."""
    queue = device_for_test(request).sdma_queue(timeout=gpu_timeout(request.config))
    yield queue
    _finish_queue(queue)


class TimelineSemaphoreFactory(Protocol):
    """timeline_semaphore(initial=0, device=None) -> TimelineSemaphore, closed after the test."""

    def __call__(self, initial: int = 0, *, device: Device | None = None) -> TimelineSemaphore: ...


@pytest.fixture
def timeline_semaphore(request: pytest.FixtureRequest) -> Iterator[TimelineSemaphoreFactory]:
    """Factory of timeline semaphores on the test's GPU (or `device=`); all are closed after the test."""
    default_device = device_for_test(request)
    timeout = gpu_timeout(request.config)
    made: list[TimelineSemaphore] = []

    def create(initial: int = 0, *, device: Device | None = None) -> TimelineSemaphore:
        semaphore = (device or default_device).timeline_semaphore(initial, timeout=timeout)
        made.append(semaphore)
        return semaphore

    yield create
    errors = release_each(reversed(made), TimelineSemaphore.close)
    if errors:
        raise errors[0]


class KernelFactory(Protocol):
    """kernel(name, device=None) -> Program: a bundled kernel built for the GPU's target."""

    def __call__(self, name: str, *, device: Device | None = None) -> Program: ...


@pytest.fixture
def kernel(request: pytest.FixtureRequest) -> KernelFactory:
    """Factory: kernel("vector_add") is the bundled program for the test's GPU (uploaded once per device)."""
    default_device = device_for_test(request)

    def load(name: str, *, device: Device | None = None) -> Program:
        return (device or default_device).bundled_program(name)

    return load
