"""Simulated machines as data (CPUs, GPUs, XGMI links) and the KFD sysfs topology tree each one renders."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_amdgpu.errors import ConfigurationError, UnknownMachineError

# Values the kernel publishes, as include/uapi/linux/kfd_sysfs.h and amdkfd's kfd_crat.c define them.
HSA_MEM_HEAP_TYPE_SYSTEM = 0
HSA_MEM_HEAP_TYPE_FB_PUBLIC = 1
HSA_MEM_HEAP_TYPE_FB_PRIVATE = 2
HSA_CACHE_TYPE_DATA = 0x1
HSA_CACHE_TYPE_INSTRUCTION = 0x2
HSA_CACHE_TYPE_HSACU = 0x8
HSA_IOLINK_TYPE_HYPERTRANSPORT = 1
HSA_IOLINK_TYPE_PCIEXPRESS = 2
HSA_IOLINK_TYPE_QPI_1_1 = 5
HSA_IOLINK_TYPE_XGMI = 11
HSA_IOLINK_FLAGS_ENABLED = 1 << 0
HSA_IOLINK_FLAGS_NON_COHERENT = 1 << 1

KFD_GPU_PROCESSOR_ID_BASE = 0x80001000  # first GPU's simd_id_base; each GPU adds its CU slots per XCC
KFD_PCIE_LINK_WEIGHT = 20
KFD_XGMI_WEIGHT_PER_HOP = 15
PCIE_MIN_BANDWIDTH_MBS = 312  # what amdgpu reports as a PCIe link's minimum: gen1 x1
DRM_FIRST_RENDER_MINOR = 128

# Line order of each sysfs file, as kfd_topology.c prints them (node_show, mem_show, kfd_cache_show,
# iolink_show, sysprops_show). A CPU node stops after num_cp_queues and then prints the last line.
NODE_PROPERTY_NAMES = (
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
)
GPU_NODE_PROPERTY_NAMES = (
    "max_engine_clk_fcompute",
    "local_mem_size",
    "fw_version",
    "capability",
    "capability2",
    "debug_prop",
    "sdma_fw_version",
    "unique_id",
    "num_xcc",
)
LAST_NODE_PROPERTY_NAME = "max_engine_clk_ccompute"
MEM_BANK_PROPERTY_NAMES = ("heap_type", "size_in_bytes", "flags", "width", "mem_clk_max")
CACHE_PROPERTY_NAMES = (
    "processor_id_low",
    "level",
    "size",
    "cache_line_size",
    "cache_lines_per_tag",
    "association",
    "latency",
    "type",
    "sibling_map",
)
IO_LINK_PROPERTY_NAMES = (
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
    "recommended_sdma_engine_id_mask",
    "flags",
)
SYSTEM_PROPERTY_NAMES = ("platform_oem", "platform_id", "platform_rev")

# kfd_topology.c's recommended SDMA engine per (source, destination) socket of an 8-GPU XGMI hive
# of multi-XCC parts (MI300X class); -1 on the diagonal.
_RECOMMENDED_XGMI_SDMA_ENGINE = (
    (-1, 14, 12, 2, 4, 8, 10, 6),
    (14, -1, 2, 10, 8, 4, 6, 12),
    (10, 2, -1, 12, 14, 6, 4, 8),
    (2, 12, 10, -1, 6, 14, 8, 4),
    (4, 8, 14, 6, -1, 10, 12, 2),
    (8, 4, 6, 14, 12, -1, 2, 10),
    (10, 6, 4, 8, 12, 2, -1, 14),
    (6, 12, 8, 4, 2, 10, 14, -1),
)


def gfx_target_version(gfx_target: str) -> int:
    """Encode "gfx942" as KFD's gfx_target_version (major*10000 + minor*100 + stepping; hex digits)."""
    digits = gfx_target.removeprefix("gfx")
    if not gfx_target.startswith("gfx") or len(digits) < 3 or not digits[:-2].isdigit():
        raise ConfigurationError(f"gfx target {gfx_target!r} is not of the form gfx<major><minor><stepping>")
    try:
        minor, stepping = int(digits[-2], 16), int(digits[-1], 16)
    except ValueError:
        raise ConfigurationError(f"gfx target {gfx_target!r}: minor, stepping must be hex digits") from None
    return int(digits[:-2]) * 10000 + minor * 100 + stepping


@dataclass(frozen=True)
class SimCache:
    """One kind of GPU cache: a row of amdkfd's per-ASIC cache table (size in KiB, shared by N CUs)."""

    level: int
    size_kib: int
    line_bytes: int
    cus_shared: int
    instruction: bool = False

    @property
    def hsa_type(self) -> int:
        kind = HSA_CACHE_TYPE_INSTRUCTION if self.instruction else HSA_CACHE_TYPE_DATA
        return kind | HSA_CACHE_TYPE_HSACU


@dataclass(frozen=True)
class SimCpu:
    """A CPU NUMA node: its KFD node index, logical CPU count, first APIC id and memory size."""

    node: int
    cores: int
    apic_id_base: int
    memory_bytes: int


