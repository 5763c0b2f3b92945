"""GFX10 rows of the family registry: RDNA2 (gfx1030 to gfx1036), wave32 by default with wave64 available.

Sources: GC IP -> gfx_target_version, interrupt class, SDMA queue counts and PCIe-atomics needs from
amdkfd/kfd_device.c; CWSR inputs from amdkfd/kfd_queue.c; SDMA IP beside each GC IP from the kernel's
Documentation/gpu/amdgpu/{dgpu,apu}-asic-info-table.csv. Note the GC minor numbers do not follow the names:
gfx1033 is GC 10.3.1 (Van Gogh), gfx1035 is 10.3.3 (Yellow Carp), gfx1032 is 10.3.4, gfx1034 is 10.3.5.
"""

from __future__ import annotations

from pytest_amdgpu.families import PM4_GFX10_PLUS, CwsrRules, GpuTarget, IpVariant

GENERATION = "gfx10"

# kfd_queue.c: from gfx10 on a CU holds 32 waves and each control-stack entry is 12 bytes; gfx10 hardware
# caps the control stack at 0x7000 bytes (enough for AQL queues, which SPI events limit).
_CWSR = CwsrRules(
    vgpr_bytes_per_cu=0x40000,
    sgpr_bytes_per_cu=0x4000,
    hwreg_bytes_per_cu=0x1000,
    lds_bytes_per_cu=0x10000,
    waves_per_cu=32,
    waves_per_shader_engine=None,
    ctl_stack_bytes_per_wave=12,
    ctl_stack_limit_bytes=0x7000,
)


def _target(
    *,
    name: str,
    gfx_target_version: int,
    ip_variants: tuple[IpVariant, ...],
    sdma_queues_per_engine: int,
    llvm_min_version: int | None,
    examples: tuple[str, ...],
) -> GpuTarget:
    return GpuTarget(
        name=name,
        family="rdna2",
        generation=GENERATION,
        gfx_target_version=gfx_target_version,
        ip_variants=ip_variants,
        default_wave_size=32,
        supported_wave_sizes=(32, 64),
        pm4_flavour=PM4_GFX10_PLUS,
        doorbell_size_bytes=8,
        eop_size_bytes=4096,
        llvm_target=name,
        llvm_min_version=llvm_min_version,
        isa_family=GENERATION,
        num_xcc_default=1,
        lds_size_kib_default=64,
        event_interrupt_class="event_interrupt_class_v10",
        sdma_queues_per_engine=sdma_queues_per_engine,
        sdma_reserved_queues_per_engine=0,
        needs_pci_atomics=True,  # from GC 10.1.1 on, unless the MEC firmware is new enough
        cwsr=_CWSR,
        examples=examples,
        cus_per_wgp=2,
    )


TARGETS: tuple[GpuTarget, ...] = (
    _target(
        name="gfx1030",
        gfx_target_version=100300,
        ip_variants=(IpVariant(gc=(10, 3, 0), sdma=(5, 2, 0)),),  # Sienna Cichlid
        sdma_queues_per_engine=8,
        llvm_min_version=11,
        examples=("Radeon RX 6800", "Radeon RX 6800 XT", "Radeon RX 6900 XT", "Radeon Pro W6800"),
    ),
    _target(
        name="gfx1031",
        gfx_target_version=100301,
        ip_variants=(IpVariant(gc=(10, 3, 2), sdma=(5, 2, 2)),),  # Navy Flounder
        sdma_queues_per_engine=8,
        llvm_min_version=12,
        examples=("Radeon RX 6700 XT", "Radeon RX 6800M", "Radeon RX 6700M"),
    ),
    _target(
        name="gfx1032",
        gfx_target_version=100302,
        ip_variants=(IpVariant(gc=(10, 3, 4), sdma=(5, 2, 4)),),  # Dimgrey Cavefish
        sdma_queues_per_engine=8,
        llvm_min_version=12,
        examples=("Radeon RX 6600", "Radeon RX 6600 XT", "Radeon Pro W6600"),
    ),
    _target(
        name="gfx1033",
        gfx_target_version=100303,
        ip_variants=(IpVariant(gc=(10, 3, 1), sdma=(5, 2, 1)),),  # Van Gogh
        sdma_queues_per_engine=2,
        llvm_min_version=12,
        examples=("Steam Deck APU (Van Gogh)",),
    ),
    _target(
        name="gfx1034",
        gfx_target_version=100304,
        ip_variants=(IpVariant(gc=(10, 3, 5), sdma=(5, 2, 5)),),  # Beige Goby
        sdma_queues_per_engine=8,
        llvm_min_version=13,
        examples=("Radeon RX 6500 XT", "Radeon RX 6500M", "Radeon RX 6300M"),
    ),
    _target(
        name="gfx1035",
        gfx_target_version=100305,
        ip_variants=(IpVariant(gc=(10, 3, 3), sdma=(5, 2, 3)),),  # Yellow Carp
        sdma_queues_per_engine=2,
        llvm_min_version=13,
        examples=("Ryzen 6000 series iGPU (Rembrandt)", "Radeon 680M"),
    ),
    _target(
        name="gfx1036",
        gfx_target_version=100306,
        ip_variants=(
            IpVariant(gc=(10, 3, 6), sdma=(5, 2, 6)),  # Raphael, Dragon Range
            IpVariant(gc=(10, 3, 7), sdma=(5, 2, 7)),  # Mendocino
        ),
        sdma_queues_per_engine=2,
        llvm_min_version=15,
        examples=("Ryzen 7000 series iGPU (Raphael)", "Ryzen 7x20 series iGPU (Mendocino)"),
    ),
)
