"""Family registry: a GpuTarget row per gfx target, found by name or gfx_target_version, and KFD's CWSR sizes.

Rows live in one module per hardware generation (``gfx9``, ``gfx10``, ``gfx11``, ``gfx12``); adding a GPU is
adding a row there. Family names double as pytest marker names, so RDNA 3.5 is spelled ``rdna3_5``.

The CWSR functions restate ``kfd_queue_ctx_save_restore_size()`` (amdkfd/kfd_queue.c), which fills a topology
node's ``ctl_stack_size``, ``cwsr_size`` and ``debug_memory_size``; ``kfd_queue_acquire_buffers()`` then makes
AMDKFD_IOC_CREATE_QUEUE of a compute queue fail with EINVAL unless

* ``ctl_stack_size`` equals :func:`ctl_stack_size`,
* ``ctx_save_restore_size`` is at least :func:`ctx_save_restore_size`,
* the CWSR buffer is one GPU mapping of exactly :func:`cwsr_area_size` bytes
  (``ctx_save_restore_size`` plus :func:`debugger_memory_size`, times the node's XCC count, page aligned),
* an EOP buffer, if given, is exactly ``eop_size_bytes`` long.
"""

from __future__ import annotations

import importlib
import mmap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from pytest_amdgpu.errors import AmdgpuError, ConfigurationError, UnknownTargetError

IpVersion = tuple[int, int, int]

# Cache-control layout of the compute PM4 packets: gfx9 ACQUIRE_MEM carries CP_COHER_CNTL,
# gfx10 and later carry GCR_CNTL.
PM4_GFX9 = "gfx9"
PM4_GFX10_PLUS = "gfx10+"

# Constants of kfd_queue.c shared by every generation.
GPU_PAGE_SIZE_BYTES = 4096  # AMDGPU_GPU_PAGE_SIZE: alignment of the control stack and the workgroup data
CONTEXT_SAVE_AREA_HEADER_BYTES = 40  # SIZEOF_HSA_USER_CONTEXT_SAVE_AREA_HEADER
CTL_STACK_EXTRA_BYTES = 8  # added after the per-wave entries
DEBUGGER_BYTES_PER_WAVE = 32
DEBUGGER_BYTES_ALIGN = 64
HOST_PAGE_SIZE_BYTES = mmap.PAGESIZE  # the kernel's PAGE_SIZE, which aligns the whole CWSR area

_GENERATION_MODULES = ("gfx9", "gfx10", "gfx11", "gfx12")


@dataclass(frozen=True)
class IpVariant:
    """One GC IP version that KFD reports as this target, with the SDMA IP version that ships beside it."""

    gc: IpVersion
    sdma: IpVersion


@dataclass(frozen=True)
class CwsrRules:
    """A target's inputs to kfd_queue_ctx_save_restore_size(): what a CU saves and how many waves it holds."""

    vgpr_bytes_per_cu: int
    sgpr_bytes_per_cu: int
    hwreg_bytes_per_cu: int
    lds_bytes_per_cu: int | None  # None: the node's lds_size_in_kb decides
    waves_per_cu: int
    waves_per_shader_engine: int | None  # a second wave limit per shader engine (gfx9); None: no such limit
    ctl_stack_bytes_per_wave: int
    ctl_stack_limit_bytes: int | None  # hardware cap on the control stack (gfx10); None: no cap


