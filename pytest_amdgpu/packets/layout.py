"""Packet field tables: a PacketLayout per packet and generation, for builder, decoder, simulator and dump."""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_amdgpu.errors import AmdgpuError, ConfigurationError

DWORD_MASK = 0xFFFFFFFF

FieldValue = int | tuple[int, ...]


class PacketDecodeError(AmdgpuError):
    """A dword stream that is not a valid packet; says where (dword offset), what (the dword) and why.

    The simulator turns this into a queue error report, so the decoders raise nothing else on any input.
    """

    def __init__(self, engine: str, offset: int, dword: int | None, reason: str) -> None:
        self.engine = engine
        self.offset = offset
        self.dword = dword
        self.reason = reason
        shown = "no dword there" if dword is None else f"0x{dword:08x}"
        super().__init__(f"{engine} packet at dword offset {offset} ({shown}): {reason}")


# --- the table vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A bitfield of one dword of a packet; dword 0 is the header."""

    name: str
    dword: int
    shift: int = 0
    width: int = 32
    default: int = 0
    minus_one: bool = False  # the hardware holds value - 1 (SDMA byte counts): valid values are 1..2**width
    values: Mapping[int, str] | None = None  # names of encodings, as the headers spell them, for dumps
    doc: str = ""


@dataclass(frozen=True)
class AlignBy:
    """An alignment in bytes chosen by other fields, e.g. RELEASE_MEM's address by DATA_SEL (4 or 8 bytes)."""

    selectors: tuple[str, ...]
    table: Mapping[Any, int]  # key: the selector value, or a tuple of values when there are several selectors
    default: int = 1

    def alignment(self, values: Mapping[str, Any]) -> int:
        if len(self.selectors) == 1:
            return self.table.get(values[self.selectors[0]], self.default)
        return self.table.get(tuple(values[name] for name in self.selectors), self.default)


@dataclass(frozen=True)
class Split:
    """A wide value (64-bit address or datum) spread over bitfields of several dwords, low part first."""

    name: str
    parts: tuple[tuple[int, int, int], ...]  # (dword, shift, width) from the least significant bits up
    align: int | AlignBy = 1  # bytes; the hardware ignores the low bits, the builder refuses them
    default: int = 0
    doc: str = ""


@dataclass(frozen=True)
class Array:
    """Whole dwords that end the packet: WRITE_DATA's data, SET_SH_REG's values, a NOP's payload."""

    name: str
    start: int
    min_len: int = 0
    max_len: int = 0x3FFF
    count: tuple[int, int, int] | None = (
        None  # (dword, shift, width) holding len - count_bias; None: PM4 count
    )
    count_bias: int = 0
    doc: str = ""


@dataclass(frozen=True)
class Tail:
    """Dwords present when a flag field is 1 (SDMA 7 COPY_LINEAR) or, flagless, when the PM4 count says so."""

    dwords: int
    flag: str | None = None


Item = Field | Split


@dataclass(slots=True)
class Packet:
    """One decoded packet: its name, where it is in the stream, its fields and its raw dwords (read-only)."""

    name: str
    opcode: int
    fields: Mapping[str, FieldValue]
    offset: int
    size_dwords: int
    dwords: tuple[int, ...]
    sub_opcode: int | None = None
    layout: PacketLayout | None = field(default=None, repr=False, compare=False)

    def describe(self, name: str) -> str:
        """A field's value for humans: hex when large, with the header's name of the encoding when known."""
        return describe_value(self.layout, name, self.fields[name])


def describe_value(layout: PacketLayout | None, name: str, value: FieldValue) -> str:
    if isinstance(value, tuple):
        shown = " ".join(f"0x{word:08x}" for word in value[:8])
        more = f" ... ({len(value)} dwords)" if len(value) > 8 else ""
        return f"[{shown}{more}]"
    text = str(value) if value < 10 else f"0x{value:x}"
    names = layout.value_names.get(name) if layout is not None else None
    if names and value in names:
        text += f" ({names[value]})"
    return text


# --- compiled layouts ------------------------------------------------------------------------------------

