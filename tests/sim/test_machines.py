"""The simulated machines: presets, lookup errors, and sysfs trees shaped exactly like the fixture trees."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from pytest_amdgpu.errors import ConfigurationError, UnknownMachineError
from pytest_amdgpu.sim import machines
from pytest_amdgpu.sim.machines import get_machine, list_machines, render_sysfs

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "topology"

# Which fixture tree shows the same hardware as which preset.
FIXTURE_OF_PRESET = {
    "mi300x": "mi300x-8gpu",
    "mi250x": "mi250x",
    "rx7900xtx": "rx7900xtx",
    "rx9070xt": "rx9070xt",
}

# Line names, in order, of node properties files captured from real machines (an MI300X node and its
# CPU node, and an RX 7900 XTX node), on kernels from before capability2 existed.
CAPTURED_GPU_NODE_NAMES = [
    "cpu_cores_count",
    "simd_count",
    "mem_banks_count",
    "caches_count",
    "io_links_count",
    "p2p_links_count",
    "cpu_core_id_base",
    "simd_id_base",
    "max_waves_per_simd",
    "lds_size_in_kb",
    "gds_size_in_kb",
    "num_gws",
    "wave_front_size",
    "array_count",
    "simd_arrays_per_engine",
    "cu_per_simd_array",
    "simd_per_cu",
    "max_slots_scratch_cu",
    "gfx_target_version",
    "vendor_id",
    "device_id",
    "location_id",
    "domain",
    "drm_render_minor",
    "hive_id",
    "num_sdma_engines",
    "num_sdma_xgmi_engines",
    "num_sdma_queues_per_engine",
    "num_cp_queues",
    "max_engine_clk_fcompute",
    "local_mem_size",
    "fw_version",
    "capability",
    "debug_prop",
    "sdma_fw_version",
    "unique_id",
    "num_xcc",
    "max_engine_clk_ccompute",
]
CAPTURED_CPU_NODE_NAMES = [*CAPTURED_GPU_NODE_NAMES[:29], "max_engine_clk_ccompute"]
# An io_link captured on an MI300X host, on a kernel from before recommended_sdma_engine_id_mask.
CAPTURED_IO_LINK_NAMES = [
    "type",
    "version_major",
    "version_minor",
    "node_from",
    "node_to",
    "weight",
    "min_latency",
    "max_latency",
    "min_bandwidth",
    "max_bandwidth",
    "recommended_transfer_size",
    "flags",
]
# caches_count the kernel reported on those machines: every L1 per CU group plus one L2 and one L3.
CAPTURED_CACHES_COUNT = {"mi300x": 626, "rx7900xtx": 206, "rx9070xt": 138}


def read_tree(root: pathlib.Path) -> dict[str, str]:
    """Every file of a topology tree: path relative to the tree -> text."""
    return {path.relative_to(root).as_posix(): path.read_text() for path in root.rglob("*") if path.is_file()}


def line_names(text: str) -> list[str]:
    return [line.split(" ", 1)[0] for line in text.splitlines()]


def properties(text: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in text.splitlines())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    trees = {}
    for name in list_machines():
        root = tmp_path_factory.mktemp(name) / "topology"
        render_sysfs(get_machine(name), root)
        trees[name] = read_tree(root)
    return trees


def test_the_required_presets_exist_and_the_list_is_sorted() -> None:
    names = list_machines()
    assert names == sorted(names)
    assert {"mi300x", "mi250x", "rx7900xtx", "rx9070xt", "rx6900xt", "strix-halo", "mi355x"} <= set(names)


def test_an_unknown_machine_names_the_bad_value_and_every_known_one() -> None:
    with pytest.raises(UnknownMachineError) as caught:
        get_machine("mi300")
    message = str(caught.value)
    assert "'mi300'" in message
    for name in list_machines():
        assert name in message
    assert isinstance(caught.value, ConfigurationError)


def test_a_name_of_the_wrong_type_is_an_unknown_machine_too() -> None:
    with pytest.raises(UnknownMachineError, match="known machines: mi250x"):
        get_machine(["mi300x"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list_machines())
def test_each_preset_renders_a_complete_tree(name: str, tmp_path: pathlib.Path) -> None:
    machine = get_machine(name)
    render_sysfs(machine, tmp_path / "topology")
    tree = read_tree(tmp_path / "topology")
    node_count = len(machine.cpus) + len(machine.gpus)
    assert tree["generation_id"] == f"{1 + len(machine.gpus)}\n"
    assert line_names(tree["system_properties"]) == ["platform_oem", "platform_id", "platform_rev"]
    for node in range(node_count):
        for sub in ("mem_banks", "caches", "io_links", "p2p_links"):
            assert (tmp_path / "topology" / "nodes" / str(node) / sub).is_dir()
        assert {"gpu_id", "name", "properties"} <= {
            key.split("/")[2] for key in tree if key.startswith(f"nodes/{node}/")
        }
    for cpu in machine.cpus:
        assert tree[f"nodes/{cpu.node}/gpu_id"] == "0\n"
        assert tree[f"nodes/{cpu.node}/name"] == "\n"
    for gpu in machine.gpus:
        assert tree[f"nodes/{gpu.node}/gpu_id"] == f"{gpu.gpu_id}\n"
        node = properties(tree[f"nodes/{gpu.node}/properties"])
        assert int(node["gfx_target_version"]) == gpu.gfx_target_version
        assert int(node["simd_count"]) == gpu.cu_count * gpu.simd_per_cu
        assert node["local_mem_size"] == "0"


@pytest.mark.parametrize(("preset", "tree_name"), sorted(FIXTURE_OF_PRESET.items()))
def test_a_rendered_tree_has_the_fixture_files_and_their_lines_in_order(
    preset: str, tree_name: str, rendered: dict[str, dict[str, str]]
) -> None:
    fixture = read_tree(FIXTURES / tree_name)
    tree = rendered[preset]
    assert sorted(tree) == sorted(fixture)
    for path, text in fixture.items():
        if path.endswith("properties"):
            assert line_names(tree[path]) == line_names(text), path


@pytest.mark.parametrize("tree_name", sorted(FIXTURE_OF_PRESET.values()))
def test_fixture_files_keep_the_captured_line_order(tree_name: str) -> None:
    tree = read_tree(FIXTURES / tree_name)
    for path, text in tree.items():
        names = line_names(text)
        if path.count("/") == 2 and path.endswith("/properties"):
            node_id = path.split("/")[1]
            is_cpu = tree[f"nodes/{node_id}/gpu_id"] == "0\n"
            captured = CAPTURED_CPU_NODE_NAMES if is_cpu else CAPTURED_GPU_NODE_NAMES
            assert [name for name in names if name != "capability2"] == captured, path
        elif "/io_links/" in path or "/p2p_links/" in path:
            assert [name for name in names if name != "recommended_sdma_engine_id_mask"] == (
                CAPTURED_IO_LINK_NAMES
            ), path


@pytest.mark.parametrize("tree_name", sorted(FIXTURE_OF_PRESET.values()))
def test_fixture_counts_match_their_directories(tree_name: str) -> None:
    tree = read_tree(FIXTURES / tree_name)
    nodes = {path.split("/")[1] for path in tree if path.startswith("nodes/")}
    for node in nodes:
        counts = properties(tree[f"nodes/{node}/properties"])
        for sub, count_name in (
            ("mem_banks", "mem_banks_count"),
            ("caches", "caches_count"),
            ("io_links", "io_links_count"),
            ("p2p_links", "p2p_links_count"),
        ):
            entries = {path.split("/")[3] for path in tree if path.startswith(f"nodes/{node}/{sub}/")}
            assert len(entries) == int(counts[count_name]), f"node {node} {sub}"


@pytest.mark.parametrize("source", ["rendered", "fixture"])
@pytest.mark.parametrize("preset", sorted(FIXTURE_OF_PRESET))
def test_every_xgmi_link_exists_both_ways_with_the_same_weight(
    source: str, preset: str, rendered: dict[str, dict[str, str]]
) -> None:
    tree = rendered[preset] if source == "rendered" else read_tree(FIXTURES / FIXTURE_OF_PRESET[preset])
    xgmi = {}
    for path, text in tree.items():
        if "/io_links/" in path:
            link = properties(text)
            if link["type"] == "11":
                xgmi[(link["node_from"], link["node_to"])] = link["weight"]
    machine = get_machine(preset)
    assert len(xgmi) == 2 * len(machine.links)
    for (node_from, node_to), weight in xgmi.items():
        assert xgmi.get((node_to, node_from)) == weight, f"{node_from}->{node_to} has no twin"


def test_every_gpu_of_an_xgmi_preset_reaches_every_peer() -> None:
    for name in ("mi300x", "mi250x", "mi355x"):
        machine = get_machine(name)
        for gpu in machine.gpus:
            for peer in machine.gpus:
                if peer is not gpu:
                    assert machine.xgmi_link(gpu.node, peer.node) is not None, (name, gpu.node, peer.node)


@pytest.mark.parametrize(("preset", "count"), sorted(CAPTURED_CACHES_COUNT.items()))
def test_the_full_cache_list_has_as_many_entries_as_the_real_gpu(preset: str, count: int) -> None:
    machine = get_machine(preset)
    assert len(machines.gpu_cache_entries(machine, machine.gpus[0])) == count


@pytest.mark.parametrize(
    ("gfx", "version"),
    [
        ("gfx90a", 90010),
        ("gfx942", 90402),
        ("gfx950", 90500),
        ("gfx1030", 100300),
        ("gfx1100", 110000),
        ("gfx1151", 110501),
        ("gfx1201", 120001),
    ],
)
def test_gfx_target_version_encoding(gfx: str, version: int) -> None:
    assert machines.gfx_target_version(gfx) == version


@pytest.mark.parametrize("bad", ["942", "gfx", "gfx9z0", "gfxa42"])
def test_a_malformed_gfx_target_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=repr(bad)):
        machines.gfx_target_version(bad)


@pytest.mark.parametrize("name", list_machines())
def test_gpu_ids_and_render_minors_look_like_the_kernels(name: str) -> None:
    machine = get_machine(name)
    ids = [gpu.gpu_id for gpu in machine.gpus]
    minors = [gpu.drm_render_minor for gpu in machine.gpus]
    assert all(0 < gpu_id < 1 << 16 for gpu_id in ids) and len(set(ids)) == len(ids)
    assert minors[0] == 128 and minors == sorted(set(minors))
    assert machine.gpu_by_id(ids[-1]) is machine.gpus[-1]
    assert machine.gpu_by_id(0) is None
    assert machine.gpu_by_id(max(ids) + 1) is None


def test_the_apu_preset_reports_its_carve_out_as_vram_and_no_local_memory(
    rendered: dict[str, dict[str, str]],
) -> None:
    machine = get_machine("strix-halo")
    gpu = machine.gpus[0]
    tree = rendered["strix-halo"]
    node = properties(tree[f"nodes/{gpu.node}/properties"])
    bank = properties(tree[f"nodes/{gpu.node}/mem_banks/0/properties"])
    assert gpu.apu and node["cpu_cores_count"] == "0" and node["local_mem_size"] == "0"
    assert int(bank["heap_type"]) == machines.HSA_MEM_HEAP_TYPE_FB_PUBLIC
    assert int(bank["size_in_bytes"]) == gpu.vram_bytes < machine.cpus[0].memory_bytes


def test_rendering_into_a_directory_with_files_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "stale").write_text("x")
    with pytest.raises(ConfigurationError, match="has files"):
        render_sysfs(get_machine("rx7900xtx"), tmp_path)


def test_a_machine_whose_nodes_are_out_of_order_is_refused() -> None:
    machine = get_machine("rx7900xtx")
    gpu = machine.gpus[0]
    with pytest.raises(ConfigurationError, match="nodes"):
        dataclasses.replace(machine, gpus=(dataclasses.replace(gpu, node=5),))
