"""Kernel-argument segments laid out from code object metadata: explicit arguments and the v5 hidden ones.

Offsets and sizes come from the metadata's .args, never from guesses. Hidden arguments (AMDGPUUsage, "Code
Object V5 Metadata", hidden kernel arguments) are filled from a Dispatch: ``grid`` counts workgroups per
dimension (as HIP's gridDim) and ``block`` is the workgroup size, so every workgroup is whole and the
hidden_remainder_* values are 0.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_amdgpu.program.errors import KernargError
from pytest_amdgpu.program.metadata import KernelArg, KernelMetadata

VALUE_KIND_GLOBAL_BUFFER = "global_buffer"
VALUE_KIND_BY_VALUE = "by_value"

# OpenCL/C spellings of .type_name, by how a Python number converts to them.
FLOAT_TYPE_NAMES = frozenset({"half", "float", "double", "_Float16", "__fp16"})
SIGNED_TYPE_NAMES = frozenset(
    {
        "char",
        "signed char",
        "short",
        "int",
        "long",
        "long long",
        "int8_t",
        "int16_t",
        "int32_t",
        "int64_t",
        "ptrdiff_t",
        "intptr_t",
    }
)
UNSIGNED_TYPE_NAMES = frozenset(
    {
        "bool",
        "_Bool",
        "uchar",
        "unsigned char",
        "ushort",
        "unsigned short",
        "uint",
        "unsigned int",
        "unsigned",
        "ulong",
        "unsigned long",
        "unsigned long long",
        "uint8_t",
        "uint16_t",
        "uint32_t",
        "uint64_t",
        "size_t",
        "uintptr_t",
    }
)
_IEEE_FORMAT_BY_SIZE = {2: "<e", 4: "<f", 8: "<d"}
_TYPE_QUALIFIERS = ("const ", "volatile ", "restrict ", "__global ", "global ")


@dataclass(frozen=True)
class Dispatch:
    """The launch shape the hidden arguments describe.

    ``grid`` is the number of workgroups in each dimension, ``block`` the work-items of a workgroup in each
    dimension; both take 1 to 3 values (missing ones are 1). ``grid_dims`` (hidden_grid_dims) defaults to the
    number of values given. ``private_base`` and ``shared_base`` are the high 32 bits of the private and
    shared (LDS) apertures, for the kernels whose metadata asks for hidden_private_base/hidden_shared_base.
    """

    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    dynamic_lds_bytes: int = 0
    global_offset: tuple[int, int, int] = (0, 0, 0)
    grid_dims: int = 0  # 0: the number of grid/block values given
    private_base: int = 0
    shared_base: int = 0

    def __init__(
        self,
        grid: int | Sequence[int],
        block: int | Sequence[int],
        dynamic_lds_bytes: int = 0,
        global_offset: int | Sequence[int] = (0, 0, 0),
        grid_dims: int = 0,
        private_base: int = 0,
        shared_base: int = 0,
    ) -> None:
        grid_values = _dims("grid", grid)
        block_values = _dims("block", block)
        offsets = _dims("global_offset", global_offset, minimum=0)
        dims = grid_dims or max(len(grid_values), len(block_values))
        if dims not in (1, 2, 3):
            raise KernargError(f"grid_dims must be 1, 2 or 3, not {grid_dims!r}")
        for name, value, limit in (
            ("dynamic_lds_bytes", dynamic_lds_bytes, 1 << 32),
            ("private_base", private_base, 1 << 32),
            ("shared_base", shared_base, 1 << 32),
        ):
            if not _is_int(value) or not 0 <= value < limit:
                raise KernargError(f"{name} must be an integer in [0, {limit:#x}), not {value!r}")
        grid_full, block_full = _pad3(grid_values), _pad3(block_values)
        for axis, (groups, size) in enumerate(zip(grid_full, block_full, strict=True)):
            if groups * size >= 1 << 32:
                raise KernargError(
                    f"grid {grid_full} x block {block_full}: {groups * size} work-items in dimension "
                    f"{'xyz'[axis]} exceed the 32-bit grid size of a dispatch"
                )
        if math.prod(block_full) > 1024:
            raise KernargError(
                f"block {block_full} has {math.prod(block_full)} work-items; a workgroup holds 1024"
            )
        set_field = object.__setattr__
        set_field(self, "grid", grid_full)
        set_field(self, "block", block_full)
        set_field(self, "dynamic_lds_bytes", int(dynamic_lds_bytes))
        set_field(self, "global_offset", _pad3(offsets, fill=0))
        set_field(self, "grid_dims", dims)
        set_field(self, "private_base", int(private_base))
        set_field(self, "shared_base", int(shared_base))

    @property
    def workgroup_size(self) -> int:
        return math.prod(self.block)

    @property
    def grid_size(self) -> tuple[int, int, int]:
        """Work-items per dimension (grid x block), what an AQL packet's grid_size_* would hold."""
        return tuple(groups * size for groups, size in zip(self.grid, self.block, strict=True))  # type: ignore[return-value]


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _dims(name: str, value: int | Sequence[int], minimum: int = 1) -> tuple[int, ...]:
    values = (value,) if _is_int(value) else tuple(value) if isinstance(value, Sequence) else None
    if values is None or not 1 <= len(values) <= 3 or not all(_is_int(v) and v >= minimum for v in values):
        raise KernargError(f"{name} must be 1 to 3 integers >= {minimum}, not {value!r}")
    return tuple(int(v) for v in values)


