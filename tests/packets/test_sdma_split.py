"""Large SDMA copies and fills split into packets each generation can encode."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.packets import sdma


@pytest.mark.parametrize("generation", sdma.GENERATIONS)
def test_copy_chunks_cover_the_copy_within_the_limit(generation: int) -> None:
    limits = sdma.limits(generation)
    size = 2 * limits.copy_chunk_bytes + 12345
    chunks = sdma.copy_chunks(generation, 0x10000, 0x900000000, size)
    assert [chunk[2] for chunk in chunks[:2]] == [limits.copy_chunk_bytes] * 2
    assert sum(chunk[2] for chunk in chunks) == size
    offset = 0
    for src, dst, count in chunks:
        assert (src, dst) == (0x10000 + offset, 0x900000000 + offset)
        assert 1 <= count <= limits.copy_chunk_bytes
        offset += count


def test_dword_aligned_copies_keep_the_odd_bytes_apart() -> None:
    # ac_emit_sdma_copy_linear: aligned source and destination with an unaligned size copy the bulk in dword
    # mode and the last bytes in a packet of their own
    assert sdma.copy_chunks(6, 0x1000, 0x2000, 4099) == [(0x1000, 0x2000, 4096), (0x2000, 0x3000, 3)]
    assert sdma.copy_chunks(6, 0x1001, 0x2000, 4099) == [(0x1001, 0x2000, 4099)]
    assert sdma.copy_chunks(6, 0x1000, 0x2000, 3) == [(0x1000, 0x2000, 3)]


def test_build_copy_concatenates_packets() -> None:
    size = sdma.limits(4).copy_chunk_bytes + 8
    words = sdma.build_copy(4, 0x100000, 0x200000, size)
    packets = sdma.decode_stream(words, 4)
    assert [p.name for p in packets] == ["COPY_LINEAR", "COPY_LINEAR"]
    assert [p.fields["byte_count"] for p in packets] == [sdma.limits(4).copy_chunk_bytes, 8]
    assert packets[1].fields["src_addr"] == 0x100000 + sdma.limits(4).copy_chunk_bytes
    # fields given to build_copy go into every packet; on SDMA 7 cpv adds the eighth dword to each
    assert len(sdma.build_copy(7, 0, 0, 64, cpv=1)) == 8


@settings(max_examples=200, deadline=None)
@given(
    generation=st.sampled_from(sdma.GENERATIONS),
    src=st.integers(0, (1 << 48) - 1),
    dst=st.integers(0, (1 << 48) - 1),
    size=st.integers(1, 3 << 30),
)
def test_copy_chunks_are_always_legal(generation: int, src: int, dst: int, size: int) -> None:
    chunks = sdma.copy_chunks(generation, src, dst, size)
    assert sum(count for _, _, count in chunks) == size
    for chunk_src, chunk_dst, count in chunks:
        sdma.build(generation, "COPY_LINEAR", byte_count=count, src_addr=chunk_src, dst_addr=chunk_dst)


@pytest.mark.parametrize("generation", sdma.GENERATIONS)
def test_fill_chunks(generation: int) -> None:
    limits = sdma.limits(generation)
    size = limits.fill_chunk_bytes + 64
    assert sdma.fill_chunks(generation, 0x1000, size) == [
        (0x1000, limits.fill_chunk_bytes),
        (0x1000 + limits.fill_chunk_bytes, 64),
    ]
    words = sdma.build_fill(generation, 0x1000, 0xABCD, size)
    packets = sdma.decode_stream(words, generation)
    assert [p.fields["byte_count"] for p in packets] == [limits.fill_chunk_bytes, 64]
    assert all(p.fields["data"] == 0xABCD and p.fields["fillsize"] == 2 for p in packets)


def test_bad_spans_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="byte_count must be at least 1"):
        sdma.copy_chunks(6, 0, 0, 0)
    with pytest.raises(ConfigurationError, match="non-negative integers"):
        sdma.copy_chunks(6, -4, 0, 4)
    with pytest.raises(ConfigurationError, match="dword-aligned address and size"):
        sdma.fill_chunks(6, 0x1002, 8)
