"""A fresh build with the recorded LLVM reproduces every committed code object byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_amdgpu import kernels
from pytest_amdgpu.toolchain import require_executable

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_kernels.py"


def _targets_by_major() -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for name, entry in kernels.build_info()["targets"].items():
        grouped.setdefault(entry["llvm_major"], []).append(name)
    return grouped


@pytest.mark.parametrize("major", sorted(_targets_by_major()), ids=lambda major: f"llvm-{major}")
def test_rebuild_matches_the_committed_objects(major, tmp_path):
    if not BUILD_SCRIPT.is_file():
        pytest.skip("scripts/build_kernels.py is not here (an installed package, not a checkout)")
    purpose = f"rebuilding the bundled kernels needs LLVM {major} (apt-get install llvm-{major} lld-{major})"
    for tool in ("llvm-mc", "ld.lld", "llvm-objcopy"):
        require_executable(f"{tool}-{major}", purpose)
    targets = _targets_by_major()[major]
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(tmp_path), "--targets", ",".join(targets)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    info = kernels.build_info()["targets"]
    rebuilt_info = json.loads((tmp_path / "BUILD_INFO").read_text())["targets"]
    differing = []
    for name in targets:
        committed = kernels.code_object_path(name).read_bytes()
        rebuilt = (tmp_path / f"{name}.hsaco").read_bytes()
        if committed != rebuilt:
            differing.append(
                f"{name} (committed with LLVM {info[name]['llvm_version']}, rebuilt with "
                f"{rebuilt_info[name]['llvm_version']})"
            )
    assert not differing, (
        "rebuilt code objects differ from the committed ones: "
        + ", ".join(differing)
        + "; run python scripts/build_kernels.py and commit pytest_amdgpu/kernels/bin"
    )
