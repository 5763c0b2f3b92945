"""Initial wave state comes from what the driver programmed: user SGPRs, RSRC2 system SGPRs, ids, EXEC."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_amdgpu.sim.memory import GpuFaultError

HEADER_BYTES = 64  # the atomic slot counter lives at out[0]; records follow


def record_kernel(family: str, lanes: int, extra: str = "") -> str:
    """Each wave appends (s2..s7, EXEC, then `extra` SGPRs s8, s9) as a 10-dword record; lane 0 writes it."""
    store = "global_store_dword" if family in ("gfx9", "gfx10") else "global_store_b32"
    atomic = {"gfx9": "global_atomic_add", "gfx10": "global_atomic_add"}.get(family, "global_atomic_add_u32")
    returning = "th:TH_ATOMIC_RETURN" if family == "gfx12" else ("sc0" if family == "gfx9" else "glc")
    add = "v_add_u32" if family == "gfx9" else "v_add_nc_u32"
    wait = "s_wait_loadcnt 0" if family == "gfx12" else "s_waitcnt vmcnt(0)"
    save_exec = "s_mov_b32 s20, exec_lo\n" + ("s_mov_b32 s21, exec_hi" if lanes == 64 else "s_mov_b32 s21, 0")
    lines = [
        extra,
        save_exec,
        "s_mov_b32 exec_lo, 1",
        "s_mov_b32 exec_hi, 0" if lanes == 64 else "",
        "v_mov_b32 v10, 0",
        "v_mov_b32 v11, 1",
        f"{atomic} v12, v10, v11, s[0:1] {returning}",
        wait,
        "v_mul_u32_u24 v12, 40, v12",
        f"{add} v12, {HEADER_BYTES}, v12",
    ]
    for slot, register in enumerate(["s2", "s3", "s4", "s5", "s6", "s7", "s20", "s21", "s8", "s9"]):
        lines += [f"v_mov_b32 v13, {register}", f"{store} v12, v13, s[0:1] offset:{4 * slot}"]
    lines.append("s_endpgm")
    return "\n".join(line for line in lines if line)


def read_records(gpu, out: int, waves: int) -> list[tuple[int, ...]]:
    assert gpu.array(out, np.uint32, 1)[0] == waves
    records = gpu.array(out + HEADER_BYTES, np.uint32, 10 * waves).reshape(waves, 10)
    return sorted(tuple(int(v) for v in row) for row in records)


def tg_info(first: bool, waves_per_group: int) -> int:
    return int(first) << 31 | waves_per_group


@pytest.mark.parametrize(
    ("target", "lanes"), [("gfx942", 64), ("gfx1030", 32), ("gfx1100", 32), ("gfx1100", 64)]
)
def test_system_sgprs_follow_the_user_sgprs_in_rsrc2_order(gpu, asm, launch, target, lanes):
    family = {"gfx942": "gfx9", "gfx1030": "gfx10", "gfx1100": "gfx11"}[target]
    code = asm(
        record_kernel(family, lanes), target, "+wavefrontsize64" if lanes == 64 and family != "gfx9" else ""
    )
    out = gpu.alloc(4096)
    block = (lanes + 8, 1, 1)  # two waves: the second has 8 live lanes
    launch(target, code, grid=(2, 3, 2), block=block, user_data=[out, out >> 32], tgid=(True, True, True),
           tg_size=True, wave_size=lanes).run()  # fmt: skip
    expected = []
    for z, y, x in np.ndindex(2, 3, 2):
        for wave, exec_mask in ((0, (1 << lanes) - 1), (1, 0xFF)):
            low, high = exec_mask & 0xFFFF_FFFF, exec_mask >> 32
            expected.append((x, y, z, tg_info(wave == 0, 2), 0, 0, low, high, 0, 0))
    assert read_records(gpu, out, 24) == sorted(expected)


@pytest.mark.parametrize("target", ["gfx942", "gfx1100"])
def test_only_enabled_workgroup_ids_are_loaded_and_numbered_densely(gpu, asm, launch, target):
    family = "gfx9" if target == "gfx942" else "gfx11"
    lanes = 64 if family == "gfx9" else 32
    code = asm(record_kernel(family, lanes), target)
    out = gpu.alloc(4096)
    launch(target, code, grid=(1, 4, 3), block=(lanes, 1, 1), user_data=[out, out >> 32],
           tgid=(False, False, True)).run()  # fmt: skip
    full = (1 << lanes) - 1
    expected = [(z, 0, 0, 0, 0, 0, full & 0xFFFF_FFFF, full >> 32, 0, 0) for z, _y in np.ndindex(3, 4)]
    assert read_records(gpu, out, 12) == sorted(expected)


def test_scratch_wave_offset_sgpr_on_absolute_flat_scratch_targets(gpu, asm, launch):
    # gfx1030: SCRATCH_EN adds the wave's byte offset into the queue's scratch after the other system SGPRs
    code = asm(record_kernel("gfx10", 32), "gfx1030")
    out = gpu.alloc(4096)
    wave_bytes = 3 * 1024
    launch("gfx1030", code, grid=(5, 1, 1), block=(32, 1, 1), user_data=[out, out >> 32], scratch=True,
           tmpring_size=8 | 3 << 12, scratch_base=0x1234_0000).run()  # fmt: skip
    records = read_records(gpu, out, 5)
    assert sorted(record[1] for record in records) == [i * wave_bytes for i in range(5)]
    assert sorted(record[0] for record in records) == list(range(5))


@pytest.mark.parametrize(
    ("target", "register"), [("gfx1100", "HW_REG_FLAT_SCR"), ("gfx1200", "HW_REG_SCRATCH_BASE")]
)
def test_architected_flat_scratch_is_the_queue_base_plus_the_wave_offset(gpu, asm, launch, target, register):
    family = "gfx11" if target == "gfx1100" else "gfx12"
    extra = f"s_getreg_b32 s8, hwreg({register}_LO)\ns_getreg_b32 s9, hwreg({register}_HI)"
    code = asm(record_kernel(family, 32, extra), target)
    out = gpu.alloc(4096)
    base = 0x7_1234_5600
    launch(target, code, grid=(3, 1, 1), block=(32, 1, 1), user_data=[out, out >> 32], scratch=True,
           tmpring_size=4 | 2 << 12, scratch_base=base).run()  # fmt: skip
    records = read_records(gpu, out, 3)
    flat_scratch = sorted(record[8] | record[9] << 32 for record in records)
    assert flat_scratch == [base + slot * 512 for slot in range(3)]  # WAVESIZE 2 x 256 bytes
    assert all(record[1] == 0 for record in records)  # no scratch-offset SGPR on these targets


def test_gfx12_keeps_workgroup_ids_in_ttmp9_and_ttmp7(gpu, asm, launch):
    code = asm(record_kernel("gfx12", 32, "s_mov_b32 s8, ttmp9\ns_mov_b32 s9, ttmp7"), "gfx1200")
    out = gpu.alloc(4096)
    launch("gfx1200", code, grid=(2, 2, 3), block=(32, 1, 1), user_data=[out, out >> 32],
           tgid=(False, False, False)).run()  # fmt: skip
    records = read_records(gpu, out, 12)
    assert sorted((r[8], r[9]) for r in records) == sorted(
        (x, y | z << 16) for z, y, x in np.ndindex(3, 2, 2)
    )


def id_kernel(family: str, lanes: int) -> str:
    """Every lane stores v0, v1, v2 at out[lane * 16 + 4k]; the lane number comes from v_mbcnt, not v0."""
    store = "global_store_dword" if family in ("gfx9", "gfx10") else "global_store_b32"
    return f"""
        v_mbcnt_lo_u32_b32 v10, -1, 0
        {"v_mbcnt_hi_u32_b32 v10, -1, v10" if lanes == 64 else ""}
        v_lshlrev_b32 v10, 4, v10
        {store} v10, v0, s[0:1]
        {store} v10, v1, s[0:1] offset:4
        {store} v10, v2, s[0:1] offset:8
        s_endpgm
    """


@pytest.mark.parametrize(
    ("target", "lanes", "tidig", "packed"),
    [("gfx942", 64, 2, True), ("gfx942", 64, 0, True), ("gfx90a", 64, 1, True), ("gfx1100", 32, 2, True),
     ("gfx1200", 32, 1, True), ("gfx1030", 32, 2, False), ("gfx1030", 32, 1, False)],
)  # fmt: skip
def test_work_item_ids_are_packed_or_in_separate_vgprs_per_target(
    gpu, asm, launch, target, lanes, tidig, packed
):
    family = {"gfx942": "gfx9", "gfx90a": "gfx9", "gfx1030": "gfx10", "gfx1100": "gfx11", "gfx1200": "gfx12"}[
        target
    ]
    code = asm(id_kernel(family, lanes), target)
    out = gpu.alloc(16 * lanes)
    block = (4, 4, 2) if lanes == 32 else (8, 4, 2)
    launch(target, code, block=block, user_data=[out, out >> 32], tidig=tidig, vgprs=16).run()
    stored = gpu.array(out, np.uint32, 4 * lanes).reshape(lanes, 4)[:, :3]
    for lane in range(lanes):
        x, y, z = lane % block[0], (lane // block[0]) % block[1], lane // (block[0] * block[1])
        y, z = (y if tidig >= 1 else 0), (z if tidig >= 2 else 0)
        if packed:
            assert stored[lane, 0] == x | y << 10 | z << 20
        else:
            assert stored[lane].tolist() == [x, y, z]


def test_a_driver_that_loads_too_few_user_sgprs_gets_a_fault_not_a_silent_success(gpu, asm, launch):
    code = asm(id_kernel("gfx11", 32), "gfx1100")
    out = gpu.alloc(4096)
    assert out >> 32  # the buffer lies above 4 GiB: without s1 the kernel addresses the wrong place
    with pytest.raises(GpuFaultError) as fault:
        launch("gfx1100", code, block=(32, 1, 1), user_data=[out]).run()  # USER_SGPR = 1: s1 stays 0
    assert fault.value.va == out & 0xFFFF_FFFF and fault.value.write


def test_exec_covers_only_the_live_lanes_of_a_partial_last_wave(gpu, asm, launch):
    code = asm(record_kernel("gfx9", 64), "gfx942")
    out = gpu.alloc(4096)
    launch("gfx942", code, block=(150, 1, 1), user_data=[out, out >> 32], tgid=(False, False, False)).run()
    execs = sorted(r[6] | r[7] << 32 for r in read_records(gpu, out, 3))
    assert execs == sorted([(1 << 64) - 1, (1 << 64) - 1, (1 << 22) - 1])