@dataclass(frozen=True)
class SimGpu:
    """A GPU as KFD describes it: identity, PCI place, shader layout, memory, engines and firmware."""

    node: int
    gpu_id: int
    gfx_target: str
    marketing_name: str
    asic_name: str  # what the node's "name" file says: amdgpu's lower-cased asic name
    device_id: int
    location_id: int  # PCI bus << 8 | devfn
    drm_render_minor: int
    cpu_node: int  # the NUMA node the GPU hangs off
    vram_bytes: int
    vram_width_bits: int
    vram_clock_mhz: int
    num_xcc: int
    shader_engines: int  # per XCC
    arrays_per_engine: int
    cu_per_array: int  # CU slots per shader array, fused-off ones included
    active_cus: int  # over the whole GPU
    simd_per_cu: int
    max_waves_per_simd: int
    wave_front_size: int
    lds_size_kib: int
    num_gws: int
    max_engine_clk_mhz: int
    num_sdma_engines: int
    num_sdma_xgmi_engines: int
    num_sdma_queues_per_engine: int
    num_cp_queues: int
    fw_version: int
    sdma_fw_version: int
    capability: int
    debug_prop: int
    unique_id: int
    pcie_bandwidth_mbs: int  # the GPU-CPU link's maximum
    caches: tuple[SimCache, ...]
    hive_id: int = 0
    xgmi_link_bandwidth_mbs: int = 0  # one physical XGMI link, one direction
    capability2: int = 0
    domain: int = 0
    vendor_id: int = 0x1002
    gds_size_kib: int = 0
    max_slots_scratch_cu: int = 32
    large_bar: bool = True  # all VRAM CPU-visible: FB_PUBLIC heap and a CPU->GPU link
    apu: bool = False

    def __post_init__(self) -> None:
        gfx_target_version(self.gfx_target)  # fails early on a malformed target name
        slots = self.num_xcc * self.shader_engines * self.arrays_per_engine * self.cu_per_array
        if not 0 < self.active_cus <= slots:
            raise ConfigurationError(
                f"GPU node {self.node}: {self.active_cus} active CUs do not fit {slots} CU slots"
            )

    @property
    def gfx_target_version(self) -> int:
        return gfx_target_version(self.gfx_target)

    @property
    def cu_count(self) -> int:
        return self.active_cus

    @property
    def simd_count(self) -> int:
        return self.active_cus * self.simd_per_cu

    @property
    def array_count(self) -> int:
        return self.num_xcc * self.shader_engines * self.arrays_per_engine

    @property
    def cu_slots_per_xcc(self) -> int:
        return self.shader_engines * self.arrays_per_engine * self.cu_per_array

    @property
    def heap_type(self) -> int:
        return HSA_MEM_HEAP_TYPE_FB_PUBLIC if self.large_bar else HSA_MEM_HEAP_TYPE_FB_PRIVATE

    def cu_bitmaps(self) -> tuple[int, ...]:
        """Active-CU mask of every shader array, XCC-major; fused-off CUs come off the last arrays."""
        arrays_per_xcc = self.shader_engines * self.arrays_per_engine
        per_xcc, extra = divmod(self.active_cus, self.num_xcc)
        masks = []
        for xcc in range(self.num_xcc):
            missing = self.cu_slots_per_xcc - per_xcc - (1 if xcc < extra else 0)
            counts = [self.cu_per_array] * arrays_per_xcc
            index = arrays_per_xcc - 1
            while missing > 0:
                counts[index] -= 1
                missing -= 1
                index = (index - 1) % arrays_per_xcc
            masks.extend((1 << count) - 1 for count in counts)
        return tuple(masks)


@dataclass(frozen=True)
class SimLink:
    """An XGMI connection between two GPU nodes of one hive; physical_links 0 means routed, no direct link."""

    node_a: int
    node_b: int
    hops: int = 1
    physical_links: int = 1


@dataclass(frozen=True)
class SimPlatform:
    """The ACPI DSDT identity KFD copies into system_properties, and the DIMMs' SMBIOS width and speed."""

    oem_id: str
    oem_table_id: str
    oem_revision: int
    dimm_width_bits: int
    dimm_speed_mts: int


@dataclass(frozen=True)
class Machine:
    """A whole simulated host: CPU nodes first, then GPU nodes, numbered as KFD numbers them."""

    name: str
    description: str
    cpus: tuple[SimCpu, ...]
    gpus: tuple[SimGpu, ...]
    links: tuple[SimLink, ...]
    platform: SimPlatform
    cpu_max_clock_mhz: int  # cpufreq maximum of CPU 0, printed on every node
    cpu_vendor_amd: bool = True
    numa_remote_distance: int = 32

    def __post_init__(self) -> None:
        nodes = [cpu.node for cpu in self.cpus] + [gpu.node for gpu in self.gpus]
        if nodes != list(range(len(nodes))) or not self.cpus:
            raise ConfigurationError(f"machine {self.name!r}: nodes {nodes} are not CPUs then GPUs from 0")
        ids = [gpu.gpu_id for gpu in self.gpus]
        if 0 in ids or len(set(ids)) != len(ids):
            raise ConfigurationError(f"machine {self.name!r}: gpu_ids {ids} must be non-zero and distinct")
        gpu_nodes = {gpu.node for gpu in self.gpus}
        for link in self.links:
            if {link.node_a, link.node_b} - gpu_nodes or link.node_a == link.node_b:
                raise ConfigurationError(f"machine {self.name!r}: {link} does not join two GPU nodes")

    def gpu_by_id(self, gpu_id: int) -> SimGpu | None:
        """The GPU KFD knows by this gpu_id, or None (the caller decides which errno that is)."""
        return next((gpu for gpu in self.gpus if gpu.gpu_id == gpu_id), None)

    def gpu_by_node(self, node: int) -> SimGpu | None:
        return next((gpu for gpu in self.gpus if gpu.node == node), None)

    def xgmi_link(self, node_a: int, node_b: int) -> SimLink | None:
        """The XGMI link between two GPU nodes, in either direction, or None if they share no hive."""
        pair = {node_a, node_b}
        return next((link for link in self.links if {link.node_a, link.node_b} == pair), None)

    def simd_id_base(self, gpu: SimGpu) -> int:
        """The GPU's first processor id: KFD hands out CU-slot ranges in the order GPUs were added."""
        earlier = sum(other.cu_slots_per_xcc for other in self.gpus if other.node < gpu.node)
        return KFD_GPU_PROCESSOR_ID_BASE + earlier


