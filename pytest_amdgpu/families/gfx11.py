"""GFX11 rows of the family registry: RDNA3 (gfx1100 to gfx1103) and RDNA3.5 (gfx1150, gfx1151).

RDNA 3.5 is the family ``rdna3_5``: family names are pytest marker names, which cannot hold a dot.

Sources: GC IP -> gfx_target_version and device_info from amdkfd/kfd_device.c; CWSR inputs from
amdkfd/kfd_queue.c; SDMA IP beside each GC IP from the kernel's Documentation/gpu/amdgpu/*-asic-info-table.csv
(Strix Halo: the newer apu table).
Note gfx1101 is GC 11.0.3 and gfx1102 is GC 11.0.2 (kfd_device.c: "compiler version is 11.0.1 while HW
version is 11.0.3").
"""

from __future__ import annotations

from dataclasses import replace

from pytest_amdgpu.families import PM4_GFX10_PLUS, CwsrRules, GpuTarget, IpVariant

GENERATION = "gfx11"

_CWSR = CwsrRules(
    vgpr_bytes_per_cu=0x40000,
    sgpr_bytes_per_cu=0x4000,
    hwreg_bytes_per_cu=0x1000,
    lds_bytes_per_cu=0x10000,
    waves_per_cu=32,
    waves_per_shader_engine=None,
    ctl_stack_bytes_per_wave=12,
    ctl_stack_limit_bytes=None,
)
# Navi 31, Navi 32 and Strix Halo have 1.5x the VGPRs per SIMD (kfd_get_vgpr_size_per_cu()).
_CWSR_LARGE_VGPR = replace(_CWSR, vgpr_bytes_per_cu=0x60000)


def _target(
    *,
    name: str,
    family: str,
    gfx_target_version: int,
    ip_variants: tuple[IpVariant, ...],
    cwsr: CwsrRules,
    llvm_min_version: int | None,
    examples: tuple[str, ...],
) -> GpuTarget:
    return GpuTarget(
        name=name,
        family=family,
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
        event_interrupt_class="event_interrupt_class_v11",
        sdma_queues_per_engine=8,  # SDMA 6.x
        sdma_reserved_queues_per_engine=2,  # one for paging, one for gfx
        needs_pci_atomics=True,  # unless RS64 MEC firmware >= 509
        cwsr=cwsr,
        examples=examples,
        cus_per_wgp=2,
    )


TARGETS: tuple[GpuTarget, ...] = (
    _target(
        name="gfx1100",
        family="rdna3",
        gfx_target_version=110000,
        ip_variants=(IpVariant(gc=(11, 0, 0), sdma=(6, 0, 0)),),  # Navi 31
        cwsr=_CWSR_LARGE_VGPR,
        llvm_min_version=15,
        examples=("Radeon RX 7900 XT", "Radeon RX 7900 XTX"),
    ),
    _target(
        name="gfx1101",
        family="rdna3",
        gfx_target_version=110001,
        ip_variants=(IpVariant(gc=(11, 0, 3), sdma=(6, 0, 3)),),  # Navi 32
        cwsr=_CWSR_LARGE_VGPR,
        llvm_min_version=15,
        examples=("Radeon RX 7800 XT", "Radeon RX 7700 XT"),
    ),
    _target(
        name="gfx1102",
        family="rdna3",
        gfx_target_version=110002,
        ip_variants=(IpVariant(gc=(11, 0, 2), sdma=(6, 0, 2)),),  # Navi 33
        cwsr=_CWSR,
        llvm_min_version=15,
        examples=("Radeon RX 7600", "Radeon RX 7600M XT", "Radeon RX 7700S"),
    ),
    _target(
        name="gfx1103",
        family="rdna3",
        gfx_target_version=110003,
        ip_variants=(
            IpVariant(gc=(11, 0, 1), sdma=(6, 0, 1)),  # Phoenix
            IpVariant(gc=(11, 0, 4), sdma=(6, 0, 1)),  # Phoenix 2
        ),
        cwsr=_CWSR,
        llvm_min_version=15,
        examples=("Ryzen 7x40 series iGPU (Phoenix)", "Ryzen 8x40 series iGPU (Hawk Point)"),
    ),
    _target(
        name="gfx1150",
        family="rdna3_5",
        gfx_target_version=110500,
        ip_variants=(IpVariant(gc=(11, 5, 0), sdma=(6, 1, 0)),),  # Strix Point
        cwsr=_CWSR,
        llvm_min_version=17,
        examples=("Ryzen AI 300 series iGPU (Strix Point)", "Radeon 890M"),
    ),
    _target(
        name="gfx1151",
        family="rdna3_5",
        gfx_target_version=110501,
        ip_variants=(IpVariant(gc=(11, 5, 1), sdma=(6, 1, 1)),),  # Strix Halo
        cwsr=_CWSR_LARGE_VGPR,
        llvm_min_version=17,
        examples=("Ryzen AI Max 300 series iGPU (Strix Halo)", "Radeon 8060S"),
    ),
)
