"""The pytest plugin, driven through pytester the way a user or a farm runs it."""

from __future__ import annotations

import os

import pytest

from pytest_amdgpu.kfd.transport import KFD_DEVICE_PATH

pytestmark = pytest.mark.skipif(os.path.exists(KFD_DEVICE_PATH), reason="this machine has a real /dev/kfd")


def test_amdgpu_with_no_paths_runs_the_bundled_suites_on_the_simulator(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--amdgpu", "--amdgpu-machine=rx7900xtx")
    result.stdout.fnmatch_lines(
        [
            "amdgpu: no usable AMD GPU*using the simulator: simulated machine 'rx7900xtx'",
            "amdgpu: *** RUNNING ON THE SIMULATOR, NOT ON REAL GPUS ***",
            "amdgpu: KFD interface 1.18, 1 GPU(s)",
            "amdgpu:   gpu0: gfx1100 (rdna3) node 1 gpu_id *",
            "*test_memory.py*",
            "*test_topology.py*",
        ]
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 20 and "failed" not in outcomes and "error" not in outcomes
    assert result.ret == 0


def test_kfd_backend_without_a_gpu_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(amdgpu_device): pass")
    result = pytester.runpytest_subprocess("--amdgpu", "--amdgpu-backend=kfd")
    result.stderr.fnmatch_lines(["*--amdgpu: cannot open GPUs: backend 'kfd' needs a usable AMD GPU, but*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_device_fixture_is_parametrised_per_gpu(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_gfx(amdgpu_device):
            assert amdgpu_device.gfx == "gfx90a"

        def test_all(amdgpu_devices):
            assert len(amdgpu_devices) == 8
        """
    )
    pytester.makeini("[pytest]\namdgpu_machine = mi250x\n")
    result = pytester.runpytest_subprocess("--amdgpu", "-v", ".")
    result.stdout.fnmatch_lines(["*test_gfx?gpu0-gfx90a? PASSED*", "*test_gfx?gpu7-gfx90a? PASSED*"])
    result.assert_outcomes(passed=9)


def test_without_amdgpu_device_tests_skip_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_gpu(amdgpu_device): pass")
    result = pytester.runpytest_subprocess("-rs")
    result.stdout.fnmatch_lines(["*AMD GPU tests run only with --amdgpu*"])
    result.assert_outcomes(skipped=1)


def test_options_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*AMD GPU conformance testing*", "*--amdgpu *", "*--amdgpu-backend=*"])
    markers = pytester.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.amdgpu:*"])
