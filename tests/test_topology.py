"""The topology parser reads the captured and written sysfs trees under fixtures/ into typed records."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amdgpu.errors import TopologyError
from pytest_amdgpu.topology import IOLINK_TYPE_XGMI, gfx_target_name, parse_topology

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "topology"

# tree -> (CPU nodes, GPU gfx targets in node order, XGMI peers per GPU)
EXPECTED = {
    "mi300x-8gpu": (2, ["gfx942"] * 8, 7),
    "mi250x": (None, ["gfx90a"] * 8, None),
    "rx7900xtx": (1, ["gfx1100"], 0),
    "rx9070xt": (1, ["gfx1201"], 0),
}


def test_every_fixture_tree_is_covered() -> None:
    trees = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
    assert trees == sorted(EXPECTED)


@pytest.mark.parametrize("tree", sorted(EXPECTED))
def test_fixture_tree_parses_into_cpus_and_gpus(tree: str) -> None:
    cpu_count, gpu_targets, xgmi_peers = EXPECTED[tree]
    topology = parse_topology(FIXTURES / tree)
    assert [node.index for node in topology.nodes] == list(range(len(topology.nodes)))
    if cpu_count is not None:
        assert len(topology.cpus) == cpu_count
    assert [gpu.gfx_target for gpu in topology.gpus] == gpu_targets
    assert all(gpu.gpu_id != 0 for gpu in topology.gpus)
    assert len({gpu.gpu_id for gpu in topology.gpus}) == len(gpu_targets)
    assert all(cpu.gpu_id == 0 for cpu in topology.cpus)
    for gpu in topology.gpus:
        assert gpu.properties["mem_banks_count"] == len(gpu.mem_banks)
        assert gpu.properties["io_links_count"] == len(gpu.io_links)
        assert gpu.properties["caches_count"] == len(gpu.caches)
        assert gpu.properties["drm_render_minor"] >= 128
        if xgmi_peers is not None:
            assert sum(link.type == IOLINK_TYPE_XGMI for link in gpu.io_links) == xgmi_peers
        for link in gpu.io_links:
            assert link.node_from == gpu.index
            assert topology.nodes[link.node_to].links_to(gpu.index), f"no link back from {link.node_to}"


def test_mi300x_values_are_read_exactly() -> None:
    gpu = parse_topology(FIXTURES / "mi300x-8gpu").gpus[0]
    assert gpu.index == 2
    assert gpu.name == "ip discovery"
    assert gpu.simd_count == 1216
    assert gpu.compute_units == 304
    assert gpu.num_xcc == 8
    assert gpu.hive_id == 10631624818852212319  # a u64 beyond the signed range
    assert gpu.vram_bytes == gpu.mem_banks[0].size_in_bytes > 0
    assert list(gpu.properties)[:3] == ["cpu_cores_count", "simd_count", "mem_banks_count"]


def test_nodes_are_ordered_numerically_not_by_name(tmp_path: Path) -> None:
    for index in (10, 2, 1, 0):
        node = tmp_path / "nodes" / str(index)
        node.mkdir(parents=True)
        (node / "properties").write_text(f"cpu_cores_count {index + 1}\nsimd_count 0\n")
        (node / "gpu_id").write_text("0\n")
    assert [node.index for node in parse_topology(tmp_path).nodes] == [0, 1, 2, 10]


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    node = tmp_path / "nodes" / "0"
    node.mkdir(parents=True)
    (node / "properties").write_text("cpu_cores_count 4\nsimd_count four\n")
    with pytest.raises(TopologyError, match=r"properties:2: value of 'simd_count' is not an integer"):
        parse_topology(tmp_path)


def test_a_directory_without_nodes_is_not_a_topology(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="has no nodes/ directory"):
        parse_topology(tmp_path)


def test_unknown_property_names_what_exists() -> None:
    gpu = parse_topology(FIXTURES / "rx7900xtx").gpus[0]
    with pytest.raises(AttributeError, match="no property 'bogus'; it has cpu_cores_count"):
        gpu.bogus  # noqa: B018


@pytest.mark.parametrize(
    ("version", "name"),
    [
        (90010, "gfx90a"),
        (90402, "gfx942"),
        (90500, "gfx950"),
        (100300, "gfx1030"),
        (110501, "gfx1151"),
        (120001, "gfx1201"),
        (0, ""),
    ],
)
def test_gfx_target_names(version: int, name: str) -> None:
    assert gfx_target_name(version) == name
