"""The family registry: every row is self-consistent, lookups work, and the CWSR sizes follow kfd_queue.c."""

from __future__ import annotations

import keyword
import re
import warnings

import pytest

from pytest_amdgpu import families
from pytest_amdgpu.errors import ConfigurationError, UnknownTargetError
from pytest_amdgpu.families import GpuTarget, NodeShape

ALL_TARGETS = families.all_targets()

# DESIGN.md "Family registry": the GPUs the registry must cover, by family.
EXPECTED_FAMILIES = {
    "cdna2": ("gfx90a",),
    "cdna3": ("gfx942",),
    "cdna4": ("gfx950",),
    "rdna2": ("gfx1030", "gfx1031", "gfx1032", "gfx1033", "gfx1034", "gfx1035", "gfx1036"),
    "rdna3": ("gfx1100", "gfx1101", "gfx1102", "gfx1103"),
    "rdna3_5": ("gfx1150", "gfx1151"),
    "rdna4": ("gfx1200", "gfx1201"),
}

# kfd_get_vgpr_size_per_cu() restated: 0x40000 unless listed here.
KERNEL_VGPR_BYTES_PER_CU = {
    "gfx90a": 0x80000,
    "gfx942": 0x80000,
    "gfx950": 0x80000,
    "gfx1100": 0x60000,
    "gfx1101": 0x60000,
    "gfx1151": 0x60000,
    "gfx1200": 0x60000,
    "gfx1201": 0x60000,
}

# SDMA packet generation that ships with each GC major version.
SDMA_GENERATION_BY_GC_MAJOR = {9: 4, 10: 5, 11: 6, 12: 7}


def parse_gfx_name(name: str) -> tuple[int, int, int]:
    """Split "gfx90a" into (9, 0, 10), "gfx1151" into (11, 5, 1): the last two digits are minor, stepping."""
    match = re.fullmatch(r"gfx(\d+)(\d)([0-9a-f])", name)
    assert match, f"{name!r} is not a gfx target name"
    return int(match.group(1)), int(match.group(2)), int(match.group(3), 16)


@pytest.fixture(params=ALL_TARGETS, ids=lambda target: target.name)
def target(request: pytest.FixtureRequest) -> GpuTarget:
    return request.param


# --- every row ---------------------------------------------------------------------------------------------


def test_gfx_target_version_encodes_the_name(target: GpuTarget) -> None:
    major, minor, stepping = parse_gfx_name(target.name)
    assert target.gfx_target_version == major * 10000 + minor * 100 + stepping


def test_generation_isa_family_and_llvm_target_follow_the_name(target: GpuTarget) -> None:
    major, _, _ = parse_gfx_name(target.name)
    assert target.generation == f"gfx{major}"
    assert target.isa_family == target.generation
    assert target.llvm_target == target.name


def test_ip_versions_belong_to_the_generation(target: GpuTarget) -> None:
    major, _, _ = parse_gfx_name(target.name)
    assert target.ip_variants, "a target needs at least one GC/SDMA IP variant"
    for variant in target.ip_variants:
        assert variant.gc[0] == major
        assert variant.sdma[0] == SDMA_GENERATION_BY_GC_MAJOR[major]
        assert all(isinstance(part, int) and part >= 0 for part in variant.gc + variant.sdma)
    assert target.gc_ip_version == target.ip_variants[0].gc
    assert target.sdma_ip_version == target.ip_variants[0].sdma
    assert target.sdma_generation == SDMA_GENERATION_BY_GC_MAJOR[major]


def test_wave_sizes(target: GpuTarget) -> None:
    major, _, _ = parse_gfx_name(target.name)
    assert target.default_wave_size in target.supported_wave_sizes
    if major == 9:
        assert target.supported_wave_sizes == (64,)
    else:
        assert target.default_wave_size == 32
        assert set(target.supported_wave_sizes) == {32, 64}


def test_pm4_flavour_splits_at_gfx10(target: GpuTarget) -> None:
    major, _, _ = parse_gfx_name(target.name)
    expected = families.PM4_GFX9 if major == 9 else families.PM4_GFX10_PLUS
    assert target.pm4_flavour == expected


def test_cus_pair_into_wgps_from_gfx10(target: GpuTarget) -> None:
    """pqm_update_mqd wants CU masks pairwise from GC 10.0 (WGPs) until GC 12.1, past the registry."""
    major, _, _ = parse_gfx_name(target.name)
    assert target.cus_per_wgp == (1 if major == 9 else 2)
    assert target.gc_ip_version < (12, 1, 0)


