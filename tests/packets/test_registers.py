"""Compute register offsets and field layouts, pinned per generation against the register headers."""

from __future__ import annotations

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.families import all_targets
from pytest_amdgpu.packets import registers

GENERATIONS = ("gfx9", "gfx10", "gfx11", "gfx12")

# Absolute dword offsets shared by every generation: gc_9_4_3_offset.h (regCOMPUTE_* + GC base 0x2000),
# gc_11_0_0 / gc_12_0_0_offset.h (+ GC base 0x1260), PAL gfx9_plus_merged_offset.h (gfx10.3), and Mesa's
# R_00B8xx byte addresses / 4 (R_00B800_COMPUTE_DISPATCH_INITIATOR -> 0x2E00).
COMMON_OFFSETS = {
    "COMPUTE_DISPATCH_INITIATOR": 0x2E00,
    "COMPUTE_DIM_X": 0x2E01,
    "COMPUTE_START_X": 0x2E04,
    "COMPUTE_START_Y": 0x2E05,
    "COMPUTE_START_Z": 0x2E06,
    "COMPUTE_NUM_THREAD_X": 0x2E07,
    "COMPUTE_NUM_THREAD_Y": 0x2E08,
    "COMPUTE_NUM_THREAD_Z": 0x2E09,
    "COMPUTE_PGM_LO": 0x2E0C,
    "COMPUTE_PGM_HI": 0x2E0D,
    "COMPUTE_PGM_RSRC1": 0x2E12,
    "COMPUTE_PGM_RSRC2": 0x2E13,
    "COMPUTE_RESOURCE_LIMITS": 0x2E15,
    "COMPUTE_STATIC_THREAD_MGMT_SE0": 0x2E16,
    "COMPUTE_STATIC_THREAD_MGMT_SE1": 0x2E17,
    "COMPUTE_TMPRING_SIZE": 0x2E18,
    "COMPUTE_STATIC_THREAD_MGMT_SE2": 0x2E19,
    "COMPUTE_STATIC_THREAD_MGMT_SE3": 0x2E1A,
    "COMPUTE_DISPATCH_ID": 0x2E20,
    "COMPUTE_USER_DATA_0": 0x2E40,
    "COMPUTE_USER_DATA_15": 0x2E4F,
}


@pytest.mark.parametrize("generation", GENERATIONS)
def test_common_offsets(generation: str) -> None:
    regs = registers.compute_registers(generation)
    for name, offset in COMMON_OFFSETS.items():
        assert regs[name].offset == offset, name
    assert regs.COMPUTE_PGM_RSRC1.sh_offset == 0x212  # Mesa R_00B848: (0xB848 - 0xB000) / 4


def test_pgm_rsrc3_moves_between_gfx9_and_gfx10() -> None:
    # gc_9_4_3_offset.h regCOMPUTE_PGM_RSRC3 0x0e2d (+0x2000); PAL / gc_11 / gc_12: 0x2E28 (Mesa R_00B8A0)
    assert registers.compute_registers("gfx9").COMPUTE_PGM_RSRC3.offset == 0x2E2D
    for generation in ("gfx10", "gfx11", "gfx12"):
        assert registers.compute_registers(generation).COMPUTE_PGM_RSRC3.offset == 0x2E28


def test_shader_engines_four_to_seven_from_gfx11() -> None:
    # gc_11_0_0_offset.h / gc_12_0_0_offset.h regCOMPUTE_STATIC_THREAD_MGMT_SE4..7 at 0x2E2B..0x2E2E
    assert "COMPUTE_STATIC_THREAD_MGMT_SE4" not in registers.compute_registers("gfx10")
    for generation in ("gfx11", "gfx12"):
        regs = registers.compute_registers(generation)
        assert [regs[f"COMPUTE_STATIC_THREAD_MGMT_SE{i}"].offset for i in range(4, 8)] == [
            0x2E2B,
            0x2E2C,
            0x2E2D,
            0x2E2E,
        ]


