"""@pytest.mark.amdgpu requirements skip with what was needed and found; target markers select instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.markers import Requirements, automatic_markers, format_size, parse_size_bytes

RunAmdgpu = Callable[..., pytest.RunResult]
GiB = 1 << 30


@dataclass
class FakeDevice:
    index: int
    gfx: str
    family: str
    vram_bytes: int
    node: SimpleNamespace = field(init=False)

    def __post_init__(self) -> None:
        self.node = SimpleNamespace(
            index=self.index + 1, vram_bytes=self.vram_bytes, io_links=(), p2p_links=()
        )


MI300X = FakeDevice(0, "gfx942", "cdna3", 192 * GiB)
RX7900XTX = FakeDevice(1, "gfx1100", "rdna3", 24 * GiB)


def needs(**kwargs: object) -> Requirements:
    return Requirements.from_marker_kwargs([kwargs])


# -- requirements, one device instance at a time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "device", "reason"),
    [
        ({"gfx": "gfx942"}, RX7900XTX, "needs gfx942, found gfx1100 on gpu1"),
        ({"gfx": ["gfx90a", "GFX942"]}, RX7900XTX, "needs gfx90a or gfx942, found gfx1100 on gpu1"),
        ({"family": "cdna3"}, RX7900XTX, "needs cdna3, found rdna3 on gpu1"),
        ({"family": ["rdna3", "rdna4"]}, MI300X, "needs rdna3 or rdna4, found cdna3 on gpu0"),
        ({"min_vram": "64 GiB"}, RX7900XTX, "needs 64 GiB VRAM, gpu1 has 24 GiB"),
        ({"min_vram": 256 * GiB}, MI300X, "needs 256 GiB VRAM, gpu0 has 192 GiB"),
        ({"gpus": 3}, MI300X, "needs 3 GPUs, 2 selected"),
        ({"gpus": 2, "gfx": "gfx942"}, MI300X, None),
        ({"gfx": "gfx1100", "family": "rdna3", "min_vram": "16G"}, RX7900XTX, None),
    ],
)
def test_an_unmet_requirement_names_what_was_needed_and_found(
    kwargs: dict[str, object], device: FakeDevice, reason: str | None
) -> None:
    assert needs(**kwargs).unmet(device, [MI300X, RX7900XTX]) == reason


def test_without_a_device_instance_every_selected_gpu_must_qualify() -> None:
    assert needs(family="cdna3").unmet(None, [MI300X, RX7900XTX]) == "needs cdna3, found rdna3 on gpu1"
    assert needs(gpus=1).unmet(None, []) == "needs 1 GPU, 0 selected"


def test_several_markers_must_all_hold() -> None:
    merged = Requirements.from_marker_kwargs([{"gfx": ["gfx942", "gfx1100"]}, {"gfx": "gfx942", "gpus": 2}])
    assert merged.gfx == {"gfx942"} and merged.gpus == 2
    with pytest.raises(ConfigurationError, match="both xgmi=True and xgmi=False"):
        Requirements.from_marker_kwargs([{"xgmi": True}, {"xgmi": False}])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gfx": "gfx9999"}, "unknown GPU target 'gfx9999'"),
        ({"family": "cdna9"}, "unknown GPU family 'cdna9': known families are cdna2, cdna3"),
        ({"gpus": 0}, "gpus must be a positive integer"),
        ({"xgmi": "yes"}, "xgmi must be True or False"),
        ({"min_vram": "lots"}, "min_vram must be a number of bytes"),
        ({"vram": 1}, "unknown argument(s) vram; it takes gfx, family, gpus, xgmi, min_vram"),
    ],
)
def test_bad_marker_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as failure:
        needs(**kwargs)
    assert message in str(failure.value)


def test_sizes_read_and_print_in_binary_units() -> None:
    assert parse_size_bytes("64 GiB") == parse_size_bytes("64GB") == 64 * GiB
    assert parse_size_bytes("1.5G") == 3 * GiB // 2
    assert format_size(512 << 20) == "512 MiB" and format_size(24 * GiB) == "24 GiB"


def test_automatic_markers_name_targets_families_and_needs() -> None:
    assert automatic_markers([MI300X], needs()) == ["amdgpu", "gfx942", "cdna3"]
    assert automatic_markers([MI300X, RX7900XTX], needs(gpus=2, xgmi=True)) == [
        "amdgpu", "gfx942", "cdna3", "gfx1100", "rdna3", "multi_gpu", "xgmi",
    ]  # fmt: skip


# -- in a run ------------------------------------------------------------------------------------------

MARKED_TESTS = """
import pytest

