"""SDMA packets of generations 4 to 7: a field table per packet and generation, builder, decoder, copy split.

A generation is the SDMA IP major version (4, 5, 6, 7; GpuTarget.sdma_generation), or a GpuTarget. What
differs between generations is table data: count widths (COPY_LINEAR 22 bits on SDMA 4, 30 bits from SDMA 5.2
on; CONSTANT_FILL 22 bits before SDMA 6), cache-policy fields from SDMA 6, FENCE memory-type fields from
SDMA 5, and SDMA 7's COPY_LINEAR, whose CPV bit adds an eighth dword of compression controls.

Sources (facts only): the kernel's ``vega10_sdma_pkt_open.h`` (SDMA 4, used by sdma_v4_0.c and sdma_v4_4_2.c),
``navi10_sdma_pkt_open.h`` (SDMA 5, used by sdma_v5_0.c and sdma_v5_2.c), ``sdma_v6_0_0_pkt_open.h`` (SDMA 6,
and SDMA 7: sdma_v7_0.c includes it and adds the CONSTANT_FILL compress bit and the SDMA_DCC_* dword), the
kernel's sdma_v*_0.c emit functions, and Mesa's ``sid.h`` / ``ac_cmdbuf_sdma.c`` (per-packet size limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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

ENGINE = "SDMA"

# --- opcodes (sdma_v6_0_0_pkt_open.h; the same numbers in vega10/navi10 headers) ----------------------------

SDMA_OP_NOP = 0
SDMA_OP_COPY = 1
SDMA_OP_WRITE = 2
SDMA_OP_INDIRECT = 4
SDMA_OP_FENCE = 5
SDMA_OP_TRAP = 6
SDMA_OP_SEM = 7
SDMA_OP_POLL_REGMEM = 8
SDMA_OP_COND_EXE = 9
SDMA_OP_ATOMIC = 10
SDMA_OP_CONST_FILL = 11
SDMA_OP_PTEPDE = 12
SDMA_OP_TIMESTAMP = 13
SDMA_OP_SRBM_WRITE = 14
SDMA_OP_PRE_EXE = 15
SDMA_OP_GCR_REQ = 17
SDMA_SUBOP_COPY_LINEAR = 0
SDMA_SUBOP_WRITE_LINEAR = 0
SDMA_SUBOP_TIMESTAMP_SET = 0
SDMA_SUBOP_TIMESTAMP_GET = 1
SDMA_SUBOP_TIMESTAMP_GET_GLOBAL = 2

# --- encodings ----------------------------------------------------------------------------------------------

SDMA_FENCE_MTYPE_UC = 3  # sid.h; the kernel's FENCE from SDMA 5 on
SDMA_POLL_INTERVAL_160_CLK = 0xA  # sid.h
SDMA_POLL_RETRY_INDEFINITELY = 0xFFF  # sid.h
SDMA_CONSTANT_FILL_DWORDS = 2  # CONSTANT_FILL fillsize: 2 fills 32-bit values (ac_cmdbuf_sdma.c)
# POLL_REGMEM func: the same encoding as PM4 WAIT_REG_MEM (sdma_v*_0.c: "HEADER_FUNC(3) /* == */")
SDMA_POLL_FUNC_ALWAYS = 0
SDMA_POLL_FUNC_LESS = 1
SDMA_POLL_FUNC_LESS_EQUAL = 2
SDMA_POLL_FUNC_EQUAL = 3
SDMA_POLL_FUNC_NOT_EQUAL = 4
SDMA_POLL_FUNC_GREATER_EQUAL = 5
SDMA_POLL_FUNC_GREATER = 6
# ATOMIC operations are TC atomic opcodes (sid.h TC_OP_ATOMIC_*; SDMA_ATOMIC_ADD64 in ROCr's SDMA headers).
# Bit 5 of the opcode selects the 64-bit form (SUB_RTN_32 = 16, SUB_RTN_64 = 48): 8-byte aligned addresses.
TC_OP_ATOMIC_SUB_RTN_32 = 16
TC_OP_ATOMIC_ADD_RTN_64 = 47
SDMA_ATOMIC_ADD64 = TC_OP_ATOMIC_ADD_RTN_64
TC_OP_ATOMIC_SUB_RTN_64 = 48
TC_OP_ATOMIC_CMPSWAP_32 = 72
TC_OP_ATOMIC_ADD_64 = 111  # no-return form
TC_OP_ATOMIC_SUB_64 = 112
TC_OP_ATOMIC_XOR_64 = 119

_FUNC_NAMES = MappingProxyType(
    {0: "ALWAYS", 1: "LESS", 2: "LESS_EQUAL", 3: "EQUAL", 4: "NOT_EQUAL", 5: "GREATER_EQUAL", 6: "GREATER"}
)
_FILLSIZE_NAMES = MappingProxyType({0: "BYTE", 1: "WORD", 2: "DWORD"})
_ATOMIC_ALIGN = AlignBy(("atomic_op",), {op: 8 for op in range(128) if op & 0x20}, default=4)

# --- generations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SdmaLimits:
    """Per-generation size limits of one packet, and the chunk sizes the splitters use."""

    generation: int
    copy_count_bits: int  # COPY_LINEAR count field; the hardware holds byte_count - 1 from SDMA 4 on
    copy_chunk_bytes: int  # what copy_chunks() puts in one COPY_LINEAR
    fill_count_bits: int  # CONSTANT_FILL count field, also byte_count - 1
    fill_chunk_bytes: int  # what fill_chunks() puts in one CONSTANT_FILL (a multiple of 4)
    write_max_dwords: int  # WRITE_LINEAR: count (20 bits) holds dwords - 1
    nop_max_payload_dwords: int
    source: str

    @property
    def copy_max_bytes(self) -> int:
        """The largest byte_count one COPY_LINEAR can encode."""
        return 1 << self.copy_count_bits

    @property
    def fill_max_bytes(self) -> int:
        """The largest byte_count one CONSTANT_FILL can encode."""
        return 1 << self.fill_count_bits


_WRITE_MAX_DWORDS = 1 << 20  # WRITE_LINEAR DW_3 count, 20 bits, holds dwords - 1 (every generation)
_NOP_MAX_PAYLOAD = 0x3FFF  # NOP HEADER count, 14 bits (every generation)
_LIMITS = {
    4: SdmaLimits(
        generation=4,
        copy_count_bits=22,
        copy_chunk_bytes=0x3FFF00,
        fill_count_bits=22,
        fill_chunk_bytes=0x3FFFFC,
        write_max_dwords=_WRITE_MAX_DWORDS,
        nop_max_payload_dwords=_NOP_MAX_PAYLOAD,
        source="vega10_sdma_pkt_open.h COUNT masks 0x3FFFFF; sid.h SDMA_V2_0_COPY_MAX_BYTES (below 5.2); "
        "ac_cmdbuf_sdma.c fill max BITFIELD64_MASK(22) & ~3",
    ),
    5: SdmaLimits(
        generation=5,
        copy_count_bits=30,
        copy_chunk_bytes=0x3FFFFF00,
        fill_count_bits=22,
        fill_chunk_bytes=0x3FFFFC,
        write_max_dwords=_WRITE_MAX_DWORDS,
        nop_max_payload_dwords=_NOP_MAX_PAYLOAD,
        source="sid.h SDMA_V5_2_COPY_MAX_BYTES 0x3fffff00 (every SDMA 5 part in the registry is 5.2; the "
        "kernel's navi10_sdma_pkt_open.h, written for 5.0, masks the copy count to 22 bits); "
        "navi10_sdma_pkt_open.h CONSTANT_FILL count 0x3FFFFF; ac_cmdbuf_sdma.c fill 22 bits below SDMA 6",
    ),
    6: SdmaLimits(
        generation=6,
        copy_count_bits=30,
        copy_chunk_bytes=0x3FFFFF00,
        fill_count_bits=30,
        fill_chunk_bytes=0x3FFFFFFC,
        write_max_dwords=_WRITE_MAX_DWORDS,
        nop_max_payload_dwords=_NOP_MAX_PAYLOAD,
        source="sdma_v6_0_0_pkt_open.h COUNT masks 0x3FFFFFFF; sid.h SDMA_V5_2_COPY_MAX_BYTES; "
        "ac_cmdbuf_sdma.c fill 30 bits from SDMA 6",
    ),
    7: SdmaLimits(
        generation=7,
        copy_count_bits=30,
        copy_chunk_bytes=0x3FFFFF00,
        fill_count_bits=30,
        fill_chunk_bytes=0x3FFFFFFC,
        write_max_dwords=_WRITE_MAX_DWORDS,
        nop_max_payload_dwords=_NOP_MAX_PAYLOAD,
        source="sdma_v6_0_0_pkt_open.h (sdma_v7_0.c uses it); sid.h SDMA_V5_2_COPY_MAX_BYTES; "
        "ac_cmdbuf_sdma.c fill 30 bits from SDMA 6",
    ),
}
GENERATIONS = tuple(_LIMITS)

# --- field tables -------------------------------------------------------------------------------------------


def _u64(name: str, low_dword: int, align: int | AlignBy = 1, doc: str = "") -> Split:
    return Split(name, ((low_dword, 0, 32), (low_dword + 1, 0, 32)), align=align, doc=doc)


def _bit(name: str, dword: int, shift: int, doc: str = "") -> Field:
    return Field(name, dword, shift, 1, doc=doc)


def _packet(
    name: str,
    op: int,
    sub_op: int | None,
    size_dwords: int,
    items: tuple = (),
    *,
    array: Array | None = None,
    tail: Tail | None = None,
    source: str,
) -> PacketLayout:
    """sub_op None: the packet has no SUB_OP field, so header bits 15:8 are reserved (ATOMIC)."""
    return PacketLayout(
        engine=ENGINE,
        name=name,
        opcode=op,
        sub_opcode=sub_op,
        header=op | ((sub_op or 0) << 8),
        header_bits=0xFF if sub_op is None else 0xFFFF,
        size_dwords=size_dwords,
        items=items,
        array=array,
        tail=tail,
        source=source,
    )


_CACHE_POLICY_V6 = (Field("cache_policy", 0, 20, 3), _bit("cpv", 0, 24, "cache policy valid"))


def _nop(source: str) -> PacketLayout:
    return _packet(
        "NOP",
        SDMA_OP_NOP,
        0,
        1,
        array=Array("payload", 1, 0, _NOP_MAX_PAYLOAD, count=(0, 16, 14), doc="dwords the engine skips"),
        source=source,
    )


def _copy_linear(generation: int, source: str) -> PacketLayout:
    limits = _LIMITS[generation]
    header = [_bit("encrypt", 0, 16), _bit("tmz", 0, 18), _bit("broadcast", 0, 27)]
    parameter = [Field("dst_sw", 2, 16, 2), Field("src_sw", 2, 24, 2)]
    tail = None
    if generation >= 5:
        header.append(_bit("backwards", 0, 25))
    if generation >= 6:
        header.append(_bit("cpv", 0, 19, "6: cache policies valid; 7: also adds the compression dword"))
        parameter += [Field("dst_cache_policy", 2, 18, 3), Field("src_cache_policy", 2, 26, 3)]
    if generation >= 7:  # sdma_v7_0.c SDMA_DCC_*: the eighth dword, present when CPV is set
        parameter += [
            Field("dcc_data_format", 7, 0, 6),
            Field("dcc_num_type", 7, 9, 3),
            Field("dcc_read_cm", 7, 16, 2),
            Field("dcc_write_cm", 7, 18, 2),
            Field("dcc_max_com", 7, 24, 2),
            _bit("dcc_max_ucom", 7, 26),
        ]
        tail = Tail(1, flag="cpv")
    return _packet(
        "COPY_LINEAR",
        SDMA_OP_COPY,
        SDMA_SUBOP_COPY_LINEAR,
        7,
        (
            *header,
            Field("byte_count", 1, 0, limits.copy_count_bits, default=1, minus_one=True),
            *parameter,
            _u64("src_addr", 3),
            _u64("dst_addr", 5),
        ),
        tail=tail,
        source=f"{source}; byte_count width: {limits.source}",
    )


def _write_linear(generation: int, source: str) -> PacketLayout:
    items: list = [_bit("encrypt", 0, 16), _bit("tmz", 0, 18), _u64("dst_addr", 1, 4), Field("sw", 3, 24, 2)]
    if generation >= 6:
        items += [_bit("cpv", 0, 28), Field("cache_policy", 3, 26, 3)]
    return _packet(
        "WRITE_LINEAR",
        SDMA_OP_WRITE,
        SDMA_SUBOP_WRITE_LINEAR,
        4,
        tuple(items),
        array=Array("data", 4, 1, _WRITE_MAX_DWORDS, count=(3, 0, 20), count_bias=1),
        source=source,
    )


def _constant_fill(generation: int, source: str) -> PacketLayout:
    limits = _LIMITS[generation]
    if generation >= 7:  # sdma_v7_0.c SDMA_PKT_CONSTANT_FILL_HEADER_compress (bit 16)
        header: list = [_bit("compress", 0, 16)]
    else:
        header = [Field("sw", 0, 16, 2)]
    if generation >= 6:
        header += [Field("cache_policy", 0, 24, 3), _bit("cpv", 0, 28)]
    return _packet(
        "CONSTANT_FILL",
        SDMA_OP_CONST_FILL,
        0,
        5,
        (
            *header,
            Field("fillsize", 0, 30, 2, default=SDMA_CONSTANT_FILL_DWORDS, values=_FILLSIZE_NAMES),
            _u64("dst_addr", 1, AlignBy(("fillsize",), {1: 2, 2: 4, 3: 8}, default=1)),
            Field("data", 3),
            Field("byte_count", 4, 0, limits.fill_count_bits, default=1, minus_one=True),
        ),
        source=f"{source}; byte_count width: {limits.source}",
    )


def _fence(generation: int, source: str) -> PacketLayout:
    header: list = []
    if generation >= 5:
        header += [
            Field("mtype", 0, 16, 3),
            _bit("gcc", 0, 19),
            _bit("sys", 0, 20),
            _bit("snp", 0, 22),
            _bit("gpa", 0, 23),
            Field("l2_policy", 0, 24, 2),
        ]
    if generation >= 6:
        header += [_bit("llc_policy", 0, 26), _bit("cpv", 0, 28)]
    return _packet(
        "FENCE",
        SDMA_OP_FENCE,
        0,
        4,
        (*header, _u64("addr", 1, 4), Field("data", 3)),
        source=source,
    )


def _trap(source: str) -> PacketLayout:
    return _packet("TRAP", SDMA_OP_TRAP, 0, 2, (Field("int_context", 1, 0, 28),), source=source)


def _poll_regmem(generation: int, source: str) -> PacketLayout:
    header: list = [
        _bit("hdp_flush", 0, 26),
        Field("func", 0, 28, 3, values=_FUNC_NAMES),
        _bit("mem_poll", 0, 31),
    ]
    if generation >= 6:
        header += list(_CACHE_POLICY_V6)
    return _packet(
        "POLL_REGMEM",
        SDMA_OP_POLL_REGMEM,
        0,
        6,
        (
            *header,
            _u64("addr", 1, 4, doc="memory address, or a register's byte address (offset << 2)"),
            Field("value", 3),
            Field("mask", 4, default=0xFFFFFFFF),
            Field("interval", 5, 0, 16, default=SDMA_POLL_INTERVAL_160_CLK),
            Field("retry_count", 5, 16, 12, default=SDMA_POLL_RETRY_INDEFINITELY),
        ),
        source=source,
    )


def _timestamps(generation: int, source: str) -> tuple[PacketLayout, ...]:
    header: list = []
    if generation >= 6:
        header = [Field("l2_policy", 0, 24, 2), _bit("llc_policy", 0, 26), _bit("cpv", 0, 28)]
    get = (*header, _u64("addr", 1, 8))
    return (
        _packet(
            "TIMESTAMP_SET",
            SDMA_OP_TIMESTAMP,
            SDMA_SUBOP_TIMESTAMP_SET,
            3,
            (_u64("init_data", 1),),
            source=source,
        ),
        _packet("TIMESTAMP_GET", SDMA_OP_TIMESTAMP, SDMA_SUBOP_TIMESTAMP_GET, 3, get, source=source),
        _packet(
            "TIMESTAMP_GET_GLOBAL", SDMA_OP_TIMESTAMP, SDMA_SUBOP_TIMESTAMP_GET_GLOBAL, 3, get, source=source
        ),
    )


def _atomic(generation: int, source: str) -> PacketLayout:
    header: list = [_bit("loop", 0, 16), _bit("tmz", 0, 18), Field("atomic_op", 0, 25, 7)]
    if generation >= 6:
        header += list(_CACHE_POLICY_V6)
    return _packet(
        "ATOMIC",
        SDMA_OP_ATOMIC,
        None,
        8,
        (
            *header,
            _u64("addr", 1, _ATOMIC_ALIGN),
            _u64("src_data", 3),
            _u64("cmp_data", 5),
            Field("loop_interval", 7, 0, 13),
        ),
        source=source,
    )


def _indirect(generation: int, source: str) -> PacketLayout:
    header: list = [Field("vmid", 0, 16, 4)]
    if generation >= 5:
        header.append(_bit("priv", 0, 31))
    return _packet(
        "INDIRECT_BUFFER",
        SDMA_OP_INDIRECT,
        0,
        6,
        (*header, _u64("ib_base", 1, 32), Field("ib_size", 3, 0, 20, doc="dwords"), _u64("csa_addr", 4)),
        source=source,
    )


_HEADER_FILES = {
    4: "vega10_sdma_pkt_open.h",
    5: "navi10_sdma_pkt_open.h",
    6: "sdma_v6_0_0_pkt_open.h",
    7: "sdma_v6_0_0_pkt_open.h + sdma_v7_0.c",
}


def _generation_row(generation: int) -> tuple[PacketLayout, ...]:
    source = _HEADER_FILES[generation]
    return (
        _nop(source),
        _copy_linear(generation, source),
        _write_linear(generation, source),
        _constant_fill(generation, source),
        _fence(generation, source),
        _trap(source),
        _poll_regmem(generation, source),
        *_timestamps(generation, source),
        _atomic(generation, source),
        _indirect(generation, source),
    )


_ALIASES = {
    "WRITE_UNTILED": "WRITE_LINEAR",
    "TIMESTAMP": "TIMESTAMP_GET_GLOBAL",
    "INDIRECT": "INDIRECT_BUFFER",
}
_BY_NAME: dict[int, Mapping[str, PacketLayout]] = {}
_BY_OPCODE: dict[int, Mapping[tuple[int, int | None], PacketLayout]] = {}
for _generation in _LIMITS:
    _row = _generation_row(_generation)
    _names = {layout.name: layout for layout in _row}
    _names.update({alias: _names[name] for alias, name in _ALIASES.items()})
    _BY_NAME[_generation] = MappingProxyType(_names)
    _BY_OPCODE[_generation] = MappingProxyType(
        {(layout.opcode, layout.sub_opcode): layout for layout in _row}
    )
_OPCODES_WITH_SUB_OPS = frozenset(op for op, sub in _BY_OPCODE[7] if sub is not None)


def generation(target: object) -> int:
    """The SDMA generation for 4..7 or for a GpuTarget (its sdma_generation)."""
    if type(target) is int and target in _LIMITS:
        return target
    found = getattr(target, "sdma_generation", None)
    if found in _LIMITS:
        return found
    raise ConfigurationError(
        f"unknown SDMA generation {target!r}: expected one of {GENERATIONS} or a GpuTarget"
    )


def limits(target: object) -> SdmaLimits:
    """Size limits of the generation's COPY_LINEAR, CONSTANT_FILL and WRITE_LINEAR."""
    return _LIMITS[generation(target)]


