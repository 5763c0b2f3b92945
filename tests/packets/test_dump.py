"""Hang-report text: packets with offset, name, fields and raw dwords; a ring marked at its read pointer."""

from __future__ import annotations

import functools

from pytest_amdgpu.packets import dump, pm4, sdma


def test_format_packets_marks_the_read_pointer() -> None:
    stream = pm4.nop("gfx11", 2) + pm4.build(
        "gfx11", "WAIT_REG_MEM", function=3, mem_space=1, poll_addr=0x7000, reference=5
    )
    text = dump.format_packets(pm4.decode_stream(stream, "gfx11"), read_pointer=4)
    lines = text.splitlines()
    assert lines[0].startswith("   0x0000  NOP")
    assert lines[2].startswith(">> 0x0002  WAIT_REG_MEM")
    assert "function=3 (EQUAL)" in text
    assert "mem_space=1 (MEMORY)" in text
    assert "poll_addr=0x7000" in text
    assert "reference=5" in text
    assert "c0053c02 00000013 00007000 00000000 00000005 ffffffff 00000000" in text


def test_format_ring_wraps_and_marks() -> None:
    fence = sdma.build(6, "FENCE", addr=0x1000, data=1)
    copy = sdma.build(6, "COPY_LINEAR", byte_count=16, src_addr=0x2000, dst_addr=0x3000)
    ring = [0] * 16
    # the copy starts 3 dwords before the end of the ring and wraps; the fence follows it
    for index, word in enumerate(copy + fence):
        ring[(13 + index) % 16] = word
    text = dump.format_ring(
        ring,
        read_pointer=13 + 16,
        write_pointer=13 + 16 + 11,
        decode=functools.partial(sdma.decode, target=6),
    )
    lines = text.splitlines()
    assert lines[0] == "ring: 16 dwords, read pointer 0x000d, write pointer 0x0008, 11 dwords pending"
    assert lines[1].startswith(">> 0x000d  COPY_LINEAR")
    assert "byte_count=0x10" in text
    assert any(line.startswith("   0x0004  FENCE") for line in lines)
    assert lines[-1] == "-- 0x0008  write pointer"


def test_format_ring_shows_undecodable_dwords_raw() -> None:
    ring = pm4.nop("gfx9", 2) + [0xC000FF00, 0x12345678] + [0] * 4
    text = dump.format_ring(
        ring, read_pointer=2, write_pointer=4, start=0, decode=functools.partial(pm4.decode, flavour="gfx9")
    )
    assert "!! 0x0002  cannot decode: unknown PM4 opcode 0xff" in text
    assert ">> 0x0002  c000ff00 12345678" in text


def test_format_ring_empty_window() -> None:
    text = dump.format_ring(
        [0] * 8, read_pointer=5, write_pointer=5, decode=functools.partial(sdma.decode, target=4)
    )
    assert "nothing between the read and the write pointer" in text
