"""PM4 packets pinned dword for dword against values worked out by hand from the kernel's and Mesa's headers.

Each expected dword is spelled as the sum of its fields, with the header the bit positions come from:
``soc15d.h`` (gfx9), ``nvd.h`` (gfx10+), Mesa ``sid.h``, PAL's ``*_mec_pm4_packets.h``. Where the kernel
emits the same packet, the test names the emit function it mirrors. PACKET3(op, n) is
``3 << 30 | n << 16 | op << 8``; ``| 2`` is PACKET3_COMPUTE's shader-type bit, which build() sets by default.
"""

from __future__ import annotations

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.families import get_target
from pytest_amdgpu.packets import pm4, registers


def packet3(opcode: int, count: int, shader_type: int = 1) -> int:
    """The type-3 header by hand: type 3 in bits 31:30, count 29:16, opcode 15:8, shader type bit 1."""
    return (3 << 30) | (count << 16) | (opcode << 8) | (shader_type << 1)


def test_header_layout_by_hand() -> None:
    # soc15d.h PACKET3(op, n) and PACKET3_COMPUTE
    assert packet3(0x37, 3, 0) == 0xC0033700
    assert pm4.build("gfx9", "DISPATCH_DIRECT", predicate=1)[0] == 0xC0031500 | 2 | 1


def test_nop_header_only_is_the_kernel_ring_nop() -> None:
    # gfx_v9_0.c / gfx_v11_0.c ring funcs: .nop = PACKET3(PACKET3_NOP, 0x3FFF); sid.h PKT3_NOP_PAD
    assert pm4.build("gfx9", "NOP", shader_type=0) == [0xFFFF1000]
    assert pm4.build("gfx11", "NOP") == [0xFFFF1002]
    assert pm4.nop("gfx12", 1, shader_type=0) == [0xFFFF1000]


def test_nop_padding_of_n_dwords() -> None:
    # a NOP with count n - 2 covers n dwords; the payload is skipped
    assert pm4.nop("gfx9", 3, shader_type=0) == [packet3(0x10, 1, 0), 0, 0]
    assert pm4.build("gfx10", "NOP", payload=[7], shader_type=0) == [0xC0001000, 7]
    assert len(pm4.nop("gfx9", 0x4000)) == 0x4000


def test_type2_filler() -> None:
    # soc15d.h / nvd.h CP_PACKET2
    assert pm4.build("gfx9", "PACKET2") == [0x80000000]
    assert pm4.build("gfx11", "PACKET2", pad=5) == [0x80000005]


def test_write_data_to_memory_like_the_kiq_fence() -> None:
    # gfx_v9_0.c gfx_v9_0_ring_emit_fence_kiq: WRITE_DATA_DST_SEL(5) | WR_CONFIRM, addr lo, hi, seq
    words = pm4.build(
        "gfx9",
        "WRITE_DATA",
        dst_sel=pm4.WRITE_DATA_DST_SEL_MEMORY,
        wr_confirm=1,
        dst_addr=0x0000_1234_5678_9ABC,
        data=[0xDEADBEEF],
        shader_type=0,
    )
    assert words == [packet3(0x37, 3, 0), (5 << 8) | (1 << 20), 0x56789ABC, 0x00001234, 0xDEADBEEF]


def test_write_data_to_a_register() -> None:
    # gfx_v9_0.c gfx_v9_0_write_data_to_reg: DST_SEL(0), reg, 0, value; registers need no alignment
    words = pm4.build("gfx10", "WRITE_DATA", dst_sel=0, dst_addr=0x2E41, data=[5, 6])
    assert words == [packet3(0x37, 4), 0, 0x2E41, 0, 5, 6]


def test_write_data_cache_policy_and_one_address() -> None:
    # nvd.h WR_ONE_ADDR (1 << 16), WRITE_DATA_CACHE_POLICY(x) (x << 25)
    words = pm4.build("gfx11", "WRITE_DATA", dst_sel=5, addr_incr=1, cache_policy=3, dst_addr=0x40, data=[1])
    assert words[1] == (5 << 8) | (1 << 16) | (3 << 25)