def _table(target: object) -> Mapping[str, PacketLayout]:
    table = _BY_NAME.get(target) if type(target) is int else None
    return table if table is not None else _BY_NAME[generation(target)]


def layout(target: object, name: str) -> PacketLayout:
    """The field table of one packet in one generation."""
    table = _table(target)
    found = table.get(name)
    if found is None:
        known = ", ".join(sorted({packet.name for packet in table.values()}))
        raise ConfigurationError(
            f"unknown SDMA packet {name!r} for SDMA {generation(target)}: known are {known}"
        )
    return found


def packet_names(target: object) -> tuple[str, ...]:
    """The packets a generation knows (canonical names, table order)."""
    return tuple(dict.fromkeys(packet.name for packet in _table(target).values()))


def build(target: object, name: str, **fields: Any) -> list[int]:
    """The dwords of one packet: ``build(6, "COPY_LINEAR", byte_count=n, src_addr=src, dst_addr=dst)``."""
    table = _BY_NAME.get(target) if type(target) is int else None
    packet = (table if table is not None else _table(target)).get(name)
    if packet is None:
        packet = layout(target, name)
    return packet.encode_mapping(fields)


def encoder(target: object, name: str, *field_names: str) -> Callable[..., list[int]]:
    """The compiled encoder of one packet, for hot paths.

    With no ``field_names`` it takes keywords like build(); with them it takes exactly those fields as
    positional arguments, the fastest form: ``copy = encoder(6, "COPY_LINEAR", "byte_count", "src_addr",
    "dst_addr")`` then ``copy(n, src, dst)``. Fields not named keep their table defaults.
    """
    packet = layout(target, name)
    unknown = [name for name in field_names if name not in packet.field_names]
    if unknown or len(set(field_names)) != len(field_names):
        raise ConfigurationError(
            f"{packet.engine} {packet.name} encoder: {', '.join(field_names)} are not distinct fields of it; "
            f"its fields are: {', '.join(packet.field_names)}"
        )
    return specialize(packet, field_names, positional=True) if field_names else packet.encode


