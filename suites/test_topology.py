"""Topology conformance: what the kernel reports about each GPU node (and its clocks) is self-consistent."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from pytest_amdgpu import families
from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.topology import HEAP_TYPE_FB_PRIVATE, HEAP_TYPE_FB_PUBLIC, HEAP_TYPE_SYSTEM


def test_every_gpu_has_a_family_entry(amdgpu_device: Device) -> None:
    assert amdgpu_device.target.gfx_target_version == amdgpu_device.properties["gfx_target_version"]
    assert amdgpu_device.gfx == amdgpu_device.node.gfx_target


def test_compute_unit_counts_agree(amdgpu_device: Device) -> None:
    props = amdgpu_device.properties
    # cu_per_simd_array is the per-array maximum; harvested CUs are missing from simd_count only.
    max_cus = props["array_count"] * props["cu_per_simd_array"]
    assert props["simd_count"] % props["simd_per_cu"] == 0, props
    active_cus = props["simd_count"] // props["simd_per_cu"]
    assert 0 < active_cus <= max_cus, f"{active_cus} active CUs, at most {max_cus}"
    assert props["wave_front_size"] in amdgpu_device.target.supported_wave_sizes


def test_counts_match_the_listed_entries(amdgpu_device: Device) -> None:
    node = amdgpu_device.node
    assert node.properties["mem_banks_count"] == len(node.mem_banks)
    assert node.properties["io_links_count"] == len(node.io_links)
    assert node.properties["p2p_links_count"] == len(node.p2p_links)


def test_io_links_exist_in_both_directions(amdgpu_devices: DeviceSet) -> None:
    topology = amdgpu_devices.process.topology
    nodes = {node.index: node for node in topology.nodes}
    for node in topology.nodes:
        for link in node.io_links:
            assert link.node_from == node.index
            back = nodes[link.node_to].links_to(node.index)
            assert back, f"node {node.index} links to {link.node_to}, which has no link back"


def test_apertures_are_disjoint_and_hold_user_addresses(amdgpu_device: Device) -> None:
    apertures = amdgpu_device.apertures
    ranges = sorted(
        [
            (apertures.gpuvm_base, apertures.gpuvm_limit),
            (apertures.lds_base, apertures.lds_limit),
            (apertures.scratch_base, apertures.scratch_limit),
        ]
    )
    for (_, first_end), (second_start, _) in itertools.pairwise(ranges):
        assert first_end < second_start
    assert apertures.gpuvm_base < apertures.gpuvm_limit


# HSA_CACHE_TYPE_* bits of a cache's "type" property (kfd_topology.h).
CACHE_TYPE_DATA = 1
CACHE_TYPE_INSTRUCTION = 2
CACHE_TYPE_HSACU = 8


def test_caches_are_counted_and_described(amdgpu_devices: DeviceSet) -> None:
    """GetNodeCacheProperties, with the values checked: every node lists what it counts, sensibly."""
    for node in amdgpu_devices.process.topology.nodes:
        assert node.properties["caches_count"] == len(node.caches), f"node {node.index}"
        for cache in node.caches:
            where = f"node {node.index} cache {cache.index}"
            assert cache.level >= 1 and cache.size > 0, f"{where}: {dict(cache.properties)}"
            assert "1" in cache.sibling_map.split(","), f"{where} is shared by no processor"
            line = cache.cache_line_size
            assert line == 0 or line & (line - 1) == 0, f"{where}: a {line}-byte cache line"


def test_gpu_caches_are_compute_unit_caches_from_l1_up(amdgpu_device: Device) -> None:
    node = amdgpu_device.node
    levels = {cache.level for cache in node.caches}
    assert {1, 2} <= levels <= {1, 2, 3}, f"GPU cache levels {sorted(levels)}"
    for cache in node.caches:
        assert cache.type & CACHE_TYPE_HSACU, f"cache {cache.index} is not marked as a compute-unit cache"
        assert cache.type & (CACHE_TYPE_DATA | CACHE_TYPE_INSTRUCTION), f"cache {cache.index} holds nothing"
        assert cache.cache_line_size >= 32, f"cache {cache.index}: {cache.cache_line_size}-byte lines"
        assert cache.processor_id_low >= node.simd_id_base, f"cache {cache.index} names a CPU core"


def test_every_link_has_a_twin_of_the_same_type_and_weight(amdgpu_devices: DeviceSet) -> None:
    """GetNodeIoLinkProperties, checked: the kernel adds every io_link and p2p_link in both directions."""
    nodes = {node.index: node for node in amdgpu_devices.process.topology.nodes}
    for node in nodes.values():
        for link in node.io_links + node.p2p_links:
            assert link.node_from == node.index
            assert link.node_to in nodes and link.node_to != node.index, f"node {node.index}: {link.node_to}"
            twins = nodes[link.node_to].links_to(node.index)
            assert any(back.type == link.type and back.weight == link.weight for back in twins), (
                f"link {node.index}->{link.node_to} (type {link.type}, weight {link.weight}) has no twin in "
                + (", ".join(f"type {back.type} weight {back.weight}" for back in twins) or "no link back")
            )


@pytest.mark.amdgpu(xgmi=True)
def test_xgmi_links_join_gpus_of_one_hive(amdgpu_devices: DeviceSet) -> None:
    nodes = {node.index: node for node in amdgpu_devices.process.topology.nodes}
    xgmi = [
        (node, link) for node in nodes.values() for link in node.io_links + node.p2p_links if link.is_xgmi
    ]
    assert xgmi, "the selected GPUs reach each other over XGMI, yet no link says so"
    for node, link in xgmi:
        peer = nodes[link.node_to]
        assert node.is_gpu and peer.is_gpu, f"XGMI link {node.index}->{peer.index} ends at a CPU"
        assert node.hive_id != 0 and node.hive_id == peer.hive_id, f"{node.index}->{peer.index}"


def test_gpu_id_files_name_each_gpu_once(amdgpu_devices: DeviceSet) -> None:
    topology = amdgpu_devices.process.topology
    for node in topology.nodes:
        text = (topology.root / "nodes" / str(node.index) / "gpu_id").read_text().strip()
        assert int(text) == node.gpu_id, f"node {node.index}"
        assert (node.gpu_id != 0) == node.is_gpu, f"node {node.index}: gpu_id {node.gpu_id}"
    gpu_ids = [node.gpu_id for node in topology.gpus]
    assert len(set(gpu_ids)) == len(gpu_ids), f"gpu_ids repeat: {gpu_ids}"
    for device in amdgpu_devices:
        assert topology.node_by_gpu_id(device.gpu_id).index == device.node_index
        assert device.apertures.gpu_id == device.gpu_id


def test_memory_banks_describe_real_memory(amdgpu_devices: DeviceSet) -> None:
    """GetNodeMemoryProperties: banks are counted and sized, CPUs have system memory, GPUs framebuffer."""
    for node in amdgpu_devices.process.topology.nodes:
        assert node.properties["mem_banks_count"] == len(node.mem_banks), f"node {node.index}"
        for bank in node.mem_banks:
            assert bank.size_in_bytes > 0, f"node {node.index} bank {bank.index} is empty"
        heaps = {bank.heap_type for bank in node.mem_banks}
        if node.is_cpu:
            assert HEAP_TYPE_SYSTEM in heaps, f"CPU node {node.index} has heaps {heaps or 'none'}"
        else:
            assert heaps <= {HEAP_TYPE_FB_PUBLIC, HEAP_TYPE_FB_PRIVATE}, (
                f"GPU node {node.index}: heaps {heaps}"
            )


def test_the_family_entry_agrees_with_the_node(amdgpu_device: Device) -> None:
    target, props = amdgpu_device.target, amdgpu_device.properties
    assert families.get_target(amdgpu_device.gfx) is target
    assert target in families.targets_in_family(amdgpu_device.family)
    assert props["wave_front_size"] in target.supported_wave_sizes
    expected_queues = target.sdma_queues_per_engine - target.sdma_reserved_queues_per_engine
    assert props["num_sdma_queues_per_engine"] == expected_queues, (
        f"{amdgpu_device.gfx}: the node offers {props['num_sdma_queues_per_engine']} SDMA queues per engine, "
        f"the family table {expected_queues}"
    )
    assert props["num_sdma_engines"] >= 1 and props["num_cp_queues"] >= 1


# -- clocks --------------------------------------------------------------------------------------------------

CLOCK_SLACK_NS = 1_000_000  # CLOCK_BOOTTIME and CLOCK_MONOTONIC tick at one rate; allow 1 ms for rounding


def test_every_clock_counter_advances_and_the_system_clock_keeps_time(amdgpu_devices: DeviceSet) -> None:
    """ClockCountersBasicTest on every GPU: two GET_CLOCK_COUNTERS samples 10 ms apart.

    The GPU, CPU and system counters all move forward, the system clock frequency is not zero, and the
    system counter advanced by the time that really passed between the two samples.
    """
    devices = list(amdgpu_devices)
    first_started = time.monotonic_ns()
    first = [device.clock_counters() for device in devices]
    first_ended = time.monotonic_ns()
    time.sleep(0.01)
    second_started = time.monotonic_ns()
    second = [device.clock_counters() for device in devices]
    second_ended = time.monotonic_ns()
    for device, before, after in zip(devices, first, second, strict=True):
        where = f"gpu{device.index}: {before} then {after}"
        assert before.gpu_clock_counter > 0 and before.system_clock_counter > 0, where
        assert after.gpu_clock_counter > before.gpu_clock_counter, where
        assert after.cpu_clock_counter > before.cpu_clock_counter, where
        assert after.system_clock_counter > before.system_clock_counter, where
        assert before.system_clock_freq > 0 and after.system_clock_freq == before.system_clock_freq, where
        ticks = after.system_clock_counter - before.system_clock_counter
        elapsed_ns = ticks * 10**9 // before.system_clock_freq
        shortest, longest = second_started - first_ended, second_ended - first_started
        assert shortest - CLOCK_SLACK_NS <= elapsed_ns <= longest + CLOCK_SLACK_NS, (
            f"{where}: the system counter says {elapsed_ns} ns passed, the CPU {shortest}..{longest} ns"
        )


def test_a_queue_timestamp_falls_between_two_clock_counter_samples(
    amdgpu_devices: DeviceSet, compute_queue, gpu_buffer
) -> None:
    """RELEASE_MEM timestamps and GET_CLOCK_COUNTERS read one GPU clock (what profilers rely on)."""
    device = amdgpu_devices[0]
    stamps = gpu_buffer(16, "gtt")
    before = device.clock_counters().gpu_clock_counter
    compute_queue.timestamp(stamps).submit().wait()
    compute_queue.timestamp(stamps, 8).submit().wait()
    after = device.clock_counters().gpu_clock_counter
    first, second = (int(stamp) for stamp in stamps.read(np.uint64))
    assert before <= first < second <= after, (
        f"clock counter {before}, then timestamps {first} and {second}, then clock counter {after}"
    )
