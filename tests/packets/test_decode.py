"""Decoding: malformed streams raise PacketDecodeError with the dword offset, the dword and the reason."""

from __future__ import annotations

import pytest

from pytest_amdgpu.errors import AmdgpuError, ConfigurationError
from pytest_amdgpu.packets import PacketDecodeError, pm4, sdma


def test_decode_error_carries_offset_dword_and_reason() -> None:
    stream = [*pm4.nop("gfx9", 2), 0xC000FF00]  # opcode 0xFF is not a compute packet
    with pytest.raises(PacketDecodeError) as caught:
        pm4.decode_stream(stream, "gfx9")
    error = caught.value
    assert isinstance(error, AmdgpuError)
    assert (error.offset, error.dword) == (2, 0xC000FF00)
    assert error.reason == "unknown PM4 opcode 0xff"
    assert str(error) == "PM4 packet at dword offset 2 (0xc000ff00): unknown PM4 opcode 0xff"


def test_count_running_past_the_stream() -> None:
    words = pm4.build("gfx11", "WRITE_DATA", dst_sel=5, dst_addr=0x1000, data=[1, 2, 3])
    with pytest.raises(PacketDecodeError, match=r"WRITE_DATA needs 7 dwords but only 6 remain") as caught:
        pm4.decode(words[:-1], 0, "gfx11")
    assert caught.value.offset == 0
    assert caught.value.dword == words[0]


def test_fixed_size_packet_with_the_wrong_count() -> None:
    # RELEASE_MEM is always PACKET3(RELEASE_MEM, 6)
    bad = [0xC0054900] + [0] * 6
    with pytest.raises(PacketDecodeError, match=r"RELEASE_MEM takes count 6 \(8 dwords\), not 5"):
        pm4.decode(bad, 0, "gfx10")
    # ACQUIRE_MEM: 7 dwords on gfx9, 8 from gfx10 on
    gfx9_acquire = pm4.build("gfx9", "ACQUIRE_MEM")
    assert pm4.decode(gfx9_acquire, 0, "gfx9").size_dwords == 7
    with pytest.raises(PacketDecodeError, match="ACQUIRE_MEM takes count 6"):
        pm4.decode(gfx9_acquire, 0, "gfx10")


def test_event_write_takes_two_or_four_dwords() -> None:
    with pytest.raises(PacketDecodeError, match="EVENT_WRITE takes count 0 or 2, not 1"):
        pm4.decode([0xC0014600, 0, 0], 0, "gfx9")


def test_type0_and_type1_packets_are_refused() -> None:
    with pytest.raises(PacketDecodeError, match="type-0 packet"):
        pm4.decode([0x00002E00, 0], 0, "gfx9")
    with pytest.raises(PacketDecodeError, match="type-1 packet"):
        pm4.decode([0x40000000], 0, "gfx9")


def test_strict_reports_reserved_bits_and_misalignment() -> None:
    words = pm4.build("gfx9", "DISPATCH_DIRECT", dim_x=1)
    words[0] |= 1 << 5  # header bits 7:2 are reserved on MEC
    assert pm4.decode(words, 0, "gfx9").fields["dim_x"] == 1
    with pytest.raises(
        PacketDecodeError, match=r"DISPATCH_DIRECT dword 0 has reserved bits set \(0x00000020\)"
    ):
        pm4.decode(words, 0, "gfx9", strict=True)
    fence = pm4.build("gfx11", "RELEASE_MEM", data_sel=2, addr=0x1000)
    fence[3] = 0x1004  # a 64-bit write to a dword-aligned address
    assert pm4.decode(fence, 0, "gfx11").fields["addr"] == 0x1000  # the CP ignores address bits 2:0
    with pytest.raises(PacketDecodeError, match="addr 0x1004 is not 8-byte aligned") as caught:
        pm4.decode(fence, 0, "gfx11", strict=True)
    assert caught.value.offset == 0


def test_offsets_outside_the_stream() -> None:
    with pytest.raises(PacketDecodeError, match="outside the stream of 1 dwords"):
        pm4.decode([0xFFFF1000], 1, "gfx9")
    with pytest.raises(PacketDecodeError, match="outside the stream of 0 dwords"):
        sdma.decode([], 0, 6)


def test_a_wrong_dialect_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown PM4 dialect 'gfx8'"):
        pm4.decode([0xFFFF1000], 0, "gfx8")
    with pytest.raises(ConfigurationError, match="unknown SDMA generation 3"):
        sdma.decode([0], 0, 3)


def test_sdma_unknown_opcode_and_sub_opcode() -> None:
    with pytest.raises(PacketDecodeError, match="unknown SDMA opcode 3"):
        sdma.decode([0x00000003], 0, 6)
    # COPY with the tiled sub-opcode (1) is a real packet this decoder does not model
    with pytest.raises(PacketDecodeError, match="SDMA opcode 1 with sub-opcode 1 is not a packet"):
        sdma.decode([0x00000101] + [0] * 12, 0, 6)


def test_sdma_counts_decide_the_size() -> None:
    write = sdma.build(6, "WRITE_LINEAR", dst_addr=0x100, data=[1, 2, 3])
    assert sdma.decode(write, 0, 6).size_dwords == 7
    with pytest.raises(PacketDecodeError, match="WRITE_LINEAR needs 7 dwords but only 6 remain"):
        sdma.decode(write[:-1], 0, 6)
    # SDMA 7 COPY_LINEAR: CPV adds the eighth dword
    copy = sdma.build(7, "COPY_LINEAR", cpv=1)
    assert sdma.decode(copy, 0, 7).size_dwords == 8
    assert sdma.decode(copy, 0, 6).size_dwords == 7  # SDMA 6 reads the same header as seven dwords


def test_atomic_sub_op_bits_are_reserved() -> None:
    words = sdma.build(6, "ATOMIC", atomic_op=47, addr=0x1000)
    words[0] |= 0x100
    assert sdma.decode(words, 0, 6).name == "ATOMIC"
    with pytest.raises(PacketDecodeError, match="reserved bits"):
        sdma.decode(words, 0, 6, strict=True)


def test_decode_stream_range() -> None:
    stream = pm4.nop("gfx9", 2) + pm4.build("gfx9", "EVENT_WRITE", event_type=7, event_index=4) + [0xDEAD]
    assert [p.name for p in pm4.decode_stream(stream, "gfx9", end=4)] == ["NOP", "EVENT_WRITE"]
    assert [p.offset for p in pm4.decode_stream(stream, "gfx9", start=2, end=4)] == [2]
    with pytest.raises(PacketDecodeError, match="runs past the end of the range at dword 3"):
        pm4.decode_stream(stream, "gfx9", end=3)
