"""Hang-report text: decoded packets (offset, name, fields, raw dwords) and a ring around its read pointer.

``format_ring`` takes the decoder as a callable, so one function serves both engines::

    decode = functools.partial(pm4.decode, flavour="gfx11")
    format_ring(ring, read_pointer=rptr, write_pointer=wptr, decode=decode)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pytest_amdgpu.packets.layout import Packet, PacketDecodeError, Split, describe_value

Decoder = Callable[[Sequence[int], int], Packet]

READ_POINTER_MARK = ">>"
LINE_WIDTH = 110
_INDENT = " " * 8
_RAW_PER_LINE = 8


def _shown_fields(packet: Packet) -> list[str]:
    """Addresses, data and arrays always; other fields when they differ from the table default."""
    layout = packet.layout
    always: set[str] = set()
    defaults: dict[str, object] = {}
    if layout is not None:
        always = {item.name for item in layout.items if isinstance(item, Split) or item.width == 32}
        if layout.array is not None:
            always.add(layout.array.name)
        defaults = layout.defaults(with_tail=True)
    shown = []
    for name, value in packet.fields.items():
        if name in always or value != defaults.get(name, 0):
            shown.append(f"{name}={describe_value(layout, name, value)}")
    return shown


def _wrap(prefix: str, items: list[str]) -> list[str]:
    """``prefix`` then the items, continuing on lines indented to the first item's column."""
    continuation = " " * (len(prefix) + 1)
    lines = []
    line = prefix
    for item in items:
        if len(line) + 1 + len(item) > LINE_WIDTH and len(line) > len(continuation):
            lines.append(line)
            line = continuation + item
        else:
            line = f"{line} {item}"
    lines.append(line.rstrip())
    return lines


def _raw_lines(words: Sequence[int]) -> list[str]:
    return [
        _INDENT + " ".join(f"{word:08x}" for word in words[start : start + _RAW_PER_LINE])
        for start in range(0, len(words), _RAW_PER_LINE)
    ]


def format_packet(packet: Packet, *, position: int | None = None, marker: str = "") -> list[str]:
    """The lines of one packet: marker, position (default: its offset), name, fields, then the raw dwords."""
    where = packet.offset if position is None else position
    prefix = f"{marker or '  ':2} 0x{where:04x}  {packet.name:<20}"
    lines = _wrap(prefix, _shown_fields(packet))
    lines += _raw_lines(packet.dwords)
    return lines


def format_packets(packets: Sequence[Packet], *, read_pointer: int | None = None) -> str:
    """Decoded packets as text, the one holding ``read_pointer`` (a dword offset) marked with ``>>``."""
    lines = []
    for packet in packets:
        holds = (
            read_pointer is not None and packet.offset <= read_pointer < packet.offset + packet.size_dwords
        )
        lines += format_packet(packet, marker=READ_POINTER_MARK if holds else "")
    return "\n".join(lines)


def _window_length(start: int, write_pointer: int, size: int) -> int:
    distance = write_pointer - start
    if 0 <= distance <= size:
        return distance
    return distance % size


def format_ring(
    ring: Sequence[int],
    *,
    read_pointer: int,
    write_pointer: int,
    decode: Decoder,
    start: int | None = None,
) -> str:
    """The ring from ``start`` (default: the read pointer) up to the write pointer, decoded, wrapping around.

    Pointers count dwords and may run past the ring size (they are taken modulo it). The packet under the
    read pointer is marked with ``>>``. Where the stream stops decoding, the rest is shown raw after the
    decoder's reason, so a corrupt ring still gives a complete report.
    """
    size = len(ring)
    if size == 0:
        return "ring: empty (0 dwords)"
    begin = read_pointer if start is None else start
    length = _window_length(begin, write_pointer, size)
    first = begin % size
    words = [int(ring[(first + index) % size]) & 0xFFFFFFFF for index in range(length)]
    read_index = (read_pointer - begin) % size
    lines = [
        f"ring: {size} dwords, read pointer 0x{read_pointer % size:04x}, "
        f"write pointer 0x{write_pointer % size:04x}, "
        f"{_window_length(read_pointer, write_pointer, size)} dwords pending"
    ]
    if length == 0:
        lines.append("   (nothing between the read and the write pointer)")
        return "\n".join(lines)
    index = 0
    while index < length:
        try:
            packet = decode(words, index)
        except PacketDecodeError as error:
            lines.append(f"!! 0x{(first + index) % size:04x}  cannot decode: {error.reason}")
            rest = words[index:]
            for line_start in range(0, len(rest), _RAW_PER_LINE):
                position = (first + index + line_start) % size
                chunk = rest[line_start : line_start + _RAW_PER_LINE]
                holds = index + line_start <= read_index < index + line_start + len(chunk)
                mark = READ_POINTER_MARK if holds else "  "
                lines.append(f"{mark} 0x{position:04x}  " + " ".join(f"{word:08x}" for word in chunk))
            break
        holds = index <= read_index < index + packet.size_dwords
        lines += format_packet(
            packet, position=(first + index) % size, marker=READ_POINTER_MARK if holds else ""
        )
        index += packet.size_dwords
    lines.append(f"-- 0x{write_pointer % size:04x}  write pointer")
    return "\n".join(lines)
