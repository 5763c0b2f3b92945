"""The README's examples run as written: the driver example, and the test example under pytest --amdgpu."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["pip install . && pytest --amdgpu", "pip install -e '.[test]' && python -m pytest"]
    assert "pip install -e '.[test]' && python -m pytest" in (README.parent / ".ci" / "run").read_text()


def test_the_driver_example_runs() -> None:
    driver_example = next(block for block in python_blocks() if "open_devices" in block)
    exec(compile(driver_example, str(README), "exec"), {})


def test_the_test_example_passes_under_amdgpu(pytester: pytest.Pytester) -> None:
    test_example = next(block for block in python_blocks() if "def test_" in block)
    pytester.makepyfile(test_example)
    result = pytester.runpytest_subprocess(
        "--amdgpu", "--amdgpu-machine=rx7900xtx", "-p", "no:cacheprovider", "."
    )
    result.assert_outcomes(passed=1)


def test_every_driver_method_the_readme_names_exists() -> None:
    from pytest_amdgpu.driver import Buffer, Device
    from pytest_amdgpu.driver.queues import ComputeQueue, Queue

    classes = {"Buffer": Buffer, "Device": Device, "ComputeQueue": ComputeQueue, "Queue": Queue}
    named = re.findall(r"`(Buffer|Device|ComputeQueue|Queue)\.(\w+)", README.read_text())
    assert len(named) >= 8
    missing = [f"{owner}.{name}" for owner, name in named if not hasattr(classes[owner], name)]
    assert missing == []
