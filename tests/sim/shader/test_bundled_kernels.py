"""Every bundled kernel, run on the shader core for every target, gives what a numpy reference computes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_amdgpu.kernels import available_targets

# Targets that stand for their ISA family, plus the ones whose setup differs (gfx90a's absolute flat scratch,
# gfx950's LDS granule, RDNA 3.5): the whole kernel matrix runs on these, a smoke test on every target.
FULL = [
    t
    for t in ("gfx90a", "gfx942", "gfx950", "gfx1030", "gfx1100", "gfx1151", "gfx1200")
    if t in available_targets()
]


@pytest.mark.parametrize("target", available_targets())
def test_vector_add_on_every_bundled_target(gpu, bundled, target):
    n = 1000  # not a multiple of the block: the last workgroup is partial
    a = np.linspace(-3.0, 7.0, n, dtype=np.float32)
    b = np.full(n, 0.1, np.float32)
    out = gpu.alloc(4 * n + 64)
    stats = bundled(
        target, "vector_add", [math.ceil(n / 256)], [256], [gpu.alloc(4 * n, a), gpu.alloc(4 * n, b), out, n]
    )
    assert np.array_equal(gpu.array(out, np.float32, n), a + b)
    assert not gpu.array(out + 4 * n, np.uint32, 16).any()  # nothing written past n
    assert stats.workgroups == 4 and stats.instructions > 0


@pytest.mark.parametrize("target", FULL)
def test_empty_runs_one_instruction_per_wave(bundled, target):
    stats = bundled(target, "empty", [3, 2, 1], [100], [])
    lanes = 64 if target.startswith("gfx9") else 32
    assert stats.waves == 6 * math.ceil(100 / lanes)
    assert stats.instructions == stats.waves


@pytest.mark.parametrize("target", FULL)
def test_fill_writes_exactly_n_values(gpu, bundled, target):
    n = 777
    dst = gpu.alloc(4 * (n + 32))
    bundled(target, "fill", [math.ceil(n / 64)], [64], [dst, 0xDEADBEEF, n])
    values = gpu.array(dst, np.uint32, n + 32)
    assert (values[:n] == 0xDEADBEEF).all() and not values[n:].any()


@pytest.mark.parametrize("target", FULL)
def test_copy_dword(gpu, bundled, target):
    n = 3000
    source = (np.arange(n, dtype=np.uint64) * 2654435761 % (1 << 32)).astype(np.uint32)
    dst = gpu.alloc(4 * n)
    bundled(
        target,
        "copy_dword",
        [math.ceil(n / 128)],
        [128],
        [dst, gpu.alloc(4 * n, source.astype(np.uint32)), n],
    )
    assert np.array_equal(gpu.array(dst, np.uint32, n), source.astype(np.uint32))


@pytest.mark.parametrize("target", FULL)
def test_vector_add_i32_wraps(gpu, bundled, target):
    n = 513
    a = np.full(n, 0x7FFF_FFFF, np.int32)
    b = np.arange(n, dtype=np.int32)
    out = gpu.alloc(4 * n)
    bundled(
        target,
        "vector_add_i32",
        [math.ceil(n / 96)],
        [96],
        [gpu.alloc(4 * n, a), gpu.alloc(4 * n, b), out, n],
    )
    expected = (a.astype(np.int64) + b).astype(np.uint32).view(np.int32)
    assert np.array_equal(gpu.array(out, np.int32, n), expected)


@pytest.mark.parametrize("target", FULL)
def test_busy_loop_counts_in_every_workgroup(gpu, bundled, target):
    out = gpu.alloc(4 * 8)
    stats = bundled(target, "busy_loop", [6], [96], [out, 250])
    assert gpu.array(out, np.uint32, 8).tolist() == [250] * 6 + [0, 0]
    assert stats.instructions > 6 * 250 * 2  # the loop really ran


@pytest.mark.parametrize("target", FULL)
@pytest.mark.parametrize(("block", "n"), [(256, 1000), (1024, 2048), (64, 64), (1, 3), (128, 77)])
def test_lds_reduce_sums_each_workgroup(gpu, bundled, target, block, n):
    values = (np.arange(n, dtype=np.uint64) * 7919 % 100_003).astype(np.uint32)
    groups = math.ceil(n / block)
    out = gpu.alloc(4 * groups)
    bundled(target, "lds_reduce", [groups], [block], [gpu.alloc(4 * n, values), out, n])
    expected = [int(values[g * block : (g + 1) * block].sum()) & 0xFFFF_FFFF for g in range(groups)]
    assert gpu.array(out, np.uint32, groups).tolist() == expected


@pytest.mark.parametrize("target", FULL)
def test_atomic_add_counts_every_work_item_below_n(gpu, bundled, target):
    counter = gpu.alloc(64, np.array([5], np.uint32))
    bundled(target, "atomic_add", [10], [100], [counter, 937])
    assert gpu.array(counter, np.uint32, 1)[0] == 5 + 937


@pytest.mark.parametrize("target", FULL)
def test_scratch_user_round_trips_private_memory(gpu, bundled, target):
    n = 700
    out = gpu.alloc(4 * n)
    bundled(target, "scratch_user", [math.ceil(n / 64)], [64], [out, n])
    assert np.array_equal(gpu.array(out, np.uint32, n), 4 * np.arange(n, dtype=np.uint32) + 6)


@pytest.mark.parametrize("target", FULL)
def test_scratch_user_with_fewer_scratch_slots_than_waves_still_works(gpu, bundled, target):
    n = 2048  # 32 or 64 waves, but only 4 waves may hold scratch at once: the batches take turns
    out = gpu.alloc(4 * n)
    bundled(target, "scratch_user", [n // 128], [128], [out, n], scratch_slots=4)
    assert np.array_equal(gpu.array(out, np.uint32, n), 4 * np.arange(n, dtype=np.uint32) + 6)


def store_ids_reference(grid, block) -> np.ndarray:
    records = []
    for wz, wy, wx in np.ndindex(grid[2], grid[1], grid[0]):
        flat_wg = wx + grid[0] * (wy + grid[1] * wz)
        for tz, ty, tx in np.ndindex(block[2], block[1], block[0]):
            flat_local = tx + block[0] * (ty + block[1] * tz)
            records.append(
                (flat_wg * math.prod(block) + flat_local, [wx, wy, wz, tx, ty, tz, flat_wg, flat_local])
            )
    table = np.zeros((math.prod(grid) * math.prod(block), 8), np.uint32)
    for index, record in records:
        table[index] = record
    return table


@pytest.mark.parametrize("target", FULL)
@pytest.mark.parametrize(
    ("grid", "block"), [((5, 1, 1), (40, 1, 1)), ((3, 2, 1), (8, 5, 1)), ((2, 3, 2), (4, 3, 5))]
)
def test_store_ids_records_every_work_item_of_1d_2d_3d_grids(gpu, bundled, target, grid, block):
    total = math.prod(grid) * math.prod(block)
    out = gpu.alloc(32 * total)
    bundled(target, "store_ids", list(grid), list(block), [out])
    assert np.array_equal(
        gpu.array(out, np.uint32, 8 * total).reshape(total, 8), store_ids_reference(grid, block)
    )


@pytest.mark.parametrize("target", FULL)
def test_mixed_args_reads_arguments_at_their_padded_offsets(gpu, bundled, target):
    out = gpu.alloc(64)
    bundled(target, "mixed_args", [2], [3], [np.uint8(0xAB), out, np.uint16(0xBEEF), -2.5])
    values = gpu.array(out, np.uint64, 4)
    assert values[0] == 0xAB and values[1] == 0xBEEF
    assert values[2] == np.array([-2.5]).view(np.uint64)[0]
    assert values[3] == 0xAB | 0xBEEF << 32  # the padding bytes are zero


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_same_dispatch_gives_same_stats(gpu, bundled, target):
    n = 5000
    a = gpu.alloc(4 * n, np.ones(n, np.float32))
    first = bundled(target, "lds_reduce", [math.ceil(n / 256)], [256], [a, gpu.alloc(4 * 20), n])
    second = bundled(target, "lds_reduce", [math.ceil(n / 256)], [256], [a, gpu.alloc(4 * 20), n])
    assert first == second


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_results_do_not_depend_on_how_many_waves_run_together(gpu, bundled, target):
    n = 3000
    values = np.arange(n, dtype=np.uint32)
    source = gpu.alloc(4 * n, values)
    outputs = []
    for batch_lanes in (64, 1 << 10, 1 << 17):
        out = gpu.alloc(4 * 12)
        stats = bundled(target, "lds_reduce", [12], [256], [source, out, n], batch_lanes=batch_lanes)
        outputs.append((gpu.array(out, np.uint32, 12).tolist(), stats))
    assert outputs[0] == outputs[1] == outputs[2]