@pytest.mark.amdgpu(gfx="gfx942")
def test_gfx(amdgpu_device): pass

@pytest.mark.amdgpu(family=["cdna2", "cdna3"])
def test_family(amdgpu_device): pass

@pytest.mark.amdgpu(min_vram="64 GiB")
def test_vram(amdgpu_device): pass

@pytest.mark.amdgpu(gpus=2)
def test_two(amdgpu_devices): pass

@pytest.mark.amdgpu(xgmi=True)
def test_xgmi(amdgpu_devices): pass

@pytest.mark.amdgpu(xgmi=False)
def test_pcie_only(amdgpu_devices): pass

def test_any(amdgpu_device): pass
"""


def test_skip_reasons_on_a_single_consumer_gpu(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MARKED_TESTS)
    result = run_amdgpu("-rs", ".", machine="rx7900xtx")
    result.stdout.fnmatch_lines_random(
        [
            "SKIPPED * needs gfx942, found gfx1100 on gpu0",
            "SKIPPED * needs cdna2 or cdna3, found rdna3 on gpu0",
            "SKIPPED * needs 64 GiB VRAM, gpu0 has 24 GiB",
            "SKIPPED * needs 2 GPUs, 1 selected",
            "SKIPPED * needs XGMI between GPUs, none found",
        ]
    )
    result.assert_outcomes(passed=2, skipped=5)


def test_skip_reasons_on_an_xgmi_hive(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MARKED_TESTS)
    result = run_amdgpu("-rs", "--amdgpu-devices=0,1", ".", machine="mi300x")
    result.stdout.fnmatch_lines(["SKIPPED * needs GPUs without XGMI, found XGMI between gpu0 and gpu1"])
    result.assert_outcomes(passed=10, skipped=1)


def test_a_device_instance_is_judged_on_its_own_gpu(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amdgpu(xgmi=True)
        def test_peer_copy(amdgpu_device): pass
        """
    )
    # gpu0's XGMI peers are not selected, so its instance has no XGMI link to use.
    result = run_amdgpu("-rs", "--amdgpu-devices=0", ".", machine="mi300x")
    result.stdout.fnmatch_lines(["SKIPPED * needs XGMI between GPUs, none found on gpu0"])
    result.assert_outcomes(skipped=1)


def test_bad_marker_arguments_fail_the_test_not_the_run(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amdgpu(gfx="gfx9999")
        def test_typo(amdgpu_device): pass

        def test_fine(amdgpu_device): pass
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    result.stdout.fnmatch_lines(["*@pytest.mark.amdgpu: unknown GPU target 'gfx9999'*"])
    result.assert_outcomes(passed=1, errors=1)


SELECTABLE_TESTS = """
import pytest

def test_one(amdgpu_device): pass

@pytest.mark.amdgpu(gpus=2)
def test_pair(amdgpu_devices): pass

def test_plain(): pass
"""


@pytest.mark.parametrize(
    ("machine", "expression", "selected"),
    [
        ("mi250x", "gfx90a", 9),  # 8 instances and the multi-GPU test
        ("mi250x", "cdna2", 9),
        ("mi250x", "cdna3", 0),
        ("mi300x", "cdna3 and not multi_gpu", 8),
        ("mi300x", "multi_gpu", 1),
        ("mi300x", "not multi_gpu", 9),
        ("mi300x", "amdgpu", 9),
        ("rx7900xtx", "gfx1100 or rdna3", 2),
    ],
)
def test_target_and_family_markers_select_instances(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester, machine: str, expression: str, selected: int
) -> None:
    pytester.makepyfile(SELECTABLE_TESTS)
    result = run_amdgpu(
        "--strict-markers", "-W", "error", "-m", expression, "--collect-only", "-q", ".", machine=machine
    )
    assert "PytestUnknownMarkWarning" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"{selected}/* tests collected*" if selected else "no tests collected*"])


def test_user_written_target_markers_are_known_under_strict_markers(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gfx942
        @pytest.mark.rdna3_5
        @pytest.mark.multi_gpu
        def test_marked(): pass
        """
    )
    pytester.runpytest("--strict-markers", "-W", "error").assert_outcomes(passed=1)
