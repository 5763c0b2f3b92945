"""The 64-byte kernel descriptor: byte layout, bit fields per ISA family, values a dispatcher reads."""

from __future__ import annotations

import struct

import pytest

from pytest_amdgpu.program import CodeObjectError, KernelDescriptor
from pytest_amdgpu.program.descriptor import COMPUTE_PGM_RSRC1_FIELDS, decode_fields


def descriptor_bytes(**words) -> bytes:
    """64 bytes laid out as AMDGPUUsage's kernel descriptor table, from the words given (others zero)."""
    raw = bytearray(64)
    struct.pack_into("<I", raw, 0, words.get("group", 0))
    struct.pack_into("<I", raw, 4, words.get("private", 0))
    struct.pack_into("<I", raw, 8, words.get("kernarg", 0))
    struct.pack_into("<q", raw, 16, words.get("entry", 0))
    struct.pack_into("<I", raw, 44, words.get("rsrc3", 0))
    struct.pack_into("<I", raw, 48, words.get("rsrc1", 0))
    struct.pack_into("<I", raw, 52, words.get("rsrc2", 0))
    struct.pack_into("<H", raw, 56, words.get("properties", 0))
    struct.pack_into("<H", raw, 58, words.get("preload", 0))
    return bytes(raw)


def test_the_byte_fields_sit_at_their_offsets():
    data = descriptor_bytes(
        group=4096,
        private=16,
        kernarg=288,
        entry=-0x1100,
        rsrc3=2,
        rsrc1=0x00AF0041,
        rsrc2=0x1384,
        properties=0x0428,
        preload=(3 << 7) | 2,
    )
    descriptor = KernelDescriptor.from_bytes(data)
    assert (descriptor.group_segment_fixed_size, descriptor.private_segment_fixed_size) == (4096, 16)
    assert descriptor.kernarg_size == 288
    assert descriptor.kernel_code_entry_byte_offset == -0x1100  # signed: code may sit before the descriptor
    assert (descriptor.compute_pgm_rsrc3, descriptor.compute_pgm_rsrc1, descriptor.compute_pgm_rsrc2) == (
        2,
        0x00AF0041,
        0x1384,
    )
    assert descriptor.to_bytes() == data
    assert not descriptor.reserved_nonzero


def test_reserved_bytes_that_are_set_are_reported():
    raw = bytearray(descriptor_bytes())
    raw[30] = 1
    assert KernelDescriptor.from_bytes(bytes(raw)).reserved_nonzero


def test_a_descriptor_must_be_64_bytes():
    with pytest.raises(CodeObjectError, match="64 bytes, not 63"):
        KernelDescriptor.from_bytes(bytes(63))


def test_kernel_code_properties_name_each_enabled_user_sgpr():
    # private segment buffer (4) + kernarg segment pointer (2) + flat scratch init (2), wave32, dynamic stack
    properties = (1 << 0) | (1 << 3) | (1 << 5) | (1 << 10) | (1 << 11)
    descriptor = KernelDescriptor.from_bytes(
        descriptor_bytes(properties=properties, rsrc2=8 << 1, preload=(5 << 7) | 3)
    )
    fields = descriptor.kernel_code_properties_fields("gfx11")
    assert fields["enable_sgpr_private_segment_buffer"] == 1
    assert fields["enable_sgpr_dispatch_ptr"] == 0
    assert fields["enable_sgpr_kernarg_segment_ptr"] == 1
    assert fields["enable_sgpr_flat_scratch_init"] == 1
    assert fields["enable_wavefront_size32"] == 1
    assert fields["uses_dynamic_stack"] == 1
    assert (fields["kernarg_preload_spec_length"], fields["kernarg_preload_spec_offset"]) == (3, 5)
    assert descriptor.enabled_user_sgprs == (
        ("enable_sgpr_private_segment_buffer", 4),
        ("enable_sgpr_kernarg_segment_ptr", 2),
        ("enable_sgpr_flat_scratch_init", 2),
    )
    assert descriptor.user_sgpr_count == 8 == sum(count for _, count in descriptor.enabled_user_sgprs)
    assert descriptor.wavefront_size == 32 and descriptor.uses_dynamic_stack


def test_rsrc2_fields():
    rsrc2 = 1 | (2 << 1) | (1 << 7) | (1 << 8) | (1 << 9) | (2 << 11) | (3 << 15) | (1 << 30)
    fields = KernelDescriptor.from_bytes(descriptor_bytes(rsrc2=rsrc2)).compute_pgm_rsrc2_fields("gfx9")
    assert fields["enable_private_segment"] == 1
    assert fields["user_sgpr_count"] == 2
    assert [fields[f"enable_sgpr_workgroup_id_{axis}"] for axis in "xyz"] == [1, 1, 1]
    assert fields["enable_vgpr_workitem_id"] == 2
    assert fields["granulated_lds_size"] == 3
    assert fields["enable_exception_int_divide_by_zero"] == 1
    assert fields["enable_trap_handler"] == 0


def test_bits_that_changed_meaning_are_named_per_family():
    rsrc1 = (1 << 21) | (1 << 23) | (1 << 29)
    gfx9 = KernelDescriptor.from_bytes(descriptor_bytes(rsrc1=rsrc1)).compute_pgm_rsrc1_fields("gfx9")
    gfx12 = KernelDescriptor.from_bytes(descriptor_bytes(rsrc1=rsrc1)).compute_pgm_rsrc1_fields("gfx12")
    assert gfx9["enable_dx10_clamp"] == 1 and gfx9["enable_ieee_mode"] == 1 and "wgp_mode" not in gfx9
    assert gfx12["enable_wg_rr_en"] == 1 and gfx12["disable_perf"] == 1 and gfx12["wgp_mode"] == 1
    assert "enable_dx10_clamp" not in gfx12


def test_rsrc3_is_the_accumulation_offset_on_gfx9_and_the_prefetch_size_on_gfx11():
    rsrc3 = 2 | (1 << 16) | (5 << 4)
    descriptor = KernelDescriptor.from_bytes(descriptor_bytes(rsrc3=rsrc3))
    assert descriptor.compute_pgm_rsrc3_fields("gfx9") == {
        "accum_offset": (2 | (5 << 4)) & 0x3F,
        "tg_split": 1,
    }
    assert descriptor.compute_pgm_rsrc3_fields("gfx11")["inst_pref_size"] == 5
    assert descriptor.compute_pgm_rsrc3_fields("gfx10") == {"shared_vgpr_count": 2}


def test_fields_joins_every_word_and_wave64_is_the_gfx9_size():
    descriptor = KernelDescriptor.from_bytes(descriptor_bytes(kernarg=256, properties=1 << 10))
    fields = descriptor.fields("gfx9")
    assert fields["kernarg_size"] == 256
    assert "enable_wavefront_size32" not in fields  # a GFX10+ bit
    assert set(fields) >= {"granulated_workitem_vgpr_count", "enable_sgpr_workgroup_id_x", "accum_offset"}


def test_an_unknown_isa_family_is_an_error():
    with pytest.raises(CodeObjectError, match="gfx8"):
        decode_fields(0, COMPUTE_PGM_RSRC1_FIELDS, "gfx8")
