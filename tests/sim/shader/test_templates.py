"""Workgroup templates (sim/shader/waves.py) change how fast the shader core runs, never what it computes.

Every dispatch test of tests/driver/test_dispatch.py and every instruction test of test_semantics.py runs
again here with the shader core checking, after
every instruction, that each template it keeps is what every workgroup's VGPRs and EXEC hold (and each
offset row result what the lane-by-lane operation gives), and with
templates used down to batches of one workgroup (normally four), so that every bundled kernel goes through
them on every ISA generation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.sim.shader import dispatch, exec_vector
from pytest_amdgpu.sim.shader.waves import WaveBatch
from tests.driver.test_dispatch import *  # noqa: F403  (collected again, under the checks below)
from tests.driver.test_dispatch import run
from tests.sim.shader.test_semantics import *  # noqa: F403


@pytest.fixture(autouse=True)
def checked_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "CHECK_TEMPLATES", True)
    monkeypatch.setattr(exec_vector, "CHECK_OFFSETS", True)
    monkeypatch.setattr(exec_vector, "TEMPLATE_MIN_WORKGROUPS", 1)


@pytest.fixture
def template_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    writes: list[int] = []
    original = WaveBatch.write_template

    def counted(self, index, block, executing):
        writes.append(index)
        return original(self, index, block, executing)

    monkeypatch.setattr(WaveBatch, "write_template", counted)
    yield writes


@pytest.mark.parametrize("machine", ["mi300x", "rx6900xt", "rx7900xtx", "rx9070xt"])
def test_the_lds_reduction_runs_on_templates_and_sums_right(machine: str, template_writes) -> None:
    n, block = 40 * 256 - 3, 256
    groups = -(-n // block)
    data = np.random.default_rng(7).integers(0, 2**32, n, dtype=np.uint32)
    padded = np.zeros(groups * block, dtype=np.uint32)
    padded[:n] = data
    with (
        driver.open_devices(backend="sim", machine=machine) as devices,
        devices[0].compute_queue() as queue,
        queue.device.alloc(4 * n) as src,
        queue.device.alloc(4 * groups) as out,
    ):
        src.write(data)
        run(queue, "lds_reduce", grid=groups, block=block, args=[src, out, np.uint32(n)])
        sums = out.read(np.uint32)
    np.testing.assert_array_equal(sums, padded.reshape(groups, block).sum(1, dtype=np.uint32))
    assert template_writes, "no instruction ran on workgroup templates"


def test_the_self_check_sees_a_template_that_no_longer_holds() -> None:
    batch = WaveBatch(n_waves=4, lanes=32, n_vgprs=2, n_workgroups=2, lds_bytes=0)
    batch.write_template(1, np.arange(64, dtype=np.uint32).reshape(2, 32), None)
    batch.check_templates("a template write")
    batch.vgpr[1][3, 5] = 99  # a write that forgot to drop the template
    with pytest.raises(AssertionError, match="v1 no longer matches"):
        batch.check_templates("a stray write")


@pytest.mark.parametrize(
    ("target", "add", "store"),
    [("gfx942", "v_add_u32", "global_store_dword"), ("gfx1100", "v_add_nc_u32", "global_store_b32")],
)
def test_a_write_that_differs_between_workgroups_drops_the_template(gpu, asm, launch, target, add, store):
    # v1 = 7 is the same in every workgroup (a template); adding the workgroup id makes it differ, and the
    # next instruction, whose other source is a constant, must read each workgroup's own v1
    lanes = 64 if target == "gfx942" else 32
    code = asm(
        f"""
        v_mov_b32 v1, 7
        {add} v1, s2, v1
        {add} v2, 1, v1
        s_mul_i32 s3, s2, {4 * lanes}
        v_lshlrev_b32 v3, 2, v0
        {add} v3, s3, v3
        {store} v3, v2, s[0:1]
        s_endpgm
        """,
        target,
    )
    groups = 6
    out = gpu.alloc(4 * lanes * groups)
    launch(
        target, code, grid=(groups, 1, 1), block=(lanes, 1, 1), user_data=[out & 0xFFFF_FFFF, out >> 32]
    ).run()
    got = gpu.array(out, np.uint32, lanes * groups).reshape(groups, lanes)
    np.testing.assert_array_equal(
        got, np.repeat(np.arange(groups, dtype=np.uint32) + 8, lanes).reshape(groups, lanes)
    )


def test_a_run_of_consecutive_dwords_is_one_view_and_anything_else_is_not(gpu) -> None:
    from pytest_amdgpu.sim.shader.vmem_access import contiguous_words

    va = gpu.alloc(1 << 16, np.arange(1 << 14, dtype=np.uint32))
    lanes = np.arange(0, 4 * 32, 4, dtype=np.uint32)
    base = np.full(3, va, dtype=np.int64)
    offsets = lanes[None, :] + np.array(
        [[0], [128], [256]], dtype=np.uint32
    )  # three waves, one after another
    run = contiguous_words(gpu.memory, base, offsets, 16, 4, False)
    np.testing.assert_array_equal(run, np.arange(4, 4 + 96, dtype=np.uint32).reshape(3, 32))
    swapped = offsets[[1, 0, 2]]
    assert contiguous_words(gpu.memory, base, swapped, 16, 4, False) is None
    gap = offsets.copy()
    gap[1, 7] += 4
    assert contiguous_words(gpu.memory, base, gap, 16, 4, False) is None
    # 32-bit offsets that wrap inside a wave, in a buffer larger than 4 GiB (sparse: no host memory):
    # consecutive modulo 2**32, but lane 4 addresses the start of the buffer, not 4 GiB past it
    huge = gpu.alloc(5 << 30)
    wrapping = (np.uint32(0xFFFF_FFF0) + lanes[None, :]).astype(np.uint32)
    assert contiguous_words(gpu.memory, np.array([huge]), wrapping, 0, 4, False) is None
    past_the_end = offsets + np.uint32((1 << 16) - 256)
    assert contiguous_words(gpu.memory, base, past_the_end, 0, 4, False) is None


def test_template_writes_are_built_only_when_read_and_keep_the_lanes_they_did_not_write() -> None:
    batch = WaveBatch(n_waves=6, lanes=32, n_vgprs=1, n_workgroups=3, lds_bytes=0)
    start = np.arange(6 * 32, dtype=np.uint32).reshape(6, 32)
    batch.vgpr[0] = start.copy()
    first = np.zeros((2, 32), dtype=bool)
    first[0, :8] = True
    second = np.zeros((2, 32), dtype=bool)
    second[1, 4:6] = True
    batch.write_template(0, np.full((2, 32), 7, dtype=np.uint32), first)
    batch.write_template(0, np.full((2, 32), 9, dtype=np.uint32), second)
    assert list.__getitem__(batch.vgpr, 0) is None  # nothing built yet
    expected = start.reshape(3, 2, 32).copy()
    expected[:, 0, :8] = 7
    expected[:, 1, 4:6] = 9
    np.testing.assert_array_equal(batch.vgpr[0], expected.reshape(6, 32))
    batch.check_templates("two partial writes")
    batch.write_template(0, np.full((2, 32), 5, dtype=np.uint32), None)
    np.testing.assert_array_equal(batch.vgpr[0], np.full((6, 32), 5, dtype=np.uint32))


def test_column_writes_queue_up_in_order_and_are_built_only_when_read_whole() -> None:
    batch = WaveBatch(n_waves=6, lanes=32, n_vgprs=2, n_workgroups=3, lds_bytes=0)
    start = np.arange(6 * 32, dtype=np.uint32).reshape(6, 32)
    batch.vgpr[0] = start.copy()
    first = np.arange(3 * 40, dtype=np.uint32).reshape(3, 40) + 1000
    second = np.arange(3 * 8, dtype=np.uint32).reshape(3, 8) + 5000
    batch.vgpr.write_columns(0, slice(10, 50), first, own=False)
    first += 1  # not kept: copied
    batch.vgpr.write_columns(0, slice(20, 28), second, own=True)
    np.testing.assert_array_equal(batch.vgpr.column_values(0, slice(20, 28)), second)
    assert list.__getitem__(batch.vgpr, 0) is None  # nothing built yet
    expected = start.reshape(3, 64).copy()
    expected[:, 10:50] = first - 1
    expected[:, 20:28] = second
    np.testing.assert_array_equal(batch.vgpr[0], expected.reshape(6, 32))
    # a write covering the earlier ones replaces them; lanes given as an index array work too
    batch.vgpr.write_columns(1, slice(0, 8), np.zeros((3, 8), np.uint32), own=True)
    batch.vgpr.write_columns(1, slice(0, 64), np.ones((3, 64), np.uint32), own=True)
    assert len(batch.vgpr.columns[1][1]) == 1
    odd = np.arange(1, 64, 2)
    batch.vgpr.write_columns(1, odd, np.full((3, 32), 3, np.uint32), own=True)
    batch.write_template(1, np.full((2, 32), 8, dtype=np.uint32), np.arange(64).reshape(2, 32) < 4)
    whole = np.ones((3, 64), np.uint32)
    whole[:, odd] = 3
    whole[:, :4] = 8
    np.testing.assert_array_equal(batch.vgpr[1], whole.reshape(6, 32))
    # a register written whole drops what is queued
    batch.vgpr.write_columns(0, slice(0, 2), np.zeros((3, 2), np.uint32), own=True)
    batch.set_vgpr_row(0, np.full((6, 32), 4, np.uint32))
    np.testing.assert_array_equal(batch.vgpr[0], np.full((6, 32), 4, np.uint32))


@pytest.mark.parametrize(
    "overwrite",
    [
        "ds_store_b32 v1, v4",  # the same words, on templates
        "ds_add_u32 v1, v4",  # an atomic
        "v_mul_u32_u24 v7, 0, v2\nv_add_nc_u32 v6, v1, v7\nds_store_b32 v6, v4",  # not on templates
    ],
)
def test_an_lds_load_kept_as_a_view_keeps_its_value_when_the_lds_is_overwritten(gpu, asm, launch, overwrite):
    # v3 is loaded from LDS words that are then overwritten; the register must hold what was loaded
    code = asm(
        f"""
        s_lshl_b32 s6, s2, 6
        v_lshlrev_b32 v1, 2, v0
        v_add_nc_u32 v2, s6, v0
        ds_store_b32 v1, v2
        s_waitcnt lgkmcnt(0)
        ds_load_b32 v3, v1
        s_waitcnt lgkmcnt(0)
        v_add_nc_u32 v4, 1000, v2
        {overwrite}
        s_waitcnt lgkmcnt(0)
        v_lshlrev_b32 v5, 2, v2
        global_store_b32 v5, v3, s[0:1]
        s_endpgm
        """,
        "gfx1100",
    )
    groups = 8
    out = gpu.alloc(4 * 64 * groups)
    launch("gfx1100", code, grid=(groups, 1, 1), block=(64, 1, 1), user_data=[out & 0xFFFF_FFFF, out >> 32],
           lds_bytes=256).run()  # fmt: skip
    np.testing.assert_array_equal(gpu.array(out, np.uint32, 64 * groups), np.arange(64 * groups))


def test_a_two_address_lds_store_whose_data_is_a_view_of_words_it_overwrites(gpu, asm, launch) -> None:
    # x[t + 1] = 7 and x[t + 2] = x[t] in one ds_write2: the second value was loaded from the words the
    # first one overwrites, and must be what was loaded (found by fuzzing the shader core)
    code = asm(
        """
        v_lshlrev_b32 v1, 2, v0
        v_add_u32 v3, 100, v0
        ds_write_b32 v1, v3
        s_waitcnt lgkmcnt(0)
        ds_read_b32 v5, v1
        v_mov_b32 v4, 7
        s_waitcnt lgkmcnt(0)
        ds_write2_b32 v1, v4, v5 offset0:1 offset1:2
        s_waitcnt lgkmcnt(0)
        ds_read_b32 v6, v1 offset:8
        s_waitcnt lgkmcnt(0)
        s_lshl_b32 s3, s2, 6
        v_add_u32 v7, s3, v0
        v_lshlrev_b32 v7, 2, v7
        global_store_dword v7, v6, s[0:1]
        s_endpgm
        """,
        "gfx942",
    )
    groups = 4
    out = gpu.alloc(4 * 64 * groups)
    launch("gfx942", code, grid=(groups, 1, 1), block=(64, 1, 1), user_data=[out & 0xFFFF_FFFF, out >> 32],
           lds_bytes=512).run()  # fmt: skip
    got = gpu.array(out, np.uint32, 64 * groups).reshape(groups, 64)
    np.testing.assert_array_equal(got, np.tile(100 + np.arange(64, dtype=np.uint32), (groups, 1)))
