"""Instruction semantics with hand-worked expected values, run as real machine code assembled by llvm-mc."""

from __future__ import annotations

import struct

import numpy as np
import pytest

WAVE64 = ("gfx942", 64)
WAVE32 = ("gfx1100", 32)
GFX11_WAVE64 = ("gfx1100", 64)


def f32_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32, GFX11_WAVE64])
def test_v_add_co_u32_carries_into_vcc_for_the_lanes_that_overflow(snippet, target, lanes):
    # v1 = lane - 4 (mod 2**32): lanes 4 and up carry out of 0xFFFFFFFC + lane
    vcc = "vcc" if lanes == 64 else "vcc_lo"
    add = "v_add_co_u32_e32" if target == "gfx942" else "v_add_co_u32"
    body = f"""
        v_mov_b32 v2, 0xfffffffc
        {add} v1, {vcc}, v0, v2
        s_mov_b32 s10, vcc_lo
        s_mov_b32 s11, {"vcc_hi" if lanes == 64 else "0"}
    """
    out = snippet(target, body, ["v1", "s10", "s11"], wave_size=lanes)
    lane = np.arange(lanes, dtype=np.uint32)
    assert out[0].tolist() == ((lane - 4) & 0xFFFF_FFFF).tolist()
    assert out[1, 0] == 0xFFFF_FFF0  # lanes 0..3 did not carry
    assert out[2, 0] == (0xFFFF_FFFF if lanes == 64 else 0)


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32])
def test_carry_bits_of_lanes_outside_exec_are_cleared(snippet, target, lanes):
    add = "v_add_co_u32_e32" if target == "gfx942" else "v_add_co_u32"
    exec_ = "exec" if lanes == 64 else "exec_lo"
    vcc = "vcc" if lanes == 64 else "vcc_lo"
    body = f"""
        s_mov_b64 s[20:21], exec
        s_mov_b32 {exec_ if lanes == 32 else "exec_lo"}, 0xff
        {"s_mov_b32 exec_hi, 0" if lanes == 64 else ""}
        v_mov_b32 v2, -1
        {add} v1, {vcc}, v0, v2
        s_mov_b32 s10, vcc_lo
        s_mov_b64 exec, s[20:21]
    """
    out = snippet(target, body, ["s10"], wave_size=lanes)
    assert out[0, 0] == 0xFE  # lanes 1..7 carry (lane + 0xFFFFFFFF), lane 0 does not, lanes 8+ are off


@pytest.mark.parametrize("target", ["gfx942", "gfx1030", "gfx1100", "gfx1200"])
def test_s_lshl_b64_shifts_across_the_register_pair_and_sets_scc(snippet, target):
    body = """
        s_mov_b32 s4, 0x80000001
        s_mov_b32 s5, 1
        s_lshl_b64 s[6:7], s[4:5], 31
        s_cselect_b32 s8, 1, 0
        s_lshl_b64 s[12:13], 0, 5
        s_cselect_b32 s9, 1, 0
    """
    out = snippet(target, body, ["s6", "s7", "s8", "s9"])
    # 0x1_8000_0001 << 31 = 0xC000_0000_8000_0000
    assert out[:, 0].tolist() == [0x8000_0000, 0xC000_0000, 1, 0]


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32, GFX11_WAVE64])
def test_v_cndmask_picks_src1_where_the_mask_bit_is_set(snippet, target, lanes):
    vcc = "vcc" if lanes == 64 else "vcc_lo"
    cmp = "v_cmp_eq_u32_e32" if target == "gfx942" else "v_cmp_eq_u32"
    body = f"""
        v_and_b32 v1, 1, v0
        {cmp} {vcc}, 1, v1
        v_mov_b32 v2, 100
        v_cndmask_b32 v3, v2, v0, {vcc}
    """
    out = snippet(target, body, ["v3"], wave_size=lanes)
    lane = np.arange(lanes)
    assert out[0].tolist() == np.where(lane % 2 == 1, lane, 100).tolist()


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_signed_and_unsigned_compares_disagree_on_negative_numbers(snippet, target):
    lanes = 64 if target == "gfx942" else 32
    vcc = "vcc" if lanes == 64 else "vcc_lo"
    suffix = "_e32" if target == "gfx942" else ""
    body = f"""
        v_mov_b32 v1, -1
        v_cmp_lt_i32{suffix} {vcc}, v1, v0
        s_mov_b32 s10, vcc_lo
        v_cmp_lt_u32{suffix} {vcc}, v1, v0
        s_mov_b32 s11, vcc_lo
        s_cmp_lt_i32 -1, 1
        s_cselect_b32 s12, 1, 0
        s_cmp_lt_u32 -1, 1
        s_cselect_b32 s13, 1, 0
    """
    out = snippet(target, body, ["s10", "s11", "s12", "s13"], wave_size=lanes)
    assert out[0, 0] == 0xFFFF_FFFF  # -1 < lane for every lane (signed)
    assert out[1, 0] == 0  # 0xFFFFFFFF < lane for no lane (unsigned)
    assert out[2:, 0].tolist() == [1, 0]


