"""Offset rows (WaveBatch.offsets): a VGPR that is a per-wave value plus a workgroup template, such as a
global work-item id, is kept as base and block. Adds, subtracts and shifts on them, unsigned compares against
them and loads and stores through them must give what the lane-by-lane path gives, wrapping at 2**32 and
for the wave that a bound cuts through; the shader core checks each result against that path here."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu.sim.memory import GpuFaultError
from pytest_amdgpu.sim.shader import exec_vector, vmem_access
from pytest_amdgpu.sim.shader.waves import WaveBatch

from .conftest import split64

BLOCK, GROUPS = 128, 8
SYNTAX = {  # target: (add, sub, subrev, load, store, vcc)
    "gfx942": ("v_add_u32", "v_sub_u32", "v_subrev_u32", "global_load_dword", "global_store_dword", "vcc"),
    "gfx1100": ("v_add_nc_u32", "v_sub_nc_u32", "v_subrev_nc_u32", "global_load_b32", "global_store_b32",
                "vcc_lo"),
}  # fmt: skip


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Checks every offset-row result against the general path, and counts the offset paths taken."""
    counts = {"rows": 0, "runs": 0}
    monkeypatch.setattr(exec_vector, "CHECK_OFFSETS", True)
    write, run = WaveBatch.write_offsets, vmem_access.contiguous_offset_words

    def counted_write(self, *args):
        counts["rows"] += 1
        return write(self, *args)

    def counted_run(*args):
        found = run(*args)
        counts["runs"] += found is not None
        return found

    monkeypatch.setattr(WaveBatch, "write_offsets", counted_write)
    monkeypatch.setattr(vmem_access, "contiguous_offset_words", counted_run)
    yield counts


def source(target: str) -> str:
    add, sub, subrev, load, store, vcc = SYNTAX[target]
    total = 4 * BLOCK * GROUPS
    last_lane = 63 if target == "gfx942" else 31
    stores = "\n".join(  # each result after the one before: out[k * ids + id]
        f"{add} v9, {total}, v9\n{store} v9, v{register}, s[0:1]" for register in (5, 6, 7, 8, 11, 13)
    )
    return f"""
        s_mul_i32 s6, s5, {BLOCK}
        {add} v1, s6, v0                  // global id: a per-wave base plus the work-item ids
        v_lshlrev_b32 v2, 2, v1
        {load} v3, v2, s[2:3]
        {add} v4, 0xfffffe00, v1          // wraps at 2**32 from id 0x200 on
        v_cmp_gt_u32 {vcc}, s4, v1        // id < n: n cuts through a wave
        v_cndmask_b32_e64 v5, 0, 1, {vcc}
        v_cmp_ge_u32 {vcc}, v4, s4        // the offset row first, and wrapping inside a wave
        v_cndmask_b32_e64 v6, 0, 2, {vcc}
        {sub} v7, v1, s4
        {subrev} v8, v1, s4
        v_lshlrev_b32 v10, 3, v1          // every other dword: not one run, the general path
        {load} v11, v10, s[2:3]
        v_xor_b32 v12, {last_lane}, v0    // the lanes of each wave in reverse: waves in order, lanes not
        {add} v12, s6, v12
        v_lshlrev_b32 v12, 2, v12
        {load} v13, v12, s[2:3]
        {store} v2, v3, s[0:1]
        v_mov_b32 v9, v2
        {stores}
        s_endpgm
    """


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_offset_rows_compute_compare_load_and_store_like_every_lane(gpu, asm, launch, target, counted):
    n = 700  # inside a wave on wave64 and on wave32
    ids = np.arange(BLOCK * GROUPS, dtype=np.uint32)
    data = np.random.default_rng(3).integers(0, 2**32, 2 * ids.size, dtype=np.uint32)
    src = gpu.alloc(4 * data.size, data.tobytes())
    out = gpu.alloc(7 * 4 * ids.size)
    launch(target, asm(source(target), target), grid=(GROUPS, 1, 1), block=(BLOCK, 1, 1),
           user_data=split64(out) + split64(src) + [n]).run()  # fmt: skip
    got = gpu.array(out, np.uint32, 7 * ids.size).reshape(7, ids.size)
    wrapped = ids + np.uint32(0xFFFF_FE00)
    np.testing.assert_array_equal(got[0], data[: ids.size])
    np.testing.assert_array_equal(got[1], (ids < n).astype(np.uint32))
    np.testing.assert_array_equal(got[2], np.where(wrapped >= n, 2, 0).astype(np.uint32))
    np.testing.assert_array_equal(got[3], ids - np.uint32(n))
    np.testing.assert_array_equal(got[4], np.uint32(n) - ids)
    np.testing.assert_array_equal(got[5], data[::2])
    lanes = 64 if target == "gfx942" else 32
    np.testing.assert_array_equal(got[6], data[ids ^ np.uint32(lanes - 1)])
    assert counted["rows"] >= 15  # v1, v2, v4, v7, v8, v10, v12 (x2), v9 (x7) were offset rows
    assert counted["runs"] == 8  # the first load and the seven stores were one copy each


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_a_load_through_an_offset_row_past_the_buffer_faults_at_the_first_address_beyond(
    gpu, asm, launch, target, counted
):
    _, _, _, load, _, _ = SYNTAX[target]
    code = asm(
        f"""
        s_mul_i32 s6, s5, {BLOCK}
        {SYNTAX[target][0]} v1, s6, v0
        v_lshlrev_b32 v2, 2, v1
        {load} v3, v2, s[2:3]
        s_endpgm
        """,
        target,
    )
    src = gpu.alloc(4096)  # one page: the waves of workgroups 8 to 15 read past it
    with pytest.raises(GpuFaultError) as fault:
        launch(target, code, grid=(2 * GROUPS, 1, 1), block=(BLOCK, 1, 1),
               user_data=[0, 0, *split64(src), 0]).run()  # fmt: skip
    assert fault.value.va == src + 4096  # the lowest address outside the mapping
    assert counted["runs"] == 0
