"""Property tests: decoding what a builder made gives back its fields; no dword stream makes a decoder raise
anything but PacketDecodeError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_amdgpu.packets import PacketDecodeError, pm4, sdma
from pytest_amdgpu.packets.layout import AlignBy, Field, PacketLayout, Split

PM4_CASES = [(dialect, name) for dialect in pm4.DIALECTS for name in pm4.packet_names(dialect)]
SDMA_CASES = [(generation, name) for generation in sdma.GENERATIONS for name in sdma.packet_names(generation)]
ARRAY_CAP = 40  # arrays up to the hardware limit are legal; random ones stay short to keep the tests quick


def _draw_fields(data: st.DataObject, layout: PacketLayout) -> dict[str, Any]:
    """Random valid values for every field of ``layout``, with aligned addresses and an optional tail."""
    values: dict[str, Any] = {}
    tail = layout.tail
    with_tail = False
    if tail is not None and tail.flag is None:
        with_tail = data.draw(st.booleans(), label="tail")
    for item in layout.items:
        if item.name in layout.tail_names and not with_tail and (tail is None or tail.flag is None):
            continue
        if isinstance(item, Field):
            low, high = layout.value_range(item.name)
            values[item.name] = data.draw(st.integers(low, high), label=item.name)
    if tail is not None and tail.flag is not None and not values.get(tail.flag):
        for name in layout.tail_names:
            values.pop(name, None)
    for item in layout.items:
        if not isinstance(item, Split) or (item.name in layout.tail_names and not with_tail):
            continue
        align = item.align.alignment(values) if isinstance(item.align, AlignBy) else item.align
        _, high = layout.value_range(item.name)
        values[item.name] = data.draw(st.integers(0, high // align), label=item.name) * align
    if layout.array is not None:
        array = layout.array
        length = st.integers(array.min_len, min(array.max_len, ARRAY_CAP))
        values[array.name] = data.draw(
            length.flatmap(lambda n: st.lists(st.integers(0, 0xFFFFFFFF), min_size=n, max_size=n)),
            label=array.name,
        )
    return values


def _expected(layout: PacketLayout, values: dict[str, Any], size: int) -> dict[str, Any]:
    expected = layout.defaults(with_tail=layout.has_tail(size))
    expected.update({name: tuple(v) if isinstance(v, list) else v for name, v in values.items()})
    return expected


@pytest.mark.parametrize(("dialect", "name"), PM4_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pm4_decode_gives_back_what_build_made(dialect: str, name: str, data: st.DataObject) -> None:
    layout = pm4.layout(dialect, name)
    values = _draw_fields(data, layout)
    words = pm4.build(dialect, name, **values)
    assert words == layout.build(values), "the compiled and the generic encoder agree"
    prefix = data.draw(st.integers(0, 3), label="prefix")
    stream = [0x80000000] * prefix + words  # type-2 filler before the packet
    packet = pm4.decode(stream, prefix, dialect, strict=True)
    assert packet.name == name
    assert packet.offset == prefix
    assert packet.size_dwords == len(words)
    assert list(packet.dwords) == words
    assert dict(packet.fields) == _expected(layout, values, len(words))


@pytest.mark.parametrize(("generation", "name"), SDMA_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sdma_decode_gives_back_what_build_made(generation: int, name: str, data: st.DataObject) -> None:
    layout = sdma.layout(generation, name)
    values = _draw_fields(data, layout)
    words = sdma.build(generation, name, **values)
    assert words == layout.build(values), "the compiled and the generic encoder agree"
    stream = [*words, 0, 0]  # followed by NOPs
    packet = sdma.decode(stream, 0, generation, strict=True)
    assert packet.name == name
    assert packet.size_dwords == len(words)
    assert list(packet.dwords) == words
    assert dict(packet.fields) == _expected(layout, values, len(words))
    assert [p.name for p in sdma.decode_stream(stream, generation)] == [name, "NOP", "NOP"]


@pytest.mark.parametrize(("dialect", "name"), PM4_CASES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_pm4_positional_encoder_matches_build(dialect: str, name: str, data: st.DataObject) -> None:
    layout = pm4.layout(dialect, name)
    values = _draw_fields(data, layout)
    encode = pm4.encoder(dialect, name, *values)
    assert encode(*values.values()) == pm4.build(dialect, name, **values)


def _header(engine: str, opcode: int, sub_op: int, high: int) -> int:
    """A plausible header: PM4 type 3 with a small count, or SDMA op/sub-op with random upper bits."""
    if engine == "PM4":
        return 0xC0000000 | ((high & 0x3F) << 16) | (opcode << 8) | (high >> 14 & 3)
    return opcode | (sub_op << 8) | (high << 16)


def _random_stream(data: st.DataObject, opcodes: list[int], engine: str) -> list[int]:
    """Dwords that are often plausible headers (known opcodes, small counts) and otherwise anything."""
    header = st.builds(
        lambda opcode, sub_op, high: _header(engine, opcode, sub_op, high),
        st.sampled_from(opcodes),
        st.integers(0, 2),
        st.integers(0, 0xFFFF),
    )
    word = st.one_of(
        st.integers(0, 0xFFFFFFFF),
        header,
        st.sampled_from([0, 1, 0x3FFF, 0xFFFFFFFF, 0x80000000, 0xFFFF1000]),
    )
    return data.draw(st.lists(word, max_size=48), label="stream")


@pytest.mark.parametrize("dialect", pm4.DIALECTS)
@pytest.mark.parametrize("strict", [False, True])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_pm4_decoders_raise_only_packet_decode_error(dialect: str, strict: bool, data: st.DataObject) -> None:
    opcodes = sorted({pm4.layout(dialect, name).opcode for name in pm4.packet_names(dialect)} | {0xFF, 0x00})
    stream = _random_stream(data, opcodes, "PM4")
    offset = data.draw(st.integers(-2, len(stream) + 2), label="offset")
    try:
        pm4.decode(stream, offset, dialect, strict=strict)
    except PacketDecodeError as error:
        assert isinstance(error.reason, str)
        assert error.dword is None or 0 <= error.dword <= 0xFFFFFFFF
    try:
        packets = pm4.decode_stream(stream, dialect, strict=strict)
    except PacketDecodeError as error:
        assert 0 <= error.offset < max(len(stream), 1)
    else:
        assert sum(p.size_dwords for p in packets) == len(stream)


@pytest.mark.parametrize("generation", sdma.GENERATIONS)
@pytest.mark.parametrize("strict", [False, True])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_sdma_decoders_raise_only_packet_decode_error(
    generation: int, strict: bool, data: st.DataObject
) -> None:
    opcodes = sorted({sdma.layout(generation, n).opcode for n in sdma.packet_names(generation)} | {3, 0xFF})
    stream = _random_stream(data, opcodes, "SDMA")
    offset = data.draw(st.integers(-2, len(stream) + 2), label="offset")
    try:
        sdma.decode(stream, offset, generation, strict=strict)
    except PacketDecodeError as error:
        assert isinstance(error.reason, str)
    try:
        packets = sdma.decode_stream(stream, generation, strict=strict)
    except PacketDecodeError as error:
        assert 0 <= error.offset < max(len(stream), 1)
    else:
        assert sum(p.size_dwords for p in packets) == len(stream)


@pytest.mark.parametrize(
    "stream",
    [
        [1.5],
        ["0xC0001000"],
        [-1],
        [1 << 32],
        [None],
        [0xC0033700, object()],
    ],
)
def test_non_dwords_are_decode_errors(stream: list[object]) -> None:
    with pytest.raises(PacketDecodeError):
        pm4.decode_stream(stream, "gfx11")  # type: ignore[arg-type]
    with pytest.raises(PacketDecodeError):
        sdma.decode_stream([0, *stream], 6)  # type: ignore[arg-type]


def test_numpy_streams_decode() -> None:
    numpy = pytest.importorskip("numpy")
    words = numpy.array(pm4.nop("gfx9", 3) + pm4.build("gfx9", "NOP"), dtype=numpy.uint32)
    assert [p.size_dwords for p in pm4.decode_stream(words, "gfx9")] == [3, 1]
