"""The pytest plugin: --amdgpu options and hooks; an --amdgpu run's per-test work lives in AmdgpuRun."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_amdgpu import hookspecs, leaks
from pytest_amdgpu.driver import DEFAULT_MACHINE, Device
from pytest_amdgpu.driver.backends import BackendChoice, backend_names, open_backend
from pytest_amdgpu.errors import AmdgpuError, ConfigurationError, LeakError
from pytest_amdgpu.markers import Requirements, automatic_markers, marker_help_lines
from pytest_amdgpu.reporting import ResultsByGpu, device_properties, selection_properties
from pytest_amdgpu.scheduling import GpuScheduling
from pytest_amdgpu.selection import describe_devices, device_id, parse_device_list, select_devices
from pytest_amdgpu.session import SESSION_KEY, AmdgpuSession, active_session

pytest_plugins = ["pytest_amdgpu.hangs", "pytest_amdgpu.fixtures"]

SUITES_PACKAGE = "pytest_amdgpu.suites"
RUN_PLUGIN_NAME = "amdgpu-run"


def bundled_suites_path() -> Path:
    """Where the bundled suites are installed (the repository's suites/ directory)."""
    import pytest_amdgpu.suites as suites

    return Path(suites.__file__).parent


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


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
        metavar="NAME",
        default=None,
        help="auto: real GPUs when /dev/kfd is usable, else the simulator (the header says which); "
        "kfd: real GPUs or fail the session; sim: the embedded simulator; plugins may add more "
        "(default: ini amdgpu_backend, else auto)",
    )
    group.addoption(
        "--amdgpu-machine",
        metavar="NAME",
        default=None,
        help=f"simulated machine for the simulator (default: ini amdgpu_machine, else {DEFAULT_MACHINE})",
    )
    group.addoption(
        "--amdgpu-devices",
        metavar="LIST",
        default=None,
        help="test only these GPUs: comma-separated indices, gfx targets or families, e.g. 0,2 or gfx942 "
        "or cdna3 (default: ini amdgpu_devices, else every GPU)",
    )
    group.addoption(
        "--amdgpu-report",
        metavar="DIR",
        default=None,
        help="also write one JUnit XML file per GPU into DIR: gpu0-gfx942.xml, ... "
        "(default: ini amdgpu_report)",
    )
    parser.addini("amdgpu_backend", "default for --amdgpu-backend", default="auto")
    parser.addini("amdgpu_machine", "default for --amdgpu-machine", default=DEFAULT_MACHINE)
    parser.addini("amdgpu_devices", "default for --amdgpu-devices", default="")
    parser.addini("amdgpu_report", "default for --amdgpu-report", default="")


# -- the built-in implementations of the plugin's own hooks ------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_amdgpu_make_transport(
    backend: str, machine: str | None, config: pytest.Config
) -> BackendChoice | None:
    """Serve "kfd", "sim" and every backend registered with driver.backends.register_backend()."""
    if backend == "auto" or backend not in backend_names():
        return None
    return open_backend(backend, machine)


@pytest.hookimpl(tryfirst=True)
def pytest_amdgpu_select_devices(devices: list[Device], config: pytest.Config) -> None:
    """Apply --amdgpu-devices (or ini amdgpu_devices)."""
    text = config.getoption("--amdgpu-devices") or config.getini("amdgpu_devices")
    if not text:
        return
    try:
        devices[:] = select_devices(devices, parse_device_list(text))
    except ConfigurationError as exc:
        raise ConfigurationError(f"--amdgpu-devices={text}: {exc}") from None


@pytest.hookimpl(tryfirst=True)  # the GPU's own properties come first in the record
def pytest_amdgpu_report_properties(device: Device, item: pytest.Item) -> list[tuple[str, object]]:
    """GPU index, gpu_id, name, gfx target, family, KFD interface version and backend."""
    session = active_session(item.config)
    return device_properties(device, session.backend_label if session else "none")


