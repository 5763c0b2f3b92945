"""Compiles a PacketLayout's table into straight-line encoders: a build costs little more than its dwords.

For each set of field names a caller passes (COPY_LINEAR with byte_count, src_addr and dst_addr, say) an
encoder is generated once and cached: the fields left out are folded into constants, the given ones are
checked with one combined expression per width (``value & ~mask`` is 0 exactly when 0 <= value <= mask), and
the dwords are returned. Anything unusual (a wrong name, an out-of-range or misaligned value, a numpy integer)
goes to the layout's generic ``build``, which encodes it or raises the ConfigurationError that explains it.
The table stays the one definition; this is only a faster reading of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_amdgpu.packets.layout import AlignBy, Field, Split

if TYPE_CHECKING:
    from pytest_amdgpu.packets.layout import PacketLayout

Encoder = Callable[[Mapping[str, Any]], list[int]]

CACHE_LIMIT = 256  # distinct argument-name tuples per packet; past it, builds take the generic path


class _LeaveFastPathError(Exception):
    """Raised inside a generated encoder when a value needs the generic path."""


def _or(terms: list[str]) -> str:
    return " | ".join(terms) if terms else "0"


def _mask_term(names: list[str], mask: int) -> str:
    joined = names[0] if len(names) == 1 else "(" + " | ".join(names) + ")"
    return f"({joined} & {~mask:#x})"


class _Specializer:
    """Writes the source of one encoder: ``layout`` with exactly the fields ``given``."""

    def __init__(self, layout: PacketLayout, given: tuple[str, ...], positional: bool) -> None:
        self.layout = layout
        self.given = given
        self.positional = positional
        self.env: dict[str, Any] = {"_LeaveFastPathError": _LeaveFastPathError, "_fallback": layout.build}
        self.by_width: dict[int, list[str]] = {}  # mask -> value expressions that must fit it
        self.alignment_checks: list[str] = []
        self.defaults = {item.name: item.default for item in layout.items}

    def _value(self, name: str) -> str | int:
        """The expression (given field) or the constant (table default) for a field."""
        return name if name in self.given else self.defaults[name]

    def _check(self, expression: str, mask: int) -> None:
        self.by_width.setdefault(mask, []).append(expression)

    def _alignment(self, item: Split) -> None:
        align = item.align
        if isinstance(align, AlignBy):
            keys = [self._value(name) for name in align.selectors]
            if all(isinstance(key, int) for key in keys):
                constant = align.table.get(keys[0] if len(keys) == 1 else tuple(keys), align.default)
                if constant != 1:
                    self.alignment_checks.append(f"({item.name} & {constant - 1:#x})")
                return
            table = f"_align_{item.name}"
            self.env[table] = dict(align.table)
            key = str(keys[0]) if len(keys) == 1 else "(" + ", ".join(str(key) for key in keys) + ",)"
            self.alignment_checks.append(f"({item.name} & ({table}.get({key}, {align.default}) - 1))")
        elif align != 1:
            self.alignment_checks.append(f"({item.name} & {align - 1:#x})")

    def dwords(self, with_tail: bool) -> tuple[list[int], list[list[str]]]:
        """Constant bits and field expressions of every dword (tail dwords when ``with_tail``)."""
        layout = self.layout
        total = layout.size_dwords + (layout.tail.dwords if with_tail and layout.tail else 0)
        constants = [0] * total
        constants[0] = layout.header
        terms: list[list[str]] = [[] for _ in range(total)]
        for item in layout.items:
            if isinstance(item, Field):
                if item.dword >= total:
                    continue
                if item.name in self.given:
                    value = f"({item.name} - 1)" if item.minus_one else item.name
                    terms[item.dword].append(f"({value} << {item.shift})" if item.shift else value)
                else:
                    constants[item.dword] |= (item.default - (1 if item.minus_one else 0)) << item.shift
                continue
            if item.parts[0][0] >= total:
                continue
            total_width = sum(width for _, _, width in item.parts)
            position = 0
            for dword, shift, width in item.parts:
                if item.name in self.given:
                    expression = item.name if position == 0 else f"({item.name} >> {position})"
                    if position + width < total_width:
                        expression = f"({expression} & {(1 << width) - 1:#x})"
                    terms[dword].append(f"({expression} << {shift})" if shift else expression)
                else:
                    constants[dword] |= ((item.default >> position) & ((1 << width) - 1)) << shift
                position += width
        return constants, terms

    def source(self) -> str | None:
        """The encoder's source, or None when the arguments need the generic path (unknown name, bad tail)."""
        layout = self.layout
        items = {item.name: item for item in layout.items}
        array = layout.array
        tail = layout.tail
        given_items = [name for name in self.given if name in items]
        if len(given_items) + (1 if array is not None and array.name in self.given else 0) != len(self.given):
            return None  # an unknown name: the generic build explains it
        with_tail = False
        runtime_flag = None
        if tail is not None:
            tail_given = [name for name in given_items if name in layout.tail_names]
            if tail.flag is None:
                with_tail = bool(tail_given)
            elif tail.flag in self.given:
                runtime_flag = tail.flag
            elif self.defaults[tail.flag]:
                with_tail = True
            elif tail_given:
                return None  # tail fields without their flag: the generic build explains it
        for name in given_items:
            item = items[name]
            if isinstance(item, Field):
                self._check(f"({name} - 1)" if item.minus_one else name, (1 << item.width) - 1)
            else:
                self._check(name, (1 << sum(width for _, _, width in item.parts)) - 1)
                self._alignment(item)
        if self.positional:
            lines = [f"def encode({', '.join(self.given)}):"]
            rebuilt = "{" + ", ".join(f"{name!r}: {name}" for name in self.given) + "}"
            leave = f"return _fallback({rebuilt})"
            array_value = array.name if array is not None and array.name in self.given else "None"
        else:
            lines = ["def encode(_f):"]
            lines += [f"    {name} = _f[{name!r}]" for name in given_items]
            leave = "return _fallback(dict(_f))"
            array_value = f"_f.get({array.name!r})" if array is not None else "None"
        checks = [_mask_term(names, mask) for mask, names in self.by_width.items()] + self.alignment_checks
        if checks:
            lines += [
                "    try:",
                f"        _check = {_or(checks)}",
                "        if type(_check) is not int or _check:",
                "            raise _LeaveFastPathError",
                "    except (TypeError, _LeaveFastPathError):",
                f"        {leave}",
            ]
        fixed = layout.size_dwords
        constants, terms = self.dwords(with_tail or runtime_flag is not None)
        size_field = layout.size_field
        static_size = array is None and runtime_flag is None
        if size_field is not None and static_size:
            dword, shift, width, bias = size_field
            size = fixed + (tail.dwords if with_tail and tail else 0)
            constants[dword] |= ((size - bias) & ((1 << width) - 1)) << shift
        stop = fixed + (tail.dwords if with_tail and tail else 0)
        words = ", ".join(_or(([hex(constants[i])] if constants[i] else []) + terms[i]) for i in range(stop))
        lines.append(f"    _words = [{words}]")
        if runtime_flag is not None and tail is not None:
            tail_words = ", ".join(
                _or(([hex(constants[i])] if constants[i] else []) + terms[i])
                for i in range(fixed, fixed + tail.dwords)
            )
            tail_given = [name for name in given_items if name in layout.tail_names]
            lines += [f"    if {runtime_flag}:", f"        _words += [{tail_words}]"]
            if tail_given:
                lines += [f"    elif {_or(tail_given)}:", f"        {leave}"]
        if array is not None:
            self.env["_array_words"] = layout.array_words
            lines.append(f"    _data = _array_words({array_value})")
            if array.count is not None:
                dword, shift, _width = array.count
                lines.append(f"    _words[{dword}] |= (len(_data) - {array.count_bias}) << {shift}")
            lines.append("    _words += _data")
        if size_field is not None and not static_size:
            dword, shift, width, bias = size_field
            count = f"(len(_words) - {bias})"
            if layout.size_one is not None:
                count = f"({count} if len(_words) > 1 else {layout.size_one:#x})"
            lines.append(f"    _words[{dword}] |= ({count} & {(1 << width) - 1:#x}) << {shift}")
        lines.append("    return _words")
        return "\n".join(lines)


