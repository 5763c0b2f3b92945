"""Per-target shader-core facts: work-item ID packing, scratch model, register and LDS granules.

Sources: AMDGPUUsage (processor table "Target Properties", compute_pgm_rsrc1/2/3 tables, "Initial Kernel
Execution State", "Flat Scratch"); COMPUTE_TMPRING_SIZE layouts from the kernel's gc_*_sh_mask.h headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_amdgpu import families
from pytest_amdgpu.packets import registers
from pytest_amdgpu.sim.shader.errors import ShaderError


@dataclass(frozen=True)
class TmpringLayout:
    """COMPUTE_TMPRING_SIZE: WAVES (scratch wave slots) and WAVESIZE (per-wave bytes in granules)."""

    waves_low: int
    waves_width: int
    wavesize_low: int
    wavesize_width: int
    wavesize_granule_bytes: int

    def waves(self, value: int) -> int:
        return (value >> self.waves_low) & ((1 << self.waves_width) - 1)

    def wave_bytes(self, value: int) -> int:
        return ((value >> self.wavesize_low) & ((1 << self.wavesize_width) - 1)) * self.wavesize_granule_bytes


def _tmpring(target: str) -> TmpringLayout:
    """COMPUTE_TMPRING_SIZE as the register table of the target's generation lays it out (one definition)."""
    row = registers.compute_registers(families.get_target(target))
    fields = {field.name: field for field in row.COMPUTE_TMPRING_SIZE.fields}
    waves, wavesize = fields["WAVES"], fields["WAVESIZE"]
    return TmpringLayout(
        waves.shift, waves.width, wavesize.shift, wavesize.width, row.tmpring_wavesize_granularity_bytes
    )


@dataclass(frozen=True)
class TargetProperties:
    name: str
    isa_family: str
    packed_workitem_ids: bool  # all three IDs packed into v0 (10 bits each)
    architected_flat_scratch: bool  # SPI sets FLAT_SCRATCH; no scratch-offset SGPR, no private segment buffer
    unified_agprs: bool  # AGPRs share the VGPR file (gfx90a, gfx94x, gfx950)
    lds_granule_bytes: int  # COMPUTE_PGM_RSRC2.LDS_SIZE unit
    tmpring: TmpringLayout
    cache_syntax: (
        str  # how LLVM prints memory cache bits: "glc" (glc/slc/dlc), "sc" (sc0/sc1/nt), "th" (th/scope)
    )

    def vgpr_count(self, rsrc1: int, wave_size: int) -> int:
        """VGPRs (and AGPRs when unified) a wave owns: (COMPUTE_PGM_RSRC1.VGPRS + 1) x granule."""
        blocks = (rsrc1 & 0x3F) + 1
        if self.unified_agprs:
            return blocks * 8
        if self.isa_family == "gfx9" or wave_size == 64:
            return blocks * 4
        return blocks * 8


def _lds(target: str) -> int:
    return families.get_target(target).lds_granule_bytes


def properties(target: str, isa_family: str) -> TargetProperties:
    """The properties of `target`; an ISA family the shader core does not model is a ShaderError."""
    if isa_family == "gfx9":
        architected = target != "gfx90a" and target.startswith("gfx9") and target >= "gfx940"
        return TargetProperties(
            name=target,
            isa_family=isa_family,
            packed_workitem_ids=target in ("gfx90a",) or architected,
            architected_flat_scratch=architected,
            unified_agprs=target >= "gfx90a",
            lds_granule_bytes=families.get_target(target).lds_granule_bytes,
            tmpring=_tmpring(target),
            cache_syntax="sc" if architected else "glc",
        )
    if isa_family == "gfx10":
        return TargetProperties(
            target, isa_family, False, False, False, _lds(target), _tmpring(target), "glc"
        )
    if isa_family == "gfx11":
        return TargetProperties(target, isa_family, True, True, False, _lds(target), _tmpring(target), "glc")
    if isa_family == "gfx12":
        return TargetProperties(target, isa_family, True, True, False, _lds(target), _tmpring(target), "th")
    raise ShaderError(f"the shader core does not model ISA family {isa_family!r} (target {target})")
