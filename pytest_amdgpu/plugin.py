"""The pytest plugin: `--amdgpu` options, the session's GPUs, device fixtures and the bundled suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amdgpu.driver import BACKENDS, DEFAULT_MACHINE, Device, DeviceSet, open_devices
from pytest_amdgpu.errors import AmdgpuError

SUITES_PACKAGE = "pytest_amdgpu.suites"


def bundled_suites_path() -> Path:
    """Where the bundled suites are installed (the repository's suites/ directory)."""
    import pytest_amdgpu.suites as suites

    return Path(suites.__file__).parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amdgpu", "AMD GPU conformance testing (pytest-amdgpu)")
    group.addoption(
        "--amdgpu",
        action="store_true",
        default=False,
        help="enable pytest-amdgpu; with no test paths, run the bundled conformance suites",
    )
    group.addoption(
        "--amdgpu-backend",
        choices=BACKENDS,
        default=None,
        help="auto: real GPUs when /dev/kfd is usable, else the simulator; kfd: real GPUs or fail; "
        "sim: the embedded simulator (default: ini amdgpu_backend, else auto)",
    )
    group.addoption(
        "--amdgpu-machine",
        default=None,
        help=f"simulated machine for the simulator (default: ini amdgpu_machine, else {DEFAULT_MACHINE})",
    )
    parser.addini("amdgpu_backend", "default for --amdgpu-backend", default="auto")
    parser.addini("amdgpu_machine", "default for --amdgpu-machine", default=DEFAULT_MACHINE)


class AmdgpuSession:
    """The GPUs of one pytest session (per xdist worker), opened on first use and closed at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.backend = config.getoption("--amdgpu-backend") or config.getini("amdgpu_backend")
        self.machine = config.getoption("--amdgpu-machine") or config.getini("amdgpu_machine")
        self._devices: DeviceSet | None = None

    def open(self) -> DeviceSet:
        if self._devices is None:
            self._devices = open_devices(backend=self.backend, machine=self.machine)
        return self._devices

    @property
    def devices(self) -> DeviceSet:
        return self.open()

    def close(self) -> None:
        if self._devices is not None:
            self._devices.close()
            self._devices = None


_SESSION_KEY = pytest.StashKey[AmdgpuSession]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "amdgpu: a test that needs AMD GPUs (runs with --amdgpu, on real GPUs or the simulator)"
    )
    if not config.getoption("--amdgpu"):
        return
    session = AmdgpuSession(config)
    try:
        session.open()  # now: a backend that cannot run fails the session before collection
    except AmdgpuError as exc:
        raise pytest.UsageError(f"--amdgpu: cannot open GPUs: {exc}") from exc
    config.stash[_SESSION_KEY] = session
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(bundled_suites_path())]


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION_KEY, None)
    if session is not None:
        session.close()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    session = config.stash.get(_SESSION_KEY, None)
    if session is None:
        return None
    devices = session.devices
    lines = [f"amdgpu: {devices.backend_description}"]
    if devices.transport.name.startswith("sim:"):
        lines.append("amdgpu: *** RUNNING ON THE SIMULATOR, NOT ON REAL GPUS ***")
    major, minor = devices.kfd_version
    lines.append(f"amdgpu: KFD interface {major}.{minor}, {len(devices)} GPU(s)")
    lines.extend(
        f"amdgpu:   gpu{device.index}: {device.gfx} ({device.family}) node {device.node_index} "
        f"gpu_id {device.gpu_id}"
        for device in devices
    )
    return lines


def _session(config: pytest.Config) -> AmdgpuSession:
    session = config.stash.get(_SESSION_KEY, None)
    if session is None:
        pytest.skip("AMD GPU tests run only with --amdgpu")
    return session


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "amdgpu_device" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(_SESSION_KEY, None)
    if session is None:
        return  # the fixture skips with a reason
    devices = session.devices
    metafunc.parametrize(
        "amdgpu_device",
        list(range(len(devices))),
        ids=[f"gpu{device.index}-{device.gfx}" for device in devices],
        indirect=True,
        scope="session",
    )


@pytest.fixture(scope="session")
def amdgpu_devices(request: pytest.FixtureRequest) -> DeviceSet:
    """Every selected GPU, opened once per session."""
    return _session(request.config).devices


@pytest.fixture(scope="session")
def amdgpu_device(request: pytest.FixtureRequest) -> Device:
    """One GPU; tests that use it run once per selected GPU (ids such as gpu0-gfx942)."""
    devices = _session(request.config).devices
    return devices[getattr(request, "param", 0)]