# -- configuration ----------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    for line in marker_help_lines():
        config.addinivalue_line("markers", line)
    if not config.getoption("--amdgpu"):
        return
    session = AmdgpuSession(config)
    try:
        session.open_backend()  # now: a backend that cannot run fails the session before collection
    except AmdgpuError as exc:
        raise pytest.UsageError(f"--amdgpu: cannot open GPUs: {exc}") from exc
    try:
        session.select()
    except AmdgpuError as exc:
        session.close()
        raise pytest.UsageError(str(exc)) from exc
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(AmdgpuRun(config, session), RUN_PLUGIN_NAME)
    if config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR:  # no paths, no ini testpaths
        config.args = [str(bundled_suites_path())]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --amdgpu, tests marked amdgpu skip (those using the GPU fixtures skip in the fixtures)."""
    if active_session(config) is not None:
        return
    for item in items:
        if item.get_closest_marker("amdgpu") is not None:
            item.add_marker(pytest.mark.skip(reason="AMD GPU tests run only with --amdgpu"))


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        del config.stash[SESSION_KEY]
        session.close()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_BEFORE_KEY = pytest.StashKey[leaks.Snapshot]()
_MARKER_ERROR_KEY = pytest.StashKey[str]()
_DEVICE_KEY = pytest.StashKey[Device]()


class AmdgpuRun:
    """The hooks of an --amdgpu run: parametrisation, markers, leak checks, scheduling and per-GPU results."""

    def __init__(self, config: pytest.Config, session: AmdgpuSession) -> None:
        self.config = config
        self.session = session
        self.results = ResultsByGpu(session.selection, session.backend_label)
        self.fixture_owned: dict[int, leaks.Snapshot] = {}  # resources made by fixtures wider than a test
        self.fixture_leaks: list[str] = []  # what wider fixtures left behind when they finished
        self.report_dir: Path | None = None
        report = config.getoption("--amdgpu-report") or config.getini("amdgpu_report")
        if report:
            self.report_dir = config.invocation_params.dir / report
        self.written_reports: list[Path] = []

    # -- header --------------------------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        selection = self.session.selection
        lines = [f"amdgpu: {selection.backend_description}"]
        if self.session.simulated:
            lines.append("amdgpu: *** RUNNING ON THE SIMULATOR, NOT ON REAL GPUS ***")
        major, minor = selection.kfd_version
        lines.append(f"amdgpu: KFD interface {major}.{minor}, {len(selection.device_set)} GPU(s)")
        lines.extend(
            f"amdgpu:   gpu{device.index}: {device.gfx} ({device.family}) node {device.node_index} "
            f"gpu_id {device.gpu_id}"
            for device in selection.device_set
        )
        if len(selection) != len(selection.device_set):
            lines.append(f"amdgpu: testing {describe_devices(selection)}")
        dist = config.getoption("dist", None)
        if dist not in (None, "no", "load"):
            lines.append(f"amdgpu: --dist={dist}: GPU ownership is off, several workers may share a GPU")
        return lines

    # -- collection ----------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "amdgpu_device" not in metafunc.fixturenames:
            return
        selection = self.session.selection
        metafunc.parametrize(
            "amdgpu_device",
            [device.index for device in selection],
            ids=[device_id(device) for device in selection],
            indirect=True,
            scope="session",
        )

    def _device_of(self, item: pytest.Item) -> Device | None:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "amdgpu_device" not in callspec.params:
            return None
        return self.session.selection.by_index(callspec.params["amdgpu_device"])

    @pytest.hookimpl(tryfirst=True)  # before -m deselects by the markers added here
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        selection = self.session.selection
        for item in items:
            device = self._device_of(item)
            marks = list(item.iter_markers("amdgpu"))
            if device is None and "amdgpu_devices" not in getattr(item, "fixturenames", ()) and not marks:
                continue
            try:
                if any(mark.args for mark in marks):
                    raise ConfigurationError("@pytest.mark.amdgpu takes keyword arguments only")
                requirements = Requirements.from_marker_kwargs(mark.kwargs for mark in marks)
            except AmdgpuError as exc:
                item.stash[_MARKER_ERROR_KEY] = str(exc)
                requirements = Requirements()
            for name in automatic_markers([device] if device is not None else list(selection), requirements):
                item.add_marker(name)
            if device is not None:
                item.stash[_DEVICE_KEY] = device
                for properties in config.hook.pytest_amdgpu_report_properties(device=device, item=item):
                    item.user_properties.extend(properties or ())
            else:
                item.user_properties.extend(selection_properties(selection, self.session.backend_label))
            reason = requirements.unmet(device, selection)
            if reason and _MARKER_ERROR_KEY not in item.stash:
                item.add_marker(pytest.mark.skip(reason=reason))

    # -- leak checks ---------------------------------------------------------------------------

    def _devices(self) -> list[Device]:
        return list(self.session.selection.device_set)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        item.stash[_BEFORE_KEY] = leaks.snapshot(self._devices())
        if _MARKER_ERROR_KEY in item.stash:
            pytest.fail(f"@pytest.mark.amdgpu: {item.stash[_MARKER_ERROR_KEY]}", pytrace=False)
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest
    ) -> Iterator[object]:
        if fixturedef.scope == "function":
            return (yield)
        before = leaks.snapshot(self._devices())
        try:
            return (yield)
        finally:
            made = leaks.difference(leaks.snapshot(self._devices()), before)
            self.fixture_owned[id(fixturedef)] = leaks.merge(
                [self.fixture_owned.get(id(fixturedef), {}), made]
            )

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest
    ) -> None:
        owned = self.fixture_owned.pop(id(fixturedef), None)
        if not owned:
            return
        alive = leaks.intersection(owned, leaks.snapshot(self._devices()))
        found, errors = leaks.release_all(alive)
        if found:
            owner = f"fixture {fixturedef.argname!r} ({fixturedef.scope} scope) "
            self.fixture_leaks.append(leaks.describe(found, errors, owner=owner))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        try:
            result = yield
        except BaseException:
            self._check_leaks(item)  # release them all the same; the teardown's own error is reported
            raise
        message = self._check_leaks(item)
        if message:
            raise LeakError(message)
        return result

    def _check_leaks(self, item: pytest.Item) -> str:
        before = item.stash.get(_BEFORE_KEY, None)
        if before is None:
            return ""
        exempt = leaks.merge(self.fixture_owned.values())
        found, errors = leaks.collect_leaks(before, self._devices(), exempt)
        messages = [*self.fixture_leaks, leaks.describe(found, errors)] if found else list(self.fixture_leaks)
        self.fixture_leaks.clear()
        return "; ".join(messages)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[pytest.TestReport]:
        report: pytest.TestReport = yield
        if call.when == "teardown" and call.excinfo is not None and call.excinfo.errisinstance(LeakError):
            report.longrepr = str(call.excinfo.value)
        if report.failed:
            device = item.stash.get(_DEVICE_KEY, None)
            devices = [device] if device is not None else self._devices()
            for sections in item.ihook.pytest_amdgpu_failure_sections(
                item=item, when=call.when, devices=devices
            ):
                for title, text in sections or ():
                    report.sections.append((f"amdgpu {title}", text))
        return report

    # -- xdist ---------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: object) -> GpuScheduling | None:
        """Under the default --dist load, route each GPU's tests to the worker that owns it."""
        if config.getvalue("dist") != "load":
            return None
        return GpuScheduling(config, log, self.session.selection.ids)

    # -- results -------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not _is_xdist_worker(self.config):
            self.results.add(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.report_dir is not None and not _is_xdist_worker(self.config):
            self.written_reports = self.results.write_junit(self.report_dir)

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost, so the table comes after pytest's own summary
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
        result = yield
        if not self.results.records:
            return result
        terminalreporter.write_sep("=", "amdgpu results per GPU")
        if self.written_reports:
            names = ", ".join(path.name for path in self.written_reports)
            where = self.config.getoption("--amdgpu-report") or self.config.getini("amdgpu_report")
            terminalreporter.write_line(f"per-GPU JUnit reports in {where}: {names}")
        for line in self.results.summary_lines():
            terminalreporter.write_line(line)
        return result


__all__ = ["AmdgpuRun", "bundled_suites_path"]
