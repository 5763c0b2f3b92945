"""The NT_AMDGPU_METADATA note (MessagePack): amdhsa.version, amdhsa.kernels and their .args."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack

from pytest_amdgpu.program.errors import CodeObjectError

NT_AMDGPU_METADATA = 32
AMDGPU_NOTE_OWNER = "AMDGPU"
HIDDEN_PREFIX = "hidden_"

# amdhsa.version minor by code object version (major is always 1).
METADATA_MINOR_BY_CODE_OBJECT_VERSION = {4: 1, 5: 2, 6: 3}

_REQUIRED_KERNEL_KEYS = (
    ".name",
    ".symbol",
    ".kernarg_segment_size",
    ".kernarg_segment_align",
    ".group_segment_fixed_size",
    ".private_segment_fixed_size",
    ".wavefront_size",
    ".sgpr_count",
    ".vgpr_count",
    ".max_flat_workgroup_size",
)
_REQUIRED_ARG_KEYS = (".offset", ".size", ".value_kind")


@dataclass(frozen=True)
class KernelArg:
    """One entry of a kernel's .args: explicit arguments and hidden_* ones alike."""

    offset: int
    size: int
    value_kind: str
    name: str = ""
    type_name: str = ""
    address_space: str = ""
    is_const: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_hidden(self) -> bool:
        """Whether the dispatcher, not the caller, supplies this argument (value kinds hidden_*)."""
        return self.value_kind.startswith(HIDDEN_PREFIX)

    def describe(self) -> str:
        """'n (uint, 4 bytes at offset 24)', for error messages."""
        kind = self.type_name or self.value_kind
        label = self.name or self.value_kind
        return f"{label!r} ({kind}, {self.size} bytes at offset {self.offset})"


@dataclass(frozen=True)
class KernelMetadata:
    """One amdhsa.kernels entry: what the dispatcher needs to lay out kernel arguments and size the launch."""

    name: str
    symbol: str
    args: tuple[KernelArg, ...]
    kernarg_segment_size: int
    kernarg_segment_align: int
    group_segment_fixed_size: int
    private_segment_fixed_size: int
    wavefront_size: int
    sgpr_count: int
    vgpr_count: int
    max_flat_workgroup_size: int
    agpr_count: int = 0
    uses_dynamic_stack: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def explicit_args(self) -> tuple[KernelArg, ...]:
        """The arguments a caller passes, in declaration order."""
        return tuple(arg for arg in self.args if not arg.is_hidden)

    @property
    def hidden_args(self) -> tuple[KernelArg, ...]:
        return tuple(arg for arg in self.args if arg.is_hidden)


@dataclass(frozen=True)
class CodeObjectMetadata:
    """The whole metadata map: version, optional target string, kernels by name, and the raw map."""

    version: tuple[int, ...]
    target: str
    kernels: Mapping[str, KernelMetadata]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _get(entry: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = entry.get(key)
    if value is None or (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
        raise CodeObjectError(f"code object metadata: {where} has no valid {key} (found {value!r})")
    return value


def _parse_arg(entry: object, where: str) -> KernelArg:
    if not isinstance(entry, Mapping):
        raise CodeObjectError(f"code object metadata: {where} is not a map")
    for key in _REQUIRED_ARG_KEYS:
        _get(entry, key, str if key == ".value_kind" else int, where)
    name = entry.get(".name", "")
    return KernelArg(
        offset=entry[".offset"],
        size=entry[".size"],
        value_kind=entry[".value_kind"],
        name=name if isinstance(name, str) else str(name),
        type_name=str(entry.get(".type_name", "")),
        address_space=str(entry.get(".address_space", "")),
        is_const=bool(entry.get(".is_const", False)),
        raw=dict(entry),
    )


def _parse_kernel(entry: object, index: int) -> KernelMetadata:
    if not isinstance(entry, Mapping):
        raise CodeObjectError(f"code object metadata: amdhsa.kernels[{index}] is not a map")
    name = entry.get(".name")
    where = f"kernel {name!r}" if isinstance(name, str) else f"amdhsa.kernels[{index}]"
    for key in _REQUIRED_KERNEL_KEYS:
        _get(entry, key, str if key in (".name", ".symbol") else int, where)
    raw_args = entry.get(".args", [])
    if not isinstance(raw_args, list):
        raise CodeObjectError(f"code object metadata: {where} .args is not a list")
    args = tuple(_parse_arg(arg, f"{where} .args[{position}]") for position, arg in enumerate(raw_args))
    segment_size = entry[".kernarg_segment_size"]
    for arg in args:
        if arg.offset < 0 or arg.size <= 0 or arg.offset + arg.size > segment_size:
            raise CodeObjectError(
                f"code object metadata: {where} argument {arg.describe()} does not fit the "
                f"{segment_size}-byte kernarg segment"
            )
    return KernelMetadata(
        name=entry[".name"],
        symbol=entry[".symbol"],
        args=args,
        kernarg_segment_size=segment_size,
        kernarg_segment_align=entry[".kernarg_segment_align"],
        group_segment_fixed_size=entry[".group_segment_fixed_size"],
        private_segment_fixed_size=entry[".private_segment_fixed_size"],
        wavefront_size=entry[".wavefront_size"],
        sgpr_count=entry[".sgpr_count"],
        vgpr_count=entry[".vgpr_count"],
        max_flat_workgroup_size=entry[".max_flat_workgroup_size"],
        agpr_count=int(entry.get(".agpr_count", 0)),
        uses_dynamic_stack=bool(entry.get(".uses_dynamic_stack", False)),
        raw=dict(entry),
    )


def parse_metadata(desc: bytes) -> CodeObjectMetadata:
    """Decode the MessagePack descriptor of an NT_AMDGPU_METADATA note."""
    try:
        document = msgpack.unpackb(desc, raw=False, strict_map_key=False)
    except (ValueError, TypeError) as error:  # msgpack's unpack errors are ValueErrors
        raise CodeObjectError(f"code object metadata is not valid MessagePack: {error}") from error
    if not isinstance(document, Mapping):
        raise CodeObjectError("code object metadata is not a MessagePack map")
    version = document.get("amdhsa.version")
    if not isinstance(version, list) or len(version) < 2 or not all(isinstance(v, int) for v in version):
        raise CodeObjectError(f"code object metadata has no valid amdhsa.version (found {version!r})")
    raw_kernels = document.get("amdhsa.kernels", [])
    if not isinstance(raw_kernels, list):
        raise CodeObjectError("code object metadata: amdhsa.kernels is not a list")
    kernels: dict[str, KernelMetadata] = {}
    for index, entry in enumerate(raw_kernels):
        kernel = _parse_kernel(entry, index)
        if kernel.name in kernels:
            raise CodeObjectError(f"code object metadata lists kernel {kernel.name!r} twice")
        kernels[kernel.name] = kernel
    return CodeObjectMetadata(tuple(version), str(document.get("amdhsa.target", "")), kernels, dict(document))