# --- large copies and fills ---------------------------------------------------------------------------------


def copy_chunks(target: object, src_addr: int, dst_addr: int, byte_count: int) -> list[tuple[int, int, int]]:
    """(src_addr, dst_addr, byte_count) of the COPY_LINEAR packets that copy ``byte_count`` bytes.

    Chunks are at most ``limits().copy_chunk_bytes``; when source and destination are dword aligned and the
    size is not, the last few bytes get a packet of their own so the rest runs in the faster dword mode (the
    split ac_emit_sdma_copy_linear makes).
    """
    chunk = limits(target).copy_chunk_bytes
    _check_span("copy", byte_count, src_addr, dst_addr)
    chunks = []
    done = 0
    dword_aligned = src_addr % 4 == 0 and dst_addr % 4 == 0
    while done < byte_count:
        size = min(byte_count - done, chunk)
        if dword_aligned and size > 4 and size % 4:
            size -= size % 4
        chunks.append((src_addr + done, dst_addr + done, size))
        done += size
    return chunks


def build_copy(target: object, src_addr: int, dst_addr: int, byte_count: int, **fields: Any) -> list[int]:
    """COPY_LINEAR packets (concatenated) for a copy of any size; ``fields`` go into every packet."""
    packet = layout(target, "COPY_LINEAR")
    words: list[int] = []
    for src, dst, size in copy_chunks(target, src_addr, dst_addr, byte_count):
        words += packet.encode(**fields, src_addr=src, dst_addr=dst, byte_count=size)
    return words