def specialize(
    layout: PacketLayout, given: tuple[str, ...], positional: bool = False
) -> Callable[..., list[int]]:
    """An encoder of ``layout`` for exactly the field names ``given``.

    It takes the mapping of those fields, or with ``positional`` their values in that order. When the names
    cannot be encoded (an unknown name, tail fields without their flag) it is the generic build, which
    raises the ConfigurationError that says why.
    """
    specializer = _Specializer(layout, given, positional)
    code = specializer.source()
    if code is None:
        if positional:

            def explain(*values: Any) -> list[int]:
                return layout.build(dict(zip(given, values, strict=True)))

            return explain
        return layout.build
    namespace = dict(specializer.env)
    exec(compile(code, f"<{layout.engine} {layout.name} encoder>", "exec"), namespace)
    encode = namespace["encode"]
    encode.__qualname__ = encode.__name__ = f"encode_{layout.name}"
    encode.source = code  # what the table compiles to, for the curious
    return encode


def make_encoders(layout: PacketLayout) -> tuple[Callable[..., list[int]], Encoder]:
    """``encode(**fields)`` and ``encode_mapping(fields)`` of a layout, sharing one cache of encoders."""
    cache: dict[tuple[str, ...], Encoder] = {}

    def encode_mapping(fields: Mapping[str, Any]) -> list[int]:
        key = tuple(fields)
        found = cache.get(key)
        if found is None:
            found = specialize(layout, key)
            if len(cache) < CACHE_LIMIT:
                cache[key] = found
        return found(fields)

    def encode(**fields: Any) -> list[int]:
        return encode_mapping(fields)

    encode.__qualname__ = encode.__name__ = f"encode_{layout.name}"
    encode.__doc__ = f"{layout.engine} {layout.name}: {', '.join(layout.field_names) or 'no fields'}."
    return encode, encode_mapping


