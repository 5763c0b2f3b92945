"""GWS semaphores in the shader core: per-wave operations on the process's entries, waits and releases."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_amdgpu.sim.shader import ShaderError

# (target, wave size, one-lane exec, 32-bit add, dword load, dword store, store wait)
FAMILIES = {
    "gfx942": (
        64,
        "s_mov_b64 exec, 1",
        "v_add_u32",
        "global_load_dword",
        "global_store_dword",
        "s_waitcnt vmcnt(0)",
    ),
    "gfx1100": (
        32,
        "s_mov_b32 exec_lo, 1",
        "v_add_nc_u32",
        "global_load_b32",
        "global_store_b32",
        "s_waitcnt_vscnt null, 0",
    ),
}


def increment_source(target: str, take: str, give: str) -> str:
    """Each wave adds 1 to the dword at s[0:1] with a plain load and store, between `take` and `give`."""
    _, one_lane, add, load, store, store_wait = FAMILIES[target]
    return f"""
        s_mov_b32 m0, 0x20000                  // M0[21:16] = 2: entry 2 + offset
        {one_lane}
        v_mov_b32 v0, 0
        {take}
        s_waitcnt lgkmcnt(0)
        {load} v1, v0, s[0:1]
        s_waitcnt vmcnt(0)
        {add} v1, 1, v1
        {store} v0, v1, s[0:1]
        {store_wait}
        {give}
        s_waitcnt lgkmcnt(0)
        s_endpgm
    """


def run_increment(gpu, asm, launch, target: str, take: str, give: str, gws, groups: int = 40) -> int:
    wave = FAMILIES[target][0]
    code = asm(increment_source(target, take, give), target)
    counter = gpu.alloc(4, np.array([100], dtype=np.uint32))
    user = [counter & 0xFFFF_FFFF, counter >> 32]
    launch(target, code, grid=(groups, 1, 1), block=(2 * wave, 1, 1), user_data=user, gws=gws).run()
    return int(gpu.array(counter, np.uint32, 1)[0])


@pytest.mark.parametrize("target", sorted(FAMILIES))
def test_a_semaphore_of_one_keeps_every_increment_and_without_it_they_are_lost(gpu, asm, launch, target):
    gws = np.zeros(64, dtype=np.uint32)
    gws[3] = 1  # offset:1 + M0 entry 2
    exact = run_increment(
        gpu, asm, launch, target, "ds_gws_sema_p offset:1 gds", "ds_gws_sema_v offset:1 gds", gws
    )
    assert exact == 100 + 40 * 2
    assert gws.tolist() == [0, 0, 0, 1] + [0] * 60  # given back as often as taken
    # the same plain read-modify-write with no semaphore: the waves read the same value, most adds are lost
    racing = run_increment(gpu, asm, launch, target, "s_nop 0", "s_nop 0", gws)
    assert racing < 100 + 40 * 2


@pytest.mark.parametrize("target", sorted(FAMILIES))
def test_a_semaphore_of_three_lets_three_waves_in_at_a_time(gpu, asm, launch, target):
    # waves that take without giving back: three get through, the others wait for ever (a GPU would hang)
    gws = np.zeros(64, dtype=np.uint32)
    gws[2] = 3
    with pytest.raises(ShaderError, match="GWS deadlock"):
        run_increment(gpu, asm, launch, target, "ds_gws_sema_p gds", "s_nop 0", gws, groups=4)
    assert gws[2] == 0


@pytest.mark.parametrize("target", sorted(FAMILIES))
def test_init_takes_the_first_active_lane_and_br_adds_its_data(gpu, asm, launch, target):
    wave = FAMILIES[target][0]
    exec_ = "exec" if wave == 64 else "exec_lo"
    code = asm(
        f"""
        s_mov_b32 m0, 0x50000                  // entry 5
        v_add_{"u32" if target == "gfx942" else "nc_u32"} v2, 10, v0   // lane l holds 10 + l
        s_mov_b{wave} {exec_}, 0x30            // first active lane: 4
        ds_gws_init v2 gds                     // entry 5 = 14
        s_waitcnt lgkmcnt(0)
        ds_gws_sema_br v2 offset:1 gds         // entry 6 += 14
        s_waitcnt lgkmcnt(0)
        s_endpgm
        """.replace("s_mov_b64 exec_lo", "s_mov_b32 exec_lo").replace("s_mov_b32 exec,", "s_mov_b64 exec,"),
        target,
    )
    gws = np.full(64, 7, dtype=np.uint32)
    launch(target, code, block=(wave, 1, 1), wave_size=wave, gws=gws).run()
    assert gws[5] == 14
    assert gws[6] == 7 + 14


def test_gws_instructions_need_the_process_to_hold_gws_and_an_entry_it_holds(gpu, asm, launch):
    code = asm("s_mov_b32 m0, 0x3f0000\nds_gws_sema_v offset:2 gds\ns_endpgm", "gfx942")  # entry 63 + 2
    with pytest.raises(ShaderError, match=r"no GWS on this GPU .*ALLOC_QUEUE_GWS"):
        launch("gfx942", code).run()
    with pytest.raises(ShaderError, match="GWS entry 65 is beyond the 64 the process holds"):
        launch("gfx942", code, gws=np.zeros(64, dtype=np.uint32)).run()


def test_release_all_lets_every_waiting_wave_through_without_taking(gpu, asm, launch):
    # wave 0 of each workgroup waits on entry 0 (value 0); the last wave releases them all
    code = asm(
        """
        s_mov_b32 m0, 0
        s_cmp_eq_u32 s0, 3                     // s0: workgroup id (no user SGPRs); workgroup 3 releases
        s_cbranch_scc1 .Lrelease
        ds_gws_sema_p gds
        s_waitcnt lgkmcnt(0)
        s_endpgm
    .Lrelease:
        s_sleep 1
        ds_gws_sema_release_all gds
        s_endpgm
        """,
        "gfx942",
    )
    gws = np.zeros(64, dtype=np.uint32)
    launch("gfx942", code, grid=(4, 1, 1), gws=gws).run()
    assert gws[0] == 0


def test_release_all_releases_the_entry_the_waiters_named_however_they_spelled_it(gpu, asm, launch):
    # the waiters name entry 3 as offset:0 + M0[21:16] = 3; the releaser as offset:3 + M0 0
    code = asm(
        """
        s_cmp_eq_u32 s0, 2                     // workgroup 2 releases, the others wait
        s_cbranch_scc1 .Lrelease
        s_mov_b32 m0, 0x30000
        ds_gws_sema_p gds
        s_waitcnt lgkmcnt(0)
        s_endpgm
    .Lrelease:
        s_sleep 1
        s_mov_b32 m0, 0
        ds_gws_sema_release_all offset:3 gds
        s_endpgm
        """,
        "gfx942",
    )
    gws = np.zeros(64, dtype=np.uint32)
    launch("gfx942", code, grid=(3, 1, 1), gws=gws).run()  # a deadlock error if the waiters stayed
    assert gws[3] == 0


def test_a_release_of_one_entry_leaves_the_waiters_of_another_waiting(gpu, asm, launch):
    # workgroup 1 gives entry 1 one (nobody waits on it), then at once releases the waiters of entry 0;
    # both sit at lower PCs than the sema_p, so they run before a woken waiter could wait again
    code = asm(
        """
        s_cmp_eq_u32 s0, 1
        s_cbranch_scc0 .Lwaiter
        s_sleep 1
        s_mov_b32 m0, 0
        ds_gws_sema_v offset:1 gds
        ds_gws_sema_release_all gds
        s_endpgm
    .Lwaiter:
        s_mov_b32 m0, 0
        ds_gws_sema_p gds
        s_waitcnt lgkmcnt(0)
        s_endpgm
        """,
        "gfx942",
    )
    gws = np.zeros(64, dtype=np.uint32)
    launch("gfx942", code, grid=(2, 1, 1), gws=gws).run()  # a deadlock error if the waiter stayed
    assert gws[:2].tolist() == [0, 1]