def fill_chunks(target: object, dst_addr: int, byte_count: int) -> list[tuple[int, int]]:
    """(dst_addr, byte_count) of the CONSTANT_FILL packets (32-bit fills) that cover ``byte_count`` bytes."""
    chunk = limits(target).fill_chunk_bytes
    _check_span("fill", byte_count, dst_addr, 0)
    if dst_addr % 4 or byte_count % 4:
        raise ConfigurationError(
            f"a 32-bit SDMA fill needs a dword-aligned address and size, got dst_addr 0x{dst_addr:x}, "
            f"{byte_count} bytes"
        )
    return [(dst_addr + done, min(byte_count - done, chunk)) for done in range(0, byte_count, chunk)]


def build_fill(target: object, dst_addr: int, value: int, byte_count: int, **fields: Any) -> list[int]:
    """CONSTANT_FILL packets (concatenated) that write the 32-bit ``value`` over ``byte_count`` bytes."""
    packet = layout(target, "CONSTANT_FILL")
    words: list[int] = []
    for dst, size in fill_chunks(target, dst_addr, byte_count):
        words += packet.encode(**fields, dst_addr=dst, data=value, byte_count=size)
    return words


def _check_span(what: str, byte_count: object, *addresses: object) -> None:
    for number in (byte_count, *addresses):
        if type(number) is not int or number < 0:
            raise ConfigurationError(
                f"SDMA {what}: sizes and addresses are non-negative integers, got {number!r}"
            )
    if byte_count == 0:
        raise ConfigurationError(f"SDMA {what}: byte_count must be at least 1")


