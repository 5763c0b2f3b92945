"""Helpers for the plugin's own tests: run pytest with --amdgpu on a simulated machine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

RunAmdgpu = Callable[..., pytest.RunResult]

# Plugins the inner runs do not need; hypothesis's re-imports itself on every in-process run (~1 s).
QUIET_PLUGINS = "-p no:cacheprovider -p no:hypothesispytest -p no:benchmark"


@pytest.fixture(autouse=True)
def quiet_inner_runs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
        monkeypatch.setenv("PYTEST_ADDOPTS", QUIET_PLUGINS)


@pytest.fixture
def run_amdgpu(pytester: pytest.Pytester) -> RunAmdgpu:
    """run_amdgpu(*args, machine=..., subprocess=False): pytest --amdgpu on a simulated machine."""

    def run(*args: str, machine: str = "mi300x", subprocess: bool = False) -> pytest.RunResult:
        argv = ["--amdgpu", "--amdgpu-backend=sim", f"--amdgpu-machine={machine}", *args]
        if subprocess:
            return pytester.runpytest_subprocess(*argv)
        return pytester.runpytest(*argv)

    return run