# --------------------------------------------------------------------------------------------------
# Caches: the entries kfd_fill_cache_non_crat_info creates, in its order.


@dataclass(frozen=True)
class CacheEntry:
    """One cache as KFD lists it: the cache kind, its first CU's processor id and its sibling map."""

    kind: int  # index into SimGpu.caches
    cache: SimCache
    processor_id_low: int
    sibling_masks: tuple[int, ...]  # 32-bit words, printed byte by byte, low bit first


def gpu_cache_entries(machine: Machine, gpu: SimGpu) -> list[CacheEntry]:
    """Every cache entry the kernel lists for this GPU (L1s per CU group, one per L2/L3)."""
    base = machine.simd_id_base(gpu)
    bitmaps = gpu.cu_bitmaps()
    entries: list[CacheEntry] = []
    for kind, cache in enumerate(gpu.caches):
        group_mask = (1 << cache.cus_shared) - 1
        if cache.level == 1:
            processor_id = base
            for bitmap in bitmaps:
                for block in range(0, gpu.cu_per_array, cache.cus_shared):
                    members = (bitmap >> block) & group_mask
                    if members:
                        first = (members & -members).bit_length() - 1
                        entries.append(CacheEntry(kind, cache, processor_id + first, (members >> first,)))
                    processor_id += min(cache.cus_shared, gpu.cu_per_array - block)
        else:
            first_mask = next(mask for mask in bitmaps if mask) & group_mask
            first = (first_mask & -first_mask).bit_length() - 1
            # The kernel writes the first array's mask, then reads each array again one step behind.
            masks = (first_mask >> first, *(mask & group_mask for mask in bitmaps[:-1]))
            entries.append(CacheEntry(kind, cache, base + first, masks))
    return entries


def _representative_cache_entries(entries: list[CacheEntry]) -> list[CacheEntry]:
    """The first entry of each cache kind: what fixtures and rendered trees keep of hundreds."""
    kept: list[CacheEntry] = []
    for entry in entries:
        if not any(seen.kind == entry.kind for seen in kept):
            kept.append(entry)
    return kept


def _sibling_map(masks: tuple[int, ...]) -> str:
    bits = []
    for mask in masks:
        for byte in mask.to_bytes(4, "little"):
            bits.extend(str((byte >> bit) & 1) for bit in range(8))
    return ",".join(bits)


# --------------------------------------------------------------------------------------------------
# IO links and P2P links, built in the order the kernel adds them: CPU nodes at init, then each GPU.


@dataclass
class _Link:
    type: int
    node_from: int
    node_to: int
    weight: int
    min_bandwidth: int = 0
    max_bandwidth: int = 0
    min_latency: int = 0
    max_latency: int = 0
    recommended_sdma_engine_id_mask: int = 0
    flags: int = 0

    def reversed(self) -> _Link:
        return dataclasses.replace(self, node_from=self.node_to, node_to=self.node_from)

    def properties(self) -> list[tuple[str, int | str]]:
        values = {
            "type": self.type,
            "version_major": 0,
            "version_minor": 0,
            "node_from": self.node_from,
            "node_to": self.node_to,
            "weight": self.weight,
            "min_latency": self.min_latency,
            "max_latency": self.max_latency,
            "min_bandwidth": self.min_bandwidth,
            "max_bandwidth": self.max_bandwidth,
            "recommended_transfer_size": 0,
            "recommended_sdma_engine_id_mask": self.recommended_sdma_engine_id_mask,
            "flags": self.flags,
        }
        return [(name, values[name]) for name in IO_LINK_PROPERTY_NAMES]


def _sdma_engine_masks(machine: Machine, gpu: SimGpu, link: _Link) -> tuple[int, int]:
    """Recommended SDMA engines for a new GPU's link and for its peer's link back (both directions)."""
    peer = machine.gpu_by_node(link.node_to)
    hive = [other for other in machine.gpus if gpu.hive_id and other.hive_id == gpu.hive_id]
    if peer is not None and gpu.num_xcc > 1 and len(hive) == 8 and gpu.num_sdma_xgmi_engines >= 14:
        source, destination = hive.index(gpu), hive.index(peer)
        return (
            1 << _RECOMMENDED_XGMI_SDMA_ENGINE[source][destination],
            1 << _RECOMMENDED_XGMI_SDMA_ENGINE[destination][source],
        )
    first, count = 0, gpu.num_sdma_engines
    if link.type == HSA_IOLINK_TYPE_XGMI and gpu.num_sdma_xgmi_engines and peer is not None:
        first, count = gpu.num_sdma_engines, gpu.num_sdma_xgmi_engines
    mask = ((1 << count) - 1) << first
    return mask, mask