_BITS = 0
_SPLIT = 1
_ARRAY = 2


def _mask(width: int) -> int:
    return (1 << width) - 1


def _as_int(layout_name: str, name: str, value: object) -> int:
    if type(value) is int:
        return value
    try:
        return operator.index(value)  # bool, numpy integers
    except TypeError:
        raise ConfigurationError(
            f"{layout_name} field {name}: expected an integer, got {type(value).__name__} {value!r}"
        ) from None


class PacketLayout:
    """One packet's layout for one generation, compiled for a lean build path.

    ``items`` are the named fields (Field and Split); ``array`` and ``tail`` describe the variable part.
    ``header`` is dword 0 with the engine's constant bits (opcode, packet type) set and ``header_bits`` the
    header bits the engine owns, which are therefore not reserved. ``size_field`` (dword, shift, width, bias)
    is where the packet announces its own length as ``dwords - bias`` (the PM4 count); ``size_one`` is what
    it holds instead for a one-dword packet (the header-only NOP's 0x3FFF).

    ``encode(**fields)`` / ``encode_mapping(fields)`` are the build path compiled from the table (codegen.py);
    ``build(fields)`` is the same encoding written generically, which the compiled path falls back on to
    explain a wrong argument.
    """

    def __init__(
        self,
        *,
        engine: str,
        name: str,
        opcode: int,
        header: int,
        header_bits: int,
        size_dwords: int,
        items: Iterable[Item] = (),
        array: Array | None = None,
        tail: Tail | None = None,
        sub_opcode: int | None = None,
        size_field: tuple[int, int, int, int] | None = None,
        size_one: int | None = None,
        source: str = "",
        doc: str = "",
    ) -> None:
        self.engine = engine
        self.name = name
        self.opcode = opcode
        self.sub_opcode = sub_opcode
        self.size_dwords = size_dwords  # the fixed part, header included
        self.items: tuple[Item, ...] = tuple(items)
        self.array = array
        self.tail = tail
        self.header = header
        self.size_field = size_field
        self.size_one = size_one
        self.source = source
        self.doc = doc
        self._check_and_compile(header, header_bits)
        from pytest_amdgpu.packets.codegen import make_decoder, make_encoders  # here: codegen imports us

        self.encode, self.encode_mapping = make_encoders(self)
        self._read = make_decoder(self)

    # -- compilation

    def _check_and_compile(self, header: int, header_bits: int) -> None:
        total = self.size_dwords + (self.tail.dwords if self.tail else 0)
        covered = [0] * total
        encoders: dict[str, tuple] = {}
        template = [0] * total
        template[0] = header
        covered[0] |= header_bits  # the engine's own header bits (opcode, PM4 count) are not reserved
        self.value_names: dict[str, Mapping[int, str]] = {}
        self.tail_names: frozenset[str] = frozenset()
        tail_names = set()

        def claim(name: str, dword: int, shift: int, width: int) -> None:
            if not 0 <= dword < total or shift < 0 or width <= 0 or shift + width > 32:
                raise AmdgpuError(
                    f"{self.name}: field {name} does not fit the packet ({dword=}, {shift=}, {width=})"
                )
            bits = _mask(width) << shift
            if covered[dword] & bits:
                raise AmdgpuError(f"{self.name}: field {name} overlaps another field in dword {dword}")
            covered[dword] |= bits
            if dword >= self.size_dwords:
                tail_names.add(name)

        for item in self.items:
            if item.name in encoders:
                raise AmdgpuError(f"{self.name}: two fields are named {item.name}")
            if isinstance(item, Field):
                claim(item.name, item.dword, item.shift, item.width)
                low = 1 if item.minus_one else 0
                high = _mask(item.width) + low
                encoders[item.name] = (_BITS, item.dword, item.shift, _mask(item.width), low, high)
                if item.values:
                    self.value_names[item.name] = item.values
                if not low <= item.default <= high:
                    raise AmdgpuError(f"{self.name}: default of {item.name} is out of range")
            else:
                total_width = 0
                for dword, shift, width in item.parts:
                    claim(item.name, dword, shift, width)
                    total_width += width
                encoders[item.name] = (_SPLIT, item.parts, _mask(total_width), item.align)
        if self.array is not None:
            if self.tail is not None:
                raise AmdgpuError(f"{self.name}: a packet has an array or a tail, not both")
            if self.array.start != self.size_dwords:
                raise AmdgpuError(f"{self.name}: the array must start where the fixed part ends")
            if self.array.count is not None:
                claim(f"{self.array.name} count", *self.array.count)
            encoders[self.array.name] = (_ARRAY,)
        self.tail_names = frozenset(tail_names)
        self._encoders = encoders
        self.reserved = tuple(~bits & DWORD_MASK for bits in covered)
        self.field_names: tuple[str, ...] = tuple(encoders)
        # defaults go into the template so that a build only touches the fields it is given
        for item in self.items:
            if item.default:
                self._encode_into(template, item.name, item.default)
        self._template_fixed = template[: self.size_dwords]
        self._template_tail = template[self.size_dwords :]
        self._defaults = {item.name: item.default for item in self.items if item.name not in self.tail_names}
        self._tail_defaults = {item.name: item.default for item in self.items if item.name in self.tail_names}
        self._aligned_splits = tuple(
            (item.name, item.align) for item in self.items if isinstance(item, Split) and item.align != 1
        )

    # -- introspection

    def defaults(self, with_tail: bool = False) -> dict[str, FieldValue]:
        """Every field the decoder reports for a packet built with no arguments (with or without the tail)."""
        values: dict[str, FieldValue] = dict(self._defaults)
        if with_tail:
            values.update(self._tail_defaults)
        if self.array is not None:
            values[self.array.name] = ()
        return values

    def item(self, name: str) -> Item:
        for item in self.items:
            if item.name == name:
                return item
        raise ConfigurationError(f"{self.name} has no field {name!r}")

    def value_range(self, name: str) -> tuple[int, int]:
        """The least and greatest value a field accepts (before alignment)."""
        spec = self._encoders[name]
        if spec[0] == _BITS:
            return spec[4], spec[5]
        if spec[0] == _SPLIT:
            return 0, spec[2]
        return self.array.min_len if self.array else 0, self.array.max_len if self.array else 0

    def has_tail(self, size_dwords: int) -> bool:
        return self.tail is not None and size_dwords > self.size_dwords

    # -- building

    def _unknown(self, name: str) -> ConfigurationError:
        known = ", ".join(self.field_names) or "none"
        return ConfigurationError(f"{self.engine} {self.name} has no field {name!r}; its fields are: {known}")

    def _encode_into(self, words: list[int], name: str, value: object) -> int:
        spec = self._encoders.get(name)
        if spec is None:
            raise self._unknown(name)
        kind = spec[0]
        number = _as_int(self.name, name, value)
        if kind == _BITS:
            _, dword, shift, mask, low, high = spec
            if not low <= number <= high:
                raise ConfigurationError(
                    f"{self.engine} {self.name} field {name}: {number} is out of range {low}..{high} "
                    f"({mask.bit_length()} bits{', encoded as value - 1' if low else ''})"
                )
            words[dword] = (words[dword] & ~(mask << shift)) | ((number - low) << shift)
            return number
        _, parts, mask, _align = spec
        if not 0 <= number <= mask:
            raise ConfigurationError(
                f"{self.engine} {self.name} field {name}: 0x{number:x} is out of range 0..0x{mask:x} "
                f"({mask.bit_length()} bits)"
            )
        rest = number
        for dword, shift, width in parts:
            part_mask = _mask(width)
            words[dword] = (words[dword] & ~(part_mask << shift)) | ((rest & part_mask) << shift)
            rest >>= width
        return number

    def build(self, values: Mapping[str, object]) -> list[int]:
        """The packet's dwords for ``values``, every other field at its default."""
        tail = self.tail
        with_tail = False
        if tail is not None:
            if tail.flag is None:
                with_tail = any(name in self.tail_names for name in values)
            else:
                flag = values.get(tail.flag, self._defaults.get(tail.flag, 0))
                with_tail = bool(flag)
                if not with_tail:
                    given = sorted(name for name in values if name in self.tail_names)
                    if given:
                        raise ConfigurationError(
                            f"{self.engine} {self.name}: fields {', '.join(given)} are in the dwords that "
                            f"{tail.flag}=1 adds; set {tail.flag}=1 to send them"
                        )
        words = self._template_fixed + self._template_tail if with_tail else list(self._template_fixed)
        array_values = None
        checks = None
        encoders = self._encoders
        for name, value in values.items():
            spec = encoders.get(name)
            if spec is None:
                raise self._unknown(name)
            kind = spec[0]
            if kind == _BITS:
                _, dword, shift, mask, low, high = spec
                number = value if type(value) is int else _as_int(self.name, name, value)
                if not low <= number <= high:
                    self._encode_into(words, name, number)  # raises the range error
                words[dword] = (words[dword] & ~(mask << shift)) | ((number - low) << shift)
            elif kind == _SPLIT:
                number = self._encode_into(words, name, value)
                align = spec[3]
                if align != 1:
                    if checks is None:
                        checks = []
                    checks.append((name, number, align))
            else:
                array_values = value
        if checks:
            merged = None
            for name, number, align in checks:
                if type(align) is not int:
                    if merged is None:
                        merged = {**self._defaults, **values}
                    align = align.alignment(merged)
                if number % align:
                    raise ConfigurationError(
                        f"{self.engine} {self.name} field {name}: 0x{number:x} is not {align}-byte aligned"
                        + self._align_reason(name, merged)
                    )
        if self.array is not None:
            self._append_array(words, array_values)
        self.finish_size(words)
        return words

    def finish_size(self, words: list[int]) -> None:
        """Write the packet's own length into its size field (the PM4 header count)."""
        if self.size_field is None:
            return
        dword, shift, width, bias = self.size_field
        count = self.size_one if len(words) == 1 and self.size_one is not None else len(words) - bias
        words[dword] |= (count & _mask(width)) << shift

    def _align_reason(self, name: str, merged: Mapping[str, object] | None) -> str:
        item = self.item(name)
        if isinstance(item, Split) and isinstance(item.align, AlignBy) and merged is not None:
            chosen = ", ".join(f"{sel}={merged[sel]}" for sel in item.align.selectors)
            return f" (as {chosen} requires)"
        return ""

    def array_words(self, value: object) -> list[int]:
        """The array field's dwords, checked: a sequence of 32-bit values of an allowed length."""
        array = self.array
        assert array is not None
        if value is None:
            data: list[int] = []
        elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ConfigurationError(
                f"{self.engine} {self.name} field {array.name}: expected a sequence of dwords, got {value!r}"
            )
        else:
            data = [word if type(word) is int else _as_int(self.name, array.name, word) for word in value]
        if not array.min_len <= len(data) <= array.max_len:
            raise ConfigurationError(
                f"{self.engine} {self.name} field {array.name}: {len(data)} dwords is out of range "
                f"{array.min_len}..{array.max_len}"
            )
        if data and (min(data) < 0 or max(data) > DWORD_MASK):
            bad = next(word for word in data if not 0 <= word <= DWORD_MASK)
            raise ConfigurationError(
                f"{self.engine} {self.name} field {array.name}: {bad:#x} is not a 32-bit dword"
            )
        return data

    def _append_array(self, words: list[int], value: object) -> None:
        array = self.array
        assert array is not None
        data = self.array_words(value)
        if array.count is not None:
            dword, shift, width = array.count
            words[dword] |= ((len(data) - array.count_bias) & _mask(width)) << shift
        words.extend(data)

    # -- decoding

    def array_length(self, header_words: Sequence[int]) -> int:
        """The array length an SDMA packet announces in its count field (the fixed dwords are given)."""
        array = self.array
        assert array is not None and array.count is not None
        dword, shift, width = array.count
        return ((header_words[dword] >> shift) & _mask(width)) + array.count_bias

    def tail_flag_set(self, words: Sequence[int]) -> bool:
        """Whether the flag field that adds the tail is set in the fixed dwords."""
        tail = self.tail
        assert tail is not None and tail.flag is not None
        _, dword, shift, mask, _, _ = self._encoders[tail.flag]
        return bool((words[dword] >> shift) & mask)

    def decode_fields(self, words: tuple[int, ...], offset: int, strict: bool) -> dict[str, FieldValue]:
        """Field values of a packet whose dwords are ``words`` (already checked to be 32-bit and complete).

        Addresses come back as the hardware uses them: bits below the packet's alignment are dropped, or,
        with ``strict``, reported as an error like every other reserved bit that is set.
        """
        values: dict[str, FieldValue] = self._read(words)
        for name, align in self._aligned_splits:
            number = values.get(name)
            if number is None:
                continue
            assert isinstance(number, int)
            alignment = align if type(align) is int else align.alignment(values)
            if number % alignment:
                if strict:
                    raise PacketDecodeError(
                        self.engine,
                        offset,
                        words[0],
                        f"{self.name} field {name} 0x{number:x} is not {alignment}-byte aligned",
                    )
                values[name] = number - number % alignment
        if strict:
            fixed = self.size_dwords + (self.tail.dwords if self.tail and self.has_tail(len(words)) else 0)
            for index in range(min(fixed, len(words))):
                stray = words[index] & self.reserved[index]
                if stray:
                    raise PacketDecodeError(
                        self.engine,
                        offset + index,
                        words[index],
                        f"{self.name} dword {index} has reserved bits set (0x{stray:08x})",
                    )
        return values


