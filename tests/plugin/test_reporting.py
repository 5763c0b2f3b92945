"""JUnit records name each test's GPU; --amdgpu-report writes a file per GPU; the summary shows a table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.reporting import ResultsByGpu

RunAmdgpu = Callable[..., pytest.RunResult]

MIXED_OUTCOMES = """
import pytest

def test_pass(amdgpu_device, record_property):
    record_property("bandwidth_gbs", 42)
    print("hello from", amdgpu_device.gfx)

def test_fail(amdgpu_device):
    assert amdgpu_device.index == 0, "only gpu0 passes"

@pytest.mark.amdgpu(gpus=16)
def test_skip(amdgpu_device):
    pass

def test_leak(amdgpu_device):
    if amdgpu_device.index == 1:
        amdgpu_device.alloc(4096, domain="gtt")

def test_shared(amdgpu_devices):
    pass
"""


def properties_of(element: ET.Element) -> dict[str, str]:
    return {prop.get("name"): prop.get("value") for prop in element.findall("properties/property")}


def test_junit_records_carry_the_gpu_properties(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_gpu(amdgpu_device): pass\ndef test_all(amdgpu_devices): pass")
    run_amdgpu("--junitxml=junit.xml", "--amdgpu-devices=1", ".", machine="mi250x").assert_outcomes(passed=2)
    cases = {case.get("name"): case for case in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    gpu = properties_of(cases["test_gpu[gpu1-gfx90a]"])
    assert gpu == {
        "amdgpu.gpu": "1",
        "amdgpu.gpu_id": gpu["amdgpu.gpu_id"],
        "amdgpu.name": "aldebaran",
        "amdgpu.gfx": "gfx90a",
        "amdgpu.family": "cdna2",
        "amdgpu.kfd_version": "1.18",
        "amdgpu.backend": "sim:mi250x",
    }
    assert int(gpu["amdgpu.gpu_id"]) > 0
    assert properties_of(cases["test_all"]) == {
        "amdgpu.gpus": "1",
        "amdgpu.kfd_version": "1.18",
        "amdgpu.backend": "sim:mi250x",
    }


@pytest.fixture
def per_gpu_run(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> tuple[pytest.RunResult, Path]:
    pytester.makepyfile(MIXED_OUTCOMES)
    result = run_amdgpu("--amdgpu-report=reports", "--amdgpu-devices=0,1", ".", machine="mi250x")
    return result, pytester.path / "reports"


def test_the_summary_ends_with_a_table_per_gpu(per_gpu_run: tuple[pytest.RunResult, Path]) -> None:
    result, _ = per_gpu_run
    result.stdout.fnmatch_lines(
        [
            "*= amdgpu results per GPU =*",
            "per-GPU JUnit reports in reports: gpu0-gfx90a.xml, gpu1-gfx90a.xml, all-gpus.xml",
            "GPU   gfx     passed  failed  skipped  errors",
            "gpu0  gfx90a       3       0        1       0",
            "gpu1  gfx90a       2       1        1       1",
            "all   -            1       0        0       0",
            "*= 1 failed, 6 passed, 2 skipped, 1 error in *",
        ],
        consecutive=True,
    )


def test_one_junit_file_per_gpu(per_gpu_run: tuple[pytest.RunResult, Path]) -> None:
    _, reports = per_gpu_run
    assert sorted(path.name for path in reports.iterdir()) == [
        "all-gpus.xml",
        "gpu0-gfx90a.xml",
        "gpu1-gfx90a.xml",
    ]
    suite = ET.parse(reports / "gpu1-gfx90a.xml").find("testsuite")
    assert suite.get("name") == "amdgpu gpu1-gfx90a"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    assert properties_of(suite)["amdgpu.gfx"] == "gfx90a" and properties_of(suite)["amdgpu.gpu"] == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {
        "test_pass[gpu1-gfx90a]",
        "test_fail[gpu1-gfx90a]",
        "test_skip[gpu1-gfx90a]",
        "test_leak[gpu1-gfx90a]",
    }

    passed = cases["test_pass[gpu1-gfx90a]"]
    assert properties_of(passed)["bandwidth_gbs"] == "42" and properties_of(passed)["amdgpu.gpu"] == "1"
    assert "hello from gfx90a" in passed.find("system-out").text
    assert float(passed.get("time")) > 0 and passed.get("classname") == "test_one_junit_file_per_gpu"

    failure = cases["test_fail[gpu1-gfx90a]"].find("failure")
    assert "only gpu0 passes" in failure.get("message") and "assert 1 == 0" in failure.text
    assert cases["test_skip[gpu1-gfx90a]"].find("skipped").get("message") == "needs 16 GPUs, 2 selected"
    error = cases["test_leak[gpu1-gfx90a]"].find("error")
    assert error.get("message").startswith("error at teardown: leaked 1 buffer: <Buffer gtt 4096 bytes")

    gpu0 = ET.parse(reports / "gpu0-gfx90a.xml").find("testsuite")
    assert (gpu0.get("tests"), gpu0.get("failures"), gpu0.get("errors")) == ("4", "0", "0")
    shared = ET.parse(reports / "all-gpus.xml").find("testsuite")
    assert [case.get("name") for case in shared.iter("testcase")] == ["test_shared"]


def test_a_report_without_properties_is_placed_by_its_test_id() -> None:
    # xdist makes the report of a crashed worker's test itself, without the item's properties.
    with driver.open_devices(backend="sim", machine="mi250x") as devices:
        results = ResultsByGpu(list(devices)[:2], "sim:mi250x")
        crash = pytest.TestReport(
            "test_x.py::test_a[gpu1-gfx90a]",
            ("test_x.py", None, "test_x.py"),
            {},
            "failed",
            "worker crashed",
            "???",
        )
        results.add(crash)
        results.add(
            pytest.TestReport("test_x.py::test_plain", ("test_x.py", 3, "t"), {}, "failed", "x", "call")
        )
        assert results.counts(1) == {"passed": 0, "failed": 1, "skipped": 0, "errors": 0}
        assert list(results.records) == ["test_x.py::test_a[gpu1-gfx90a]"]
