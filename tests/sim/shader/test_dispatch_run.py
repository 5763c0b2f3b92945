"""Dispatches in flight (DispatchRun): run in slices, paused while their waves poll, resumed to one end."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_amdgpu.sim.shader import DispatchRun, ShaderError

STOP = 0x1234_5678
TARGETS = ["gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1201"]


def start(bundled, target, kernel, grid, block, args) -> DispatchRun:
    runs: list[DispatchRun] = []
    bundled(
        target,
        kernel,
        grid,
        block,
        args,
        runner=lambda state, memory: runs.append(DispatchRun(state, memory)),
    )
    return runs[0]


@pytest.mark.parametrize("target", TARGETS)
def test_a_polling_dispatch_pauses_until_what_it_polls_is_written(gpu, bundled, target):
    n = 300
    flag = gpu.alloc(4, np.array([0], dtype=np.uint32))
    out = gpu.alloc(4 * n, np.full(n, 7, dtype=np.uint32))
    run = start(bundled, target, "poll_until", [3], [100], [flag, STOP, out])
    for _ in range(3):
        assert run.run(4096) is None
        assert run.polling
        assert "asleep in s_sleep" in run.where()
    assert (gpu.array(out, np.uint32, n) == 7).all()
    gpu.memory.write_u32(flag, STOP)
    stats = run.run(4096)
    assert stats is not None and stats.workgroups == 3
    np.testing.assert_array_equal(gpu.array(out, np.uint32, n), 3 * np.arange(n, dtype=np.uint32) + 1)


@pytest.mark.parametrize("target", TARGETS)
def test_a_long_dispatch_runs_in_slices_to_the_end_it_has_in_one_go(gpu, bundled, target):
    iterations = 5000  # a few instructions each: many slices of 1000 wave-instructions
    whole = gpu.alloc(4 * 8)
    expected = bundled(target, "busy_loop", [5], [64], [whole, iterations])
    sliced = gpu.alloc(4 * 8)
    run = start(bundled, target, "busy_loop", [5], [64], [sliced, iterations])
    pauses = 0
    while (stats := run.run(1000)) is None:
        assert not run.polling  # paused because the slice ended, not because the waves wait
        pauses += 1
    assert pauses >= 5
    assert stats == expected  # the same instructions and cycles: slicing changes nothing but when
    assert gpu.array(sliced, np.uint32, 8).tolist() == gpu.array(whole, np.uint32, 8).tolist()


def test_run_dispatch_keeps_its_instruction_limit_for_a_polling_loop(gpu, asm, launch):
    code = asm(".Lloop:\ns_sleep 1\ns_branch .Lloop\ns_endpgm", "gfx942")
    with pytest.raises(ShaderError, match="infinite loop guard"):
        launch("gfx942", code, kwargs={"max_wave_instructions": 1000}).run()


def test_waves_waiting_on_gws_pause_the_dispatch_until_another_releases(gpu, asm, launch):
    # every wave takes entry 0 (value 0): a dispatch of another queue must release it
    code = asm("s_mov_b32 m0, 0\nds_gws_sema_p gds\ns_waitcnt lgkmcnt(0)\ns_endpgm", "gfx942")
    gws = np.zeros(64, dtype=np.uint32)
    run = DispatchRun(launch("gfx942", code, grid=(3, 1, 1), gws=gws).state(), gpu.memory)
    assert run.run(4096) is None and run.polling
    gws[0] = 2  # two sema_v from elsewhere
    assert run.run(4096) is None  # two waves went through, the third still waits
    gws[0] += 1
    stats = run.run(4096)
    assert stats is not None and stats.waves == 3
    assert gws[0] == 0


RELEASE_AFTER_A_SLEEP = """
    s_cmp_eq_u32 s0, 1                     // workgroup 1 sleeps, then releases; workgroup 0 waits
    s_cbranch_scc0 .Lwaiter
    s_sleep 1
    s_mov_b32 m0, 0
    ds_gws_sema_release_all gds            // (at a lower PC than the sema_p it releases)
    s_endpgm
.Lwaiter:
    s_mov_b32 m0, 0
    ds_gws_sema_p gds
    s_waitcnt lgkmcnt(0)
    s_endpgm
"""


def test_a_wave_waiting_on_gws_stays_waiting_across_a_pause_for_a_later_release_all(gpu, asm, launch):
    gws = np.zeros(64, dtype=np.uint32)
    run = DispatchRun(
        launch("gfx942", asm(RELEASE_AFTER_A_SLEEP, "gfx942"), grid=(2, 1, 1), gws=gws).state(), gpu.memory
    )
    assert run.run(4096) is None  # the waiter waits, the releaser sleeps
    assert "1 waiting at ds_gws_sema_p" in run.where()
    stats = run.run(4096)  # the releaser wakes and releases the waiter, which never took anything
    assert stats is not None and stats.waves == 2
    assert gws[0] == 0


def test_a_slice_that_ends_on_the_last_instruction_ends_the_dispatch(gpu, asm, launch):
    code = asm("\n".join(["s_nop 0"] * 1023 + ["s_endpgm"]), "gfx942")
    run = DispatchRun(launch("gfx942", code).state(), gpu.memory)
    assert run.run(1000) is not None