def _build_links(machine: Machine) -> tuple[dict[int, list[_Link]], dict[int, list[_Link]]]:
    io_links: dict[int, list[_Link]] = {node: [] for node in range(len(machine.cpus) + len(machine.gpus))}
    p2p_links: dict[int, list[_Link]] = {node: [] for node in io_links}
    cpu_type = HSA_IOLINK_TYPE_HYPERTRANSPORT if machine.cpu_vendor_amd else HSA_IOLINK_TYPE_QPI_1_1
    for cpu in machine.cpus:
        for other in machine.cpus:
            if other is not cpu:
                io_links[cpu.node].append(_Link(cpu_type, cpu.node, other.node, machine.numa_remote_distance))

    # PCIe peer-to-peer links between GPUs of different hives (kfd_add_peer_prop) are not modelled.
    for gpu in machine.gpus:
        to_cpu = _Link(
            HSA_IOLINK_TYPE_PCIEXPRESS,
            gpu.node,
            gpu.cpu_node,
            KFD_PCIE_LINK_WEIGHT,
            PCIE_MIN_BANDWIDTH_MBS,
            gpu.pcie_bandwidth_mbs,
        )
        io_links[gpu.node].append(to_cpu)
        if gpu.large_bar:
            io_links[gpu.cpu_node].append(to_cpu.reversed())
        for peer in machine.gpus:
            link = machine.xgmi_link(gpu.node, peer.node)
            if peer.node >= gpu.node or link is None:
                continue
            max_bandwidth = link.physical_links * gpu.xgmi_link_bandwidth_mbs
            xgmi = _Link(
                HSA_IOLINK_TYPE_XGMI,
                gpu.node,
                peer.node,
                KFD_XGMI_WEIGHT_PER_HOP * link.hops,
                gpu.xgmi_link_bandwidth_mbs if max_bandwidth else 0,
                max_bandwidth,
            )
            io_links[gpu.node].append(xgmi)
            io_links[peer.node].append(xgmi.reversed())
        for cpu in machine.cpus:  # indirect links: GPU -> its CPU -> another CPU
            if cpu.node == gpu.cpu_node:
                continue
            hop = next(link for link in io_links[cpu.node] if link.node_to == gpu.cpu_node)
            indirect = dataclasses.replace(
                to_cpu,
                node_to=cpu.node,
                weight=to_cpu.weight + hop.weight,
                min_bandwidth=min(to_cpu.min_bandwidth, hop.min_bandwidth),
                max_bandwidth=min(to_cpu.max_bandwidth, hop.max_bandwidth),
            )
            p2p_links[gpu.node].append(indirect)
            if gpu.large_bar:
                p2p_links[cpu.node].append(indirect.reversed())
        _fill_link_flags(machine, gpu, io_links, p2p_links)
    return io_links, p2p_links


def _fill_link_flags(
    machine: Machine, gpu: SimGpu, io_links: dict[int, list[_Link]], p2p_links: dict[int, list[_Link]]
) -> None:
    """What kfd_fill_iolink_non_crat_info does when a GPU arrives: enable, coherence, SDMA hints."""
    for table, hint in ((io_links, True), (p2p_links, False)):
        for link in table[gpu.node]:
            link.flags = HSA_IOLINK_FLAGS_ENABLED
            peer_is_cpu = machine.gpu_by_node(link.node_to) is None
            for inbound in table[link.node_to]:
                if inbound.node_to != gpu.node:
                    continue
                inbound.flags = HSA_IOLINK_FLAGS_ENABLED
                if inbound.type == HSA_IOLINK_TYPE_PCIEXPRESS:
                    inbound.flags |= HSA_IOLINK_FLAGS_NON_COHERENT
                    if not peer_is_cpu:
                        link.flags |= HSA_IOLINK_FLAGS_NON_COHERENT
                if hint:
                    masks = _sdma_engine_masks(machine, gpu, link)
                    link.recommended_sdma_engine_id_mask, inbound.recommended_sdma_engine_id_mask = masks


# --------------------------------------------------------------------------------------------------
# Rendering.


def _text(pairs: list[tuple[str, int | str]]) -> str:
    return "".join(f"{name} {value}\n" for name, value in pairs)


def _node_properties(
    machine: Machine, node: int, io_count: int, p2p_count: int
) -> list[tuple[str, int | str]]:
    gpu = machine.gpu_by_node(node)
    if gpu is None:
        cpu = machine.cpus[node]
        values: dict[str, int] = dict.fromkeys(NODE_PROPERTY_NAMES, 0)
        values.update(
            cpu_cores_count=cpu.cores,
            mem_banks_count=1,
            io_links_count=io_count,
            p2p_links_count=p2p_count,
            cpu_core_id_base=cpu.apic_id_base,
        )
        names = NODE_PROPERTY_NAMES
    else:
        caches = _representative_cache_entries(gpu_cache_entries(machine, gpu))
        values = {
            "cpu_cores_count": 0,
            "simd_count": gpu.simd_count,
            "mem_banks_count": 1,
            "caches_count": len(caches),
            "io_links_count": io_count,
            "p2p_links_count": p2p_count,
            "cpu_core_id_base": 0,
            "simd_id_base": machine.simd_id_base(gpu),
            "max_waves_per_simd": gpu.max_waves_per_simd,
            "lds_size_in_kb": gpu.lds_size_kib,
            "gds_size_in_kb": gpu.gds_size_kib,
            "num_gws": gpu.num_gws,
            "wave_front_size": gpu.wave_front_size,
            "array_count": gpu.array_count,
            "simd_arrays_per_engine": gpu.arrays_per_engine,
            "cu_per_simd_array": gpu.cu_per_array,
            "simd_per_cu": gpu.simd_per_cu,
            "max_slots_scratch_cu": gpu.max_slots_scratch_cu,
            "gfx_target_version": gpu.gfx_target_version,
            "vendor_id": gpu.vendor_id,
            "device_id": gpu.device_id,
            "location_id": gpu.location_id,
            "domain": gpu.domain,
            "drm_render_minor": gpu.drm_render_minor,
            "hive_id": gpu.hive_id,
            "num_sdma_engines": gpu.num_sdma_engines,
            "num_sdma_xgmi_engines": gpu.num_sdma_xgmi_engines,
            "num_sdma_queues_per_engine": gpu.num_sdma_queues_per_engine,
            "num_cp_queues": gpu.num_cp_queues,
            "max_engine_clk_fcompute": gpu.max_engine_clk_mhz,
            "local_mem_size": 0,
            "fw_version": gpu.fw_version,
            "capability": gpu.capability,
            "capability2": gpu.capability2,
            "debug_prop": gpu.debug_prop,
            "sdma_fw_version": gpu.sdma_fw_version,
            "unique_id": gpu.unique_id,
            "num_xcc": gpu.num_xcc,
        }
        names = NODE_PROPERTY_NAMES + GPU_NODE_PROPERTY_NAMES
    values[LAST_NODE_PROPERTY_NAME] = machine.cpu_max_clock_mhz
    return [(name, values[name]) for name in (*names, LAST_NODE_PROPERTY_NAME)]