def test_copy_data_timestamp_to_memory() -> None:
    # sid.h COPY_DATA_SRC_SEL(COPY_DATA_TIMESTAMP = 9) | COPY_DATA_DST_SEL(COPY_DATA_DST_MEM = 5)
    #       | COPY_DATA_COUNT_SEL (1 << 16) | COPY_DATA_WR_CONFIRM (1 << 20)
    words = pm4.build(
        "gfx9",
        "COPY_DATA",
        src_sel=pm4.COPY_DATA_TIMESTAMP,
        dst_sel=pm4.COPY_DATA_DST_MEM,
        count_sel=1,
        wr_confirm=1,
        dst_addr=0x0000_0002_0000_1008,
    )
    assert words == [packet3(0x40, 4), 9 | (5 << 8) | (1 << 16) | (1 << 20), 0, 0, 0x00001008, 0x00000002]


def test_copy_data_alignment_follows_the_selectors() -> None:
    # soc15d.h PACKET3_COPY_DATA__DST_64B_ADDR_LO is bits 31:3, __DST_32B_ADDR_LO bits 31:2
    with pytest.raises(ConfigurationError, match="8-byte aligned"):
        pm4.build("gfx9", "COPY_DATA", dst_sel=5, count_sel=1, dst_addr=0x1004)
    assert pm4.build("gfx9", "COPY_DATA", dst_sel=5, count_sel=0, dst_addr=0x1004)[4] == 0x1004
    assert pm4.build("gfx9", "COPY_DATA", src_sel=pm4.COPY_DATA_IMM, src_addr=0x12345)[2] == 0x12345


def test_wait_reg_mem_like_gfx_v9_0_wait_reg_mem() -> None:
    # gfx_v9_0.c gfx_v9_0_wait_reg_mem: MEM_SPACE(1) | OPERATION(0) | FUNCTION(3), addr0, addr1, ref, mask,
    # poll interval
    words = pm4.build(
        "gfx9",
        "WAIT_REG_MEM",
        function=pm4.WAIT_REG_MEM_FUNCTION_EQUAL,
        mem_space=pm4.WAIT_REG_MEM_MEM_SPACE_MEMORY,
        poll_addr=0x0000_0001_0000_1000,
        reference=42,
        poll_interval=4,
        shader_type=0,
    )
    assert words == [packet3(0x3C, 5, 0), 3 | (1 << 4), 0x00001000, 0x00000001, 42, 0xFFFFFFFF, 4]


def test_wait_reg_mem64() -> None:
    # nvd.h PACKET3_WAIT_REG_MEM64 = 0x93; PAL PM4_MEC_WAIT_REG_MEM64: 9 dwords, reference/mask low then high
    words = pm4.build(
        "gfx11",
        "WAIT_REG_MEM64",
        function=pm4.WAIT_REG_MEM_FUNCTION_GREATER_EQUAL,
        mem_space=1,
        poll_addr=0x2000,
        reference=0x1122334455667788,
        poll_interval=4,
        optimize_ace_offload_mode=1,
    )
    assert words == [
        packet3(0x93, 7),
        5 | (1 << 4),
        0x2000,
        0,
        0x55667788,
        0x11223344,
        0xFFFFFFFF,
        0xFFFFFFFF,
        4 | (1 << 31),
    ]
    with pytest.raises(ConfigurationError, match=r"poll_addr.*8-byte aligned"):
        pm4.build("gfx11", "WAIT_REG_MEM64", mem_space=1, poll_addr=0x2004)


def test_release_mem_gfx9_like_gfx_v9_0_ring_emit_fence() -> None:
    # gfx_v9_0.c gfx_v9_0_ring_emit_fence (no writeback): soc15d.h EOP_TCL1_ACTION_EN (1 << 16),
    # EOP_TC_ACTION_EN (1 << 17), EOP_TC_WB_ACTION_EN (1 << 15), EOP_TC_MD_ACTION_EN (1 << 21),
    # EVENT_TYPE(CACHE_FLUSH_AND_INV_TS_EVENT = 0x14), EVENT_INDEX(5); DATA_SEL(1) << 29 | INT_SEL(2) << 24
    words = pm4.build(
        "gfx9",
        "RELEASE_MEM",
        event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
        event_index=pm4.EVENT_INDEX_END_OF_PIPE,
        tcl1_action_ena=1,
        tc_action_ena=1,
        tc_wb_action_ena=1,
        tc_md_action_ena=1,
        data_sel=pm4.EOP_DATA_SEL_VALUE_32BIT,
        int_sel=pm4.EOP_INT_SEL_SEND_INT_ON_CONFIRM,
        addr=0x0000_0080_0000_1000,
        data=0x42,
        shader_type=0,
    )
    dword1 = (1 << 16) | (1 << 17) | (1 << 15) | (1 << 21) | 0x14 | (5 << 8)
    assert dword1 == 0x00238514
    assert words == [packet3(0x49, 6, 0), dword1, (1 << 29) | (2 << 24), 0x1000, 0x80, 0x42, 0, 0]


