"""suites/COVERAGE.md stays true: its summary counts its rows, and every bundled test it names exists."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

SUITES = Path(__file__).resolve().parents[2] / "suites"
STATUSES = ("covered", "partly", "not yet", "n/a")


def _rows() -> list[list[str]]:
    """[group, test, status, why] of every row, the group from the `## Group (n)` heading above it."""
    rows, group = [], ""
    for line in (SUITES / "COVERAGE.md").read_text().splitlines():
        heading = re.match(r"## (\w+) \((\d+)\)$", line)
        if heading:
            group = heading.group(1)
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 3 and cells[1] in STATUSES:
            rows.append([group, *cells])
    return rows


def test_the_summary_counts_the_rows() -> None:
    text = (SUITES / "COVERAGE.md").read_text()
    counted = Counter(status for _, _, status, _ in _rows())
    for status in STATUSES:
        summary = re.search(rf"^\| {re.escape(status)} \| (\d+) \|$", text, re.MULTILINE)
        assert summary is not None, f"no summary line for {status!r}"
        assert int(summary.group(1)) == counted[status], status
    assert sum(counted.values()) == 168  # kfdtest's TEST_F/TEST_P/TEST names
    assert len({(group, name) for group, name, _, _ in _rows()}) == 168
    for group, count in re.findall(r"^## (\w+) \((\d+)\)$", text, re.MULTILINE):
        assert sum(row[0] == group for row in _rows()) == int(count), group


def test_every_named_bundled_test_exists() -> None:
    defined: dict[str, set[str]] = {}
    for path in SUITES.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        defined[path.name] = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    named = [
        (file, test)
        for _, _, status, why in _rows()
        if status in ("covered", "partly")
        for file, test in re.findall(r"`(test_\w+\.py)::(test_\w+)[^`]*`", why)
    ]
    assert named
    missing = [f"{file}::{test}" for file, test in named if test not in defined.get(file, set())]
    assert missing == []
    rows = {(group, name): why for group, name, _, why in _rows()}
    for group, name, status, why in _rows():
        if status in ("covered", "partly"):
            like = re.match(r"as (\w+)", why)  # "as OtherTest": the same bundled test as that row
            if like:
                why = rows[(group, like.group(1))]
            assert re.search(r"`test_\w+\.py::test_\w+[^`]*`", why), f"{name} is {status} but names no test"