def _mem_bank_properties(machine: Machine, node: int) -> list[tuple[str, int | str]]:
    gpu = machine.gpu_by_node(node)
    if gpu is not None:
        values = (gpu.heap_type, gpu.vram_bytes, 0, gpu.vram_width_bits, gpu.vram_clock_mhz)
    else:  # only the first CPU node gets the SMBIOS memory width and speed
        first = node == machine.cpus[0].node
        values = (
            HSA_MEM_HEAP_TYPE_SYSTEM,
            machine.cpus[node].memory_bytes,
            0,
            machine.platform.dimm_width_bits if first else 0,
            machine.platform.dimm_speed_mts if first else 0,
        )
    return list(zip(MEM_BANK_PROPERTY_NAMES, values, strict=True))


def _cache_properties(entry: CacheEntry) -> list[tuple[str, int | str]]:
    cache = entry.cache
    values = (
        entry.processor_id_low,
        cache.level,
        cache.size_kib,
        cache.line_bytes,
        0,
        0,
        0,
        cache.hsa_type,
        _sibling_map(entry.sibling_masks),
    )
    return list(zip(CACHE_PROPERTY_NAMES, values, strict=True))


def _system_properties(platform: SimPlatform) -> list[tuple[str, int | str]]:
    table_id = platform.oem_table_id.encode("ascii").ljust(8)[:8]
    oem_id = platform.oem_id.encode("ascii").ljust(6)[:6]
    values = (int.from_bytes(table_id, "little"), int.from_bytes(oem_id, "little"), platform.oem_revision)
    return list(zip(SYSTEM_PROPERTY_NAMES, values, strict=True))


def sysfs_files(machine: Machine) -> Iterator[tuple[pathlib.PurePosixPath, str]]:
    """Every file of the machine's topology tree: (path relative to topology/, content)."""
    path = pathlib.PurePosixPath
    yield path("generation_id"), f"{1 + len(machine.gpus)}\n"
    yield path("system_properties"), _text(_system_properties(machine.platform))
    io_links, p2p_links = _build_links(machine)
    for node in range(len(machine.cpus) + len(machine.gpus)):
        gpu = machine.gpu_by_node(node)
        root = path("nodes", str(node))
        yield root / "gpu_id", f"{gpu.gpu_id if gpu else 0}\n"
        yield root / "name", f"{gpu.asic_name if gpu else ''}\n"
        properties = _node_properties(machine, node, len(io_links[node]), len(p2p_links[node]))
        yield root / "properties", _text(properties)
        yield root / "mem_banks" / "0" / "properties", _text(_mem_bank_properties(machine, node))
        if gpu is not None:
            yield root / "mem_banks" / "0" / "used_memory", "0\n"
            for index, entry in enumerate(_representative_cache_entries(gpu_cache_entries(machine, gpu))):
                yield root / "caches" / str(index) / "properties", _text(_cache_properties(entry))
        for kind, table in (("io_links", io_links), ("p2p_links", p2p_links)):
            for index, link in enumerate(table[node]):
                yield root / kind / str(index) / "properties", _text(link.properties())


def render_sysfs(machine: Machine, topology_dir: pathlib.Path) -> None:
    """Write the machine's tree as /sys/devices/virtual/kfd/kfd/topology/ would show it."""
    topology_dir = pathlib.Path(topology_dir)
    if topology_dir.exists() and any(topology_dir.iterdir()):
        raise ConfigurationError(f"render_sysfs needs an empty or new directory; {topology_dir} has files")
    for node in range(len(machine.cpus) + len(machine.gpus)):
        for sub in ("mem_banks", "caches", "io_links", "p2p_links"):  # the kernel makes all four, even empty
            (topology_dir / "nodes" / str(node) / sub).mkdir(parents=True, exist_ok=True)
    for relative, content in sysfs_files(machine):
        target = topology_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="ascii")


# --------------------------------------------------------------------------------------------------
# Presets.


def list_machines() -> list[str]:
    """Names of the simulated machines, sorted."""
    return sorted(_PRESETS)


def get_machine(name: str) -> Machine:
    """The preset called `name`; UnknownMachineError names the bad value and the known ones."""
    build = _PRESETS.get(name) if isinstance(name, str) else None
    if build is None:
        known = ", ".join(list_machines())
        raise UnknownMachineError(f"unknown simulated machine {name!r}; known machines: {known}")
    return build()


def _hive(
    nodes: range,
    *,
    routed: frozenset[tuple[int, int]] = frozenset(),
    link_counts: dict[tuple[int, int], int] | None = None,
) -> tuple[SimLink, ...]:
    """XGMI links among all pairs of `nodes`; pairs in `routed` have no direct link (two hops)."""
    links = []
    for a in nodes:
        for b in nodes:
            if a < b:
                pair = (a - nodes.start, b - nodes.start)
                direct = pair not in routed
                count = (link_counts or {}).get(pair, 1) if direct else 0
                links.append(SimLink(a, b, hops=1 if direct else 2, physical_links=count))
    return tuple(links)


_GIB = 1 << 30

