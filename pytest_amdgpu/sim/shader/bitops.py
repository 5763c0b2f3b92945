"""Bit-manipulation helpers over numpy integer arrays (popcount, bit reverse, leading zeros, bit fields)."""

from __future__ import annotations

import numpy as np

U32, U64, I32, I64 = np.uint32, np.uint64, np.int32, np.int64
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_REVERSE8 = np.array([int(f"{i:08b}"[::-1], 2) for i in range(256)], dtype=np.uint8)


def uint_type(width: int) -> type:
    return U64 if width == 64 else U32


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per element, as uint32."""
    x = np.asarray(x)
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, x.dtype.itemsize)
    return _POPCOUNT8[as_bytes].sum(axis=-1, dtype=U32)


def bit_reverse(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, x.dtype.itemsize)
    return np.ascontiguousarray(_REVERSE8[as_bytes][..., ::-1]).view(x.dtype).reshape(x.shape)


def lowest_set_bit(x: np.ndarray) -> np.ndarray:
    """Index of the lowest set bit, 0xFFFFFFFF where x == 0."""
    dtype = x.dtype.type
    lowest = x & (~x + dtype(1))
    return np.where(x == 0, U32(0xFFFF_FFFF), popcount(lowest - dtype(1)))


def leading_zeros(x: np.ndarray) -> np.ndarray:
    """Zero bits above the highest set bit, 0xFFFFFFFF where x == 0."""
    dtype = x.dtype.type
    width = x.dtype.itemsize * 8
    smeared = x.copy()
    for shift in (1, 2, 4, 8, 16, 32):
        if shift < width:
            smeared |= smeared >> dtype(shift)
    return np.where(x == 0, U32(0xFFFF_FFFF), U32(width) - popcount(smeared))


def leading_sign_bits(x: np.ndarray) -> np.ndarray:
    """Bits after the sign bit equal to it... counted from the MSB; 0xFFFFFFFF where x is 0 or -1."""
    width = x.dtype.itemsize * 8
    negative = (x >> x.dtype.type(width - 1)) != 0
    return leading_zeros(np.where(negative, ~x, x))


def field_mask(size: np.ndarray, width: int) -> np.ndarray:
    """(1 << size) - 1 for sizes 0..width, in the width's unsigned type."""
    dtype = uint_type(width)
    size = np.asarray(size).astype(dtype)
    partial = (dtype(1) << (size % dtype(width))) - dtype(1)
    return np.where(size >= width, dtype(~dtype(0)), partial)


def bit_field_extract(value: np.ndarray, offset: np.ndarray, size: np.ndarray, width: int, signed: bool):
    """Bits [offset, offset+size) of value, zero- or sign-extended; sizes clamp to the width, 0 gives 0."""
    dtype = uint_type(width)
    offset = np.asarray(offset).astype(dtype) % dtype(width)
    size = np.minimum(np.asarray(size).astype(dtype), dtype(width))
    result = (np.asarray(value).astype(dtype) >> offset) & field_mask(size, width)
    if signed:
        shift = (dtype(width) - size) % dtype(width)
        signed_type = I64 if width == 64 else I32
        extended = (result << shift).view(signed_type) >> shift.astype(signed_type)
        result = np.where(size == 0, dtype(0), extended.view(dtype))
    return result
