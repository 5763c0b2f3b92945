"""Other packages extend the plugin through its hooks: backends, device choice, report properties, dumps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver import backends
from pytest_amdgpu.errors import ConfigurationError

RunAmdgpu = Callable[..., pytest.RunResult]

FARM_CONFTEST = """
import pytest
from pytest_amdgpu.driver.backends import BackendChoice, BackendUnavailableError, sim_backend

@pytest.hookimpl
def pytest_amdgpu_make_transport(backend, machine, config):
    if backend == "farm":
        pretend = sim_backend("mi250x")
        return BackendChoice(pretend.transport, "the farm's rack 7", owns_transport=True)
    if backend == "kfd":
        raise BackendUnavailableError("backend 'kfd' is in maintenance", reason="node drained")
"""


def test_a_plugin_can_add_a_backend(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FARM_CONFTEST)
    pytester.makepyfile("def test_gpu(amdgpu_device): assert amdgpu_device.gfx == 'gfx90a'")
    result = pytester.runpytest("--amdgpu", "--amdgpu-backend=farm", ".")
    result.stdout.fnmatch_lines(["amdgpu: backend 'farm' requested: the farm's rack 7"])
    result.assert_outcomes(passed=8)


def test_auto_falls_back_when_the_kfd_hook_says_it_is_unavailable(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FARM_CONFTEST)
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    result = pytester.runpytest("--amdgpu", "--amdgpu-machine=rx7900xtx", ".")
    result.stdout.fnmatch_lines(
        ["amdgpu: no usable AMD GPU (node drained); using the simulator: simulated machine 'rx7900xtx'"]
    )
    result.assert_outcomes(passed=1)
    failed = pytester.runpytest("--amdgpu", "--amdgpu-backend=kfd", ".")
    assert failed.ret == pytest.ExitCode.USAGE_ERROR
    failed.stderr.fnmatch_lines(["*--amdgpu: cannot open GPUs: backend 'kfd' is in maintenance"])


def test_a_plugin_can_filter_the_devices(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_amdgpu_select_devices(devices, config):
            devices[:] = [device for device in devices if device.index % 2]  # after --amdgpu-devices
        """
    )
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    result = run_amdgpu("--amdgpu-devices=0,1,2,3", "-v", ".", machine="mi250x")
    result.stdout.fnmatch_lines(["*test_gpu?gpu1-gfx90a? PASSED*", "*test_gpu?gpu3-gfx90a? PASSED*"])
    result.assert_outcomes(passed=2)


def test_a_plugin_can_add_report_properties(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_amdgpu_report_properties(device, item):
            return [("farm.slot", f"slot-{device.index}")]
        """
    )
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    run_amdgpu("--junitxml=junit.xml", "--amdgpu-devices=1", ".", machine="mi250x").assert_outcomes(passed=1)
    xml = (pytester.path / "junit.xml").read_text()
    assert '<property name="farm.slot" value="slot-1" />' in xml
    assert '<property name="amdgpu.gfx" value="gfx90a" />' in xml


def test_a_plugin_can_add_sections_to_a_failure(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    # This is where the hang dump of each busy queue plugs in.
    pytester.makeconftest(
        """
        def pytest_amdgpu_failure_sections(item, when, devices):
            return [("queue dump", f"{when}: " + ", ".join(f"gpu{device.index}" for device in devices))]
        """
    )
    pytester.makepyfile(
        "def test_hangs(amdgpu_device): assert False, 'wait timed out'\ndef test_ok(amdgpu_device): pass"
    )
    result = run_amdgpu("--amdgpu-report=reports", ".", machine="rx7900xtx")
    result.stdout.fnmatch_lines(["*- amdgpu queue dump -*", "call: gpu0"])
    result.assert_outcomes(passed=1, failed=1)
    assert (
        "--- amdgpu queue dump ---\ncall: gpu0"
        in (pytester.path / "reports" / "gpu0-gfx1100.xml").read_text()
    )


def test_the_driver_registry_serves_backends_without_pytest() -> None:
    def pretend(machine: str | None) -> backends.BackendChoice:
        choice = backends.sim_backend("rx9070xt")
        return backends.BackendChoice(choice.transport, "a pretend card", owns_transport=True)

    backends.register_backend("pretend", pretend)
    try:
        assert "pretend" in backends.backend_names()
        with driver.open_devices(backend="pretend") as devices:
            assert devices.backend_description == "backend 'pretend' requested: a pretend card"
            assert devices[0].gfx == "gfx1201"
        with pytest.raises(ConfigurationError, match="already registered"):
            backends.register_backend("pretend", pretend)
    finally:
        backends.unregister_backend("pretend")
    with pytest.raises(ConfigurationError, match="'auto' is the rule"):
        backends.register_backend("auto", pretend)
    with pytest.raises(ConfigurationError, match="unknown backend 'pretend': expected one of auto, kfd, sim"):
        driver.open_devices(backend="pretend")