def test_release_mem_gfx11_like_gfx_v11_0_ring_emit_fence() -> None:
    # gfx_v11_0.c gfx_v11_0_ring_emit_fence: nvd.h PACKET3_RELEASE_MEM_GCR_SEQ (1 << 22)
    # | GCR_GL2_WB (1 << 21) | GCR_GLM_INV (1 << 13) | GCR_GLM_WB (1 << 12) | CACHE_POLICY(3) (3 << 25)
    # | EVENT_TYPE(0x14) | EVENT_INDEX(5); 64-bit write with interrupt: DATA_SEL(2) << 29 | INT_SEL(2) << 24
    words = pm4.build(
        "gfx11",
        "RELEASE_MEM",
        event_type=0x14,
        event_index=5,
        seq=1,
        gl2_wb=1,
        glm_inv=1,
        glm_wb=1,
        cache_policy=3,
        data_sel=pm4.EOP_DATA_SEL_VALUE_64BIT,
        int_sel=2,
        addr=0x0000_7FFF_0000_0100,
        data=0x1122334455667788,
        shader_type=0,
    )
    dword1 = (1 << 22) | (1 << 21) | (1 << 13) | (1 << 12) | (3 << 25) | 0x14 | (5 << 8)
    assert dword1 == 0x06603514
    assert words == [packet3(0x49, 6, 0), dword1, 0x42000000, 0x100, 0x7FFF, 0x55667788, 0x11223344, 0]


@pytest.mark.parametrize(
    ("field", "bit"),
    # nvd.h PACKET3_RELEASE_MEM_GCR_*: GLM_WB 12, GLM_INV 13, GLV_INV 14, GL1_INV 15, GL2_US 16,
    # GL2_DISCARD 19, GL2_INV 20, GL2_WB 21; PAL PM4_MEC_RELEASE_MEM gfx10: pq_exe_status 28
    [
        ("glm_wb", 12),
        ("glm_inv", 13),
        ("glv_inv", 14),
        ("gl1_inv", 15),
        ("gl2_us", 16),
        ("gl2_discard", 19),
        ("gl2_inv", 20),
        ("gl2_wb", 21),
        ("pq_exe_status", 28),
    ],
)
@pytest.mark.parametrize("dialect", ["gfx10", "gfx11", "gfx12"])
def test_release_mem_gcr_bits(dialect: str, field: str, bit: int) -> None:
    assert pm4.build(dialect, "RELEASE_MEM", **{field: 1})[1] == 1 << bit


def test_release_mem_gfx11_adds_glk_and_wait_sync() -> None:
    # PAL PM4_MEC_RELEASE_MEM gfx11 (and gfx12): wait_sync bit 7, gcr_cntl 24:12 (GLK_WB is its 13th bit),
    # glk_inv 30
    for dialect in ("gfx11", "gfx12"):
        assert pm4.build(dialect, "RELEASE_MEM", wait_sync=1)[1] == 1 << 7
        assert pm4.build(dialect, "RELEASE_MEM", glk_wb=1)[1] == 1 << 24
        assert pm4.build(dialect, "RELEASE_MEM", glk_inv=1)[1] == 1 << 30
    with pytest.raises(ConfigurationError, match="has no field 'glk_inv'"):
        pm4.build("gfx10", "RELEASE_MEM", glk_inv=1)
    with pytest.raises(ConfigurationError, match="has no field 'gl2_wb'"):
        pm4.build("gfx9", "RELEASE_MEM", gl2_wb=1)