_CDNA3_CACHES = (  # gfx 9.4.3 cache info from the GC config: TCP, SQC I$, SQC K$, L2, MALL
    SimCache(1, 32, 128, 1),
    SimCache(1, 64, 128, 2, instruction=True),
    SimCache(1, 16, 128, 2),
    SimCache(2, 4096, 128, 10),
    SimCache(3, 262144, 64, 10),
)
_ALDEBARAN_CACHES = (  # kfd_crat.c aldebaran_cache_info
    SimCache(1, 16, 64, 1),
    SimCache(1, 32, 64, 2, instruction=True),
    SimCache(1, 16, 64, 2),
    SimCache(2, 8192, 128, 14),
)
_SIENNA_CICHLID_CACHES = (  # kfd_crat.c sienna_cichlid_cache_info
    SimCache(1, 16, 128, 1),
    SimCache(1, 32, 64, 2, instruction=True),
    SimCache(1, 16, 64, 2),
    SimCache(1, 128, 128, 10),
    SimCache(2, 4096, 128, 10),
    SimCache(3, 131072, 64, 10),
)


def _rdna3_or_4_caches(gl1_kib: int, l2_kib: int, mall_kib: int, cu_per_array: int) -> tuple[SimCache, ...]:
    """gfx11/gfx12 cache info from the GC config: TCP, SQC I$, SQC K$, GL1 per array, L2, MALL."""
    return (
        SimCache(1, 32, 128, 1),
        SimCache(1, 32, 64, 2, instruction=True),
        SimCache(1, 16, 64, 2),
        SimCache(1, gl1_kib, 128, cu_per_array),
        SimCache(2, l2_kib, 128, cu_per_array),
        SimCache(3, mall_kib, 64, cu_per_array),
    )


def _mi300x() -> Machine:
    # gpu_ids and PCI buses of a real 8 x MI300X host (AMD's RVS system validation guide); the rest of
    # the node values are those of a real MI300X KFD node (see fixtures/topology/README.md).
    gpu_ids = (28851, 23018, 29122, 22683, 53458, 63883, 53667, 63738)
    buses = (0x05, 0x26, 0x46, 0x65, 0x85, 0xA6, 0xC6, 0xE5)
    unique_ids = (
        4376936076086227261,
        10499958131665514997,
        14799178230035213023,
        1164115433906158532,
        2175216119781798972,
        14037279428536751483,
        8711387064946514083,
        7002664860023442459,
    )
    gpus = tuple(
        SimGpu(
            node=2 + index,
            gpu_id=gpu_ids[index],
            gfx_target="gfx942",
            marketing_name="AMD Instinct MI300X",
            asic_name="ip discovery",
            device_id=0x74A1,
            location_id=buses[index] << 8,
            drm_render_minor=DRM_FIRST_RENDER_MINOR + 8 * index,
            cpu_node=index // 4,
            vram_bytes=192 * _GIB,
            vram_width_bits=8192,
            vram_clock_mhz=1300,
            num_xcc=8,
            shader_engines=4,
            arrays_per_engine=1,
            cu_per_array=10,
            active_cus=304,
            simd_per_cu=4,
            max_waves_per_simd=8,
            wave_front_size=64,
            lds_size_kib=64,
            num_gws=64,
            max_engine_clk_mhz=2100,
            num_sdma_engines=2,
            num_sdma_xgmi_engines=14,
            num_sdma_queues_per_engine=8,
            num_cp_queues=24,
            fw_version=166,
            sdma_fw_version=22,
            capability=0xAC77A280,
            debug_prop=1511,
            unique_id=unique_ids[index],
            pcie_bandwidth_mbs=64000,
            caches=_CDNA3_CACHES,
            hive_id=10631624818852212319,
            xgmi_link_bandwidth_mbs=64000,
        )
        for index in range(8)
    )
    return Machine(
        name="mi300x",
        description="8 x AMD Instinct MI300X (gfx942, 304 CUs in 8 XCCs, 192 GiB HBM3) on 2 x 48-core EPYC, "
        "XGMI all-to-all, PCIe Gen5 to the host",
        cpus=(SimCpu(0, 96, 0, 811748081664), SimCpu(1, 96, 128, 811917709312)),
        gpus=gpus,
        links=_hive(range(2, 10)),
        platform=SimPlatform("SUPERM", "SMCI--MB", 1, 64, 4800),
        cpu_max_clock_mhz=2400,
    )


def _mi355x() -> Machine:
    gpu_ids = (14196, 63508, 27664, 47570, 1904, 34579, 14529, 50050)
    buses = (0x05, 0x15, 0x65, 0x75, 0x85, 0x95, 0xE5, 0xF5)
    unique_ids = (
        14151560559444937093,
        12835850853227824550,
        4912931603392816429,
        14791085845388908798,
        10904855999123826993,
        1885758236351349410,
        5855543267441242937,
        411770278714326748,
    )
    gpus = tuple(
        SimGpu(
            node=2 + index,
            gpu_id=gpu_ids[index],
            gfx_target="gfx950",
            marketing_name="AMD Instinct MI355X",
            asic_name="ip discovery",
            device_id=0x75A3,
            location_id=buses[index] << 8,
            drm_render_minor=DRM_FIRST_RENDER_MINOR + 8 * index,
            cpu_node=index // 4,
            vram_bytes=288 * _GIB,
            vram_width_bits=8192,
            vram_clock_mhz=2000,
            num_xcc=8,
            shader_engines=4,
            arrays_per_engine=1,
            cu_per_array=9,
            active_cus=256,
            simd_per_cu=4,
            max_waves_per_simd=8,
            wave_front_size=64,
            lds_size_kib=160,
            num_gws=64,
            max_engine_clk_mhz=2400,
            num_sdma_engines=2,
            num_sdma_xgmi_engines=14,
            num_sdma_queues_per_engine=8,
            num_cp_queues=24,
            fw_version=20,
            sdma_fw_version=19,
            capability=0xAC37A280,
            debug_prop=1494,
            unique_id=unique_ids[index],
            pcie_bandwidth_mbs=64000,
            caches=(*_CDNA3_CACHES[:3], SimCache(2, 4096, 128, 9), SimCache(3, 262144, 64, 9)),
            hive_id=16255895523639956554,
            xgmi_link_bandwidth_mbs=76800,
        )
        for index in range(8)
    )
    return Machine(
        name="mi355x",
        description="8 x AMD Instinct MI355X (gfx950, 256 CUs in 8 XCCs, 288 GiB HBM3E) on 2 x 64-core EPYC, "
        "XGMI all-to-all",
        cpus=(SimCpu(0, 128, 0, 1621350744064), SimCpu(1, 128, 256, 1621519269888)),
        gpus=gpus,
        links=_hive(range(2, 10)),
        platform=SimPlatform("AMD   ", "AMD EDK2", 2, 64, 6400),
        cpu_max_clock_mhz=5000,
    )