@pytest.mark.parametrize("target", ["gfx942", "gfx1030", "gfx1100", "gfx1200"])
def test_f32_add_rounds_to_nearest_even(snippet, target):
    half_ulp = f32_bits(2.0**-24)
    body = f"""
        v_mov_b32 v1, 1.0
        v_mov_b32 v2, {half_ulp:#x}
        v_add_f32 v3, v1, v2
        v_mov_b32 v4, {f32_bits(3 * 2.0**-24):#x}
        v_add_f32 v5, v1, v4
        v_mov_b32 v6, {f32_bits(2.0**24):#x}
        v_add_f32 v7, 1.0, v6
        v_add_f32 v8, v6, 2.0
    """
    out = snippet(target, body, ["v3", "v5", "v7", "v8"])[:, 0]
    assert out.view(np.float32).tolist() == [1.0, 1.0 + 2.0**-22, 2.0**24, 2.0**24 + 2.0]


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_ds_address_wraps_at_32_bits_and_out_of_range_reads_zero(snippet, target):
    family9 = target == "gfx942"
    write, read = ("ds_write_b32", "ds_read_b32") if family9 else ("ds_store_b32", "ds_load_b32")
    body = f"""
        v_mov_b32 v1, 0xfffffffc
        v_mov_b32 v2, 0x1234
        {write} v1, v2 offset:8
        v_mov_b32 v3, 4
        v_mov_b32 v9, 0x5678
        v_mov_b32 v10, 0x10000
        {write} v10, v9
        s_waitcnt lgkmcnt(0)
        {read} v4, v3
        {read} v5, v10
        s_waitcnt lgkmcnt(0)
    """
    out = snippet(target, body, ["v4", "v5"], lds_bytes=1024)
    assert out[0, 0] == 0x1234  # 0xFFFFFFFC + 8 wraps to LDS address 4
    assert out[1, 0] == 0  # 0x10000 is past the 1 KiB allocation: the write was dropped, the read is 0


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32, ("gfx1030", 32), ("gfx1200", 32)])
def test_global_atomic_add_returns_the_values_before_each_lanes_add(snippet, gpu, target, lanes):
    counter = gpu.alloc(64, np.array([100], np.uint32))
    returning = {"gfx942": "sc0", "gfx1030": "glc", "gfx1100": "glc", "gfx1200": "th:TH_ATOMIC_RETURN"}[
        target
    ]
    name = "global_atomic_add" if target in ("gfx942", "gfx1030") else "global_atomic_add_u32"
    body = f"""
        v_mov_b32 v1, 0
        v_mov_b32 v2, 1
        {name} v3, v1, v2, s[2:3] {returning}
        s_waitcnt vmcnt(0)
    """
    out = snippet(target, body, ["v3"], wave_size=lanes, extra_user=[counter & 0xFFFF_FFFF, counter >> 32])
    assert sorted(out[0].tolist()) == list(range(100, 100 + lanes))  # every lane saw a distinct old value
    assert out[0].tolist() == list(range(100, 100 + lanes))  # the simulator applies them in lane order
    assert gpu.array(counter, np.uint32, 1)[0] == 100 + lanes


@pytest.mark.parametrize("target", ["gfx942", "gfx1100", "gfx1200"])
def test_64_bit_scalar_add_carries_through_s_addc(snippet, target):
    add, addc = ("s_add_co_u32", "s_add_co_ci_u32") if target == "gfx1200" else ("s_add_u32", "s_addc_u32")
    body = f"""
        s_mov_b32 s4, 0xffffffff
        s_mov_b32 s5, 7
        {add} s6, s4, 2
        {addc} s7, s5, 0
    """
    out = snippet(target, body, ["s6", "s7"])
    assert out[:, 0].tolist() == [1, 8]


