"""SDMA packets pinned dword for dword against values worked out by hand from the kernel's packet headers.

Bit positions come from ``vega10_sdma_pkt_open.h`` (SDMA 4), ``navi10_sdma_pkt_open.h`` (SDMA 5),
``sdma_v6_0_0_pkt_open.h`` (SDMA 6 and 7) and the additions in ``sdma_v7_0.c``; the size limits from Mesa's
``sid.h`` and ``ac_cmdbuf_sdma.c``. The header dword is ``op | sub_op << 8 | fields``.
"""

from __future__ import annotations

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.families import all_targets
from pytest_amdgpu.packets import sdma

GENERATIONS = (4, 5, 6, 7)


@pytest.mark.parametrize("generation", GENERATIONS)
def test_nop_and_burst_nop(generation: int) -> None:
    # SDMA_PKT_NOP_HEADER_count (bits 29:16): the dwords that follow; sdma_v*_ring_insert_nop writes count - 1
    assert sdma.build(generation, "NOP") == [0x00000000]
    assert sdma.build(generation, "NOP", payload=[0, 0, 0]) == [3 << 16, 0, 0, 0]


def test_copy_linear_sdma4_like_sdma_v4_0_emit_copy_buffer() -> None:
    # sdma_v4_0.c emit_copy_buffer: HEADER_OP(SDMA_OP_COPY) | SUB_OP(SDMA_SUBOP_COPY_LINEAR),
    # byte_count - 1, 0, src lo, src hi, dst lo, dst hi; vega10_sdma_pkt_open.h HEADER_tmz is bit 18
    words = sdma.build(4, "COPY_LINEAR", byte_count=0x1000, src_addr=0x0000_0001_0000_0000, dst_addr=0x2000)
    assert words == [0x00000001, 0x00000FFF, 0, 0, 1, 0x2000, 0]
    assert sdma.build(4, "COPY_LINEAR", tmz=1)[0] == 0x00040001


def test_copy_linear_count_widths() -> None:
    # vega10: COPY_LINEAR_COUNT_count_mask 0x003FFFFF; SDMA 5.2 and later copy up to 1 GiB (sid.h
    # SDMA_V5_2_COPY_MAX_BYTES), sdma_v6_0_0_pkt_open.h COPY_LINEAR_COUNT_count_mask 0x3FFFFFFF
    assert sdma.build(4, "COPY_LINEAR", byte_count=0x400000)[1] == 0x3FFFFF
    with pytest.raises(ConfigurationError, match=r"byte_count: 4194305 is out of range 1\.\.4194304"):
        sdma.build(4, "COPY_LINEAR", byte_count=0x400001)
    for generation in (5, 6, 7):
        assert sdma.build(generation, "COPY_LINEAR", byte_count=0x40000000)[1] == 0x3FFFFFFF
    with pytest.raises(ConfigurationError, match="out of range 1"):
        sdma.build(6, "COPY_LINEAR", byte_count=0)


def test_copy_linear_sdma6_cache_policies() -> None:
    # sdma_v6_0_0_pkt_open.h: HEADER_cpv bit 19; PARAMETER dst_cache_policy 20:18, src_cache_policy 28:26
    words = sdma.build(6, "COPY_LINEAR", cpv=1, dst_cache_policy=3, src_cache_policy=5)
    assert words[0] == 0x00080001
    assert words[2] == (3 << 18) | (5 << 26)
    assert len(words) == 7


def test_copy_linear_sdma7_like_sdma_v7_0_emit_copy_buffer() -> None:
    # sdma_v7_0.c emit_copy_buffer: HEADER_CPV(1) (bit 19) announces an eighth dword, 0 without compression
    words = sdma.build(7, "COPY_LINEAR", cpv=1, byte_count=64, src_addr=0x1000, dst_addr=0x2000)
    assert words == [0x00080001, 63, 0, 0x1000, 0, 0x2000, 0, 0]
    # with compression (sdma_v7_0.c SDMA_DCC_*): DATA_FORMAT(4) 5:0, NUM_TYPE(4) 11:9, WRITE_CM(1) 19:18,
    # MAX_COM(1) 25:24, MAX_UCOM(1) bit 26
    words = sdma.build(
        7,
        "COPY_LINEAR",
        cpv=1,
        dcc_data_format=4,
        dcc_num_type=4,
        dcc_write_cm=1,
        dcc_max_com=1,
        dcc_max_ucom=1,
    )
    assert words[7] == 4 | (4 << 9) | (1 << 18) | (1 << 24) | (1 << 26) == 0x05040804
    # without CPV the packet is seven dwords, as Mesa's ac_emit_sdma_copy_linear writes it
    assert len(sdma.build(7, "COPY_LINEAR")) == 7
    with pytest.raises(ConfigurationError, match="set cpv=1"):
        sdma.build(7, "COPY_LINEAR", dcc_max_com=1)