def _layout(generation: str, register: str) -> dict[str, tuple[int, int]]:
    return {f.name: (f.shift, f.width) for f in registers.compute_registers(generation)[register].fields}


def test_dispatch_initiator_fields() -> None:
    # gc_9_4_3_sh_mask.h: no CS_W32_EN on gfx9; PAL / gc_11_0_0: TUNNEL_ENABLE 13, CS_W32_EN 15;
    # gc_11_0_0: AMP_SHADER_EN 16, DISABLE_DISP_PREMPT_EN 17; gc_12_0_0: PING_PONG_EN 12, INTERLEAVE_2D_EN 18
    gfx9 = _layout("gfx9", "COMPUTE_DISPATCH_INITIATOR")
    assert gfx9["COMPUTE_SHADER_EN"] == (0, 1)
    assert gfx9["FORCE_START_AT_000"] == (2, 1)
    assert gfx9["ORDER_MODE"] == (6, 1)
    assert "CS_W32_EN" not in gfx9
    for generation in ("gfx10", "gfx11", "gfx12"):
        assert _layout(generation, "COMPUTE_DISPATCH_INITIATOR")["CS_W32_EN"] == (15, 1)
    assert _layout("gfx11", "COMPUTE_DISPATCH_INITIATOR")["AMP_SHADER_EN"] == (16, 1)
    assert _layout("gfx12", "COMPUTE_DISPATCH_INITIATOR")["TTRACE_QUEUE_ID"] == (29, 3)


def test_pgm_rsrc1_fields() -> None:
    # VGPRS 5:0, SGPRS 9:6, FLOAT_MODE 19:12 everywhere; WGP_MODE 29 from gfx10; gfx12 swaps DX10_CLAMP and
    # IEEE_MODE for WG_RR_EN (21) and DISABLE_PERF (23) (gc_12_0_0_sh_mask.h)
    for generation in GENERATIONS:
        rsrc1 = _layout(generation, "COMPUTE_PGM_RSRC1")
        assert (rsrc1["VGPRS"], rsrc1["SGPRS"], rsrc1["FLOAT_MODE"]) == ((0, 6), (6, 4), (12, 8))
    assert "WGP_MODE" not in _layout("gfx9", "COMPUTE_PGM_RSRC1")
    assert _layout("gfx10", "COMPUTE_PGM_RSRC1")["WGP_MODE"] == (29, 1)
    assert _layout("gfx11", "COMPUTE_PGM_RSRC1")["IEEE_MODE"] == (23, 1)
    gfx12 = _layout("gfx12", "COMPUTE_PGM_RSRC1")
    assert "IEEE_MODE" not in gfx12 and gfx12["WG_RR_EN"] == (21, 1) and gfx12["DISABLE_PERF"] == (23, 1)


def test_pgm_rsrc2_fields() -> None:
    # USER_SGPR 5:1, TGID_X_EN 7, TIDIG_COMP_CNT 12:11, LDS_SIZE 23:15, EXCP_EN 30:24; SKIP_USGPR0 31 on gfx9;
    # gfx12: DYNAMIC_VGPR 6 (where TRAP_PRESENT was), WGP_TAKEOVER 31
    for generation in GENERATIONS:
        rsrc2 = _layout(generation, "COMPUTE_PGM_RSRC2")
        assert rsrc2["USER_SGPR"] == (1, 5)
        assert rsrc2["TGID_X_EN"] == (7, 1)
        assert rsrc2["TIDIG_COMP_CNT"] == (11, 2)
        assert rsrc2["LDS_SIZE"] == (15, 9)
        assert rsrc2["EXCP_EN"] == (24, 7)
    assert _layout("gfx9", "COMPUTE_PGM_RSRC2")["SKIP_USGPR0"] == (31, 1)
    assert _layout("gfx11", "COMPUTE_PGM_RSRC2")["TRAP_PRESENT"] == (6, 1)
    assert _layout("gfx12", "COMPUTE_PGM_RSRC2")["DYNAMIC_VGPR"] == (6, 1)