def _read(item: Field | Split) -> str:
    """The expression that reads a field out of the packet's dwords ``w``."""
    if isinstance(item, Field):
        expression = f"w[{item.dword}]"
        if item.shift:
            expression = f"({expression} >> {item.shift})"
        if item.shift + item.width < 32:
            expression = f"({expression} & {(1 << item.width) - 1:#x})"
        return f"({expression} + 1)" if item.minus_one else expression
    terms = []
    position = 0
    for dword, shift, width in item.parts:
        expression = f"w[{dword}]"
        if shift:
            expression = f"({expression} >> {shift})"
        if shift + width < 32:
            expression = f"({expression} & {(1 << width) - 1:#x})"
        terms.append(f"({expression} << {position})" if position else expression)
        position += width
    return " | ".join(terms)


def make_decoder(layout: PacketLayout) -> Callable[[tuple[int, ...]], dict[str, Any]]:
    """``read(words) -> fields``: raw field values of a whole packet (the layout checks them afterwards)."""
    fixed = [item for item in layout.items if item.name not in layout.tail_names]
    tail = [item for item in layout.items if item.name in layout.tail_names]
    lines = [
        "def read(w):",
        "    fields = {" + ", ".join(f"{item.name!r}: {_read(item)}" for item in fixed) + "}",
    ]
    if tail:
        lines.append(f"    if len(w) > {layout.size_dwords}:")
        lines += [f"        fields[{item.name!r}] = {_read(item)}" for item in tail]
    if layout.array is not None:
        lines.append(f"    fields[{layout.array.name!r}] = w[{layout.size_dwords}:]")
    lines.append("    return fields")
    code = "\n".join(lines)
    namespace: dict[str, Any] = {}
    exec(compile(code, f"<{layout.engine} {layout.name} decoder>", "exec"), namespace)
    read = namespace["read"]
    read.__qualname__ = read.__name__ = f"read_{layout.name}"
    read.source = code
    return read
