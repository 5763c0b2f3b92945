"""Results per GPU: JUnit properties of a test's GPU, per-GPU JUnit files (junit-xml), the summary table."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import junit_xml
import pytest

from pytest_amdgpu.driver import Device
from pytest_amdgpu.scheduling import bound_gpu
from pytest_amdgpu.selection import DeviceSelection, device_id

GPU_PROPERTY = "amdgpu.gpu"  # the index of the one GPU a test instance runs on
GPUS_PROPERTY = "amdgpu.gpus"  # the indices of the GPUs a test that is not bound to one GPU may use
SHARED_FILE_STEM = "all-gpus"  # the per-GPU report of tests bound to no single GPU
COUNTED = ("passed", "failed", "skipped", "errors")


def device_properties(device: Device, backend_label: str) -> list[tuple[str, object]]:
    """The JUnit properties naming the GPU a test ran on and how it was reached."""
    major, minor = device.kfd_version
    return [
        (GPU_PROPERTY, device.index),
        ("amdgpu.gpu_id", device.gpu_id),
        ("amdgpu.name", device.name),
        ("amdgpu.gfx", device.gfx),
        ("amdgpu.family", device.family),
        ("amdgpu.kfd_version", f"{major}.{minor}"),
        ("amdgpu.backend", backend_label),
    ]


def selection_properties(selection: DeviceSelection, backend_label: str) -> list[tuple[str, object]]:
    """The JUnit properties of a test that may use every selected GPU."""
    major, minor = selection.kfd_version
    return [
        (GPUS_PROPERTY, ",".join(str(device.index) for device in selection)),
        ("amdgpu.kfd_version", f"{major}.{minor}"),
        ("amdgpu.backend", backend_label),
    ]


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        return str(report.longrepr[2])
    return str(report.longrepr).splitlines()[0] if report.longrepr else ""


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    return _message(report).removeprefix("Skipped: ")


@dataclass
class TestRecord:
    """Every phase report of one test, merged into what a JUnit testcase and the summary table need."""

    __test__ = False  # not a pytest test class

    nodeid: str
    line: int | None
    gpu: int | None
    properties: list[tuple[str, object]]
    duration_s: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    failures: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: str | None = None
    stdout: str = ""
    stderr: str = ""

    def add(self, report: pytest.TestReport) -> None:
        self.duration_s += report.duration
        # Each phase's report repeats the output and properties of the phases before it: keep the latest.
        self.stdout, self.stderr = report.capstdout, report.capstderr
        self.properties = [tuple(pair) for pair in report.user_properties]
        text = report.longreprtext
        for title, content in report.sections:
            if title.startswith("amdgpu"):
                text += f"\n--- {title} ---\n{content}"
        if report.skipped:
            self.counts["skipped"] += 1
            self.skipped = _skip_reason(report)
        elif report.failed and report.when not in ("setup", "teardown"):  # xdist reports a crash as "???"
            self.counts["failed"] += 1
            self.failures.append((_message(report), text))
        elif report.failed:
            self.counts["errors"] += 1
            self.errors.append((f"error at {report.when}: {_message(report)}", text))
        elif report.when == "call":
            self.counts["passed"] += 1

    def junit_case(self) -> junit_xml.TestCase:
        path, *names = self.nodeid.split("::")
        module = path.removesuffix(".py").replace("/", ".")
        case = junit_xml.TestCase(
            names[-1] if names else path,
            classname=".".join([module, *names[:-1]]),
            elapsed_sec=self.duration_s,
            stdout=self.stdout or None,
            stderr=self.stderr or None,
            file=path,
            line=self.line,
            allow_multiple_subelements=True,
        )
        for message, output in self.failures:
            case.add_failure_info(message=message, output=output)
        for message, output in self.errors:
            case.add_error_info(message=message, output=output)
        if self.skipped is not None and not self.failures and not self.errors:
            case.add_skipped_info(message=self.skipped)
        return case


def _gpu_of(properties: dict[str, object]) -> int | None:
    value = properties.get(GPU_PROPERTY)
    return None if value is None else int(value)


class ResultsByGpu:
    """Test results of an --amdgpu run grouped by GPU; fed every TestReport (xdist workers' ones included)."""

    def __init__(self, selection: Sequence[Device], backend_label: str) -> None:
        self.selection = list(selection)
        self.backend_label = backend_label
        self.records: dict[str, TestRecord] = {}

    def add(self, report: pytest.TestReport) -> None:
        properties = [tuple(pair) for pair in report.user_properties]
        named = dict(properties)
        if GPU_PROPERTY not in named and GPUS_PROPERTY not in named:
            # A report made without the item (xdist's for a crashed worker) is placed by its test id.
            gpu = bound_gpu(report.nodeid, [device_id(device) for device in self.selection])
            if gpu is None:
                return  # not a GPU test
            device = next(device for device in self.selection if device_id(device) == gpu)
            report.user_properties = properties = device_properties(device, self.backend_label)
            named = dict(properties)
        record = self.records.get(report.nodeid)
        if record is None:
            line = report.location[1] + 1 if report.location[1] is not None else None
            record = TestRecord(report.nodeid, line, _gpu_of(named), properties)
            self.records[report.nodeid] = record
        record.add(report)

    def _records_of(self, gpu: int | None) -> list[TestRecord]:
        return [record for record in self.records.values() if record.gpu == gpu]

    def counts(self, gpu: int | None) -> dict[str, int]:
        totals = dict.fromkeys(COUNTED, 0)
        for record in self._records_of(gpu):
            for name, count in record.counts.items():
                totals[name] += count
        return totals

    def summary_lines(self) -> list[str]:
        """The per-GPU table: GPU, gfx, passed, failed, skipped, errors."""
        rows = [(f"gpu{device.index}", device.gfx, self.counts(device.index)) for device in self.selection]
        if self._records_of(None):
            rows.append(("all", "-", self.counts(None)))
        header = ("GPU", "gfx", *COUNTED)
        table = [header] + [(gpu, gfx, *(str(counts[name]) for name in COUNTED)) for gpu, gfx, counts in rows]
        widths = [max(len(row[column]) for row in table) for column in range(len(header))]
        return [
            "  ".join(
                cell.ljust(width) if column < 2 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in table
        ]

    def write_junit(self, directory: Path) -> list[Path]:
        """One JUnit XML file per selected GPU (gpu0-gfx942.xml), plus all-gpus.xml for shared tests."""
        directory.mkdir(parents=True, exist_ok=True)
        suites: list[tuple[str, int | None, list[tuple[str, object]]]] = [
            (device_id(device), device.index, device_properties(device, self.backend_label))
            for device in self.selection
        ]
        if self._records_of(None):
            suites.append((SHARED_FILE_STEM, None, [("amdgpu.backend", self.backend_label)]))
        written = []
        for stem, gpu, suite_properties in suites:
            path = directory / f"{stem}.xml"
            self._write_suite(path, f"amdgpu {stem}", self._records_of(gpu), suite_properties)
            written.append(path)
        return written

    @staticmethod
    def _write_suite(
        path: Path, name: str, records: list[TestRecord], suite_properties: list[tuple[str, object]]
    ) -> None:
        suite = junit_xml.TestSuite(
            name,
            [record.junit_case() for record in records],
            hostname=socket.gethostname(),
            properties={key: str(value) for key, value in suite_properties},
        )
        # junit-xml has no per-testcase properties; add them to the document it builds, in case order.
        root = ET.fromstring(junit_xml.to_xml_report_string([suite], prettyprint=False))
        for element, record in zip(root.iter("testcase"), records, strict=True):
            properties = ET.Element("properties")
            for key, value in record.properties:
                ET.SubElement(properties, "property", name=str(key), value=str(value))
            element.insert(0, properties)
        ET.indent(root)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