def test_release_mem_address_alignment_follows_data_sel() -> None:
    # gfx_v9_0.c emit_fence: 64-bit data needs a qword-aligned address (BUG_ON(addr & 0x7)), 32-bit data a
    # dword-aligned one
    with pytest.raises(
        ConfigurationError, match=r"addr: 0x1004 is not 8-byte aligned \(as data_sel=2 requires\)"
    ):
        pm4.build("gfx9", "RELEASE_MEM", data_sel=2, addr=0x1004)
    assert pm4.build("gfx9", "RELEASE_MEM", data_sel=1, addr=0x1004)[3] == 0x1004
    with pytest.raises(ConfigurationError, match="4-byte aligned"):
        pm4.build("gfx9", "RELEASE_MEM", data_sel=1, addr=0x1002)


def test_acquire_mem_gfx9_is_gfx_v9_0_emit_mem_sync() -> None:
    # gfx_v9_0.c gfx_v9_0_emit_mem_sync: soc15d.h CP_COHER_CNTL SH_ICACHE_ACTION_ENA (1 << 29),
    # SH_KCACHE_ACTION_ENA (1 << 27), TC_ACTION_ENA (1 << 23), TCL1_ACTION_ENA (1 << 22),
    # TC_WB_ACTION_ENA (1 << 18); then CP_COHER_SIZE 0xffffffff, CP_COHER_SIZE_HI 0xffffff, base 0, 0,
    # POLL_INTERVAL 0xA: the table defaults
    words = pm4.build(
        "gfx9",
        "ACQUIRE_MEM",
        sh_icache_action_ena=1,
        sh_kcache_action_ena=1,
        tc_action_ena=1,
        tcl1_action_ena=1,
        tc_wb_action_ena=1,
        shader_type=0,
    )
    cntl = (1 << 29) | (1 << 27) | (1 << 23) | (1 << 22) | (1 << 18)
    assert words == [packet3(0x58, 5, 0), cntl, 0xFFFFFFFF, 0x00FFFFFF, 0, 0, 0x0000000A]


def test_acquire_mem_gfx10_plus_carries_gcr_cntl() -> None:
    # gfx_v11_0.c gfx_v11_0_emit_mem_sync: nvd.h PACKET3_ACQUIRE_MEM_GCR_CNTL_GL2_INV (1 << 14),
    # GL2_WB (1 << 15), GLM_INV (1 << 5), GLM_WB (1 << 4), GL1_INV (1 << 9), GLV_INV (1 << 8),
    # GLK_INV (1 << 7), GLI_INV(1) (1 << 0);
    # 8 dwords (PACKET3(ACQUIRE_MEM, 6)). COHER_SIZE_HI is 8 bits in nvd.h and PAL, so the default is 0xFF.
    gcr = (1 << 14) | (1 << 15) | (1 << 5) | (1 << 4) | (1 << 9) | (1 << 8) | (1 << 7) | 1
    assert gcr == 0xC3B1
    for dialect in ("gfx10", "gfx11", "gfx12"):
        words = pm4.build(
            dialect,
            "ACQUIRE_MEM",
            gl2_inv=1,
            gl2_wb=1,
            glm_inv=1,
            glm_wb=1,
            gl1_inv=1,
            glv_inv=1,
            glk_inv=1,
            gli_inv=1,
            shader_type=0,
        )
        assert words == [packet3(0x58, 6, 0), 0, 0xFFFFFFFF, 0xFF, 0, 0, 0xA, gcr]


def test_acquire_mem_as_the_kernel_writes_it_decodes_leniently() -> None:
    # gfx_v11_0_emit_mem_sync writes 0xffffff into the 8-bit COHER_SIZE_HI: the CP ignores bits 31:8, so the
    # decoder does too, unless asked to be strict about reserved bits.
    kernel_words = [packet3(0x58, 6, 0), 0, 0xFFFFFFFF, 0x00FFFFFF, 0, 0, 0xA, 0xC3B1]
    packet = pm4.decode(kernel_words, 0, "gfx11")
    assert packet.name == "ACQUIRE_MEM"
    assert packet.fields["coher_size_hi"] == 0xFF
    assert packet.fields["gl2_wb"] == 1
    with pytest.raises(pm4.PacketDecodeError, match="reserved bits set"):
        pm4.decode(kernel_words, 0, "gfx11", strict=True)


