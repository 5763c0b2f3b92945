"""GFX12 rows of the family registry: RDNA4 (gfx1200, gfx1201), wave32 by default with wave64 available.

Sources: GC IP -> gfx_target_version and device_info from amdkfd/kfd_device.c (GC 12.0.x still uses the v11
interrupt class); CWSR inputs from amdkfd/kfd_queue.c; SDMA IP from the kernel's dgpu-asic-info-table.csv.
"""

from __future__ import annotations

from pytest_amdgpu.families import PM4_GFX10_PLUS, CwsrRules, GpuTarget, IpVariant

GENERATION = "gfx12"

# Both RDNA4 dies have the large (0x60000-byte) VGPR file.
_CWSR = CwsrRules(
    vgpr_bytes_per_cu=0x60000,
    sgpr_bytes_per_cu=0x4000,
    hwreg_bytes_per_cu=0x1000,
    lds_bytes_per_cu=0x10000,
    waves_per_cu=32,
    waves_per_shader_engine=None,
    ctl_stack_bytes_per_wave=12,
    ctl_stack_limit_bytes=None,
)


def _target(
    *,
    name: str,
    gfx_target_version: int,
    ip_variants: tuple[IpVariant, ...],
    examples: tuple[str, ...],
) -> GpuTarget:
    return GpuTarget(
        name=name,
        family="rdna4",
        generation=GENERATION,
        gfx_target_version=gfx_target_version,
        ip_variants=ip_variants,
        default_wave_size=32,
        supported_wave_sizes=(32, 64),
        pm4_flavour=PM4_GFX10_PLUS,
        doorbell_size_bytes=8,
        eop_size_bytes=4096,
        llvm_target=name,
        llvm_min_version=18,
        isa_family=GENERATION,
        num_xcc_default=1,
        lds_size_kib_default=64,
        event_interrupt_class="event_interrupt_class_v11",
        sdma_queues_per_engine=8,  # SDMA 7.0
        sdma_reserved_queues_per_engine=2,  # one for paging, one for gfx
        needs_pci_atomics=True,  # unless MEC firmware >= 2090
        cwsr=_CWSR,
        examples=examples,
        cus_per_wgp=2,
        max_grid_workgroups=((1 << 32) - 1, 1 << 16, 1 << 16),  # y and z ids are ttmp7's 16-bit halves
    )


TARGETS: tuple[GpuTarget, ...] = (
    _target(
        name="gfx1200",
        gfx_target_version=120000,
        ip_variants=(IpVariant(gc=(12, 0, 0), sdma=(7, 0, 0)),),  # Navi 44
        examples=("Radeon RX 9060", "Radeon RX 9060 XT"),
    ),
    _target(
        name="gfx1201",
        gfx_target_version=120001,
        ip_variants=(IpVariant(gc=(12, 0, 1), sdma=(7, 0, 1)),),  # Navi 48
        examples=("Radeon RX 9070", "Radeon RX 9070 XT", "Radeon RX 9070 GRE"),
    ),
)
