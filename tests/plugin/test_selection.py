"""--amdgpu-devices picks GPUs by index, gfx target or family; an entry matching nothing is a usage error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.selection import describe_devices, parse_device_list, select_devices, xgmi_peers

RunAmdgpu = Callable[..., pytest.RunResult]


@dataclass
class FakeDevice:
    index: int
    gfx: str
    family: str


# A heterogeneous box no simulated machine has: two MI300X, a 7900 XTX and a 9070 XT.
MIXED = [
    FakeDevice(0, "gfx942", "cdna3"),
    FakeDevice(1, "gfx942", "cdna3"),
    FakeDevice(2, "gfx1100", "rdna3"),
    FakeDevice(3, "gfx1201", "rdna4"),
]


def indices(devices) -> list[int]:
    return [device.index for device in devices]


def test_the_list_is_comma_separated_and_case_blind() -> None:
    assert parse_device_list(" 0, GFX942 ,,cdna3 ") == ["0", "gfx942", "cdna3"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["2"], [2]),
        (["3", "0"], [0, 3]),  # index order, whatever the order asked
        (["gfx942"], [0, 1]),
        (["gfx1100:xnack-"], [2]),  # target-id features are ignored
        (["rdna3", "rdna4"], [2, 3]),
        (["cdna3", "1"], [0, 1]),  # overlaps count once
    ],
)
def test_entries_select_by_index_target_or_family(entries: list[str], expected: list[int]) -> None:
    assert indices(select_devices(MIXED, entries)) == expected


def test_an_entry_matching_nothing_names_what_exists() -> None:
    with pytest.raises(ConfigurationError) as failure:
        select_devices(MIXED, ["0", "gfx90a"])
    message = str(failure.value)
    assert "'gfx90a' matches no GPU" in message
    assert "gfx942 (cdna3): gpu0, gpu1; gfx1100 (rdna3): gpu2; gfx1201 (rdna4): gpu3" in message
    assert describe_devices([]) == "no GPU"


def test_xgmi_peers_follow_the_topology_links() -> None:
    with driver.open_devices(backend="sim", machine="mi300x") as devices:
        assert indices(xgmi_peers(devices[0], devices)) == [1, 2, 3, 4, 5, 6, 7]
        assert xgmi_peers(devices[0], [devices[0]]) == []
    with driver.open_devices(backend="sim", machine="rx7900xtx") as devices:
        assert xgmi_peers(devices[0], devices) == []


def test_selected_gpus_are_the_only_instances(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_gpu(amdgpu_device):
            pass

        def test_all(amdgpu_devices):
            assert [device.index for device in amdgpu_devices] == [0, 2]
        """
    )
    result = run_amdgpu("--amdgpu-devices=0,2", "-v", ".", machine="mi250x")
    result.stdout.fnmatch_lines(
        [
            "amdgpu: testing gfx90a (cdna2): gpu0, gpu2",
            "*test_gpu?gpu0-gfx90a? PASSED*",
            "*test_gpu?gpu2-gfx90a? PASSED*",
        ]
    )
    result.assert_outcomes(passed=3)


def test_selection_by_family_keeps_every_matching_gpu(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    run_amdgpu("--amdgpu-devices=cdna3", ".", machine="mi300x").assert_outcomes(passed=8)


def test_an_unmatched_selection_is_a_usage_error(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_gpu(amdgpu_device): pass")
    result = run_amdgpu("--amdgpu-devices=0,gfx1100", ".", machine="mi300x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--amdgpu-devices=0,gfx1100: 'gfx1100' matches no GPU; this machine has "
            "gfx942 (cdna3): gpu0, gpu1, gpu2, gpu3, gpu4, gpu5, gpu6, gpu7.*"
        ]
    )