def _mi250x() -> Machine:
    # The 4-package XGMI layout of public MI250X nodes (OLCF Frontier, LUMI-G): each GCD reaches three
    # peers directly (its twin over 4 in-package links, two GCDs of other packages) and four in two hops.
    routed = frozenset(
        {
            (0, 3),
            (0, 4),
            (0, 5),
            (0, 7),
            (1, 2),
            (1, 4),
            (1, 5),
            (1, 6),
            (2, 5),
            (2, 6),
            (2, 7),
            (3, 4),
            (3, 6),
            (3, 7),
            (4, 7),
            (5, 6),
        }
    )
    link_counts = {(0, 1): 4, (2, 3): 4, (4, 5): 4, (6, 7): 4, (0, 2): 2, (1, 3): 2, (4, 6): 2, (5, 7): 2}
    gpu_ids = (32494, 36233, 15276, 22656, 15131, 44358, 61550, 28698)
    buses = (0x29, 0x2C, 0x2F, 0x32, 0xA9, 0xAC, 0xAF, 0xB2)
    unique_ids = (
        11982011376358104761,
        169801152120619550,
        12663392048017480143,
        14037279428536751484,
        3872982626502034966,
        8999366892653588108,
        16478790771768674216,
        7190703300742001586,
    )
    gpus = tuple(
        SimGpu(
            node=2 + index,
            gpu_id=gpu_ids[index],
            gfx_target="gfx90a",
            marketing_name="AMD Instinct MI250X",
            asic_name="aldebaran",
            device_id=0x740C,
            location_id=buses[index] << 8,
            drm_render_minor=DRM_FIRST_RENDER_MINOR + index,
            cpu_node=index // 4,
            vram_bytes=64 * _GIB,
            vram_width_bits=4096,
            vram_clock_mhz=1600,
            num_xcc=1,
            shader_engines=8,
            arrays_per_engine=1,
            cu_per_array=14,
            active_cus=110,
            simd_per_cu=4,
            max_waves_per_simd=8,
            wave_front_size=64,
            lds_size_kib=64,
            num_gws=64,
            max_engine_clk_mhz=1700,
            num_sdma_engines=2,
            num_sdma_xgmi_engines=3,
            num_sdma_queues_per_engine=8,
            num_cp_queues=24,
            fw_version=78,
            sdma_fw_version=9,
            capability=0xAC77A280,
            debug_prop=470,
            unique_id=unique_ids[index],
            pcie_bandwidth_mbs=32000,
            caches=_ALDEBARAN_CACHES,
            hive_id=11205253249702154886,
            xgmi_link_bandwidth_mbs=50000,
        )
        for index in range(8)
    )
    return Machine(
        name="mi250x",
        description="4 x AMD Instinct MI250X = 8 GCDs (gfx90a, 110 CUs and 64 GiB HBM2e each) on 2 x 64-core "
        "EPYC, XGMI between GCDs, PCIe Gen4 to the host",
        cpus=(SimCpu(0, 128, 0, 270582939648), SimCpu(1, 128, 128, 270751465472)),
        gpus=gpus,
        links=_hive(range(2, 10), routed=routed, link_counts=link_counts),
        platform=SimPlatform("HPE   ", "Server  ", 2, 64, 3200),
        cpu_max_clock_mhz=2450,
    )


def _single_gpu(
    name: str, description: str, cpu: SimCpu, platform: SimPlatform, cpu_max_clock_mhz: int, gpu: SimGpu
) -> Machine:
    return Machine(
        name=name,
        description=description,
        cpus=(cpu,),
        gpus=(gpu,),
        links=(),
        platform=platform,
        cpu_max_clock_mhz=cpu_max_clock_mhz,
    )


def _rx7900xtx() -> Machine:
    gpu = SimGpu(
        node=1,
        gpu_id=47570,
        gfx_target="gfx1100",
        marketing_name="AMD Radeon RX 7900 XTX",
        asic_name="ip discovery",
        device_id=0x744C,
        location_id=34304,
        drm_render_minor=128,
        cpu_node=0,
        vram_bytes=24 * _GIB,
        vram_width_bits=384,
        vram_clock_mhz=1250,
        num_xcc=1,
        shader_engines=6,
        arrays_per_engine=2,
        cu_per_array=8,
        active_cus=96,
        simd_per_cu=2,
        max_waves_per_simd=16,
        wave_front_size=32,
        lds_size_kib=64,
        num_gws=64,
        max_engine_clk_mhz=2482,
        num_sdma_engines=2,
        num_sdma_xgmi_engines=0,
        num_sdma_queues_per_engine=6,
        num_cp_queues=8,
        fw_version=2140,
        sdma_fw_version=20,
        capability=671588992,
        debug_prop=1495,
        unique_id=11673270660693242239,
        pcie_bandwidth_mbs=32000,
        caches=_rdna3_or_4_caches(256, 6144, 98304, 8),
    )
    return _single_gpu(
        "rx7900xtx",
        "AMD Radeon RX 7900 XTX (gfx1100, 96 CUs, 24 GiB GDDR6) on a 32-core EPYC over PCIe Gen4",
        SimCpu(0, 64, 0, 134850215936),
        SimPlatform("ALASKA", "A M I", 1, 64, 3200),
        2400,
        gpu,
    )