def test_doorbell_and_eop_sizes_are_the_soc15_values(target: GpuTarget) -> None:
    assert target.doorbell_size_bytes == 8
    assert target.eop_size_bytes == 4096


def test_family_is_a_valid_pytest_marker_name(target: GpuTarget) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", target.family)
    assert target.family.isidentifier() and not keyword.iskeyword(target.family)
    with warnings.catch_warnings():  # the plugin registers the markers; this test only builds one
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        assert getattr(pytest.mark, target.family).name == target.family
    assert target.marker == target.family


def test_row_sits_in_the_expected_family(target: GpuTarget) -> None:
    assert target.name in EXPECTED_FAMILIES[target.family]
    assert target in families.targets_in_family(target.family)


def test_cwsr_vgpr_size_matches_the_kernel_table(target: GpuTarget) -> None:
    assert target.cwsr.vgpr_bytes_per_cu == KERNEL_VGPR_BYTES_PER_CU.get(target.name, 0x40000)


def test_cwsr_generation_rules(target: GpuTarget) -> None:
    major, _, _ = parse_gfx_name(target.name)
    rules = target.cwsr
    assert rules.sgpr_bytes_per_cu == 0x4000
    assert rules.hwreg_bytes_per_cu == 0x1000
    assert rules.lds_bytes_per_cu == (None if target.name == "gfx950" else 0x10000)
    assert rules.waves_per_cu == (40 if major == 9 else 32)
    assert rules.waves_per_shader_engine == (512 if major == 9 else None)
    assert rules.ctl_stack_bytes_per_wave == (8 if major == 9 else 12)
    assert rules.ctl_stack_limit_bytes == (0x7000 if major == 10 else None)


def test_cwsr_sizes_are_aligned(target: GpuTarget) -> None:
    node = NodeShape(simd_count=240, simd_per_cu=2, array_count=6, simd_arrays_per_engine=2, num_xcc=1)
    sizes = families.cwsr_sizes(target, node, page_size_bytes=4096)
    assert sizes.ctl_stack_size % 4096 == 0 or sizes.ctl_stack_size == 0x7000
    assert sizes.wg_data_size % 4096 == 0
    assert sizes.ctx_save_restore_size % 4096 == 0
    assert sizes.debugger_memory_size % 64 == 0
    assert sizes.cwsr_area_size % 4096 == 0
    assert sizes.cwsr_area_size >= sizes.ctx_save_restore_size + sizes.debugger_memory_size


def test_descriptive_fields(target: GpuTarget) -> None:
    assert target.examples and all(isinstance(example, str) and example for example in target.examples)
    assert target.llvm_min_version is None or target.llvm_min_version >= 11
    assert target.num_xcc_default >= 1
    assert target.lds_size_kib_default >= 64
    assert target.event_interrupt_class.startswith("event_interrupt_class_v")
    assert target.sdma_queues_per_engine in (2, 8)


# --- lookups -----------------------------------------------------------------------------------------------


def test_lookup_by_name_upper_case_version_and_target_id(target: GpuTarget) -> None:
    assert families.get_target(target.name) is target
    assert families.get_target(target.name.upper()) is target
    assert families.get_target(target.gfx_target_version) is target
    assert families.get_target(str(target.gfx_target_version)) is target
    assert families.get_target(f"{target.name}:xnack-") is target


def test_lookup_by_gc_ip_version(target: GpuTarget) -> None:
    for gc in target.gc_ip_versions:
        assert families.target_for_gc_ip_version(gc) is target


def test_known_examples_of_lookup() -> None:
    assert families.get_target("gfx942").gfx_target_version == 90402
    assert families.get_target("GFX942").name == "gfx942"
    assert families.get_target(90010).name == "gfx90a"
    assert families.target_for_gc_ip_version((9, 4, 4)).name == "gfx942"
    assert families.target_for_gc_ip_version((11, 0, 3)).name == "gfx1101"  # not gfx1103
    assert families.target_for_gc_ip_version((10, 3, 7)).name == "gfx1036"


def test_registry_covers_exactly_the_designed_targets() -> None:
    names = [target.name for target in ALL_TARGETS]
    assert len(names) == len(set(names))
    versions = [target.gfx_target_version for target in ALL_TARGETS]
    assert len(versions) == len(set(versions))
    assert set(names) == {name for members in EXPECTED_FAMILIES.values() for name in members}
    assert families.families() == tuple(EXPECTED_FAMILIES)
    for family, members in EXPECTED_FAMILIES.items():
        assert tuple(target.name for target in families.targets_in_family(family)) == members