def _pad3(values: tuple[int, ...], fill: int = 1) -> tuple[int, int, int]:
    padded = values + (fill,) * (3 - len(values))
    return padded[0], padded[1], padded[2]


# --- hidden arguments --------------------------------------------------------------------------------------


def _axis(attribute: str, axis: int) -> Callable[[Dispatch], int]:
    return lambda dispatch: getattr(dispatch, attribute)[axis]


# Value of each hidden argument the dispatcher fills; every other hidden_* kind (printf and hostcall buffers,
# default queue, completion action, multigrid sync, heap, queue pointer, hidden_none) is zero.
HIDDEN_ARGUMENT_VALUES: dict[str, Callable[[Dispatch], int]] = {
    "hidden_block_count_x": _axis("grid", 0),
    "hidden_block_count_y": _axis("grid", 1),
    "hidden_block_count_z": _axis("grid", 2),
    "hidden_group_size_x": _axis("block", 0),
    "hidden_group_size_y": _axis("block", 1),
    "hidden_group_size_z": _axis("block", 2),
    "hidden_remainder_x": lambda dispatch: 0,
    "hidden_remainder_y": lambda dispatch: 0,
    "hidden_remainder_z": lambda dispatch: 0,
    "hidden_global_offset_x": _axis("global_offset", 0),
    "hidden_global_offset_y": _axis("global_offset", 1),
    "hidden_global_offset_z": _axis("global_offset", 2),
    "hidden_grid_dims": lambda dispatch: dispatch.grid_dims,
    "hidden_dynamic_lds_size": lambda dispatch: dispatch.dynamic_lds_bytes,
    "hidden_private_base": lambda dispatch: dispatch.private_base,
    "hidden_shared_base": lambda dispatch: dispatch.shared_base,
}


def hidden_argument_value(value_kind: str, dispatch: Dispatch) -> int:
    """The integer a hidden argument of `value_kind` holds for `dispatch` (0: left to the runtime)."""
    fill = HIDDEN_ARGUMENT_VALUES.get(value_kind)
    return fill(dispatch) if fill is not None else 0


# --- explicit arguments ------------------------------------------------------------------------------------


def _base_type(type_name: str) -> str:
    name = type_name.strip()
    changed = True
    while changed:
        changed = False
        for qualifier in _TYPE_QUALIFIERS:
            if name.startswith(qualifier):
                name, changed = name[len(qualifier) :].strip(), True
    return name


def _int_bytes(kernel: str, arg: KernelArg, value: int, signed: bool | None) -> bytes:
    bits = arg.size * 8
    low = -(1 << (bits - 1)) if signed in (True, None) else 0
    high = (1 << bits) - 1 if signed in (False, None) else (1 << (bits - 1)) - 1
    if not low <= value <= high:
        raise KernargError(
            f"{kernel}: argument {arg.describe()} cannot hold {value}: the range is [{low}, {high}]"
        )
    return (value & ((1 << bits) - 1)).to_bytes(arg.size, "little")


def _float_bytes(kernel: str, arg: KernelArg, value: float) -> bytes:
    layout = _IEEE_FORMAT_BY_SIZE.get(arg.size)
    if layout is None:
        raise KernargError(f"{kernel}: argument {arg.describe()} has no IEEE format of {arg.size} bytes")
    try:
        return struct.pack(layout, value)
    except (OverflowError, struct.error) as error:
        raise KernargError(f"{kernel}: argument {arg.describe()} cannot hold {value!r}: {error}") from error