@pytest.mark.parametrize("target", ["gfx942", "gfx1030", "gfx1100"])
def test_bit_field_extract_zero_and_sign_extends(snippet, target):
    body = """
        v_mov_b32 v1, 0xabcd1234
        v_bfe_u32 v2, v1, 12, 8
        v_bfe_i32 v3, v1, 12, 8
        s_mov_b32 s4, 0xabcd1234
        s_bfe_u32 s5, s4, 0x8000c
        s_bfe_i32 s6, s4, 0x8000c
    """
    out = snippet(target, body, ["v2", "v3", "s5", "s6"])[:, 0]
    assert out.tolist() == [0xD1, 0xFFFF_FFD1, 0xD1, 0xFFFF_FFD1]


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_mad_u64_u32_and_64_bit_vector_shift(snippet, target):
    carry = "s[20:21]" if target == "gfx942" else "s20"
    body = f"""
        v_mov_b32 v1, 0xffffffff
        v_mov_b32 v2, 3
        v_mov_b32 v4, 5
        v_mov_b32 v5, 0
        v_mad_u64_u32 v[6:7], {carry}, v1, v2, v[4:5]
        v_lshlrev_b64 v[8:9], 36, v[4:5]
    """
    out = snippet(target, body, ["v6", "v7", "v8", "v9"])[:, 0]
    # 0xFFFFFFFF * 3 + 5 = 0x3_0000_0002; 5 << 36 = 0x50_0000_0000
    assert out.tolist() == [2, 3, 0, 0x50]


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32, GFX11_WAVE64])
def test_cross_lane_reads_and_lane_counting(snippet, target, lanes):
    body = """
        v_mul_u32_u24 v1, 3, v0
        v_readlane_b32 s10, v1, 5
        v_readfirstlane_b32 s11, v1
        v_mov_b32 v2, 0
        v_writelane_b32 v2, s10, 7
        v_mbcnt_lo_u32_b32 v3, -1, 0
        v_mbcnt_hi_u32_b32 v3, -1, v3
    """
    out = snippet(target, body, ["s10", "s11", "v2", "v3"], wave_size=lanes)
    assert out[0, 0] == 15 and out[1, 0] == 0
    assert out[2].tolist() == [15 if lane == 7 else 0 for lane in range(lanes)]
    assert out[3].tolist() == list(range(lanes))  # the classic lane-id idiom


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32])
def test_ds_bpermute_reads_the_addressed_lane(snippet, target, lanes):
    body = """
        v_add_nc_u32 v1, 1, v0
        v_lshlrev_b32 v2, 2, v1
        v_mul_u32_u24 v3, 10, v0
        ds_bpermute_b32 v4, v2, v3
        s_waitcnt lgkmcnt(0)
    """.replace("v_add_nc_u32", "v_add_u32" if target == "gfx942" else "v_add_nc_u32")
    out = snippet(target, body, ["v4"], wave_size=lanes)
    assert out[0].tolist() == [10 * ((lane + 1) % lanes) for lane in range(lanes)]


def test_vopd_halves_read_their_sources_before_either_writes(snippet):
    body = """
        v_mov_b32 v1, 7
        v_mov_b32 v2, 1.0
        v_mov_b32 v3, 2.0
        v_dual_mov_b32 v2, v1 :: v_dual_add_f32 v3, v2, v3
    """
    out = snippet("gfx1100", body, ["v2", "v3"])[:, 0]
    assert out[0] == 7 and out.view(np.float32)[1] == 3.0  # Y used the old v2 (1.0), not 7


@pytest.mark.parametrize("target", ["gfx942", "gfx1100", "gfx1200"])
def test_scalar_loop_with_scc_branches(snippet, target):
    add = "s_add_co_u32" if target == "gfx1200" else "s_add_u32"
    body = f"""
        s_mov_b32 s4, 0
        s_mov_b32 s5, 0
    .Lloop:
        {add} s5, s5, s4
        {add} s4, s4, 1
        s_cmp_lt_u32 s4, 10
        s_cbranch_scc1 .Lloop
    """
    out = snippet(target, body, ["s4", "s5"])
    assert out[:, 0].tolist() == [10, 45]


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32, GFX11_WAVE64])
def test_divergent_if_else_reconverges(snippet, target, lanes):
    exec_pair = "s[20:21]" if lanes == 64 else "s20"
    saveexec = "s_and_saveexec_b64" if lanes == 64 else "s_and_saveexec_b32"
    xor = "s_xor_b64" if lanes == 64 else "s_xor_b32"
    exec_ = "exec" if lanes == 64 else "exec_lo"
    vcc = "vcc" if lanes == 64 else "vcc_lo"
    cmp = "v_cmp_gt_u32_e32" if target == "gfx942" else "v_cmp_gt_u32"
    body = f"""
        v_mov_b32 v1, 0
        {cmp} {vcc}, 10, v0
        {saveexec} {exec_pair}, {vcc}
        s_cbranch_execz .Lelse
        v_mov_b32 v1, 111
    .Lelse:
        {xor} {exec_}, {exec_}, {exec_pair}
        s_cbranch_execz .Ldone
        v_mov_b32 v1, 222
    .Ldone:
        s_or_b{lanes} {exec_}, {exec_}, {exec_pair}
    """
    out = snippet(target, body, ["v1"], wave_size=lanes)
    assert out[0].tolist() == [111 if lane < 10 else 222 for lane in range(lanes)]


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_16_bit_compares_use_the_low_half_and_16_bit_constants(snippet, target):
    vcc = "vcc" if target == "gfx942" else "vcc_lo"
    suffix = "_e32" if target == "gfx942" else ""
    body = f"""
        v_mov_b32 v1, 0xffff3800
        v_cmp_gt_f16{suffix} {vcc}, 1.0, v1
        s_mov_b32 s10, vcc_lo
        v_mov_b32 v2, 0xffff
        v_cmp_gt_i16{suffix} {vcc}, 1, v2
        s_mov_b32 s11, vcc_lo
        v_cmp_gt_u16{suffix} {vcc}, 1, v2
        s_mov_b32 s12, vcc_lo
    """
    out = snippet(target, body, ["s10", "s11", "s12"])[:, 0]
    # 1.0 > 0.5 (f16 0x3800; the high half is ignored); 1 > -1 as i16; 1 > 65535 is false as u16
    assert out.tolist() == [0xFFFF_FFFF, 0xFFFF_FFFF, 0]


