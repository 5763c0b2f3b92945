"""Hook specifications other packages implement to add backends, choose devices and extend reports."""

# pytest only collects hook implementations whose names start with "pytest_", hence the prefix.

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_amdgpu.driver import Device
    from pytest_amdgpu.driver.backends import BackendChoice


@pytest.hookspec(firstresult=True)
def pytest_amdgpu_make_transport(
    backend: str, machine: str | None, config: pytest.Config
) -> BackendChoice | None:
    """Open the backend named `backend` (never "auto": the plugin resolves it to "kfd", then "sim").

    Return a :class:`pytest_amdgpu.driver.backends.BackendChoice`, or None when `backend` is not yours.
    Raise :class:`pytest_amdgpu.driver.backends.BackendUnavailableError` when it is yours but cannot run here
    (that is what lets "auto" fall back from "kfd" to "sim"). The built-in "kfd" and "sim" backends, and
    any registered with ``driver.backends.register_backend``, are served by a ``trylast`` implementation.
    Stops at the first non-None result.
    """


@pytest.hookspec
def pytest_amdgpu_select_devices(devices: list[Device], config: pytest.Config) -> None:
    """Choose the GPUs the session tests: remove, reorder or add Device objects in `devices` in place.

    `devices` starts as every GPU of the backend; ``--amdgpu-devices`` is applied first (``tryfirst``).
    The result must be the same in every xdist worker, so decide from the topology and options only.
    """


@pytest.hookspec
def pytest_amdgpu_report_properties(device: Device, item: pytest.Item) -> list[tuple[str, object]] | None:
    """Properties to record for a test that runs on `device` (JUnit ``<property>`` entries).

    Called at collection for each test instance bound to one GPU; the built-in implementation adds
    the GPU index, name, gfx target, family, KFD interface version and backend.
    """


@pytest.hookspec
def pytest_amdgpu_failure_sections(
    item: pytest.Item, when: str, devices: list[Device]
) -> list[tuple[str, str]] | None:
    """Extra report sections (title, text) for a test phase that failed: e.g. a dump of each busy queue.

    `when` is "setup", "call" or "teardown"; `devices` are the GPUs the test used. The sections are
    shown with the failure and written to the JUnit record.
    """
