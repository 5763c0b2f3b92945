"""The shader core stops bad dispatches with ShaderError or GpuFaultError, naming the PC and encoding."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from pytest_amdgpu.sim.memory import GpuFaultError
from pytest_amdgpu.sim.shader import ShaderError

# Raw encodings (LLVM-independent): SOPP s_endpgm / s_trap / s_branch and friends per family.
S_ENDPGM = {"gfx9": 0xBF81_0000, "gfx10": 0xBF81_0000, "gfx11": 0xBFB0_0000, "gfx12": 0xBFB0_0000}
S_TRAP_2 = {"gfx9": 0xBF92_0002, "gfx11": 0xBF90_0002}
S_BRANCH_SELF = {"gfx9": 0xBF82_FFFF, "gfx11": 0xBFA0_FFFF}  # offset -1: jumps to itself
TARGETS = {"gfx9": "gfx942", "gfx10": "gfx1030", "gfx11": "gfx1100", "gfx12": "gfx1200"}


def code(*words: int) -> bytes:
    return struct.pack(f"<{len(words)}I", *words)


@pytest.mark.parametrize("family", ["gfx9", "gfx11"])
def test_an_unknown_opcode_names_its_encoding_and_pc(launch, family):
    bad = 0xD3FF_0000 if family == "gfx9" else 0xD7FF_0000  # a VOP3 opcode no table defines
    run = launch(TARGETS[family], code(bad, 0, S_ENDPGM[family]))
    with pytest.raises(ShaderError) as error:
        run.run()
    state_pc = error.value.pc
    assert error.value.words[0] == bad and state_pc is not None
    assert f"{bad:08X}" in str(error.value) and f"{state_pc:#x}" in str(error.value)


@pytest.mark.parametrize("family", ["gfx9", "gfx11"])
def test_s_trap_stops_the_dispatch(launch, family):
    with pytest.raises(ShaderError, match="s_trap 0x2"):
        launch(TARGETS[family], code(S_TRAP_2[family], S_ENDPGM[family])).run()


@pytest.mark.parametrize("family", ["gfx9", "gfx11"])
def test_an_endless_loop_hits_the_instruction_budget(launch, family):
    run = launch(TARGETS[family], code(S_BRANCH_SELF[family]), kwargs={"max_wave_instructions": 5000})
    with pytest.raises(ShaderError, match="more than 5000 instructions"):
        run.run()


def test_lds_over_the_device_limit_is_refused(launch):
    with pytest.raises(ShaderError, match="LDS"):
        launch("gfx1100", code(S_ENDPGM["gfx11"]), lds_bytes=96 * 1024, lds_limit_bytes=64 * 1024).run()


def test_gfx950_counts_lds_in_larger_granules(launch):
    # 160 KiB is 128 granules of 1280 bytes: allowed on gfx950 with its 160 KiB of LDS
    stats = launch("gfx950", code(S_ENDPGM["gfx9"]), lds_bytes=160 * 1024, lds_limit_bytes=160 * 1024).run()
    assert stats.waves == 1


def test_a_store_to_an_unmapped_address_faults_with_that_address(gpu, launch):
    # gfx11: global_store_b32 v1, v2, s[0:1] (saddr form) with s[0:1] pointing into a hole
    hole = gpu.alloc(4096) + 0x8000
    store = (0xDC6A_0000, 0x0000_0201)  # GLOBAL op 26 (store_b32), vaddr v1, data v2, saddr s[0:1]
    run = launch("gfx1100", code(*store, S_ENDPGM["gfx11"]), user_data=[hole, hole >> 32])
    with pytest.raises(GpuFaultError) as fault:
        run.run()
    assert fault.value.va == hole and fault.value.write


def test_a_write_to_read_only_memory_faults(gpu, launch):
    readonly = gpu.alloc(4096, writable=False)
    store = (0xDC6A_0000, 0x0000_0201)
    with pytest.raises(GpuFaultError, match="read-only"):
        launch("gfx1100", code(*store, S_ENDPGM["gfx11"]), user_data=[readonly, readonly >> 32]).run()


def test_running_off_the_end_of_the_code_is_an_instruction_fetch_fault(launch):
    with pytest.raises(GpuFaultError):
        launch("gfx942", code(*[0xBF80_0000] * 1024)).run()  # s_nop all the way to the unmapped hole


def test_a_vgpr_beyond_the_allocation_is_refused(launch):
    mov_v40 = 0x7E50_0280  # gfx9 v_mov_b32_e32 v40, 0
    with pytest.raises(ShaderError, match="beyond the 8 VGPRs"):
        launch("gfx942", code(mov_v40, S_ENDPGM["gfx9"]), vgprs=8).run()


def test_scratch_enabled_without_scratch_wave_slots_cannot_launch(launch):
    with pytest.raises(ShaderError, match="TMPRING"):
        launch("gfx1100", code(S_ENDPGM["gfx11"]), scratch=True, tmpring_size=0).run()


@pytest.mark.parametrize("family", ["gfx9", "gfx10", "gfx11", "gfx12"])
def test_garbage_code_only_ever_raises_shader_or_fault_errors(gpu, launch, family):
    rng = random.Random(4)
    outcomes = set()
    for _ in range(60):
        words = [rng.getrandbits(32) for _ in range(24)]
        run = launch(TARGETS[family], code(*words), grid=(2, 1, 1), kwargs={"max_wave_instructions": 2000},
                     user_data=[rng.getrandbits(32) for _ in range(4)])  # fmt: skip
        try:
            run.run()
            outcomes.add("ok")
        except ShaderError:
            outcomes.add("shader")
        except GpuFaultError:
            outcomes.add("fault")
    assert outcomes <= {"ok", "shader", "fault"} and outcomes


def test_zero_workgroups_run_nothing(launch):
    stats = launch("gfx942", code(S_TRAP_2["gfx9"]), grid=(0, 4, 1)).run()
    assert stats.waves == 0 and stats.instructions == 0


def test_wave32_on_gfx9_is_refused(launch):
    with pytest.raises(ShaderError, match="wave64 only"):
        launch("gfx942", code(S_ENDPGM["gfx9"]), wave_size=32).run()


def test_oversized_workgroups_are_refused(launch):
    with pytest.raises(ShaderError, match="1 to 1024"):
        launch("gfx1100", code(S_ENDPGM["gfx11"]), block=(64, 32, 1)).run()


def test_the_fault_is_raised_before_any_lane_writes(gpu, launch):
    # 2 waves of 32 lanes store v0-based addresses; the second wave's lanes run into the hole after the buffer
    target = gpu.alloc(4096)
    # v_lshlrev_b32 v1, 7, v0 (lane * 128 bytes): lanes 32+ pass the 4 KiB buffer
    shift = 0x3002_0087  # gfx11 VOP2 v_lshlrev_b32 v1, 7, v0
    store = (0xDC6A_0000, 0x0000_0001)  # global_store_b32 v1, v0, s[0:1]
    run = launch("gfx1100", code(shift, *store, S_ENDPGM["gfx11"]), block=(64, 1, 1), wave_size=32,
                 user_data=[target, target >> 32])  # fmt: skip
    with pytest.raises(GpuFaultError):
        run.run()
    assert not gpu.array(target, np.uint32, 1024).any()  # the whole store was refused, as one access
