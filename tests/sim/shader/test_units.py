"""Semantics and decoding pieces with hand-worked values, without any LLVM tool."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_amdgpu.sim.shader import atomics, bitops, decode_words, disassemble, specs
from pytest_amdgpu.sim.shader.compile import compile_instruction  # noqa: F401  (registers the specs)
from pytest_amdgpu.sim.shader.operands import inline_value
from pytest_amdgpu.sim.shader.targets import properties
from pytest_amdgpu.sim.shader.waves import lanes_from_words, words_from_lanes

U32, U64 = np.uint32, np.uint64


def salu(name: str, *args):
    spec = specs.SALU[name]
    arrays = [
        np.array([a], dtype=U64 if bits == 64 else U32) for a, bits in zip(args, spec.src_bits, strict=False)
    ]
    value, scc = spec.fn(*arrays)
    return (None if value is None else int(np.asarray(value).reshape(-1)[0]),
            None if scc is None else bool(np.asarray(scc).reshape(-1)[0]))  # fmt: skip


def test_scalar_add_sub_carry_and_overflow():
    assert salu("s_add_u32", 0xFFFF_FFFF, 2) == (1, True)
    assert salu("s_sub_u32", 1, 2) == (0xFFFF_FFFF, True)
    assert salu("s_add_i32", 0x7FFF_FFFF, 1) == (0x8000_0000, True)  # signed overflow
    assert salu("s_add_i32", 0xFFFF_FFFF, 1) == (0, False)  # -1 + 1 does not overflow
    assert salu("s_sub_i32", 0x8000_0000, 1) == (0x7FFF_FFFF, True)


def test_scalar_shifts_use_only_the_low_bits_of_the_amount():
    assert salu("s_lshl_b32", 1, 33) == (2, True)
    assert salu("s_lshr_b64", 1 << 63, 63 + 64) == (1, True)
    assert salu("s_ashr_i32", 0x8000_0000, 31) == (0xFFFF_FFFF, True)
    assert salu("s_lshl_b32", 0x8000_0000, 1) == (0, False)


def test_scalar_bit_counting():
    assert salu("s_bcnt1_i32_b64", 0xF0F0_0000_0000_0001) == (9, True)
    assert salu("s_ff1_i32_b32", 0x0010_0000) == (20, None)
    assert salu("s_ff1_i32_b32", 0) == (0xFFFF_FFFF, None)
    assert salu("s_flbit_i32_b32", 0x0000_8000) == (16, None)
    assert salu("s_flbit_i32", 0xFFFF_0000) == (16, None)  # bits equal to the sign bit, counted from the MSB
    assert salu("s_brev_b32", 1) == (0x8000_0000, None)
    assert salu("s_bfm_b32", 4, 8) == (0xF00, None)
    assert salu("s_bfe_i64", 0xFF00, 8 | 8 << 16) == (0xFFFF_FFFF_FFFF_FFFF, True)


def test_scalar_compares_are_signed_or_unsigned_by_name():
    assert salu("s_cmp_lt_i32", 0xFFFF_FFFF, 0) == (None, True)
    assert salu("s_cmp_lt_u32", 0xFFFF_FFFF, 0) == (None, False)
    assert salu("s_cmp_eq_u64", 1 << 40, 1 << 40) == (None, True)
    assert salu("s_bitcmp1_b32", 0b100, 2) == (None, True)


def valu(name: str, *args, dtype=U32):
    spec = specs.VALU[name]
    return spec.fn(*[np.array([a], dtype=dtype) for a in args])


def f32(value: float) -> int:
    return int(np.array([value], np.float32).view(U32)[0])


def test_float_to_int_conversions_saturate_and_map_nan_to_zero():
    cvt = specs.VALU["v_cvt_i32_f32"].fn
    values = np.array([f32(3.9), f32(-3.9), f32(1e20), f32(-1e20), f32(float("nan"))], U32)
    assert cvt(values).view(np.int32).tolist() == [3, -3, 2**31 - 1, -(2**31), 0]
    assert specs.VALU["v_cvt_u32_f32"].fn(values).tolist() == [3, 0, 2**32 - 1, 0, 0]


def test_float_min_max_ignore_a_nan_operand():
    nan, two = f32(float("nan")), f32(2.0)
    assert valu("v_min_f32", nan, two)[0] == two
    assert valu("v_max_f32", two, nan)[0] == two


def test_ordered_and_unordered_compares_with_nan():
    nan, one = f32(float("nan")), f32(1.0)
    assert not valu("v_cmp_lt_f32", nan, one)[0]
    assert valu("v_cmp_nge_f32", nan, one)[0]  # "not greater or equal" is true for unordered
    assert valu("v_cmp_u_f32", nan, one)[0] and not valu("v_cmp_o_f32", nan, one)[0]
    assert not valu("v_cmp_lg_f32", nan, one)[0] and valu("v_cmp_neq_f32", nan, one)[0]


def test_v_cmp_class_flags():
    classes = specs.VALU["v_cmp_class_f32"].fn
    values = np.array([f32(float("-inf")), f32(-0.0), f32(1.5), f32(1e-40)], U32)
    assert classes(values, np.array(1 << 2 | 1 << 5, U32)).tolist() == [True, True, False, False]
    assert classes(values, np.array(1 << 8 | 1 << 7, U32)).tolist() == [False, False, True, True]


def test_v_perm_b32_selects_bytes_and_constants():
    perm = specs.VALU["v_perm_b32"].fn
    # selector bytes (low to high): 0 -> b.byte0, 7 -> a.byte3, 12 -> 0x00, 13 -> 0xFF
    result = perm(np.array([0xA1A2A3A4], U32), np.array([0xB1B2B3B4], U32), np.array([0x0D0C0700], U32))
    assert result[0] == 0xFF00A1B4


def test_mul_24_bit_forms_ignore_the_high_byte():
    assert valu("v_mul_u32_u24", 0xFF00_0002, 0x0100_0003)[0] == 6
    assert valu("v_mul_i32_i24", 0x00FF_FFFF, 2)[0] == 0xFFFF_FFFE  # -1 * 2 in 24-bit arithmetic
    assert valu("v_mul_hi_u32", 0xFFFF_FFFF, 0xFFFF_FFFF)[0] == 0xFFFF_FFFE


def test_fma_rounds_once():
    # (1 + 2**-23) * (1 - 2**-23) - 1 = -2**-46 exactly with one rounding; separate rounding gives 0
    a, b, c = f32(1 + 2**-23), f32(1 - 2**-23), f32(-1.0)
    fused = specs.VALU["v_fma_f32"].fn(*(np.array([x], U32) for x in (a, b, c)))
    assert np.asarray(fused).view(np.float32)[0] == np.float32(-(2.0**-46))
    unfused = specs.VALU["v_mad_f32"].fn(*(np.array([x], U32) for x in (a, b, c)))
    assert np.asarray(unfused).view(np.float32)[0] == 0.0


def test_atomics_apply_lane_by_lane_when_lanes_share_an_address():
    memory = np.array([10, 0], U32)
    old = atomics.apply(memory, np.array([0, 0, 1, 0]), "add", np.array([1, 2, 3, 4], U32))
    assert old.tolist() == [10, 11, 0, 13] and memory.tolist() == [17, 3]
    memory = np.array([5], U32)
    old = atomics.apply(
        memory, np.array([0, 0, 0]), "cmpswap", np.array([7, 9, 11], U32), np.array([5, 5, 7], U32)
    )
    assert old.tolist() == [5, 7, 7] and memory.tolist() == [
        11
    ]  # lane 1's compare (5) failed, lane 2's (7) won
    memory = np.array([3], U32)
    old = atomics.apply(memory, np.array([0, 0, 0, 0]), "inc", np.array([4, 4, 4, 4], U32))
    assert old.tolist() == [3, 4, 0, 1] and memory.tolist() == [2]  # inc wraps to 0 past the operand
    memory = np.array([0xFFFF_FFFF], U32)
    assert atomics.apply(memory, np.array([0, 0]), "add", np.array([1, 1], U32)).tolist() == [0xFFFF_FFFF, 0]


def test_lane_masks_round_trip_through_sgpr_words():
    words = np.array([[0x8000_0001, 0x0000_00F0]], U32)
    lanes = lanes_from_words(words)
    assert lanes.shape == (1, 64) and np.flatnonzero(lanes[0]).tolist() == [0, 31, 36, 37, 38, 39]
    assert np.array_equal(words_from_lanes(lanes), words)


def test_bit_helpers():
    values = np.array([0, 1, 0x8000_0000, 0xFFFF_FFFF], U32)
    assert bitops.popcount(values).tolist() == [0, 1, 1, 32]
    assert bitops.leading_zeros(values).tolist() == [0xFFFF_FFFF, 31, 0, 0]
    assert bitops.bit_reverse(np.array([1, 0x0000_00F0], U32)).tolist() == [0x8000_0000, 0x0F00_0000]


def test_inline_constants_depend_on_operand_width():
    assert inline_value(242, 32) == 0x3F80_0000  # 1.0
    assert inline_value(242, 64) == 0x3FF0_0000_0000_0000
    assert inline_value(193, 32) == 0xFFFF_FFFF  # -1
    assert inline_value(248, 32) == 0x3E22_F983  # 1/(2*pi)


def test_decoder_sizes_literals_and_fields():
    inst = decode_words("gfx11", "gfx1100", [0x360200FF, 0x3FF])  # v_and_b32_e32 v1, 0x3ff, v0
    assert inst.mnemonic == "v_and_b32" and inst.literal == 0x3FF and inst.size == 8
    inst = decode_words("gfx9", "gfx942", [0xDC508000, 0x047F0002])  # global_load_dword v4, v[2:3], off
    assert inst.format == "GLOBAL" and inst.fields["vdst"] == 4 and inst.fields["saddr"] == 0x7F


def test_disassembly_of_a_small_gfx11_program():
    words = [0x360200FF, 0x3FF, 0xBF89FC07, 0xBFB00000]
    rows = disassemble(np.array(words, U32).tobytes(), "gfx11", "gfx1100", address=0x1000)
    assert [text for _, _, text in rows] == [
        "v_and_b32_e32 v1, 0x3ff, v0",
        "s_waitcnt lgkmcnt(0)",
        "s_endpgm",
    ]
    assert [address for address, _, _ in rows] == [0x1000, 0x1008, 0x100C]


@pytest.mark.parametrize(
    ("target", "family", "value", "waves", "wave_bytes"),
    [("gfx942", "gfx9", 32 | 3 << 12, 32, 3072), ("gfx1100", "gfx11", 16 | 5 << 12, 16, 1280),
     ("gfx1200", "gfx12", 8 | (1 << 17) << 12, 8, (1 << 17) * 256)],
)  # fmt: skip
def test_tmpring_size_layouts(target, family, value, waves, wave_bytes):
    layout = properties(target, family).tmpring
    assert layout.waves(value) == waves and layout.wave_bytes(value) == wave_bytes


@pytest.mark.parametrize(
    ("target", "family", "wave_size", "rsrc1", "vgprs"),
    [("gfx942", "gfx9", 64, 3, 32), ("gfx1030", "gfx10", 32, 3, 32), ("gfx1030", "gfx10", 64, 3, 16),
     ("gfx1100", "gfx11", 32, 0, 8)],
)  # fmt: skip
def test_vgpr_granules(target, family, wave_size, rsrc1, vgprs):
    assert properties(target, family).vgpr_count(rsrc1, wave_size) == vgprs
