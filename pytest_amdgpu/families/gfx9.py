"""GFX9 rows of the family registry: CDNA2 (gfx90a), CDNA3 (gfx942) and CDNA4 (gfx950), all wave64 only.

Sources: GC IP -> gfx_target_version from kgd2kfd_probe() and device_info from kfd_device_info_init() in
amdkfd/kfd_device.c; CWSR inputs from amdkfd/kfd_queue.c; SDMA IP beside each GC IP from the kernel's
Documentation/gpu/amdgpu/dgpu-asic-info-table.csv (gfx90a, gfx942 on GC 9.4.3) and linux-firmware's per-ASIC
release groups (GC 9.4.4 with SDMA 4.4.5, GC 9.5.0 with SDMA 4.4.4).
"""

from __future__ import annotations

from dataclasses import replace

from pytest_amdgpu.families import PM4_GFX9, CwsrRules, GpuTarget, IpVariant

GENERATION = "gfx9"

# kfd_queue.c: a gfx9 CU saves 16 KiB of SGPRs, 64 KiB of LDS and 4 KiB of HWREGs; the wave count is
# min(40 per CU, 512 per shader engine); each control-stack entry is 8 bytes (12 from gfx10 on).
_CWSR = CwsrRules(
    vgpr_bytes_per_cu=0x40000,
    sgpr_bytes_per_cu=0x4000,
    hwreg_bytes_per_cu=0x1000,
    lds_bytes_per_cu=0x10000,
    waves_per_cu=40,
    waves_per_shader_engine=512,
    ctl_stack_bytes_per_wave=8,
    ctl_stack_limit_bytes=None,
)
# gfx90a, gfx942 and gfx950 have the 512-register unified VGPR+AGPR file: 0x80000 bytes of vector state a CU.
_CWSR_UNIFIED_VGPR = replace(_CWSR, vgpr_bytes_per_cu=0x80000)
# gfx950 takes the LDS size from the node (160 KiB on CDNA4) instead of the 64 KiB constant.
_CWSR_GFX950 = replace(_CWSR_UNIFIED_VGPR, lds_bytes_per_cu=None)


def _target(
    *,
    name: str,
    family: str,
    gfx_target_version: int,
    ip_variants: tuple[IpVariant, ...],
    event_interrupt_class: str,
    cwsr: CwsrRules,
    llvm_min_version: int | None,
    num_xcc_default: int,
    lds_size_kib_default: int,
    examples: tuple[str, ...],
) -> GpuTarget:
    return GpuTarget(
        name=name,
        family=family,
        generation=GENERATION,
        gfx_target_version=gfx_target_version,
        ip_variants=ip_variants,
        default_wave_size=64,
        supported_wave_sizes=(64,),
        pm4_flavour=PM4_GFX9,
        doorbell_size_bytes=8,  # every SOC15 part
        eop_size_bytes=4096,
        llvm_target=name,
        llvm_min_version=llvm_min_version,
        isa_family=GENERATION,
        num_xcc_default=num_xcc_default,
        lds_size_kib_default=lds_size_kib_default,
        event_interrupt_class=event_interrupt_class,
        sdma_queues_per_engine=8,  # SDMA 4.4.x
        sdma_reserved_queues_per_engine=0,
        needs_pci_atomics=False,  # only set from GC 10.1.1 on
        cwsr=cwsr,
        examples=examples,
    )


TARGETS: tuple[GpuTarget, ...] = (
    _target(
        name="gfx90a",
        family="cdna2",
        gfx_target_version=90010,
        ip_variants=(IpVariant(gc=(9, 4, 2), sdma=(4, 4, 0)),),
        event_interrupt_class="event_interrupt_class_v9",
        cwsr=_CWSR_UNIFIED_VGPR,
        llvm_min_version=13,
        num_xcc_default=1,  # each MI250 GCD is its own node
        lds_size_kib_default=64,
        examples=("AMD Instinct MI210", "AMD Instinct MI250", "AMD Instinct MI250X"),
    ),
    _target(
        name="gfx942",
        family="cdna3",
        gfx_target_version=90402,
        ip_variants=(
            IpVariant(gc=(9, 4, 3), sdma=(4, 4, 2)),
            IpVariant(gc=(9, 4, 4), sdma=(4, 4, 5)),
        ),
        event_interrupt_class="event_interrupt_class_v9_4_3",
        cwsr=_CWSR_UNIFIED_VGPR,
        llvm_min_version=17,
        num_xcc_default=8,  # MI300X in SPX mode; MI300A has 6
        lds_size_kib_default=64,
        examples=("AMD Instinct MI300X", "AMD Instinct MI300A", "AMD Instinct MI325X"),
    ),
    replace(
        _target(
            name="gfx950",
            family="cdna4",
            gfx_target_version=90500,
            ip_variants=(IpVariant(gc=(9, 5, 0), sdma=(4, 4, 4)),),
            event_interrupt_class="event_interrupt_class_v9_4_3",
            cwsr=_CWSR_GFX950,
            llvm_min_version=20,
            num_xcc_default=8,  # MI350X / MI355X in SPX mode
            lds_size_kib_default=160,
            examples=("AMD Instinct MI350X", "AMD Instinct MI355X"),
        ),
        lds_granule_bytes=320 * 4,  # the 160 KiB LDS is allocated in 320-dword granules
    ),
)
