"""The plugin as a user or a farm runs it: options, backends, the header and the bundled suites."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from pytest_amdgpu.kfd.transport import KFD_DEVICE_PATH

RunAmdgpu = Callable[..., pytest.RunResult]
HAS_KFD = os.path.exists(KFD_DEVICE_PATH)
needs_no_kfd = pytest.mark.skipif(HAS_KFD, reason="this machine has a real /dev/kfd, so 'auto' picks it")


@needs_no_kfd
def test_amdgpu_with_no_paths_runs_the_bundled_suites_on_the_simulator(pytester: pytest.Pytester) -> None:
    # pytester's directory is empty: the suites come from the installed package.
    result = pytester.runpytest_subprocess("--amdgpu", "--amdgpu-machine=rx7900xtx", "-p", "no:cacheprovider")
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
    assert outcomes.get("passed", 0) >= 20 and "failed" not in outcomes and "errors" not in outcomes
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.skipif(HAS_KFD, reason="this machine has a real /dev/kfd")
def test_kfd_backend_without_a_gpu_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(amdgpu_device): pass")
    result = pytester.runpytest_subprocess("--amdgpu", "--amdgpu-backend=kfd", ".")
    result.stderr.fnmatch_lines(["*--amdgpu: cannot open GPUs: backend 'kfd' needs a usable AMD GPU, but*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "passed" not in result.stdout.str()


def test_an_unknown_backend_is_a_usage_error_naming_the_known_ones(run_amdgpu: RunAmdgpu) -> None:
    result = run_amdgpu("--amdgpu-backend=cuda", ".")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown backend 'cuda': known backends are auto, kfd, sim, and no installed plugin*"]
    )


def test_settings_come_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\namdgpu_backend = sim\namdgpu_machine = mi250x\namdgpu_devices = 1,3\n")
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    result = pytester.runpytest("--amdgpu", "-v", ".")
    result.stdout.fnmatch_lines(
        [
            "amdgpu: backend 'sim' requested: simulated machine 'mi250x'",
            "amdgpu: testing gfx90a (cdna2): gpu1, gpu3",
            "*test_gpu?gpu1-gfx90a? PASSED*",
            "*test_gpu?gpu3-gfx90a? PASSED*",
        ]
    )
    result.assert_outcomes(passed=2)


def test_ini_testpaths_are_run_instead_of_the_bundled_suites(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestpaths = mine\n")
    pytester.mkdir("mine")
    pytester.makepyfile(**{"mine/test_mine": "def test_mine(amdgpu_devices): pass"})
    result = pytester.runpytest("--amdgpu", "--amdgpu-backend=sim", "--amdgpu-machine=rx7900xtx")
    result.assert_outcomes(passed=1)


def test_device_fixture_is_parametrised_per_gpu(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_gfx(amdgpu_device):
            assert amdgpu_device.gfx == "gfx90a"

        def test_all(amdgpu_devices):
            assert len(amdgpu_devices) == 8
        """
    )
    result = run_amdgpu("-v", ".", machine="mi250x")
    result.stdout.fnmatch_lines(["*test_gfx?gpu0-gfx90a? PASSED*", "*test_gfx?gpu7-gfx90a? PASSED*"])
    result.assert_outcomes(passed=9)


def test_device_ids_combine_with_other_parameters(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("domain", ["vram", "gtt"])
        def test_alloc(amdgpu_device, domain):
            amdgpu_device.alloc(64, domain=domain).free()
        """
    )
    result = run_amdgpu("--collect-only", "-q", ".", machine="mi300x")
    result.stdout.fnmatch_lines(["*test_alloc?gpu0-gfx942-vram?", "*test_alloc?gpu7-gfx942-gtt?"])


def test_without_amdgpu_gpu_tests_skip_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_needs_gpu(amdgpu_device): pass

        def test_buffer(gpu_buffer): pass

        @pytest.mark.amdgpu(gpus=1)
        def test_marked(): pass

        def test_plain(): pass
        """
    )
    result = pytester.runpytest("-rs")
    result.stdout.fnmatch_lines(["*AMD GPU tests run only with --amdgpu*"])
    result.assert_outcomes(passed=1, skipped=3)


def test_options_and_markers_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*AMD GPU conformance testing*",
            "*--amdgpu *",
            "*--amdgpu-backend=NAME*",
            "*--amdgpu-machine=NAME*",
            "*--amdgpu-devices=LIST*",
            "*--amdgpu-report=DIR*",
            "*amdgpu_devices (string)*",
        ]
    )
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.amdgpu(gfx=None, family=None, gpus=None, xgmi=None, min_vram=None):*",
            "@pytest.mark.multi_gpu:*",
            "@pytest.mark.xgmi:*",
            "@pytest.mark.gfx942: added to test instances running on a gfx942 GPU*",
            "@pytest.mark.cdna3: added to test instances running on a cdna3 GPU (gfx942)",
            "@pytest.mark.rdna3_5:*",
            "@pytest.mark.gfx1201:*",
        ]
    )
