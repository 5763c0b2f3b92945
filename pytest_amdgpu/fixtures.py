"""The user-facing fixtures: amdgpu_device (one per selected GPU), amdgpu_devices and gpu_buffer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from pytest_amdgpu.driver import Buffer, Device
from pytest_amdgpu.errors import AmdgpuError
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
    errors: list[AmdgpuError] = []
    for buffer in reversed(buffers):
        try:
            buffer.free()
        except AmdgpuError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