def test_write_linear_like_the_ring_test() -> None:
    # sdma_v4_0.c ring test: HEADER_OP(SDMA_OP_WRITE) | SUB_OP(SDMA_SUBOP_WRITE_LINEAR), addr lo, hi,
    # DW_3_COUNT(0) (dwords - 1), 0xDEADBEEF
    assert sdma.build(4, "WRITE_LINEAR", dst_addr=0x0000_0001_0000_0040, data=[0xDEADBEEF]) == [
        0x00000002,
        0x40,
        1,
        0,
        0xDEADBEEF,
    ]
    assert sdma.build(5, "WRITE_UNTILED", dst_addr=0x40, data=[1, 2, 3])[3] == 2
    # sdma_v6_0_0_pkt_open.h: HEADER_cpv bit 28, DW_3_cache_policy 28:26
    assert sdma.build(6, "WRITE_LINEAR", cpv=1, cache_policy=2, data=[0])[0:4:3] == [0x10000002, 2 << 26]
    with pytest.raises(ConfigurationError, match="4-byte aligned"):
        sdma.build(6, "WRITE_LINEAR", dst_addr=0x42, data=[0])


def test_constant_fill_like_ac_emit_sdma_constant_fill() -> None:
    # ac_cmdbuf_sdma.c: SDMA_PACKET(SDMA_OPCODE_CONSTANT_FILL, 0, 0) | (2 << 30) (32-bit fill), va lo, va hi,
    # value, bytes - 1
    words = sdma.build(6, "CONSTANT_FILL", dst_addr=0x0000_0002_0000_1000, data=0xCAFEF00D, byte_count=4096)
    assert words == [0x8000000B, 0x1000, 2, 0xCAFEF00D, 4095]


def test_constant_fill_per_generation() -> None:
    # vega10/navi10: CONSTANT_FILL_COUNT 22 bits; sdma_v6_0_0: 30 bits, HEADER_cache_policy 26:24,
    # HEADER_cpv 28
    with pytest.raises(ConfigurationError, match="out of range"):
        sdma.build(5, "CONSTANT_FILL", byte_count=0x400004)
    assert sdma.build(6, "CONSTANT_FILL", byte_count=0x400004)[4] == 0x400003
    assert sdma.build(6, "CONSTANT_FILL", cache_policy=1, cpv=1)[0] == 0x8000000B | (1 << 24) | (1 << 28)
    # sdma_v7_0.c SDMA_PKT_CONSTANT_FILL_HEADER_COMPRESS (bit 16), as emit_fill_buffer sets it
    assert sdma.build(7, "CONSTANT_FILL", compress=1, fillsize=0)[0] == 0x0001000B
    with pytest.raises(ConfigurationError, match="has no field 'compress'"):
        sdma.build(6, "CONSTANT_FILL", compress=1)


def test_fence_per_generation() -> None:
    # sdma_v5_0.c / sdma_v7_0.c emit_fence: HEADER_OP(SDMA_OP_FENCE) | FENCE_HEADER_MTYPE(3) (bits 18:16)
    for generation in (5, 6, 7):
        words = sdma.build(
            generation, "FENCE", mtype=sdma.SDMA_FENCE_MTYPE_UC, addr=0x0000_00FF_0000_1000, data=9
        )
        assert words == [0x00030005, 0x1000, 0xFF, 9]
    # vega10_sdma_pkt_open.h has no FENCE header fields
    assert sdma.build(4, "FENCE", addr=0x1000, data=9) == [0x00000005, 0x1000, 0, 9]
    with pytest.raises(ConfigurationError, match="has no field 'mtype'"):
        sdma.build(4, "FENCE", mtype=3)
    # sdma_v*_0.c: "zero in first two bits" (BUG_ON(addr & 0x3))
    with pytest.raises(ConfigurationError, match="4-byte aligned"):
        sdma.build(6, "FENCE", addr=0x1002)


def test_trap() -> None:
    # SDMA_PKT_TRAP_INT_CONTEXT_int_context_mask 0x0FFFFFFF
    assert sdma.build(6, "TRAP", int_context=0x0ABCDEF) == [0x00000006, 0x0ABCDEF]
    with pytest.raises(ConfigurationError, match="int_context"):
        sdma.build(6, "TRAP", int_context=1 << 28)


