"""amdgpu-info lists the GPUs a backend sees, like a short rocminfo, and fails with a clear message."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from pytest_amdgpu.cli import main
from pytest_amdgpu.kfd.transport import KFD_DEVICE_PATH


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_a_simulated_xgmi_hive_is_listed_gpu_by_gpu() -> None:
    status, out, err = run("--backend", "sim", "--machine", "mi300x")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:3] == [
        "backend 'sim' requested: simulated machine 'mi300x'",
        "KFD interface 1.18, 8 GPU(s)",
        "",
    ]
    gpu0 = lines[3 : lines.index("", 3)]
    assert gpu0[0].startswith("gpu0  node 2  gpu_id ")
    assert gpu0[1:] == [
        "  name          gfx942",
        "  gfx target    gfx942 (cdna3)",
        "  compute units 304",
        "  VRAM          192 GiB",
        "  SDMA engines  2 (+14 xgmi)",
        "  XGMI peers    gpu1, gpu2, gpu3, gpu4, gpu5, gpu6, gpu7",
    ]
    assert "gpu7  node 9  gpu_id " in out and "XGMI peers    gpu0, gpu1, gpu2, gpu3, gpu4, gpu5, gpu6" in out


def test_a_single_consumer_card_has_no_peers() -> None:
    status, out, _ = run("--backend=sim", "--machine=rx7900xtx")
    assert status == 0
    assert "  gfx target    gfx1100 (rdna3)\n" in out and "  VRAM          24 GiB\n" in out
    assert "  SDMA engines  2\n" in out and "  XGMI peers    none\n" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--backend", "sim", "--machine", "mi999"), "amdgpu-info: error: unknown simulated machine 'mi999'"),
        (("--backend", "cuda"), "amdgpu-info: error: unknown backend 'cuda': expected one of auto, kfd, sim"),
    ],
)
def test_failures_exit_non_zero_with_the_reason(argv: tuple[str, ...], message: str) -> None:
    status, out, err = run(*argv)
    assert status == 1 and out == ""
    assert err.startswith(message)


@pytest.mark.skipif(os.path.exists(KFD_DEVICE_PATH), reason="this machine has a real /dev/kfd")
def test_the_kfd_backend_without_a_gpu_says_why() -> None:
    status, _, err = run("--backend", "kfd")
    assert status == 1
    assert err.startswith(
        "amdgpu-info: error: backend 'kfd' needs a usable AMD GPU, but /dev/kfd does not exist"
    )


def test_it_runs_as_a_program() -> None:
    # The amdgpu-info console script calls the same main(); this runs it the way the script does.
    completed = subprocess.run(
        [sys.executable, "-m", "pytest_amdgpu.cli", "--list-machines"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0
    assert {"mi300x", "mi250x", "rx7900xtx"} <= set(completed.stdout.split())
