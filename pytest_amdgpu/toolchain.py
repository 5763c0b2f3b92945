"""External tools some checks need (gcc, LLVM): skip with a reason when missing, but never silently in CI."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "PYTEST_AMDGPU_REQUIRE_TOOLS"


def tools_required() -> bool:
    """CI installs every tool the oracles need, so there a missing tool is a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "") == "1" or os.environ.get("CI", "").lower() == "true"


def missing_tool(reason: str) -> None:
    """Skip the calling test with `reason`; fail it instead where tools are required."""
    if tools_required():
        pytest.fail(f"{reason} (required here: CI or {REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str, purpose: str) -> str:
    """The path of executable `name`, or skip/fail naming what it is needed for."""
    path = shutil.which(name)
    if path is None:
        missing_tool(f"{name} is not installed; {purpose}")
    return path or ""
