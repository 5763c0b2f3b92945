"""Topology conformance: what the kernel reports about each GPU node is self-consistent and known."""

from __future__ import annotations

import itertools

from pytest_amdgpu.driver import Device, DeviceSet


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