def test_event_write_cs_partial_flush_and_with_address() -> None:
    # sid.h EVENT_TYPE(V_028A90_CS_PARTIAL_FLUSH = 7) | EVENT_INDEX(4): PACKET3(EVENT_WRITE, 0)
    assert pm4.build(
        "gfx9", "EVENT_WRITE", event_type=pm4.CS_PARTIAL_FLUSH, event_index=4, shader_type=0
    ) == [0xC0004600, 0x407]
    # with an address (soc15d.h PACKET3_EVENT_WRITE__ADDRESS_LO bits 31:3): PACKET3(EVENT_WRITE, 2)
    words = pm4.build("gfx10", "EVENT_WRITE", event_type=0x23, addr=0x0000_0001_0000_0008)
    assert words == [packet3(0x46, 2), 0x23, 8, 1]


def test_indirect_buffer_like_gfx_v9_0_ring_emit_ib_compute() -> None:
    # gfx_v9_0.c gfx_v9_0_ring_emit_ib_compute: INDIRECT_BUFFER_VALID (1 << 23) | length_dw | (vmid << 24)
    words = pm4.build(
        "gfx9", "INDIRECT_BUFFER", ib_base=0x0000_7F00_1234_5600, ib_size=256, vmid=3, shader_type=0
    )
    assert words == [packet3(0x3F, 2, 0), 0x12345600, 0x00007F00, (1 << 23) | 256 | (3 << 24)]


def test_set_sh_reg_writes_compute_pgm_lo_hi() -> None:
    # Mesa radeon_set_sh_reg_seq(R_00B830_COMPUTE_PGM_LO, 2): offset (0xB830 - 0xB000) / 4 = 0x20C
    regs = registers.compute_registers("gfx11")
    offset = regs.COMPUTE_PGM_LO.sh_offset
    assert offset == 0x20C
    words = pm4.build("gfx11", "SET_SH_REG", reg_offset=offset, values=[0x00123456, 0x00000078])
    assert words == [packet3(0x76, 2), 0x20C, 0x00123456, 0x00000078]


def test_set_uconfig_reg() -> None:
    # nvd.h PACKET3_SET_UCONFIG_REG 0x79, REG_OFFSET bits 15:0 from 0xC000
    assert pm4.build("gfx10", "SET_UCONFIG_REG", reg_offset=0x40, values=[5]) == [packet3(0x79, 1), 0x40, 5]


def test_dispatch_direct() -> None:
    # nvd.h PACKET3_DISPATCH_DIRECT 0x15: dim x, y, z, DISPATCH_INITIATOR;
    # sid.h S_00B800_COMPUTE_SHADER_EN (bit 0), FORCE_START_AT_000 (2), ORDER_MODE (6), CS_W32_EN (15, gfx10+)
    initiator = registers.compute_registers("gfx11").COMPUTE_DISPATCH_INITIATOR.encode(
        COMPUTE_SHADER_EN=1, FORCE_START_AT_000=1, ORDER_MODE=1, CS_W32_EN=1
    )
    assert initiator == 1 | (1 << 2) | (1 << 6) | (1 << 15)
    words = pm4.build("gfx11", "DISPATCH_DIRECT", dim_x=4, dim_y=2, dim_z=1, dispatch_initiator=initiator)
    assert words == [packet3(0x15, 3), 4, 2, 1, 0x8045]


@pytest.mark.parametrize(
    ("target", "dialect"),
    [
        ("gfx90a", "gfx9"),
        ("gfx942", "gfx9"),
        ("gfx1030", "gfx10"),
        ("gfx1100", "gfx11"),
        ("gfx1201", "gfx12"),
    ],
)
def test_dialect_follows_the_family_registry(target: str, dialect: str) -> None:
    gpu = get_target(target)
    assert pm4.dialect(gpu) == dialect
    assert pm4.dialect(gpu.pm4_flavour) == ("gfx9" if dialect == "gfx9" else "gfx10")
    assert pm4.build(gpu, "NOP") == pm4.build(dialect, "NOP")