@dataclass(frozen=True)
class GpuTarget:
    """Everything the driver, the packet builders and the simulator need to know about one gfx target."""

    name: str  # "gfx942", as LLVM and the topology spell it
    family: str  # "cdna3"; also the pytest marker name
    generation: str  # the family-registry module holding the row: "gfx9", "gfx10", "gfx11", "gfx12"
    gfx_target_version: int  # topology value: major * 10000 + minor * 100 + stepping
    ip_variants: tuple[IpVariant, ...]
    default_wave_size: int
    supported_wave_sizes: tuple[int, ...]
    pm4_flavour: str  # PM4_GFX9 or PM4_GFX10_PLUS
    doorbell_size_bytes: int
    eop_size_bytes: int  # the node's eop_buffer_size; CREATE_QUEUE wants exactly this
    llvm_target: str
    llvm_min_version: int | None  # first upstream LLVM major that knows llvm_target; None when unknown
    isa_family: str  # instruction-set family the simulator decodes
    num_xcc_default: int  # XCCs in one KFD node of the flagship part in its default (SPX) partition
    lds_size_kib_default: int  # LDS per CU (topology lds_size_in_kb) a simulated node reports
    event_interrupt_class: str  # kfd_device.c interrupt handler table
    sdma_queues_per_engine: int
    sdma_reserved_queues_per_engine: int
    needs_pci_atomics: bool
    cwsr: CwsrRules
    examples: tuple[str, ...]  # products built on this target
    # COMPUTE_PGM_RSRC2.LDS_SIZE unit: 128 dwords, 320 on gfx950 (AMDGPUUsage compute_pgm_rsrc2 table)
    lds_granule_bytes: int = 128 * 4
    # Workgroups a dispatch may have per dimension: what the workgroup-id registers can number. gfx12 hands
    # kernels the y and z ids as the 16-bit halves of ttmp7 (AMDGPUUsage "Initial Kernel Execution State").
    max_grid_workgroups: tuple[int, int, int] = (1 << 32) - 1, (1 << 32) - 1, (1 << 32) - 1
    # CUs that pair into one WGP (GFX10 and later): a CU mask enables both of a pair or neither
    # (pqm_update_mqd refuses a lone CU of a pair with EINVAL).
    cus_per_wgp: int = 1

    @property
    def gc_ip_version(self) -> IpVersion:
        """The GC IP version of the first (usually only) variant."""
        return self.ip_variants[0].gc

    @property
    def gc_ip_versions(self) -> tuple[IpVersion, ...]:
        return tuple(variant.gc for variant in self.ip_variants)

    @property
    def sdma_ip_version(self) -> IpVersion:
        """The SDMA IP version of the first (usually only) variant."""
        return self.ip_variants[0].sdma

    @property
    def sdma_generation(self) -> int:
        """The SDMA packet generation (4, 5, 6 or 7): the SDMA IP major version."""
        return self.sdma_ip_version[0]

    @property
    def marker(self) -> str:
        """The pytest marker that selects this target's family."""
        return self.family


class CwsrNodeProperties(Protocol):
    """The topology node properties the CWSR rules read, named as in nodes/N/properties."""

    @property
    def simd_count(self) -> int: ...

    @property
    def simd_per_cu(self) -> int: ...

    @property
    def array_count(self) -> int: ...

    @property
    def simd_arrays_per_engine(self) -> int: ...

    @property
    def lds_size_in_kb(self) -> int: ...

    @property
    def num_xcc(self) -> int: ...


@dataclass(frozen=True)
class NodeShape:
    """A stand-alone set of CWSR-relevant node properties, for the simulator and for tests."""

    simd_count: int
    simd_per_cu: int
    array_count: int
    simd_arrays_per_engine: int
    lds_size_in_kb: int = 64
    num_xcc: int = 1


@dataclass(frozen=True)
class CwsrSizes:
    """Every size kfd_queue_ctx_save_restore_size() and kfd_queue_acquire_buffers() derive for one node."""

    cu_count_per_xcc: int
    wave_count_per_xcc: int
    wg_data_size: int
    ctl_stack_size: int
    ctx_save_restore_size: int
    debugger_memory_size: int
    cwsr_area_size: int


# --- registry ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Registry:
    ordered: tuple[GpuTarget, ...]
    by_name: Mapping[str, GpuTarget]
    by_version: Mapping[int, GpuTarget]
    by_gc_ip: Mapping[IpVersion, GpuTarget]


def _index(targets: tuple[GpuTarget, ...]) -> _Registry:
    by_name: dict[str, GpuTarget] = {}
    by_version: dict[int, GpuTarget] = {}
    by_gc_ip: dict[IpVersion, GpuTarget] = {}
    for target in targets:
        for key, table, what in (
            (target.name, by_name, "name"),
            (target.gfx_target_version, by_version, "gfx_target_version"),
        ):
            if key in table:
                raise AmdgpuError(
                    f"family registry: {what} {key!r} is in both {table[key].name} and {target.name}"
                )
            table[key] = target
        for gc in target.gc_ip_versions:
            if gc in by_gc_ip:
                raise AmdgpuError(
                    f"family registry: GC IP {gc} is in both {by_gc_ip[gc].name} and {target.name}"
                )
            by_gc_ip[gc] = target
    return _Registry(targets, by_name, by_version, by_gc_ip)