@pytest.mark.parametrize("bad", ["gfx1999", "GFX9999", "", "navi31", 90401, 110004, "110004"])
def test_unknown_target_names_the_value_and_lists_known_targets(bad: str | int) -> None:
    with pytest.raises(UnknownTargetError) as caught:
        families.get_target(bad)
    message = str(caught.value)
    assert repr(bad) in message
    for target in ALL_TARGETS:
        assert target.name in message
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ConfigurationError)


def test_unknown_gc_ip_version_is_an_unknown_target() -> None:
    with pytest.raises(UnknownTargetError, match=r"\(9, 4, 1\)"):
        families.target_for_gc_ip_version((9, 4, 1))


@pytest.mark.parametrize("bad", [True, 9.4, None, (9, 4, 2)])
def test_lookup_rejects_values_that_are_neither_name_nor_version(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="gfx target name"):
        families.get_target(bad)  # type: ignore[arg-type]


def test_unknown_family_lists_known_families() -> None:
    with pytest.raises(ConfigurationError) as caught:
        families.targets_in_family("rdna3.5")
    message = str(caught.value)
    assert "'rdna3.5'" in message
    assert "rdna3_5" in message and "cdna3" in message


# --- CWSR sizes worked by hand from kfd_queue_ctx_save_restore_size() ---------------------------------------
# cu = simd_count / simd_per_cu / num_xcc
# waves = gfx9: min(cu * 40, array_count / simd_arrays_per_engine * 512); gfx10+: cu * 32
# wg_data = ALIGN(cu * (VGPR + SGPR 0x4000 + LDS 0x10000 + HWREG 0x1000), 4096)
# ctl_stack = ALIGN(40 + waves * (8 on gfx9, 12 later) + 8, 4096), capped at 0x7000 on gfx10
# cwsr_size = ALIGN(ctl_stack + wg_data, PAGE_SIZE); debug = ALIGN(waves * 32, 64)
# CREATE_QUEUE's CWSR mapping = ALIGN((cwsr_size + debug) * num_xcc, PAGE_SIZE)


def test_cwsr_worked_example_gfx90a_waves_limited_by_shader_engines() -> None:
    node = NodeShape(
        simd_count=416, simd_per_cu=4, array_count=8, simd_arrays_per_engine=1, lds_size_in_kb=64
    )
    # cu = 416 / 4 / 1 = 104; waves = min(104 * 40 = 4160, 8 / 1 * 512 = 4096) = 4096
    # per CU = 0x80000 + 0x4000 + 0x10000 + 0x1000 = 524288 + 16384 + 65536 + 4096 = 610304
    # wg_data = 104 * 610304 = 63471616 (= 15496 pages, already aligned)
    # ctl_stack = 40 + 4096 * 8 + 8 = 32816 -> 9 pages = 36864
    # cwsr_size = 36864 + 63471616 = 63508480; debug = 4096 * 32 = 131072
    # mapping = (63508480 + 131072) * 1 = 63639552
    sizes = families.cwsr_sizes(families.get_target("gfx90a"), node, page_size_bytes=4096)
    assert sizes == families.CwsrSizes(
        cu_count_per_xcc=104,
        wave_count_per_xcc=4096,
        wg_data_size=63471616,
        ctl_stack_size=36864,
        ctx_save_restore_size=63508480,
        debugger_memory_size=131072,
        cwsr_area_size=63639552,
    )


def test_cwsr_worked_example_gfx942_eight_xccs() -> None:
    node = NodeShape(simd_count=1216, simd_per_cu=4, array_count=32, simd_arrays_per_engine=1, num_xcc=8)
    # cu = 1216 / 4 / 8 = 38; waves = min(38 * 40 = 1520, 32 / 1 * 512 = 16384) = 1520
    # wg_data = 38 * 610304 = 23191552 (= 5662 pages)
    # ctl_stack = 40 + 1520 * 8 + 8 = 12208 -> 3 pages = 12288
    # cwsr_size = 12288 + 23191552 = 23203840; debug = 1520 * 32 = 48640 (= 760 * 64)
    # mapping = (23203840 + 48640) * 8 = 23252480 * 8 = 186019840 (= 45415 pages)
    gfx942 = families.get_target("gfx942")
    assert families.ctl_stack_size(gfx942, node) == 12288
    assert families.ctx_save_restore_size(gfx942, node, page_size_bytes=4096) == 23203840
    assert families.debugger_memory_size(gfx942, node) == 48640
    assert families.cwsr_area_size(gfx942, node, page_size_bytes=4096) == 186019840
    # A caller passing a larger ctx_save_restore_size must map a correspondingly larger area.
    larger = families.cwsr_area_size(gfx942, node, 23203840 + 4096, page_size_bytes=4096)
    assert larger == 186019840 + 8 * 4096