def test_pgm_rsrc3_fields() -> None:
    # gfx9 (CDNA): ACCUM_OFFSET 5:0, TG_SPLIT 16; gfx10: SHARED_VGPR_CNT 3:0; gfx11: INST_PREF_SIZE 9:4;
    # gfx12: INST_PREF_SIZE 11:4, GLG_EN 13
    assert _layout("gfx9", "COMPUTE_PGM_RSRC3") == {
        "ACCUM_OFFSET": (0, 6),
        "TRAP_ON_START": (10, 1),
        "TRAP_ON_END": (11, 1),
        "TG_SPLIT": (16, 1),
    }
    assert _layout("gfx10", "COMPUTE_PGM_RSRC3") == {"SHARED_VGPR_CNT": (0, 4)}
    assert _layout("gfx11", "COMPUTE_PGM_RSRC3")["INST_PREF_SIZE"] == (4, 6)
    assert _layout("gfx12", "COMPUTE_PGM_RSRC3")["INST_PREF_SIZE"] == (4, 8)
    assert _layout("gfx12", "COMPUTE_PGM_RSRC3")["GLG_EN"] == (13, 1)


@pytest.mark.parametrize(
    ("generation", "wavesize_bits", "granularity"),
    # WAVESIZE 24:12 (gc_9_4_3, PAL gfx10), 26:12 (gc_11_0_0), 29:12 (gc_12_0_0); Mesa ac_gpu_info.c
    # scratch_wavesize_granularity_shift = gfx_level >= GFX11 ? 8 : 10
    [("gfx9", 13, 1024), ("gfx10", 13, 1024), ("gfx11", 15, 256), ("gfx12", 18, 256)],
)
def test_tmpring_size(generation: str, wavesize_bits: int, granularity: int) -> None:
    regs = registers.compute_registers(generation)
    assert _layout(generation, "COMPUTE_TMPRING_SIZE") == {"WAVES": (0, 12), "WAVESIZE": (12, wavesize_bits)}
    assert regs.tmpring_wavesize_granularity_bytes == granularity


def test_num_thread_on_gfx12_carries_interleave_bits() -> None:
    # gc_12_0_0_sh_mask.h COMPUTE_NUM_THREAD_X: NUM_THREAD_FULL 12:0, INTERLEAVE_BITS_X 15:13
    assert _layout("gfx12", "COMPUTE_NUM_THREAD_X")["INTERLEAVE_BITS_X"] == (13, 3)
    assert _layout("gfx11", "COMPUTE_NUM_THREAD_X")["NUM_THREAD_FULL"] == (0, 16)


def test_encode_and_decode_values() -> None:
    rsrc2 = registers.compute_registers("gfx11").COMPUTE_PGM_RSRC2
    value = rsrc2.encode(USER_SGPR=4, TGID_X_EN=1, LDS_SIZE=2)
    assert value == (4 << 1) | (1 << 7) | (2 << 15)
    assert rsrc2.decode(value)["USER_SGPR"] == 4
    with pytest.raises(ConfigurationError, match=r"COMPUTE_PGM_RSRC2.USER_SGPR: 32 is out of range 0\.\.31"):
        rsrc2.encode(USER_SGPR=32)
    with pytest.raises(ConfigurationError, match="has no field 'CS_W32_EN'"):
        registers.compute_registers("gfx9").COMPUTE_DISPATCH_INITIATOR.encode(CS_W32_EN=1)


def test_lookup() -> None:
    regs = registers.compute_registers("gfx10")
    assert regs.by_offset(0x2E12) is regs.COMPUTE_PGM_RSRC1
    assert regs.by_offset(0x2E7F) is None
    assert registers.sh_reg_offset(0x2E40) == 0x240
    with pytest.raises(ConfigurationError):
        registers.sh_reg_offset(0xC000)
    with pytest.raises(ConfigurationError, match="no compute register 'COMPUTE_BOGUS'"):
        regs["COMPUTE_BOGUS"]
    with pytest.raises(ConfigurationError, match="no compute register table"):
        registers.compute_registers("gfx8")
    for target in all_targets():
        assert registers.compute_registers(target).generation == target.generation
