"""Waves of a workgroup meet at barriers, reconverge after divergence, and leave barriers when they end."""

from __future__ import annotations

import numpy as np
import pytest

BARRIER = {"gfx942": "s_barrier", "gfx1100": "s_barrier", "gfx1200": "s_barrier_signal -1\ns_barrier_wait -1"}
LDS_OPS = {"gfx942": ("ds_write_b32", "ds_read_b32", "global_store_dword", "s_waitcnt lgkmcnt(0)"),
           "gfx1100": ("ds_store_b32", "ds_load_b32", "global_store_b32", "s_waitcnt lgkmcnt(0)"),
           "gfx1200": ("ds_store_b32", "ds_load_b32", "global_store_b32", "s_wait_dscnt 0")}  # fmt: skip


def wave_id(target: str) -> str:
    lanes_log2 = 6 if target == "gfx942" else 5
    return f"v_lshrrev_b32 v1, {lanes_log2}, v0\nv_readfirstlane_b32 s4, v1"


@pytest.mark.parametrize("target", ["gfx942", "gfx1100", "gfx1200"])
def test_a_barrier_holds_a_wave_until_the_writer_at_a_higher_pc_arrives(gpu, asm, launch, target):
    write, read, store, wait = LDS_OPS[target]
    source = f"""
        {wave_id(target)}
        v_mov_b32 v2, 0
        s_cmp_eq_u32 s4, 1
        s_cbranch_scc1 .Lwriter
        {BARRIER[target]}
        {read} v3, v2
        {wait}
        v_lshlrev_b32 v4, 2, v0
        {store} v4, v3, s[0:1]
        s_endpgm
    .Lwriter:
        v_mov_b32 v3, 1234
        {write} v2, v3
        {wait}
        {BARRIER[target]}
        s_endpgm
    """
    lanes = 64 if target == "gfx942" else 32
    out = gpu.alloc(4 * lanes)
    launch(
        target, asm(source, target), block=(2 * lanes, 1, 1), user_data=[out, out >> 32], lds_bytes=512
    ).run()
    assert (gpu.array(out, np.uint32, lanes) == 1234).all()  # wave 0 read after wave 1 wrote


@pytest.mark.parametrize("target", ["gfx942", "gfx1100", "gfx1200"])
def test_waves_that_ended_do_not_hold_the_barrier(gpu, asm, launch, target):
    _, _, store, _ = LDS_OPS[target]
    source = f"""
        {wave_id(target)}
        s_cmp_eq_u32 s4, 0
        s_cbranch_scc1 .Lwait
        s_endpgm
    .Lwait:
        {BARRIER[target]}
        {BARRIER[target]}
        v_lshlrev_b32 v4, 2, v0
        v_mov_b32 v3, 7
        {store} v4, v3, s[0:1]
        s_endpgm
    """
    lanes = 64 if target == "gfx942" else 32
    out = gpu.alloc(4 * lanes)
    launch(target, asm(source, target), block=(3 * lanes, 1, 1), user_data=[out, out >> 32]).run()
    assert (gpu.array(out, np.uint32, lanes) == 7).all()


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_waves_with_different_trip_counts_each_finish_their_own_loop(gpu, asm, launch, target):
    _, _, store, _ = LDS_OPS[target]
    add = "s_add_u32"
    source = f"""
        {wave_id(target)}
        s_mov_b32 s5, 0
        s_mul_i32 s6, s4, 3
    .Lloop:
        s_cmp_ge_u32 s5, s6
        s_cbranch_scc1 .Ldone
        {add} s5, s5, 1
        s_branch .Lloop
    .Ldone:
        v_mov_b32 v3, s5
        v_lshlrev_b32 v4, 2, v0
        {store} v4, v3, s[0:1]
        s_endpgm
    """
    lanes = 64 if target == "gfx942" else 32
    out = gpu.alloc(4 * 4 * lanes)
    stats = launch(target, asm(source, target), block=(4 * lanes, 1, 1), user_data=[out, out >> 32]).run()
    assert gpu.array(out, np.uint32, 4 * lanes).reshape(4, lanes)[:, 0].tolist() == [0, 3, 6, 9]
    assert stats.waves == 4


def test_two_workgroups_have_separate_lds(gpu, asm, launch):
    source = """
        v_mov_b32 v2, 0
        v_mov_b32 v3, s2
        ds_store_b32 v2, v3
        s_waitcnt lgkmcnt(0)
        s_barrier
        ds_load_b32 v5, v2
        s_waitcnt lgkmcnt(0)
        s_lshl_b32 s6, s2, 7
        v_lshlrev_b32 v4, 2, v0
        v_add_nc_u32 v4, s6, v4
        global_store_b32 v4, v5, s[0:1]
        s_endpgm
    """
    out = gpu.alloc(4 * 32 * 6)
    launch("gfx1100", asm(source, "gfx1100"), grid=(6, 1, 1), block=(32, 1, 1), user_data=[out, out >> 32],
           lds_bytes=256).run()  # fmt: skip
    assert gpu.array(out, np.uint32, 6 * 32).reshape(6, 32)[:, 0].tolist() == list(range(6))