def test_cwsr_worked_example_gfx950_reads_lds_size_from_the_node() -> None:
    node = NodeShape(
        simd_count=1024,
        simd_per_cu=4,
        array_count=32,
        simd_arrays_per_engine=1,
        lds_size_in_kb=160,
        num_xcc=8,
    )
    # cu = 1024 / 4 / 8 = 32; waves = min(32 * 40 = 1280, 16384) = 1280
    # per CU = 0x80000 + 0x4000 + 160 * 1024 + 0x1000 = 524288 + 16384 + 163840 + 4096 = 708608
    # wg_data = 32 * 708608 = 22675456; ctl_stack = 40 + 1280 * 8 + 8 = 10288 -> 12288
    # cwsr_size = 12288 + 22675456 = 22687744; debug = 1280 * 32 = 40960
    # mapping = (22687744 + 40960) * 8 = 181829632
    sizes = families.cwsr_sizes(families.get_target("gfx950"), node, page_size_bytes=4096)
    assert sizes.wg_data_size == 22675456
    assert sizes.ctx_save_restore_size == 22687744
    assert sizes.cwsr_area_size == 181829632


def test_cwsr_worked_example_gfx1030_control_stack_capped_at_0x7000() -> None:
    node = NodeShape(simd_count=160, simd_per_cu=2, array_count=8, simd_arrays_per_engine=2)
    # cu = 160 / 2 = 80; waves = 80 * 32 = 2560 (no shader-engine limit after gfx9)
    # ctl_stack = 40 + 2560 * 12 + 8 = 30768 -> 8 pages = 32768, capped to 0x7000 = 28672
    # per CU = 0x40000 + 0x4000 + 0x10000 + 0x1000 = 348160; wg_data = 80 * 348160 = 27852800
    # cwsr_size = 28672 + 27852800 = 27881472; debug = 2560 * 32 = 81920
    sizes = families.cwsr_sizes(families.get_target("gfx1030"), node, page_size_bytes=4096)
    assert sizes.wave_count_per_xcc == 2560
    assert sizes.ctl_stack_size == 28672
    assert sizes.ctx_save_restore_size == 27881472
    assert sizes.debugger_memory_size == 81920
    assert sizes.cwsr_area_size == 27881472 + 81920


def test_cwsr_worked_example_gfx1100_large_vgpr_file() -> None:
    node = NodeShape(simd_count=192, simd_per_cu=2, array_count=12, simd_arrays_per_engine=2)
    # cu = 192 / 2 = 96; waves = 96 * 32 = 3072
    # per CU = 0x60000 + 0x4000 + 0x10000 + 0x1000 = 393216 + 16384 + 65536 + 4096 = 479232
    # wg_data = 96 * 479232 = 46006272 (= 11232 pages)
    # ctl_stack = 40 + 3072 * 12 + 8 = 36912 -> 10 pages = 40960 (no cap on gfx11)
    # cwsr_size = 40960 + 46006272 = 46047232; debug = 3072 * 32 = 98304
    # mapping = 46047232 + 98304 = 46145536
    sizes = families.cwsr_sizes(families.get_target("gfx1100"), node, page_size_bytes=4096)
    assert sizes == families.CwsrSizes(
        cu_count_per_xcc=96,
        wave_count_per_xcc=3072,
        wg_data_size=46006272,
        ctl_stack_size=40960,
        ctx_save_restore_size=46047232,
        debugger_memory_size=98304,
        cwsr_area_size=46145536,
    )


def test_cwsr_gfx1102_uses_the_smaller_vgpr_file() -> None:
    node = NodeShape(simd_count=64, simd_per_cu=2, array_count=4, simd_arrays_per_engine=2)
    # cu = 32; per CU = 0x40000 + 0x4000 + 0x10000 + 0x1000 = 348160; wg_data = 32 * 348160 = 11141120
    assert families.wg_data_size(families.get_target("gfx1102"), node) == 11141120


def test_cwsr_accepts_a_topology_node_with_matching_attribute_names() -> None:
    class SysfsLikeNode:  # what a parsed nodes/N/properties file offers; num_xcc is absent on older kernels
        simd_count = 160
        simd_per_cu = 2
        array_count = 8
        simd_arrays_per_engine = 2
        lds_size_in_kb = 64

    gfx1030 = families.get_target("gfx1030")
    expected = families.ctx_save_restore_size(gfx1030, NodeShape(160, 2, 8, 2), page_size_bytes=4096)
    assert families.ctx_save_restore_size(gfx1030, SysfsLikeNode(), page_size_bytes=4096) == expected  # type: ignore[arg-type]