def test_poll_regmem_like_ac_emit_sdma_wait_mem() -> None:
    # ac_cmdbuf_sdma.c: SDMA_PACKET(POLL_REGMEM) | op << 28 | SDMA_POLL_MEM (1 << 31), va, ref, mask,
    # SDMA_POLL_INTERVAL_160_CLK | SDMA_POLL_RETRY_INDEFINITELY << 16 (the table's defaults)
    words = sdma.build(
        4, "POLL_REGMEM", func=sdma.SDMA_POLL_FUNC_EQUAL, mem_poll=1, addr=0x0000_0001_0000_2000, value=7
    )
    assert words == [0x08 | (3 << 28) | (1 << 31), 0x2000, 1, 7, 0xFFFFFFFF, 0x0A | (0xFFF << 16)]
    # sdma_v4_0.c emit_hdp_flush: HEADER_HDP_FLUSH(1) (bit 26) | HEADER_FUNC(3)
    assert sdma.build(4, "POLL_REGMEM", hdp_flush=1, func=3)[0] == 0x34000008
    # sdma_v6_0_0_pkt_open.h: HEADER_cache_policy 22:20, HEADER_cpv 24
    assert sdma.build(6, "POLL_REGMEM", cache_policy=2, cpv=1)[0] == 0x08 | (2 << 20) | (1 << 24)


def test_timestamp_get_global_like_ac_emit_sdma_write_timestamp() -> None:
    # ac_cmdbuf_sdma.c: SDMA_PACKET(SDMA_OPCODE_TIMESTAMP, SDMA_TS_SUB_OPCODE_GET_GLOBAL_TIMESTAMP, 0),
    # va, va >> 32
    assert sdma.build(5, "TIMESTAMP", addr=0x0000_0003_0000_0040) == [0x0000020D, 0x40, 3]
    assert sdma.build(5, "TIMESTAMP_GET_GLOBAL", addr=0x48)[0] == 0x0000020D
    # GET_WRITE_ADDR_LO_write_addr_31_3: 8-byte aligned
    with pytest.raises(ConfigurationError, match="8-byte aligned"):
        sdma.build(5, "TIMESTAMP", addr=0x44)


def test_atomic_add64() -> None:
    # SDMA_PKT_ATOMIC_HEADER_atomic_op bits 31:25; SDMA_ATOMIC_ADD64 = 47; 8 dwords
    words = sdma.build(6, "ATOMIC", atomic_op=sdma.SDMA_ATOMIC_ADD64, addr=0x1008, src_data=1)
    assert words == [0x0A | (47 << 25), 0x1008, 0, 1, 0, 0, 0, 0]
    assert words[0] == 0x5E00000A
    # a 64-bit atomic wants a qword-aligned address; a 32-bit one (sid.h TC_OP_ATOMIC_CMPSWAP_32) a dword one
    with pytest.raises(ConfigurationError, match="8-byte aligned"):
        sdma.build(6, "ATOMIC", atomic_op=sdma.SDMA_ATOMIC_ADD64, addr=0x1004)
    assert sdma.build(6, "ATOMIC", atomic_op=sdma.TC_OP_ATOMIC_CMPSWAP_32, addr=0x1004)[1] == 0x1004


def test_indirect_buffer_like_sdma_v4_0_ring_emit_ib() -> None:
    # sdma_v4_0.c emit_ib: HEADER_OP(SDMA_OP_INDIRECT) | INDIRECT_HEADER_VMID(vmid) (bits 19:16),
    # base (32-byte aligned), hi, length_dw, csa lo, csa hi
    words = sdma.build(4, "INDIRECT_BUFFER", vmid=5, ib_base=0x0000_0001_0000_1000, ib_size=64, csa_addr=0)
    assert words == [0x00050004, 0x1000, 1, 64, 0, 0]
    with pytest.raises(ConfigurationError, match="32-byte aligned"):
        sdma.build(4, "INDIRECT_BUFFER", ib_base=0x1010)
    # navi10_sdma_pkt_open.h adds HEADER_priv (bit 31)
    assert sdma.build(5, "INDIRECT", priv=1)[0] == 0x80000004


@pytest.mark.parametrize(
    ("generation", "copy_chunk", "fill_chunk"),
    [
        (4, 0x3FFF00, 0x3FFFFC),
        (5, 0x3FFFFF00, 0x3FFFFC),
        (6, 0x3FFFFF00, 0x3FFFFFFC),
        (7, 0x3FFFFF00, 0x3FFFFFFC),
    ],
)
def test_limits_per_generation(generation: int, copy_chunk: int, fill_chunk: int) -> None:
    # sid.h SDMA_V2_0_COPY_MAX_BYTES 0x3fff00 below SDMA 5.2, SDMA_V5_2_COPY_MAX_BYTES 0x3fffff00 from 5.2;
    # ac_cmdbuf_sdma.c fill: BITFIELD64_MASK(sdma >= 6.0 ? 30 : 22) & ~0x3
    limits = sdma.limits(generation)
    assert (limits.copy_chunk_bytes, limits.fill_chunk_bytes) == (copy_chunk, fill_chunk)
    assert limits.copy_chunk_bytes <= limits.copy_max_bytes
    assert limits.fill_chunk_bytes <= limits.fill_max_bytes


def test_every_registered_target_has_sdma_tables() -> None:
    for target in all_targets():
        assert sdma.build(target, "NOP") == [0]
        assert sdma.generation(target) == target.sdma_generation
