"""PM4 packets of compute (MEC) queues: one field table per packet and dialect, with its builder and decoder.

Dialects are ``gfx9``, ``gfx10``, ``gfx11`` and ``gfx12``; the family registry's ``pm4_flavour`` strings
work too (``"gfx10+"`` means the gfx10 tables), and so does a GpuTarget (its GC major version picks the
dialect). The dialects differ in the cache-control part of RELEASE_MEM (gfx9's TC action bits, gfx10's GCR
bits, gfx11's extra GLK and WAIT_SYNC bits, kept by gfx12) and in ACQUIRE_MEM (gfx9's 7-dword form with
CP_COHER_CNTL, gfx10+'s 8-dword form with GCR_CNTL); every other packet is the same everywhere.

Sources (facts only): the kernel's ``soc15d.h`` (gfx9) and ``nvd.h`` (gfx10+), PAL's
``gfx9_plus_merged_f32_mec_pm4_packets.h`` and ``gfx12_merged_f32_mec_pm4_packets.h`` (the MEC layouts, and
WAIT_REG_MEM64, which the kernel names but does not lay out), Mesa's ``sid.h`` (names of the encodings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.packets.codegen import specialize
from pytest_amdgpu.packets.layout import (
    AlignBy,
    Array,
    Field,
    Packet,
    PacketDecodeError,
    PacketLayout,
    Split,
    Tail,
    check_dwords,
    check_header,
    check_offset,
    decode_range,
    stream_length,
)

ENGINE = "PM4"

# --- header (soc15d.h / nvd.h PACKET3(), sid.h PKT3_SHADER_TYPE_S) ------------------------------------------

PACKET_TYPE2 = 2
PACKET_TYPE3 = 3
CP_PACKET2 = 0x80000000  # a one-dword type-2 filler
PACKET3_COUNT_MAX = 0x3FFF
PACKET3_NOP_HEADER_ONLY_COUNT = 0x3FFF  # a NOP with this count is the header alone (sid.h PKT3_NOP_PAD)
SHADER_TYPE_GRAPHICS = 0
SHADER_TYPE_COMPUTE = 1

# --- opcodes (nvd.h, soc15d.h) ------------------------------------------------------------------------------

PACKET3_NOP = 0x10
PACKET3_DISPATCH_DIRECT = 0x15
PACKET3_WRITE_DATA = 0x37
PACKET3_WAIT_REG_MEM = 0x3C
PACKET3_INDIRECT_BUFFER = 0x3F
PACKET3_COPY_DATA = 0x40
PACKET3_EVENT_WRITE = 0x46
PACKET3_RELEASE_MEM = 0x49
PACKET3_ACQUIRE_MEM = 0x58
PACKET3_SET_SH_REG = 0x76
PACKET3_SET_UCONFIG_REG = 0x79
PACKET3_WAIT_REG_MEM64 = 0x93

PACKET3_SET_SH_REG_START = 0x2C00  # SET_SH_REG's reg_offset counts dwords from here
PACKET3_SET_SH_REG_END = 0x3000
PACKET3_SET_UCONFIG_REG_START = 0xC000
PACKET3_SET_UCONFIG_REG_END = 0xC400

# --- encodings ----------------------------------------------------------------------------------------------

# VGT_EVENT_TYPE (PAL gfx9_plus_merged_enum.h / gfx12_merged_enum.h, the same values on every dialect)
CACHE_FLUSH_TS = 0x04
CS_PARTIAL_FLUSH = 0x07
CACHE_FLUSH_AND_INV_TS_EVENT = 0x14
CACHE_FLUSH_AND_INV_EVENT = 0x16
BOTTOM_OF_PIPE_TS = 0x28
CS_DONE = 0x2F
PS_DONE = 0x30
EVENT_TYPES = MappingProxyType(
    {
        CACHE_FLUSH_TS: "CACHE_FLUSH_TS",
        CS_PARTIAL_FLUSH: "CS_PARTIAL_FLUSH",
        CACHE_FLUSH_AND_INV_TS_EVENT: "CACHE_FLUSH_AND_INV_TS_EVENT",
        CACHE_FLUSH_AND_INV_EVENT: "CACHE_FLUSH_AND_INV_EVENT",
        BOTTOM_OF_PIPE_TS: "BOTTOM_OF_PIPE_TS",
        CS_DONE: "CS_DONE",
        PS_DONE: "PS_DONE",
    }
)

# EVENT_INDEX: EVENT_WRITE (nvd.h comment, PAL MEC_EVENT_WRITE_event_index_enum) and RELEASE_MEM
EVENT_INDEX_OTHER = 0
EVENT_INDEX_SAMPLE_PIPELINESTAT = 2
EVENT_INDEX_CS_PARTIAL_FLUSH = 4  # what CS_PARTIAL_FLUSH takes in EVENT_WRITE
EVENT_INDEX_END_OF_PIPE = 5  # RELEASE_MEM of a *_TS event
EVENT_INDEX_SHADER_DONE = 6  # RELEASE_MEM of CS_DONE / PS_DONE

# WAIT_REG_MEM / WAIT_REG_MEM64
WAIT_REG_MEM_FUNCTION_ALWAYS = 0
WAIT_REG_MEM_FUNCTION_LESS = 1
WAIT_REG_MEM_FUNCTION_LESS_EQUAL = 2
WAIT_REG_MEM_FUNCTION_EQUAL = 3
WAIT_REG_MEM_FUNCTION_NOT_EQUAL = 4
WAIT_REG_MEM_FUNCTION_GREATER_EQUAL = 5
WAIT_REG_MEM_FUNCTION_GREATER = 6
WAIT_REG_MEM_MEM_SPACE_REGISTER = 0
WAIT_REG_MEM_MEM_SPACE_MEMORY = 1
WAIT_REG_MEM_OPERATION_WAIT_REG_MEM = 0
WAIT_REG_MEM_OPERATION_WR_WAIT_WR_REG = 1
WAIT_REG_MEM_OPERATION_WAIT_MEM_PREEMPTABLE = 3

# WRITE_DATA DST_SEL
WRITE_DATA_DST_SEL_REGISTER = 0
WRITE_DATA_DST_SEL_TC_L2 = 2
WRITE_DATA_DST_SEL_GDS = 3
WRITE_DATA_DST_SEL_MEMORY = 5

# COPY_DATA SRC_SEL / DST_SEL (sid.h spelling)
COPY_DATA_REG = 0
COPY_DATA_SRC_MEM = 1
COPY_DATA_TC_L2 = 2
COPY_DATA_GDS = 3
COPY_DATA_PERF = 4
COPY_DATA_IMM = 5
COPY_DATA_TIMESTAMP = 9  # source: the GPU clock counter
COPY_DATA_DST_MEM = 5

# RELEASE_MEM DST_SEL / INT_SEL / DATA_SEL (sid.h EOP_* spelling)
EOP_DST_SEL_MEM = 0
EOP_DST_SEL_TC_L2 = 1
EOP_INT_SEL_NONE = 0
EOP_INT_SEL_SEND_INT = 1  # interrupt only
EOP_INT_SEL_SEND_INT_ON_CONFIRM = 2  # interrupt once the data write is confirmed
EOP_INT_SEL_SEND_DATA_AFTER_WR_CONFIRM = 3
EOP_DATA_SEL_DISCARD = 0
EOP_DATA_SEL_VALUE_32BIT = 1
EOP_DATA_SEL_VALUE_64BIT = 2
EOP_DATA_SEL_TIMESTAMP = 3  # 64-bit GPU clock counter
EOP_DATA_SEL_SYSTEM_TIMESTAMP = 4  # 64-bit system clock counter
EOP_DATA_SEL_GDS = 5

# cache policies (WRITE_DATA, RELEASE_MEM, WAIT_REG_MEM, INDIRECT_BUFFER; TEMPORAL on gfx12, same bits)
CACHE_POLICY_LRU = 0
CACHE_POLICY_STREAM = 1
CACHE_POLICY_NOA = 2
CACHE_POLICY_BYPASS = 3

_FUNCTION_NAMES = MappingProxyType(
    {0: "ALWAYS", 1: "LESS", 2: "LESS_EQUAL", 3: "EQUAL", 4: "NOT_EQUAL", 5: "GREATER_EQUAL", 6: "GREATER"}
)
_MEM_SPACE_NAMES = MappingProxyType({0: "REGISTER", 1: "MEMORY"})
_WRITE_DST_NAMES = MappingProxyType(
    {0: "MEM_MAPPED_REGISTER", 1: "MEMORY_SYNC_ACROSS_GRBM", 2: "TC_L2", 3: "GDS", 5: "MEMORY"}
)
_COPY_SRC_NAMES = MappingProxyType(
    {
        0: "REG",
        1: "SRC_MEM",
        2: "TC_L2",
        3: "GDS",
        4: "PERF",
        5: "IMM",
        6: "ATOMIC_RETURN_DATA",
        9: "TIMESTAMP",
    }
)
_COPY_DST_NAMES = MappingProxyType({0: "REG", 2: "TC_L2", 3: "GDS", 4: "PERF", 5: "DST_MEM"})
_EOP_DST_NAMES = MappingProxyType({0: "MEM", 1: "TC_L2"})
_EOP_INT_NAMES = MappingProxyType(
    {0: "NONE", 1: "SEND_INT", 2: "SEND_INT_ON_CONFIRM", 3: "SEND_DATA_AFTER_WR_CONFIRM"}
)
_EOP_DATA_NAMES = MappingProxyType(
    {0: "DISCARD", 1: "VALUE_32BIT", 2: "VALUE_64BIT", 3: "TIMESTAMP", 4: "SYSTEM_TIMESTAMP", 5: "GDS"}
)
_CACHE_POLICY_NAMES = MappingProxyType({0: "LRU", 1: "STREAM", 2: "NOA", 3: "BYPASS"})
_RELEASE_EVENT_INDEX_NAMES = MappingProxyType({5: "END_OF_PIPE", 6: "SHADER_DONE"})

# --- field tables -------------------------------------------------------------------------------------------

_HEADER_FIELDS = (
    Field("predicate", 0, 0, 1, doc="execute only if the predicate is set"),
    Field("shader_type", 0, 1, 1, default=SHADER_TYPE_COMPUTE, doc="1: compute (PACKET3_COMPUTE)"),
)
_HEADER_BITS = 0xFFFFFF00  # type, count and opcode belong to the engine; bits 7:2 are reserved here
_PACKET3_COUNT = (0, 16, 14, 2)  # the header count holds dwords - 2 (the body length - 1)


def _u64(name: str, low_dword: int, align: int | AlignBy = 1, default: int = 0, doc: str = "") -> Split:
    return Split(name, ((low_dword, 0, 32), (low_dword + 1, 0, 32)), align=align, default=default, doc=doc)


def _bit(name: str, dword: int, shift: int, doc: str = "") -> Field:
    return Field(name, dword, shift, 1, doc=doc)


def _packet3(
    name: str,
    opcode: int,
    size_dwords: int,
    items: tuple = (),
    *,
    array: Array | None = None,
    tail: Tail | None = None,
    size_one: int | None = None,
    source: str,
) -> PacketLayout:
    return PacketLayout(
        engine=ENGINE,
        name=name,
        opcode=opcode,
        header=(PACKET_TYPE3 << 30) | (opcode << 8),
        header_bits=_HEADER_BITS,
        size_dwords=size_dwords,
        items=_HEADER_FIELDS + items,
        array=array,
        tail=tail,
        size_field=_PACKET3_COUNT,
        size_one=size_one,
        source=source,
    )


def _body_max(fixed_dwords: int) -> int:
    """Most dwords an array can hold after ``fixed_dwords``: the body is at most 0x4000 dwords."""
    return PACKET3_COUNT_MAX + 1 - (fixed_dwords - 1)


NOP = _packet3(
    "NOP",
    PACKET3_NOP,
    1,
    array=Array("payload", 1, 0, PACKET3_COUNT_MAX, doc="skipped dwords; none: the one-dword 0x3FFF form"),
    size_one=PACKET3_NOP_HEADER_ONLY_COUNT,
    source="nvd.h PACKET3_NOP; sid.h PKT3_NOP_PAD (count 0x3FFF: header only)",
)

PACKET2 = PacketLayout(
    engine=ENGINE,
    name="PACKET2",
    opcode=0,
    header=CP_PACKET2,
    header_bits=0xC0000000,
    size_dwords=1,
    items=(Field("pad", 0, 0, 30),),
    source="soc15d.h / nvd.h CP_PACKET2, PACKET2_PAD",
)

WRITE_DATA = _packet3(
    "WRITE_DATA",
    PACKET3_WRITE_DATA,
    4,
    (
        Field("dst_sel", 1, 8, 4, values=_WRITE_DST_NAMES),
        _bit("addr_incr", 1, 16, "1: write every dword to the same address (WR_ONE_ADDR)"),
        _bit("wr_confirm", 1, 20),
        Field("cache_policy", 1, 25, 2, values=_CACHE_POLICY_NAMES),
        _u64(
            "dst_addr",
            2,
            AlignBy(("dst_sel",), {1: 4, 2: 4, 5: 4}, default=1),
            doc="memory address, or register/GDS offset by dst_sel",
        ),
    ),
    array=Array("data", 4, 1, _body_max(4)),
    source="soc15d.h / nvd.h PACKET3_WRITE_DATA__*; PAL PM4_MEC_WRITE_DATA",
)

COPY_DATA = _packet3(
    "COPY_DATA",
    PACKET3_COPY_DATA,
    6,
    (
        Field("src_sel", 1, 0, 4, values=_COPY_SRC_NAMES),
        Field("dst_sel", 1, 8, 4, values=_COPY_DST_NAMES),
        Field("src_cache_policy", 1, 13, 2, values=_CACHE_POLICY_NAMES),
        _bit("count_sel", 1, 16, "0: 32 bits, 1: 64 bits"),
        _bit("wr_confirm", 1, 20),
        Field("dst_cache_policy", 1, 25, 2, values=_CACHE_POLICY_NAMES),
        _bit("pq_exe_status", 1, 29),
        _u64(
            "src_addr",
            2,
            AlignBy(("src_sel", "count_sel"), {(1, 0): 4, (1, 1): 8, (2, 0): 4, (2, 1): 8}, default=1),
            doc="memory address, register offset or immediate data by src_sel",
        ),
        _u64(
            "dst_addr",
            4,
            AlignBy(("dst_sel", "count_sel"), {(2, 0): 4, (2, 1): 8, (5, 0): 4, (5, 1): 8}, default=1),
            doc="memory address or register offset by dst_sel",
        ),
    ),
    source="soc15d.h / nvd.h PACKET3_COPY_DATA__*; PAL PM4_MEC_COPY_DATA",
)

_WAIT_CONTROL = (
    Field("function", 1, 0, 3, values=_FUNCTION_NAMES),
    Field("mem_space", 1, 4, 2, values=_MEM_SPACE_NAMES),
    Field("operation", 1, 6, 2),
    Field("cache_policy", 1, 25, 2, values=_CACHE_POLICY_NAMES),
)

WAIT_REG_MEM = _packet3(
    "WAIT_REG_MEM",
    PACKET3_WAIT_REG_MEM,
    7,
    (
        *_WAIT_CONTROL,
        _u64("poll_addr", 2, AlignBy(("mem_space",), {1: 4}, default=1), doc="memory address or register"),
        Field("reference", 4),
        Field("mask", 5, default=0xFFFFFFFF),
        Field("poll_interval", 6, 0, 16),
        _bit("optimize_ace_offload_mode", 6, 31),
    ),
    source="soc15d.h / nvd.h PACKET3_WAIT_REG_MEM__*; PAL PM4_MEC_WAIT_REG_MEM",
)

WAIT_REG_MEM64 = _packet3(
    "WAIT_REG_MEM64",
    PACKET3_WAIT_REG_MEM64,
    9,
    (
        *_WAIT_CONTROL,
        _u64("poll_addr", 2, AlignBy(("mem_space",), {1: 8}, default=1)),
        _u64("reference", 4),
        _u64("mask", 6, default=0xFFFFFFFFFFFFFFFF),
        Field("poll_interval", 8, 0, 16),
        _bit("optimize_ace_offload_mode", 8, 31),
    ),
    source="nvd.h PACKET3_WAIT_REG_MEM64; PAL PM4_MEC_WAIT_REG_MEM64",
)

EVENT_WRITE = _packet3(
    "EVENT_WRITE",
    PACKET3_EVENT_WRITE,
    2,
    (
        Field("event_type", 1, 0, 6, values=EVENT_TYPES),
        Field("event_index", 1, 8, 4),
        _bit("offload_enable", 1, 31),
        _u64("addr", 2, 8, doc="only for events that write memory; absent: a 2-dword packet"),
    ),
    tail=Tail(2),
    source="soc15d.h / nvd.h PACKET3_EVENT_WRITE__*; PAL PM4_MEC_EVENT_WRITE",
)

INDIRECT_BUFFER = _packet3(
    "INDIRECT_BUFFER",
    PACKET3_INDIRECT_BUFFER,
    4,
    (
        _u64("ib_base", 1, 4),
        Field("ib_size", 3, 0, 20, doc="dwords"),
        _bit("chain", 3, 20),
        _bit("offload_polling", 3, 21),
        Field("valid", 3, 23, 1, default=1, doc="INDIRECT_BUFFER_VALID, which compute IBs set"),
        Field("vmid", 3, 24, 4),
        Field("cache_policy", 3, 28, 2, values=_CACHE_POLICY_NAMES),
    ),
    source="soc15d.h / nvd.h PACKET3_INDIRECT_BUFFER__*; gfx_v9_0.c gfx_v9_0_ring_emit_ib_compute",
)

SET_SH_REG = _packet3(
    "SET_SH_REG",
    PACKET3_SET_SH_REG,
    2,
    (
        Field("reg_offset", 1, 0, 16, doc="dwords from PACKET3_SET_SH_REG_START (0x2C00)"),
        Field("vmid_shift", 1, 23, 5),
        Field("index", 1, 28, 4),
    ),
    array=Array("values", 2, 1, _body_max(2)),
    source="soc15d.h / nvd.h PACKET3_SET_SH_REG__*; PAL PM4_MEC_SET_SH_REG",
)

SET_UCONFIG_REG = _packet3(
    "SET_UCONFIG_REG",
    PACKET3_SET_UCONFIG_REG,
    2,
    (Field("reg_offset", 1, 0, 16, doc="dwords from PACKET3_SET_UCONFIG_REG_START (0xC000)"),),
    array=Array("values", 2, 1, _body_max(2)),
    source="soc15d.h / nvd.h PACKET3_SET_UCONFIG_REG__REG_OFFSET; PAL PM4_MEC_SET_UCONFIG_REG",
)

DISPATCH_DIRECT = _packet3(
    "DISPATCH_DIRECT",
    PACKET3_DISPATCH_DIRECT,
    5,
    (Field("dim_x", 1), Field("dim_y", 2), Field("dim_z", 3), Field("dispatch_initiator", 4)),
    source="nvd.h PACKET3_DISPATCH_DIRECT; PAL PM4_MEC_DISPATCH_DIRECT",
)

# RELEASE_MEM: dword 1 carries the cache actions, which is where the dialects differ.
_RELEASE_EVENT = (
    Field("event_type", 1, 0, 6, values=EVENT_TYPES),
    Field("event_index", 1, 8, 4, values=_RELEASE_EVENT_INDEX_NAMES),
    Field("cache_policy", 1, 25, 2, values=_CACHE_POLICY_NAMES, doc="TEMPORAL on gfx12, same bits"),
)
_RELEASE_TARGET = (
    Field("dst_sel", 2, 16, 2, values=_EOP_DST_NAMES),
    Field("int_sel", 2, 24, 3, values=_EOP_INT_NAMES),
    Field("data_sel", 2, 29, 3, values=_EOP_DATA_NAMES),
    _u64("addr", 3, AlignBy(("data_sel",), {2: 8, 3: 8, 4: 8}, default=4)),
    _u64("data", 5),
    Field("int_ctxid", 7),
)
_RELEASE_ACTIONS_GFX9 = (  # soc15d.h EOP_*_ACTION_EN, sid.h EVENT_*_ACTION_ENA
    _bit("tcl1_vol_action_ena", 1, 12),
    _bit("tc_vol_action_ena", 1, 13),
    _bit("tc_wb_action_ena", 1, 15),
    _bit("tcl1_action_ena", 1, 16),
    _bit("tc_action_ena", 1, 17),
    _bit("tc_nc_action_ena", 1, 19),
    _bit("tc_wc_action_ena", 1, 20),
    _bit("tc_md_action_ena", 1, 21),
    _bit("execute", 1, 28, "EOP_EXEC"),
)
_RELEASE_GCR_GFX10 = (  # nvd.h PACKET3_RELEASE_MEM_GCR_*: PAL's gcr_cntl, dword 1 bits 23:12
    _bit("glm_wb", 1, 12),
    _bit("glm_inv", 1, 13),
    _bit("glv_inv", 1, 14),
    _bit("gl1_inv", 1, 15),
    _bit("gl2_us", 1, 16),
    Field("gl2_range", 1, 17, 2),
    _bit("gl2_discard", 1, 19),
    _bit("gl2_inv", 1, 20),
    _bit("gl2_wb", 1, 21),
    Field("seq", 1, 22, 2),
    _bit("pq_exe_status", 1, 28, "nvd.h PACKET3_RELEASE_MEM_EXECUTE"),
)
_RELEASE_GCR_GFX11 = (  # PAL gfx11 / gfx12: gcr_cntl grows to 13 bits (24:12), plus WAIT_SYNC and GLK_INV
    *_RELEASE_GCR_GFX10,
    _bit("wait_sync", 1, 7),
    _bit("glk_wb", 1, 24),
    _bit("glk_inv", 1, 30),
)


def _release_mem(actions: tuple, source: str) -> PacketLayout:
    return _packet3(
        "RELEASE_MEM", PACKET3_RELEASE_MEM, 8, (*_RELEASE_EVENT, *actions, *_RELEASE_TARGET), source=source
    )


RELEASE_MEM_GFX9 = _release_mem(
    _RELEASE_ACTIONS_GFX9, "soc15d.h PACKET3_RELEASE_MEM, EOP_*; gfx_v9_0.c emit_fence"
)
RELEASE_MEM_GFX10 = _release_mem(
    _RELEASE_GCR_GFX10, "nvd.h PACKET3_RELEASE_MEM_*; PAL PM4_MEC_RELEASE_MEM gfx10"
)
RELEASE_MEM_GFX11 = _release_mem(_RELEASE_GCR_GFX11, "nvd.h; PAL PM4_MEC_RELEASE_MEM gfx11 and gfx12")

# ACQUIRE_MEM: gfx9 carries CP_COHER_CNTL in 7 dwords, gfx10+ GCR_CNTL in 8.
_COHER_CNTL_GFX9 = (  # soc15d.h PACKET3_ACQUIRE_MEM_CP_COHER_CNTL_*
    _bit("tc_nc_action_ena", 1, 3),
    _bit("tc_wc_action_ena", 1, 4),
    _bit("tc_inv_metadata_action_ena", 1, 5),
    _bit("tcl1_vol_action_ena", 1, 15),
    _bit("tc_wb_action_ena", 1, 18),
    _bit("tcl1_action_ena", 1, 22),
    _bit("tc_action_ena", 1, 23),
    _bit("cb_action_ena", 1, 25),
    _bit("db_action_ena", 1, 26),
    _bit("sh_kcache_action_ena", 1, 27),
    _bit("sh_kcache_vol_action_ena", 1, 28),
    _bit("sh_icache_action_ena", 1, 29),
    _bit("sh_kcache_wb_action_ena", 1, 30),
)
_GCR_CNTL = (  # nvd.h PACKET3_ACQUIRE_MEM_GCR_CNTL_*, dword 7
    Field("gli_inv", 7, 0, 2),
    Field("gl1_range", 7, 2, 2),
    _bit("glm_wb", 7, 4),
    _bit("glm_inv", 7, 5),
    _bit("glk_wb", 7, 6),
    _bit("glk_inv", 7, 7),
    _bit("glv_inv", 7, 8),
    _bit("gl1_inv", 7, 9),
    _bit("gl2_us", 7, 10),
    Field("gl2_range", 7, 11, 2),
    _bit("gl2_discard", 7, 13),
    _bit("gl2_inv", 7, 14),
    _bit("gl2_wb", 7, 15),
    Field("seq", 7, 16, 2),
    _bit("range_is_pa", 7, 18),
)


def _coher_range(size_hi_width: int) -> tuple:
    """CP_COHER_SIZE/BASE in 256-byte units; the defaults (all size bits set, base 0) cover all memory."""
    return (
        Field("coher_size", 2, default=0xFFFFFFFF),
        Field("coher_size_hi", 3, 0, size_hi_width, default=(1 << size_hi_width) - 1),
        Field("coher_base_lo", 4),
        Field("coher_base_hi", 5, 0, 24),
        Field("poll_interval", 6, 0, 16, default=10),
    )


ACQUIRE_MEM_GFX9 = _packet3(
    "ACQUIRE_MEM",
    PACKET3_ACQUIRE_MEM,
    7,
    (*_COHER_CNTL_GFX9, *_coher_range(24)),
    source="soc15d.h PACKET3_ACQUIRE_MEM (COHER_SIZE_HI_VG10 is 24 bits); gfx_v9_0.c gfx_v9_0_emit_mem_sync",
)
ACQUIRE_MEM_GFX10 = _packet3(
    "ACQUIRE_MEM",
    PACKET3_ACQUIRE_MEM,
    8,
    (*_coher_range(8), *_GCR_CNTL),
    source="nvd.h PACKET3_ACQUIRE_MEM_GCR_CNTL_*; PAL PM4_MEC_ACQUIRE_MEM (gfx10+ and gfx12)",
)

# --- dialects: a row of packets per dialect -----------------------------------------------------------------

_COMMON = (
    NOP,
    WRITE_DATA,
    COPY_DATA,
    WAIT_REG_MEM,
    WAIT_REG_MEM64,
    EVENT_WRITE,
    INDIRECT_BUFFER,
    SET_SH_REG,
    SET_UCONFIG_REG,
    DISPATCH_DIRECT,
)
_DIALECT_ROWS: dict[str, tuple[PacketLayout, ...]] = {
    "gfx9": (*_COMMON, RELEASE_MEM_GFX9, ACQUIRE_MEM_GFX9),
    "gfx10": (*_COMMON, RELEASE_MEM_GFX10, ACQUIRE_MEM_GFX10),
    "gfx11": (*_COMMON, RELEASE_MEM_GFX11, ACQUIRE_MEM_GFX10),
    "gfx12": (*_COMMON, RELEASE_MEM_GFX11, ACQUIRE_MEM_GFX10),
}
DIALECTS = tuple(_DIALECT_ROWS)
# GC major version -> dialect, and the family registry's pm4_flavour spellings
_DIALECT_BY_GC_MAJOR = {9: "gfx9", 10: "gfx10", 11: "gfx11", 12: "gfx12"}
_ALIASES = {"gfx10+": "gfx10"}

_BY_NAME: dict[str, Mapping[str, PacketLayout]] = {}
_BY_OPCODE: dict[str, Mapping[int, PacketLayout]] = {}
for _dialect, _row in _DIALECT_ROWS.items():
    _BY_NAME[_dialect] = MappingProxyType({layout.name: layout for layout in (*_row, PACKET2)})
    _BY_OPCODE[_dialect] = MappingProxyType({layout.opcode: layout for layout in _row})
for _alias, _dialect in _ALIASES.items():
    _BY_NAME[_alias] = _BY_NAME[_dialect]
    _BY_OPCODE[_alias] = _BY_OPCODE[_dialect]


def dialect(flavour: object) -> str:
    """The dialect name for a dialect or pm4_flavour string, or for a GpuTarget (by its GC major version)."""
    if isinstance(flavour, str):
        name = _ALIASES.get(flavour, flavour)
        if name in _DIALECT_ROWS:
            return name
        raise ConfigurationError(
            f"unknown PM4 dialect {flavour!r}: expected one of {', '.join(DIALECTS)} (or 'gfx10+') "
            "or a GpuTarget"
        )
    gc_ip_version = getattr(flavour, "gc_ip_version", None)
    if gc_ip_version is not None and gc_ip_version[0] in _DIALECT_BY_GC_MAJOR:
        return _DIALECT_BY_GC_MAJOR[gc_ip_version[0]]
    raise ConfigurationError(f"cannot pick a PM4 dialect for {flavour!r}")


def _table(flavour: object) -> Mapping[str, PacketLayout]:
    table = _BY_NAME.get(flavour) if isinstance(flavour, str) else None
    return table if table is not None else _BY_NAME[dialect(flavour)]


def layout(flavour: object, name: str) -> PacketLayout:
    """The field table of one packet in one dialect."""
    table = _table(flavour)
    found = table.get(name)
    if found is None:
        raise ConfigurationError(
            f"unknown PM4 packet {name!r} for {dialect(flavour)}: known packets are {', '.join(table)}"
        )
    return found


def packet_names(flavour: object) -> tuple[str, ...]:
    """The packets a dialect knows, in table order."""
    return tuple(_table(flavour))


def build(flavour: object, name: str, **fields: Any) -> list[int]:
    """The dwords of one packet: ``build("gfx11", "WRITE_DATA", dst_sel=5, dst_addr=va, data=[1])``.

    Every field not given takes its table default (``shader_type`` defaults to 1, compute). A wrong name, an
    out-of-range value or a misaligned address raises ConfigurationError naming the field and the valid range.
    """
    table = _BY_NAME.get(flavour) if isinstance(flavour, str) else None
    packet = (table if table is not None else _table(flavour)).get(name)
    if packet is None:
        packet = layout(flavour, name)
    return packet.encode_mapping(fields)


def encoder(flavour: object, name: str, *field_names: str) -> Callable[..., list[int]]:
    """The compiled encoder of one packet, for hot paths.

    With no ``field_names`` it takes keywords like build(); with them it takes exactly those fields as
    positional arguments, the fastest form: ``fence = encoder("gfx11", "RELEASE_MEM", "addr", "data")`` then
    ``fence(va, value)``. Fields not named keep their table defaults.
    """
    packet = layout(flavour, name)
    unknown = [name for name in field_names if name not in packet.field_names]
    if unknown or len(set(field_names)) != len(field_names):
        raise ConfigurationError(
            f"{packet.engine} {packet.name} encoder: {', '.join(field_names)} are not distinct fields of it; "
            f"its fields are: {', '.join(packet.field_names)}"
        )
    return specialize(packet, field_names, positional=True) if field_names else packet.encode


def nop(flavour: object, size_dwords: int, *, shader_type: int = SHADER_TYPE_COMPUTE) -> list[int]:
    """Padding of exactly ``size_dwords`` dwords as one NOP (the one-dword form when 1)."""
    if type(size_dwords) is not int or not 1 <= size_dwords <= PACKET3_COUNT_MAX + 1:
        raise ConfigurationError(
            f"NOP size {size_dwords!r} is out of range 1..{PACKET3_COUNT_MAX + 1} dwords"
        )
    return build(flavour, "NOP", payload=[0] * (size_dwords - 1), shader_type=shader_type)


# --- decoding -----------------------------------------------------------------------------------------------


def _size_and_layout(
    by_opcode: Mapping[int, PacketLayout], header: int, offset: int
) -> tuple[PacketLayout, int]:
    packet_type = header >> 30
    if packet_type == PACKET_TYPE2:
        return PACKET2, 1
    if packet_type != PACKET_TYPE3:
        raise PacketDecodeError(
            ENGINE,
            offset,
            header,
            f"type-{packet_type} packet; compute queues take type-3 packets (and type-2 filler)",
        )
    opcode = (header >> 8) & 0xFF
    packet = by_opcode.get(opcode)
    if packet is None:
        raise PacketDecodeError(ENGINE, offset, header, f"unknown PM4 opcode 0x{opcode:02x}")
    count = (header >> 16) & PACKET3_COUNT_MAX
    if packet is NOP and count == PACKET3_NOP_HEADER_ONLY_COUNT:
        return packet, 1
    size = count + 2
    fixed = packet.size_dwords
    if packet.array is not None:
        if not fixed + packet.array.min_len <= size <= fixed + packet.array.max_len:
            raise PacketDecodeError(
                ENGINE,
                offset,
                header,
                f"{packet.name} with count {count} has {size - fixed} {packet.array.name} dwords; "
                f"it takes {packet.array.min_len}..{packet.array.max_len}",
            )
    elif packet.tail is not None:
        if size not in (fixed, fixed + packet.tail.dwords):
            raise PacketDecodeError(
                ENGINE,
                offset,
                header,
                f"{packet.name} takes count {fixed - 2} or {fixed + packet.tail.dwords - 2}, not {count}",
            )
    elif size != fixed:
        raise PacketDecodeError(
            ENGINE, offset, header, f"{packet.name} takes count {fixed - 2} ({fixed} dwords), not {count}"
        )
    return packet, size


def decode(dwords: Sequence[int], offset: int, flavour: object, *, strict: bool = False) -> Packet:
    """The packet that starts at ``dwords[offset]``.

    Raises PacketDecodeError (and nothing else, whatever the input) for an unknown opcode, a count that runs
    past the stream or does not fit the packet, and with ``strict`` for reserved bits that are set.
    """
    by_opcode = _BY_OPCODE.get(flavour) if isinstance(flavour, str) else None
    if by_opcode is None:  # a wrong dialect is a ConfigurationError, not a stream error
        by_opcode = _BY_OPCODE[dialect(flavour)]
    length = stream_length(ENGINE, dwords)
    offset = check_offset(ENGINE, offset, length)
    header = check_header(ENGINE, dwords, offset)
    packet, size = _size_and_layout(by_opcode, header, offset)
    if offset + size > length:
        raise PacketDecodeError(
            ENGINE,
            offset,
            header,
            f"{packet.name} needs {size} dwords but only {length - offset} remain in the stream",
        )
    words = check_dwords(ENGINE, dwords, offset, offset + size)
    fields = packet.decode_fields(words, offset, strict)
    return Packet(packet.name, packet.opcode, fields, offset, size, words, None, packet)


def decode_stream(
    dwords: Sequence[int],
    flavour: object,
    *,
    start: int = 0,
    end: int | None = None,
    strict: bool = False,
) -> list[Packet]:
    """Every packet from ``start`` up to ``end`` (default: the end of the stream), in order."""
    return decode_range(
        ENGINE, dwords, lambda words, offset: decode(words, offset, flavour, strict=strict), start, end
    )