@pytest.mark.parametrize(("target", "lanes"), [WAVE64, WAVE32])
def test_a_register_holding_a_moved_or_computed_value_is_its_own_copy(snippet, target, lanes):
    # v1 = v4 (a move), v2 = v4 + 0 (a result with the same bits), v3 = v2 << 0; then v4 and v2 change
    add = "v_add_u32" if target == "gfx942" else "v_add_nc_u32"
    body = f"""
        v_mov_b32 v4, v0
        v_mov_b32 v1, v4
        {add} v2, 0, v4
        v_lshlrev_b32 v3, 0, v2
        v_mov_b32 v4, 7
        v_mov_b32 v2, 9
    """
    out = snippet(target, body, ["v1", "v2", "v3"], wave_size=lanes)
    lane = np.arange(lanes, dtype=np.uint32)
    assert out[0].tolist() == lane.tolist()
    assert out[1].tolist() == [9] * lanes
    assert out[2].tolist() == lane.tolist()


@pytest.mark.parametrize("target", ["gfx942", "gfx1100", "gfx1200"])
def test_64_bit_bitwise_scalar_ops_work_on_both_dwords_and_set_scc_from_either(snippet, target):
    andn2 = "s_andn2_b64" if target == "gfx942" else "s_and_not1_b64"
    orn2_saveexec = "s_orn2_saveexec_b64" if target == "gfx942" else "s_or_not1_saveexec_b64"
    body = f"""
        s_mov_b32 s4, 0xff00ff00
        s_mov_b32 s5, 0x0f0f0f0f
        s_mov_b32 s6, 0xffff0000
        s_mov_b32 s7, 0x00000001
        s_mov_b64 s[8:9], s[4:5]
        s_xor_b64 s[10:11], s[4:5], s[6:7]
        {andn2} s[12:13], s[4:5], s[6:7]
        s_not_b64 s[14:15], s[4:5]
        s_mov_b32 s16, 0
        s_mov_b32 s17, 0x80000000
        s_and_b64 s[18:19], s[16:17], s[16:17]
        s_cselect_b32 s20, 1, 0                 // SCC from the high dword alone
        s_and_b64 s[18:19], s[16:17], s[4:5]    // zero in both dwords: SCC clear
        s_cselect_b32 s21, 1, 0
        s_mov_b64 s[22:23], exec
        s_mov_b64 s[24:25], s[6:7]
        {orn2_saveexec} s[24:25], s[24:25]      // exec = s[24:25] | ~exec, s[24:25] = old exec
        s_mov_b64 s[26:27], exec
        s_mov_b64 exec, s[22:23]
    """
    registers = [f"s{n}" for n in (8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 24, 25, 26, 27)]
    out = snippet(target, body, registers, wave_size=64)[:, 0].tolist()
    assert out[:8] == [0xFF00FF00, 0x0F0F0F0F, 0x00FFFF00, 0x0F0F0F0E, 0x0000FF00, 0x0F0F0F0E,
                       0x00FF00FF, 0xF0F0F0F0]  # fmt: skip
    assert out[8:10] == [1, 0]
    assert out[10:] == [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF0000, 0x00000001]  # wave64: exec was all ones
