"""The 64-byte AMDHSA kernel descriptor and its bit fields, named as AMDGPUUsage "Kernel Descriptor" does.

Bit-field tables are keyed by the family registry's ``isa_family`` ("gfx9", "gfx10", "gfx11", "gfx12") where a
bit means different things on different generations; COMPUTE_PGM_RSRC3 of the gfx9 family is the GFX90A+
layout (every gfx9 target of the registry is gfx90a or later).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_amdgpu.program.errors import CodeObjectError

KERNEL_DESCRIPTOR_SIZE = 64
KERNEL_DESCRIPTOR_ALIGN = 64

# group_segment_fixed_size, private_segment_fixed_size, kernarg_size, reserved0[4],
# kernel_code_entry_byte_offset, reserved1[20], compute_pgm_rsrc3, compute_pgm_rsrc1, compute_pgm_rsrc2,
# kernel_code_properties, kernarg_preload, reserved3[4]
_LAYOUT = struct.Struct("<III4sq20sIIIHH4s")
assert _LAYOUT.size == KERNEL_DESCRIPTOR_SIZE

ALL_ISA_FAMILIES = frozenset({"gfx9", "gfx10", "gfx11", "gfx12"})
GFX10_PLUS = frozenset({"gfx10", "gfx11", "gfx12"})
UP_TO_GFX11 = frozenset({"gfx9", "gfx10", "gfx11"})


@dataclass(frozen=True)
class BitField:
    """One named field of a descriptor word: bits [shift, shift + width) on the listed ISA families."""

    name: str
    shift: int
    width: int
    isa_families: frozenset[str] = ALL_ISA_FAMILIES

    def get(self, word: int) -> int:
        return (word >> self.shift) & ((1 << self.width) - 1)


def _bits(*rows: tuple) -> tuple[BitField, ...]:
    return tuple(BitField(*row) for row in rows)


COMPUTE_PGM_RSRC1_FIELDS = _bits(
    ("granulated_workitem_vgpr_count", 0, 6),
    ("granulated_wavefront_sgpr_count", 6, 4),
    ("priority", 10, 2),
    ("float_round_mode_32", 12, 2),
    ("float_round_mode_16_64", 14, 2),
    ("float_denorm_mode_32", 16, 2),
    ("float_denorm_mode_16_64", 18, 2),
    ("priv", 20, 1),
    ("enable_dx10_clamp", 21, 1, UP_TO_GFX11),
    ("enable_wg_rr_en", 21, 1, frozenset({"gfx12"})),
    ("debug_mode", 22, 1),
    ("enable_ieee_mode", 23, 1, UP_TO_GFX11),
    ("disable_perf", 23, 1, frozenset({"gfx12"})),
    ("bulky", 24, 1),
    ("cdbg_user", 25, 1),
    ("fp16_ovfl", 26, 1),
    ("wgp_mode", 29, 1, GFX10_PLUS),
    ("mem_ordered", 30, 1, GFX10_PLUS),
    ("fwd_progress", 31, 1, GFX10_PLUS),
)

COMPUTE_PGM_RSRC2_FIELDS = _bits(
    ("enable_private_segment", 0, 1),
    ("user_sgpr_count", 1, 5),
    ("enable_trap_handler", 6, 1, UP_TO_GFX11),
    ("enable_dynamic_vgpr", 6, 1, frozenset({"gfx12"})),
    ("enable_sgpr_workgroup_id_x", 7, 1),
    ("enable_sgpr_workgroup_id_y", 8, 1),
    ("enable_sgpr_workgroup_id_z", 9, 1),
    ("enable_sgpr_workgroup_info", 10, 1),
    ("enable_vgpr_workitem_id", 11, 2),
    ("enable_exception_address_watch", 13, 1),
    ("enable_exception_memory", 14, 1),
    ("granulated_lds_size", 15, 9),
    ("enable_exception_ieee_754_fp_invalid_operation", 24, 1),
    ("enable_exception_fp_denormal_source", 25, 1),
    ("enable_exception_ieee_754_fp_division_by_zero", 26, 1),
    ("enable_exception_ieee_754_fp_overflow", 27, 1),
    ("enable_exception_ieee_754_fp_underflow", 28, 1),
    ("enable_exception_ieee_754_fp_inexact", 29, 1),
    ("enable_exception_int_divide_by_zero", 30, 1),
)

COMPUTE_PGM_RSRC3_FIELDS = _bits(
    ("accum_offset", 0, 6, frozenset({"gfx9"})),
    ("tg_split", 16, 1, frozenset({"gfx9"})),
    ("shared_vgpr_count", 0, 4, frozenset({"gfx10", "gfx11"})),
    ("inst_pref_size", 4, 6, frozenset({"gfx11"})),
    ("trap_on_start", 10, 1, frozenset({"gfx11"})),
    ("trap_on_end", 11, 1, frozenset({"gfx11"})),
    ("inst_pref_size", 4, 8, frozenset({"gfx12"})),
    ("glg_en", 13, 1, frozenset({"gfx12"})),
    ("image_op", 31, 1, frozenset({"gfx11", "gfx12"})),
)

KERNEL_CODE_PROPERTIES_FIELDS = _bits(
    ("enable_sgpr_private_segment_buffer", 0, 1),
    ("enable_sgpr_dispatch_ptr", 1, 1),
    ("enable_sgpr_queue_ptr", 2, 1),
    ("enable_sgpr_kernarg_segment_ptr", 3, 1),
    ("enable_sgpr_dispatch_id", 4, 1),
    ("enable_sgpr_flat_scratch_init", 5, 1),
    ("enable_sgpr_private_segment_size", 6, 1),
    ("enable_wavefront_size32", 10, 1, GFX10_PLUS),
    ("uses_dynamic_stack", 11, 1),
)

KERNARG_PRELOAD_FIELDS = _bits(
    ("kernarg_preload_spec_length", 0, 7),
    ("kernarg_preload_spec_offset", 7, 9),
)

# User SGPRs each kernel_code_properties enable bit adds, in the order the hardware loads them.
USER_SGPRS_BY_PROPERTY = (
    ("enable_sgpr_private_segment_buffer", 4),
    ("enable_sgpr_dispatch_ptr", 2),
    ("enable_sgpr_queue_ptr", 2),
    ("enable_sgpr_kernarg_segment_ptr", 2),
    ("enable_sgpr_dispatch_id", 2),
    ("enable_sgpr_flat_scratch_init", 2),
    ("enable_sgpr_private_segment_size", 1),
)


def decode_fields(word: int, fields: Iterable[BitField], isa_family: str) -> dict[str, int]:
    """Every field of `word` that exists on `isa_family`, by name, in bit order."""
    if isa_family not in ALL_ISA_FAMILIES:
        raise CodeObjectError(f"no kernel descriptor layout for ISA family {isa_family!r}")
    return {field.name: field.get(word) for field in fields if isa_family in field.isa_families}


@dataclass(frozen=True)
class KernelDescriptor:
    """The raw words of one kernel descriptor; the ``*_fields`` methods decode them for an ISA family."""

    group_segment_fixed_size: int
    private_segment_fixed_size: int
    kernarg_size: int
    kernel_code_entry_byte_offset: int
    compute_pgm_rsrc3: int
    compute_pgm_rsrc1: int
    compute_pgm_rsrc2: int
    kernel_code_properties: int
    kernarg_preload: int
    reserved_nonzero: bool = False  # any reserved byte set: a newer or broken producer

    @classmethod
    def from_bytes(cls, data: bytes) -> KernelDescriptor:
        if len(data) != KERNEL_DESCRIPTOR_SIZE:
            raise CodeObjectError(f"a kernel descriptor is {KERNEL_DESCRIPTOR_SIZE} bytes, not {len(data)}")
        (
            group,
            private,
            kernarg,
            reserved0,
            entry,
            reserved1,
            rsrc3,
            rsrc1,
            rsrc2,
            properties,
            preload,
            reserved3,
        ) = _LAYOUT.unpack(data)
        reserved = any(reserved0 + reserved1 + reserved3)
        return cls(group, private, kernarg, entry, rsrc3, rsrc1, rsrc2, properties, preload, reserved)

    def to_bytes(self) -> bytes:
        """The 64 descriptor bytes (reserved bytes zero)."""
        return _LAYOUT.pack(
            self.group_segment_fixed_size,
            self.private_segment_fixed_size,
            self.kernarg_size,
            bytes(4),
            self.kernel_code_entry_byte_offset,
            bytes(20),
            self.compute_pgm_rsrc3,
            self.compute_pgm_rsrc1,
            self.compute_pgm_rsrc2,
            self.kernel_code_properties,
            self.kernarg_preload,
            bytes(4),
        )

    # --- decoded views ------------------------------------------------------------------------------------

    def compute_pgm_rsrc1_fields(self, isa_family: str) -> dict[str, int]:
        return decode_fields(self.compute_pgm_rsrc1, COMPUTE_PGM_RSRC1_FIELDS, isa_family)

    def compute_pgm_rsrc2_fields(self, isa_family: str) -> dict[str, int]:
        return decode_fields(self.compute_pgm_rsrc2, COMPUTE_PGM_RSRC2_FIELDS, isa_family)

    def compute_pgm_rsrc3_fields(self, isa_family: str) -> dict[str, int]:
        return decode_fields(self.compute_pgm_rsrc3, COMPUTE_PGM_RSRC3_FIELDS, isa_family)

    def kernel_code_properties_fields(self, isa_family: str) -> dict[str, int]:
        fields = decode_fields(self.kernel_code_properties, KERNEL_CODE_PROPERTIES_FIELDS, isa_family)
        fields.update(decode_fields(self.kernarg_preload, KERNARG_PRELOAD_FIELDS, isa_family))
        return fields

    def fields(self, isa_family: str) -> dict[str, int]:
        """Every field of the descriptor, the byte-sized ones first, then each word's bit fields."""
        decoded = {
            "group_segment_fixed_size": self.group_segment_fixed_size,
            "private_segment_fixed_size": self.private_segment_fixed_size,
            "kernarg_size": self.kernarg_size,
            "kernel_code_entry_byte_offset": self.kernel_code_entry_byte_offset,
        }
        for part in (
            self.compute_pgm_rsrc1_fields(isa_family),
            self.compute_pgm_rsrc2_fields(isa_family),
            self.compute_pgm_rsrc3_fields(isa_family),
            self.kernel_code_properties_fields(isa_family),
        ):
            decoded.update(part)
        return decoded

    # --- the values a dispatcher needs --------------------------------------------------------------------

    def _property(self, name: str) -> int:
        field = next(f for f in KERNEL_CODE_PROPERTIES_FIELDS if f.name == name)
        return field.get(self.kernel_code_properties)

    @property
    def user_sgpr_count(self) -> int:
        """COMPUTE_PGM_RSRC2.USER_SGPR_COUNT: user SGPRs the dispatcher loads into s0 upwards."""
        return (self.compute_pgm_rsrc2 >> 1) & 0x1F

    @property
    def enabled_user_sgprs(self) -> tuple[tuple[str, int], ...]:
        """(kernel_code_properties bit name, SGPR count) of each enabled user SGPR input, in load order."""
        return tuple((name, count) for name, count in USER_SGPRS_BY_PROPERTY if self._property(name))

    @property
    def wavefront_size(self) -> int:
        """32 when ENABLE_WAVEFRONT_SIZE32 is set (GFX10+), else 64."""
        return 32 if self._property("enable_wavefront_size32") else 64

    @property
    def enable_private_segment(self) -> bool:
        return bool(self.compute_pgm_rsrc2 & 1)

    @property
    def uses_dynamic_stack(self) -> bool:
        return bool(self._property("uses_dynamic_stack"))