def _pointer_bytes(kernel: str, arg: KernelArg, value: object) -> bytes:
    address = getattr(value, "gpu_addr", None)
    if address is None and _is_int(value):
        address = value
    if not _is_int(address):
        raise KernargError(
            f"{kernel}: argument {arg.describe()} is a {arg.address_space or 'global'} pointer: "
            f"pass a Buffer (anything with .gpu_addr) or an integer address, not {type(value).__name__}"
        )
    return _int_bytes(kernel, arg, int(address), signed=False)  # type: ignore[arg-type]


def _by_value_bytes(kernel: str, arg: KernelArg, value: object) -> bytes:
    base = _base_type(arg.type_name)
    if isinstance(
        value, np.generic
    ):  # numpy scalars keep their type: their own bytes, of the argument's size
        data = value.tobytes()
        if len(data) != arg.size:
            raise KernargError(
                f"{kernel}: argument {arg.describe()} got numpy.{type(value).__name__} of {len(data)} bytes"
            )
        return data
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if len(data) != arg.size:
            raise KernargError(f"{kernel}: argument {arg.describe()} got {len(data)} raw bytes")
        return data
    if isinstance(value, bool | int):
        if base in FLOAT_TYPE_NAMES:
            return _float_bytes(kernel, arg, float(value))
        signed = True if base in SIGNED_TYPE_NAMES else False if base in UNSIGNED_TYPE_NAMES else None
        return _int_bytes(kernel, arg, int(value), signed)
    if isinstance(value, float):
        if base in SIGNED_TYPE_NAMES or base in UNSIGNED_TYPE_NAMES:
            raise KernargError(
                f"{kernel}: argument {arg.describe()} is an integer; a Python float does not convert to it "
                "(pass an int or a numpy scalar)"
            )
        return _float_bytes(kernel, arg, value)
    raise KernargError(
        f"{kernel}: argument {arg.describe()} is passed by value: give an int, a float, a numpy scalar or "
        f"{arg.size} raw bytes, not {type(value).__name__}"
    )


def encode_argument(kernel: str, arg: KernelArg, value: object) -> bytes:
    """The `arg.size` bytes that pass `value` for one explicit argument."""
    if arg.value_kind == VALUE_KIND_GLOBAL_BUFFER:
        return _pointer_bytes(kernel, arg, value)
    if arg.value_kind == VALUE_KIND_BY_VALUE:
        return _by_value_bytes(kernel, arg, value)
    raise KernargError(
        f"{kernel}: argument {arg.describe()} has value kind {arg.value_kind!r}, which this driver "
        "does not pass"
    )


def pack_kernargs(
    kernel_metadata: KernelMetadata | object, args: Sequence[object], dispatch: Dispatch
) -> bytes:
    """The kernel's whole kernarg segment (.kernarg_segment_size bytes): `args` and the hidden arguments.

    `kernel_metadata` is a KernelMetadata or anything with one as ``.metadata`` (a KernelInfo). Padding and
    hidden arguments the dispatcher does not fill are zero.
    """
    metadata = getattr(kernel_metadata, "metadata", kernel_metadata)
    if not isinstance(metadata, KernelMetadata):
        raise KernargError(
            f"pack_kernargs() needs a KernelMetadata or KernelInfo, not {type(kernel_metadata)}"
        )
    if not isinstance(dispatch, Dispatch):
        raise KernargError(f"pack_kernargs() needs a Dispatch describing the launch, not {dispatch!r}")
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise KernargError(f"{metadata.name}: arguments must be a list or tuple, not {type(args).__name__}")
    explicit = metadata.explicit_args
    if len(args) != len(explicit):
        names = ", ".join(arg.name or f"#{index}" for index, arg in enumerate(explicit)) or "none"
        raise KernargError(
            f"kernel {metadata.name!r} takes {len(explicit)} argument(s) ({names}), got {len(args)}"
        )
    if dispatch.workgroup_size > metadata.max_flat_workgroup_size:
        raise KernargError(
            f"kernel {metadata.name!r}: block {dispatch.block} has {dispatch.workgroup_size} work-items, "
            f"more than its .max_flat_workgroup_size {metadata.max_flat_workgroup_size}"
        )
    segment = bytearray(metadata.kernarg_segment_size)
    for arg, value in zip(explicit, args, strict=True):
        segment[arg.offset : arg.offset + arg.size] = encode_argument(metadata.name, arg, value)
    for arg in metadata.hidden_args:
        value = hidden_argument_value(arg.value_kind, dispatch)
        if value >= 1 << (8 * arg.size):
            raise KernargError(
                f"kernel {metadata.name!r}: {arg.value_kind} = {value} does not fit its {arg.size} bytes"
            )
        segment[arg.offset : arg.offset + arg.size] = value.to_bytes(arg.size, "little")
    return bytes(segment)