@cache
def _registry() -> _Registry:
    """Import the generation modules on first use (they import GpuTarget from here) and index their rows."""
    targets: list[GpuTarget] = []
    for module_name in _GENERATION_MODULES:
        targets.extend(importlib.import_module(f"{__name__}.{module_name}").TARGETS)
    return _index(tuple(targets))


def _known_targets_text() -> str:
    return ", ".join(f"{target.name} ({target.gfx_target_version})" for target in _registry().ordered)


def _unknown(value: object) -> UnknownTargetError:
    return UnknownTargetError(
        f"unknown GPU target {value!r}: the family registry knows {_known_targets_text()}; "
        "to support another GPU add a row to pytest_amdgpu/families/gfxN.py"
    )


def get_target(name_or_version: str | int) -> GpuTarget:
    """Find a target by name ("gfx942", "GFX942", "gfx90a:xnack+") or gfx_target_version (90402, "90402")."""
    registry = _registry()
    if isinstance(name_or_version, bool) or not isinstance(name_or_version, str | int):
        raise ConfigurationError(
            f"get_target() takes a gfx target name or version, not {type(name_or_version).__name__}"
        )
    if isinstance(name_or_version, int):
        target = registry.by_version.get(name_or_version)
    else:
        key = name_or_version.strip().lower().split(":", 1)[0]  # drop target-id features such as ":xnack+"
        target = registry.by_version.get(int(key)) if key.isdigit() else registry.by_name.get(key)
    if target is None:
        raise _unknown(name_or_version)
    return target


def target_for_gc_ip_version(gc_ip_version: IpVersion) -> GpuTarget:
    """The target KFD reports for a GC IP version from amdgpu's IP discovery, e.g. (9, 4, 4) -> gfx942."""
    target = _registry().by_gc_ip.get(tuple(gc_ip_version))
    if target is None:
        raise _unknown(gc_ip_version)
    return target


def all_targets() -> tuple[GpuTarget, ...]:
    """Every registered target, generation by generation, in table order."""
    return _registry().ordered


def families() -> tuple[str, ...]:
    """Family names (valid pytest marker names) in table order, each once."""
    return tuple(dict.fromkeys(target.family for target in _registry().ordered))


def targets_in_family(family: str) -> tuple[GpuTarget, ...]:
    """The targets of one family ("cdna3", "rdna3_5", ...); an unknown family is a ConfigurationError."""
    members = tuple(target for target in _registry().ordered if target.family == family)
    if not members:
        raise ConfigurationError(f"unknown GPU family {family!r}: known families are {', '.join(families())}")
    return members


# --- CWSR sizes (kfd_queue.c) ------------------------------------------------------------------------------


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def cu_count_per_xcc(node: CwsrNodeProperties) -> int:
    """CUs of one XCC: simd_count / simd_per_cu / num_xcc, with the kernel's integer division."""
    return node.simd_count // node.simd_per_cu // getattr(node, "num_xcc", 1)


def cwsr_wave_count(target: GpuTarget, node: CwsrNodeProperties) -> int:
    """Waves one XCC can hold resident: what the control stack and the debugger area are sized for."""
    rules = target.cwsr
    waves = cu_count_per_xcc(node) * rules.waves_per_cu
    if rules.waves_per_shader_engine is not None:
        shader_engines = node.array_count // node.simd_arrays_per_engine
        waves = min(waves, shader_engines * rules.waves_per_shader_engine)
    return waves


def wg_data_size(target: GpuTarget, node: CwsrNodeProperties) -> int:
    """Workgroup context (VGPR + SGPR + LDS + HWREG of every CU of one XCC), GPU-page aligned."""
    rules = target.cwsr
    lds_bytes = rules.lds_bytes_per_cu if rules.lds_bytes_per_cu is not None else node.lds_size_in_kb * 1024
    per_cu = rules.vgpr_bytes_per_cu + rules.sgpr_bytes_per_cu + lds_bytes + rules.hwreg_bytes_per_cu
    return _align(cu_count_per_xcc(node) * per_cu, GPU_PAGE_SIZE_BYTES)


