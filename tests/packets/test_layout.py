"""The field-table machinery: names, ranges and alignment, and errors that explain bad input."""

from __future__ import annotations

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.packets import pm4, sdma


def test_unknown_packet_and_field_names() -> None:
    with pytest.raises(
        ConfigurationError, match=r"unknown PM4 packet 'WRITE_DAT' for gfx11: known packets are NOP"
    ):
        pm4.build("gfx11", "WRITE_DAT")
    with pytest.raises(ConfigurationError, match=r"PM4 WRITE_DATA has no field 'dst_sell'; its fields are: "):
        pm4.build("gfx11", "WRITE_DATA", dst_sell=5)
    with pytest.raises(ConfigurationError, match="unknown SDMA packet 'COPY' for SDMA 6"):
        sdma.build(6, "COPY")


def test_out_of_range_values_name_field_value_and_range() -> None:
    with pytest.raises(
        ConfigurationError, match=r"PM4 RELEASE_MEM field event_index: 16 is out of range 0\.\.15"
    ):
        pm4.build("gfx10", "RELEASE_MEM", event_index=16)
    with pytest.raises(ConfigurationError, match=r"field dim_x: -1 is out of range 0\.\.4294967295"):
        pm4.build("gfx10", "DISPATCH_DIRECT", dim_x=-1)
    with pytest.raises(ConfigurationError, match=r"field addr: 0x10000000000000000 is out of range"):
        pm4.build("gfx11", "RELEASE_MEM", addr=1 << 64)
    with pytest.raises(ConfigurationError, match=r"field data: 0x100000000 is not a 32-bit dword"):
        pm4.build("gfx11", "WRITE_DATA", data=[1 << 32])
    with pytest.raises(ConfigurationError, match=r"field values: 0 dwords is out of range 1\.\.16383"):
        pm4.build("gfx11", "SET_SH_REG", reg_offset=0x200, values=[])


def test_values_must_be_integers() -> None:
    with pytest.raises(ConfigurationError, match=r"expected an integer, got float 1\.0"):
        pm4.build("gfx9", "DISPATCH_DIRECT", dim_x=1.0)
    with pytest.raises(ConfigurationError, match="expected a sequence of dwords"):
        pm4.build("gfx9", "WRITE_DATA", data=5)


def test_bools_and_numpy_integers_are_integers() -> None:
    numpy = pytest.importorskip("numpy")
    expected = pm4.build("gfx9", "RELEASE_MEM", tc_action_ena=1, addr=0x1000, data=5)
    assert pm4.build(
        "gfx9", "RELEASE_MEM", tc_action_ena=True, addr=numpy.uint64(0x1000), data=numpy.int32(5)
    ) == (expected)
    words = pm4.build("gfx9", "WRITE_DATA", data=numpy.arange(3, dtype=numpy.uint32))
    assert words[4:] == [0, 1, 2] and all(type(word) is int for word in words)


def test_positional_encoders() -> None:
    fence = pm4.encoder("gfx11", "RELEASE_MEM", "event_type", "event_index", "data_sel", "addr", "data")
    assert fence(0x14, 5, 1, 0x1000, 7) == pm4.build(
        "gfx11", "RELEASE_MEM", event_type=0x14, event_index=5, data_sel=1, addr=0x1000, data=7
    )
    with pytest.raises(ConfigurationError, match="addr: 0x1004 is not 8-byte aligned"):
        fence(0x14, 5, 2, 0x1004, 7)
    with pytest.raises(ConfigurationError, match="are not distinct fields"):
        pm4.encoder("gfx11", "RELEASE_MEM", "addr", "addr")
    with pytest.raises(ConfigurationError, match="are not distinct fields"):
        sdma.encoder(6, "FENCE", "address")
    keywords = sdma.encoder(6, "FENCE")
    assert keywords(addr=0x100, data=1) == sdma.build(6, "FENCE", addr=0x100, data=1)


def test_defaults_are_the_documented_ones() -> None:
    layout = pm4.layout("gfx11", "WAIT_REG_MEM")
    assert layout.defaults()["mask"] == 0xFFFFFFFF
    assert layout.defaults()["shader_type"] == pm4.SHADER_TYPE_COMPUTE
    poll = sdma.layout(4, "POLL_REGMEM").defaults()
    assert (poll["interval"], poll["retry_count"]) == (sdma.SDMA_POLL_INTERVAL_160_CLK, 0xFFF)


def test_every_layout_names_its_source() -> None:
    for dialect in pm4.DIALECTS:
        for name in pm4.packet_names(dialect):
            assert pm4.layout(dialect, name).source
    for generation in sdma.GENERATIONS:
        for name in sdma.packet_names(generation):
            assert sdma.layout(generation, name).source