def check_header(engine: str, dwords: Sequence[int], offset: int) -> int:
    """The dword at ``offset`` as a Python int, checked to be a 32-bit value."""
    word = dwords[offset]
    if type(word) is int and 0 <= word <= DWORD_MASK:
        return word
    return check_dwords(engine, dwords, offset, offset + 1)[0]


def check_dwords(engine: str, dwords: Sequence[int], start: int, stop: int) -> tuple[int, ...]:
    """``dwords[start:stop]`` as Python ints, each checked to be a 32-bit value (numpy arrays welcome)."""
    chunk = dwords[start:stop]
    try:
        return tuple(array("I", chunk))  # C-speed check: integers (or __index__ objects) in 0..2**32-1
    except (TypeError, ValueError, OverflowError):
        pass
    for index, word in enumerate(chunk):
        try:
            number = operator.index(word)
        except TypeError:
            raise PacketDecodeError(
                engine, start + index, None, f"the stream holds {word!r}, which is not a dword"
            ) from None
        if not 0 <= number <= DWORD_MASK:
            raise PacketDecodeError(engine, start + index, None, f"{number!r} is not a 32-bit dword")
    raise PacketDecodeError(engine, start, None, "the stream holds something that is not a dword")


def stream_length(engine: str, dwords: object) -> int:
    try:
        return len(dwords)  # type: ignore[arg-type]
    except TypeError:
        raise PacketDecodeError(
            engine, 0, None, f"expected a sequence of dwords, got {type(dwords).__name__}"
        ) from None


def check_offset(engine: str, offset: object, length: int) -> int:
    if type(offset) is not int:
        try:
            offset = operator.index(offset)
        except TypeError:
            raise PacketDecodeError(engine, 0, None, f"offset {offset!r} is not an integer") from None
    if not 0 <= offset < length:
        raise PacketDecodeError(engine, offset, None, f"offset is outside the stream of {length} dwords")
    return offset


def decode_range(
    engine: str,
    dwords: Sequence[int],
    decode: Callable[[Sequence[int], int], Packet],
    start: int = 0,
    end: int | None = None,
) -> list[Packet]:
    """Every packet `decode` finds from dword `start` up to `end` (default: the end), in order."""
    length = stream_length(engine, dwords)
    stop = length if end is None else min(end, length)
    packets = []
    offset = start
    while offset < stop:
        packet = decode(dwords, offset)
        if offset + packet.size_dwords > stop:
            raise PacketDecodeError(
                engine,
                offset,
                packet.dwords[0],
                f"{packet.name} runs past the end of the range at dword {stop}",
            )
        packets.append(packet)
        offset += packet.size_dwords
    return packets