def ctl_stack_size(target: GpuTarget, node: CwsrNodeProperties) -> int:
    """The node's ctl_stack_size, which CREATE_QUEUE's ctl_stack_size must equal."""
    rules = target.cwsr
    entries = cwsr_wave_count(target, node) * rules.ctl_stack_bytes_per_wave + CTL_STACK_EXTRA_BYTES
    size = _align(CONTEXT_SAVE_AREA_HEADER_BYTES + entries, GPU_PAGE_SIZE_BYTES)
    if rules.ctl_stack_limit_bytes is not None:
        size = min(size, rules.ctl_stack_limit_bytes)
    return size


def ctx_save_restore_size(
    target: GpuTarget, node: CwsrNodeProperties, page_size_bytes: int = HOST_PAGE_SIZE_BYTES
) -> int:
    """The node's cwsr_size (per XCC): the least ctx_save_restore_size CREATE_QUEUE accepts."""
    return _align(ctl_stack_size(target, node) + wg_data_size(target, node), page_size_bytes)


def debugger_memory_size(target: GpuTarget, node: CwsrNodeProperties) -> int:
    """The node's debug_memory_size (per XCC): 32 bytes per resident wave, 64-byte aligned."""
    return _align(cwsr_wave_count(target, node) * DEBUGGER_BYTES_PER_WAVE, DEBUGGER_BYTES_ALIGN)


def cwsr_area_size(
    target: GpuTarget,
    node: CwsrNodeProperties,
    ctx_save_restore_area_size: int | None = None,
    page_size_bytes: int = HOST_PAGE_SIZE_BYTES,
) -> int:
    """Exact size of the CWSR mapping CREATE_QUEUE looks up: (ctx_save_restore + debugger) x XCCs, aligned.

    ``ctx_save_restore_area_size`` is what the caller passes to CREATE_QUEUE; by default the node's minimum.
    """
    if ctx_save_restore_area_size is None:
        ctx_save_restore_area_size = ctx_save_restore_size(target, node, page_size_bytes)
    per_xcc = ctx_save_restore_area_size + debugger_memory_size(target, node)
    return _align(per_xcc * getattr(node, "num_xcc", 1), page_size_bytes)


def cwsr_sizes(
    target: GpuTarget, node: CwsrNodeProperties, page_size_bytes: int = HOST_PAGE_SIZE_BYTES
) -> CwsrSizes:
    """All CWSR sizes of one node at once, with the minimum ctx_save_restore_size."""
    return CwsrSizes(
        cu_count_per_xcc=cu_count_per_xcc(node),
        wave_count_per_xcc=cwsr_wave_count(target, node),
        wg_data_size=wg_data_size(target, node),
        ctl_stack_size=ctl_stack_size(target, node),
        ctx_save_restore_size=ctx_save_restore_size(target, node, page_size_bytes),
        debugger_memory_size=debugger_memory_size(target, node),
        cwsr_area_size=cwsr_area_size(target, node, page_size_bytes=page_size_bytes),
    )


__all__ = [
    "CONTEXT_SAVE_AREA_HEADER_BYTES",
    "CTL_STACK_EXTRA_BYTES",
    "DEBUGGER_BYTES_ALIGN",
    "DEBUGGER_BYTES_PER_WAVE",
    "GPU_PAGE_SIZE_BYTES",
    "HOST_PAGE_SIZE_BYTES",
    "PM4_GFX9",
    "PM4_GFX10_PLUS",
    "CwsrNodeProperties",
    "CwsrRules",
    "CwsrSizes",
    "GpuTarget",
    "IpVariant",
    "IpVersion",
    "NodeShape",
    "all_targets",
    "ctl_stack_size",
    "ctx_save_restore_size",
    "cu_count_per_xcc",
    "cwsr_area_size",
    "cwsr_sizes",
    "cwsr_wave_count",
    "debugger_memory_size",
    "families",
    "get_target",
    "target_for_gc_ip_version",
    "targets_in_family",
    "wg_data_size",
]