def _rx9070xt() -> Machine:
    gpu = SimGpu(
        node=1,
        gpu_id=27664,
        gfx_target="gfx1201",
        marketing_name="AMD Radeon RX 9070 XT",
        asic_name="ip discovery",
        device_id=0x7550,
        location_id=33792,
        drm_render_minor=128,
        cpu_node=0,
        vram_bytes=16 * _GIB,
        vram_width_bits=256,
        vram_clock_mhz=1258,
        num_xcc=1,
        shader_engines=4,
        arrays_per_engine=2,
        cu_per_array=8,
        active_cus=64,
        simd_per_cu=2,
        max_waves_per_simd=16,
        wave_front_size=32,
        lds_size_kib=64,
        num_gws=0,
        max_engine_clk_mhz=2460,
        num_sdma_engines=2,
        num_sdma_xgmi_engines=0,
        num_sdma_queues_per_engine=6,
        num_cp_queues=4,
        fw_version=2510,
        sdma_fw_version=14,
        capability=0x6803A280,
        debug_prop=1495,
        unique_id=14151560559444937093,
        pcie_bandwidth_mbs=64000,
        caches=_rdna3_or_4_caches(256, 8192, 65536, 8),
    )
    return _single_gpu(
        "rx9070xt",
        "AMD Radeon RX 9070 XT (gfx1201, RDNA4, 64 CUs, 16 GiB GDDR6) on a "
        "96-core Threadripper PRO over PCIe Gen5",
        SimCpu(0, 192, 0, 270582939648),
        SimPlatform("ALASKA", "A M I", 1, 64, 6400),
        5391,
        gpu,
    )


def _rx6900xt() -> Machine:
    gpu = SimGpu(
        node=1,
        gpu_id=1904,
        gfx_target="gfx1030",
        marketing_name="AMD Radeon RX 6900 XT",
        asic_name="sienna_cichlid",
        device_id=0x73BF,
        location_id=0x0300,
        drm_render_minor=128,
        cpu_node=0,
        vram_bytes=16 * _GIB,
        vram_width_bits=256,
        vram_clock_mhz=1000,
        num_xcc=1,
        shader_engines=4,
        arrays_per_engine=2,
        cu_per_array=10,
        active_cus=80,
        simd_per_cu=2,
        max_waves_per_simd=16,
        wave_front_size=32,
        lds_size_kib=64,
        num_gws=64,
        max_engine_clk_mhz=2250,
        num_sdma_engines=4,
        num_sdma_xgmi_engines=0,
        num_sdma_queues_per_engine=8,
        num_cp_queues=24,
        fw_version=115,
        sdma_fw_version=83,
        capability=671326848,
        debug_prop=1495,
        unique_id=0,
        pcie_bandwidth_mbs=32000,
        caches=_SIENNA_CICHLID_CACHES,
    )
    return _single_gpu(
        "rx6900xt",
        "AMD Radeon RX 6900 XT (gfx1030, 80 CUs, 16 GiB GDDR6) on a 16-core Ryzen over PCIe Gen4",
        SimCpu(0, 32, 0, 67108864000),
        SimPlatform("ALASKA", "A M I", 1, 64, 3600),
        5083,
        gpu,
    )


def _strix_halo() -> Machine:
    # An APU: the GPU is its own KFD node (cpu_cores_count 0) whose only "VRAM" is the BIOS carve-out;
    # local_mem_size reads 0 as on every current kernel, and the GPU reaches the rest of RAM as system memory.
    gpu = SimGpu(
        node=1,
        gpu_id=50050,
        gfx_target="gfx1151",
        marketing_name="AMD Radeon 8060S Graphics",
        asic_name="ip discovery",
        device_id=5536,
        location_id=0xC300,
        drm_render_minor=128,
        cpu_node=0,
        vram_bytes=512 << 20,
        vram_width_bits=256,
        vram_clock_mhz=4000,
        num_xcc=1,
        shader_engines=2,
        arrays_per_engine=2,
        cu_per_array=10,
        active_cus=40,
        simd_per_cu=2,
        max_waves_per_simd=16,
        wave_front_size=32,
        lds_size_kib=64,
        num_gws=64,
        max_engine_clk_mhz=2900,
        num_sdma_engines=1,
        num_sdma_xgmi_engines=0,
        num_sdma_queues_per_engine=6,
        num_cp_queues=8,
        fw_version=2930,
        sdma_fw_version=14,
        capability=671588992,
        debug_prop=1495,
        unique_id=0,
        pcie_bandwidth_mbs=16000,
        caches=_rdna3_or_4_caches(256, 2048, 32768, 10),
        apu=True,
    )
    return _single_gpu(
        "strix-halo",
        "AMD Ryzen AI Max+ 395 APU: 16-core CPU and Radeon 8060S (gfx1151, 40 CUs) sharing 128 GiB LPDDR5X",
        SimCpu(0, 32, 0, 134292463616),
        SimPlatform("ALASKA", "A M I", 1, 32, 8000),
        5187,
        gpu,
    )


_PRESETS = {
    "mi250x": _mi250x,
    "mi300x": _mi300x,
    "mi355x": _mi355x,
    "rx6900xt": _rx6900xt,
    "rx7900xtx": _rx7900xtx,
    "rx9070xt": _rx9070xt,
    "strix-halo": _strix_halo,
}