# --- decoding -----------------------------------------------------------------------------------------------


def decode(dwords: Sequence[int], offset: int, target: object, *, strict: bool = False) -> Packet:
    """The packet that starts at ``dwords[offset]``; raises PacketDecodeError (only) on a malformed stream."""
    by_opcode = _BY_OPCODE.get(target) if type(target) is int else None
    if by_opcode is None:
        by_opcode = _BY_OPCODE[generation(target)]
    length = stream_length(ENGINE, dwords)
    offset = check_offset(ENGINE, offset, length)
    header = check_header(ENGINE, dwords, offset)
    op = header & 0xFF
    sub_op = (header >> 8) & 0xFF
    packet = by_opcode.get((op, sub_op)) if op in _OPCODES_WITH_SUB_OPS else by_opcode.get((op, None))
    if packet is None:
        if any(key[0] == op for key in by_opcode):
            reason = f"SDMA opcode {op} with sub-opcode {sub_op} is not a packet this decoder knows"
        else:
            reason = f"unknown SDMA opcode {op}"
        raise PacketDecodeError(ENGINE, offset, header, reason)
    size = packet.size_dwords
    if offset + size > length:
        raise PacketDecodeError(
            ENGINE, offset, header, f"{packet.name} needs {size} dwords but only {length - offset} remain"
        )
    if packet.array is not None:
        fixed = check_dwords(ENGINE, dwords, offset, offset + size)
        count = packet.array_length(fixed)
        if not packet.array.min_len <= count <= packet.array.max_len:
            raise PacketDecodeError(
                ENGINE, offset, header, f"{packet.name} announces {count} {packet.array.name} dwords"
            )
        size += count
    elif packet.tail is not None:
        fixed = check_dwords(ENGINE, dwords, offset, offset + size)
        if packet.tail_flag_set(fixed):
            size += packet.tail.dwords
    if offset + size > length:
        raise PacketDecodeError(
            ENGINE, offset, header, f"{packet.name} needs {size} dwords but only {length - offset} remain"
        )
    words = check_dwords(ENGINE, dwords, offset, offset + size)
    fields = packet.decode_fields(words, offset, strict)
    return Packet(packet.name, packet.opcode, fields, offset, size, words, packet.sub_opcode, packet)


def decode_stream(
    dwords: Sequence[int],
    target: object,
    *,
    start: int = 0,
    end: int | None = None,
    strict: bool = False,
) -> list[Packet]:
    """Every packet from ``start`` up to ``end`` (default: the end of the stream), in order."""
    return decode_range(
        ENGINE, dwords, lambda words, offset: decode(words, offset, target, strict=strict), start, end
    )
