"""Vector ALU semantics (VOP1, VOP2, VOPC, VOP3, VOP3P, VOPD) as numpy functions over (wave, lane) arrays."""

from __future__ import annotations

import numpy as np

from pytest_amdgpu.sim.shader.bitops import (
    bit_field_extract,
    bit_reverse,
    leading_sign_bits,
    leading_zeros,
    lowest_set_bit,
    popcount,
)
from pytest_amdgpu.sim.shader.specs import VALU, ValuSpec, register

U16, U32, U64, I32, I64 = np.uint16, np.uint32, np.uint64, np.int32, np.int64
F16, F32, F64 = np.float16, np.float32, np.float64
M32 = U64(0xFFFF_FFFF)


def f32(x):
    return np.asarray(x, dtype=U32).view(F32)


def f64(x):
    return np.asarray(x, dtype=U64).view(F64)


def i32(x):
    return np.asarray(x, dtype=U32).view(I32)


def i64(x):
    return np.asarray(x, dtype=U64).view(I64)


def b32(x):
    """Bits of a 32-bit result as uint32 (a view when the width already matches, never a needless copy)."""
    x = np.asarray(x)
    if x.dtype.itemsize == 4 and x.dtype.kind in "fiu":
        return x.view(U32)
    return x.astype(U32)


def b64(x):
    x = np.asarray(x)
    if x.dtype.itemsize == 8 and x.dtype.kind in "fiu":
        return x.view(U64)
    return x.astype(U64)


def _u64(x):
    return np.asarray(x).astype(U64)


# --- registration helpers ---------------------------------------------------------------------------------
def _f32_op(names, arity, fn, **flags):
    register(
        VALU, names, ValuSpec(32, (32,) * arity, lambda *s: b32(fn(*map(f32, s))), is_float=True, **flags)
    )


def _f64_op(names, arity, fn, **flags):
    register(
        VALU, names, ValuSpec(64, (64,) * arity, lambda *s: b64(fn(*map(f64, s))), is_float=True, **flags)
    )


def _u32_op(names, arity, fn, **flags):
    register(VALU, names, ValuSpec(32, (32,) * arity, lambda *s: b32(fn(*s)), **flags))


# --- VOP1 ---------------------------------------------------------------------------------------------------
register(VALU, "v_nop", ValuSpec(0, (), lambda: None, kind="nop"))
register(VALU, "v_mov_b32", ValuSpec(32, (32,), lambda a: a))
register(VALU, "v_mov_b64", ValuSpec(64, (64,), lambda a: a))
register(VALU, "v_readfirstlane_b32", ValuSpec(32, (32,), lambda a: a, kind="readfirstlane"))
register(VALU, "v_swap_b32", ValuSpec(32, (32,), lambda a: a, kind="swap"))
_u32_op("v_not_b32", 1, np.invert)
_u32_op("v_bfrev_b32", 1, lambda a: bit_reverse(np.asarray(a, dtype=U32)))
_u32_op(("v_ffbh_u32", "v_clz_i32_u32"), 1, lambda a: leading_zeros(np.asarray(a, dtype=U32)))
_u32_op(("v_ffbl_b32", "v_ctz_i32_b32"), 1, lambda a: lowest_set_bit(np.asarray(a, dtype=U32)))
_u32_op(("v_ffbh_i32", "v_cls_i32"), 1, lambda a: leading_sign_bits(np.asarray(a, dtype=U32)))


def _f32_to_int(a, signed: bool):
    value = f32(a).astype(F64)
    value = np.where(np.isnan(value), 0.0, np.trunc(value))
    if signed:
        return np.clip(value, -(2.0**31), 2.0**31 - 1).astype(I64).astype(I32).view(U32)
    return np.clip(value, 0.0, 2.0**32 - 1).astype(U64).astype(U32)


def _f64_to_int(a, signed: bool):
    value = f64(a)
    value = np.where(np.isnan(value), 0.0, np.trunc(value))
    if signed:
        return np.clip(value, -(2.0**31), 2.0**31 - 1).astype(I64).astype(I32).view(U32)
    return np.clip(value, 0.0, 2.0**32 - 1).astype(U64).astype(U32)


register(VALU, "v_cvt_f32_i32", ValuSpec(32, (32,), lambda a: b32(i32(a).astype(F32)), is_float=True))
register(
    VALU, "v_cvt_f32_u32", ValuSpec(32, (32,), lambda a: b32(np.asarray(a, U32).astype(F32)), is_float=True)
)
register(VALU, "v_cvt_i32_f32", ValuSpec(32, (32,), lambda a: _f32_to_int(a, True), is_float=True))
register(VALU, "v_cvt_u32_f32", ValuSpec(32, (32,), lambda a: _f32_to_int(a, False), is_float=True))
register(VALU, "v_cvt_i32_f64", ValuSpec(32, (64,), lambda a: _f64_to_int(a, True), is_float=True))
register(VALU, "v_cvt_u32_f64", ValuSpec(32, (64,), lambda a: _f64_to_int(a, False), is_float=True))
register(VALU, "v_cvt_f64_i32", ValuSpec(64, (32,), lambda a: b64(i32(a).astype(F64)), is_float=True))
register(
    VALU, "v_cvt_f64_u32", ValuSpec(64, (32,), lambda a: b64(np.asarray(a, U32).astype(F64)), is_float=True)
)
register(VALU, "v_cvt_f64_f32", ValuSpec(64, (32,), lambda a: b64(f32(a).astype(F64)), is_float=True))
register(VALU, "v_cvt_f32_f64", ValuSpec(32, (64,), lambda a: b32(f64(a).astype(F32)), is_float=True))
register(
    VALU,
    "v_cvt_f16_f32",
    ValuSpec(32, (32,), lambda a: f32(a).astype(F16).view(U16).astype(U32), is_float=True),
)
register(
    VALU,
    "v_cvt_f32_f16",
    ValuSpec(32, (32,), lambda a: b32(np.asarray(a, U32).astype(U16).view(F16).astype(F32)), is_float=True),
)
for byte in range(4):
    register(
        VALU,
        f"v_cvt_f32_ubyte{byte}",
        ValuSpec(
            32, (32,), lambda a, n=byte: b32(((np.asarray(a, U32) >> U32(8 * n)) & U32(0xFF)).astype(F32))
        ),
    )
_f32_op("v_cvt_rpi_i32_f32", 1, lambda a: np.floor(a + F32(0.5)))
_f32_op("v_fract_f32", 1, lambda a: a - np.floor(a))
_f32_op("v_trunc_f32", 1, np.trunc)
_f32_op("v_ceil_f32", 1, np.ceil)
_f32_op("v_rndne_f32", 1, np.rint)
_f32_op("v_floor_f32", 1, np.floor)
_f32_op("v_exp_f32", 1, np.exp2)
_f32_op("v_log_f32", 1, np.log2)
_f32_op(("v_rcp_f32", "v_rcp_iflag_f32"), 1, lambda a: F32(1.0) / a)
_f32_op("v_rsq_f32", 1, lambda a: F32(1.0) / np.sqrt(a))
_f32_op("v_sqrt_f32", 1, np.sqrt)
_f32_op("v_sin_f32", 1, lambda a: np.sin(a.astype(F64) * (2.0 * np.pi)).astype(F32))
_f32_op("v_cos_f32", 1, lambda a: np.cos(a.astype(F64) * (2.0 * np.pi)).astype(F32))
register(VALU, "v_cvt_flr_i32_f32", ValuSpec(32, (32,), lambda a: _f32_to_int(b32(np.floor(f32(a))), True)))
_f64_op("v_rcp_f64", 1, lambda a: 1.0 / a)
_f64_op("v_rsq_f64", 1, lambda a: 1.0 / np.sqrt(a))
_f64_op("v_sqrt_f64", 1, np.sqrt)
_f64_op("v_trunc_f64", 1, np.trunc)
_f64_op("v_ceil_f64", 1, np.ceil)
_f64_op("v_rndne_f64", 1, np.rint)
_f64_op("v_floor_f64", 1, np.floor)
_f64_op("v_fract_f64", 1, lambda a: a - np.floor(a))


# --- VOP2 ---------------------------------------------------------------------------------------------------
def _cndmask(a, b, mask):
    return np.where(mask, b, a)


register(VALU, "v_cndmask_b32", ValuSpec(32, (32, 32), _cndmask, mask_in=True))
_f32_op("v_add_f32", 2, np.add)
_f32_op("v_sub_f32", 2, np.subtract)
_f32_op("v_subrev_f32", 2, lambda a, b: b - a)
_f32_op("v_mul_f32", 2, np.multiply)
_f32_op(("v_min_f32", "v_min_num_f32"), 2, np.fmin)
_f32_op(("v_max_f32", "v_max_num_f32"), 2, np.fmax)


def _mul_legacy(a, b):
    """0 * anything (even inf or NaN) is 0 (DX9 rules)."""
    return np.where((a == 0) | (b == 0), F32(0.0), a * b)


_f32_op(("v_mul_legacy_f32", "v_mul_dx9_zero_f32"), 2, _mul_legacy)
register(
    VALU,
    "v_ldexp_f32",
    ValuSpec(
        32, (32, 32), lambda a, b: b32(np.ldexp(f32(a), np.clip(i32(b), -1000, 1000)).astype(F32)), True
    ),
)


def _u24(x):
    return np.asarray(x, U32) & U32(0xFFFFFF)


def _i24(x):
    return ((np.asarray(x, U32) << U32(8)).view(I32) >> 8).astype(I64)


_u32_op("v_mul_u32_u24", 2, lambda a, b: (_u24(a).astype(U64) * _u24(b).astype(U64)).astype(U32))
_u32_op(
    "v_mul_hi_u32_u24", 2, lambda a, b: ((_u24(a).astype(U64) * _u24(b).astype(U64)) >> U64(32)).astype(U32)
)
_u32_op("v_mul_i32_i24", 2, lambda a, b: (_i24(a) * _i24(b)).astype(U32))
_u32_op("v_mul_hi_i32_i24", 2, lambda a, b: ((_i24(a) * _i24(b)) >> 32).astype(U32))
_u32_op("v_mad_u32_u24", 3, lambda a, b, c: (_u24(a).astype(U64) * _u24(b).astype(U64) + _u64(c)).astype(U32))
_u32_op("v_mad_i32_i24", 3, lambda a, b, c: (_i24(a) * _i24(b) + i32(c).astype(I64)).astype(U32))
_u32_op("v_min_i32", 2, lambda a, b: np.minimum(i32(a), i32(b)))
_u32_op("v_max_i32", 2, lambda a, b: np.maximum(i32(a), i32(b)))
_u32_op("v_min_u32", 2, np.minimum)
_u32_op("v_max_u32", 2, np.maximum)
_u32_op("v_lshrrev_b32", 2, lambda a, b: np.asarray(b, U32) >> (np.asarray(a, U32) & U32(31)))
_u32_op("v_ashrrev_i32", 2, lambda a, b: i32(b) >> (i32(a) & 31))
_u32_op("v_lshlrev_b32", 2, lambda a, b: np.asarray(b, U32) << (np.asarray(a, U32) & U32(31)))
_u32_op("v_and_b32", 2, np.bitwise_and)
_u32_op("v_or_b32", 2, np.bitwise_or)
_u32_op("v_xor_b32", 2, np.bitwise_xor)
_u32_op("v_xnor_b32", 2, lambda a, b: ~(a ^ b))
_u32_op("v_bfm_b32", 2, lambda a, b: (((U32(1) << (a & U32(31))) - U32(1)) << (b & U32(31))).astype(U32))
_u32_op("v_bcnt_u32_b32", 2, lambda a, b: popcount(np.asarray(a, U32)) + np.asarray(b, U32))
register(VALU, "v_mbcnt_lo_u32_b32", ValuSpec(32, (32, 32), lambda a, b: (a, b), kind="mbcnt_lo"))
register(VALU, "v_mbcnt_hi_u32_b32", ValuSpec(32, (32, 32), lambda a, b: (a, b), kind="mbcnt_hi"))

_f32_op(("v_mac_f32", "v_fmac_f32"), 3, lambda a, b, c: a * b + c, accumulate=True)
_f32_op(("v_madmk_f32", "v_fmamk_f32"), 3, lambda a, k, b: a * k + b, constant_k="mk")
_f32_op(("v_madak_f32", "v_fmaak_f32"), 3, lambda a, b, k: a * b + k, constant_k="ak")


def _fma32(a, b, c):
    """Fused multiply-add: the f64 product of two f32 is exact, then one rounding to f32 (double rounding
    can make the last bit differ in rare cases)."""
    return (a.astype(F64) * b.astype(F64) + c.astype(F64)).astype(F32)


_f32_op(("v_fma_f32", "v_fma_dx9_zero_f32"), 3, _fma32)
_f32_op("v_mad_f32", 3, lambda a, b, c: a * b + c)
_f32_op("v_mad_legacy_f32", 3, lambda a, b, c: _mul_legacy(a, b) + c)
VALU["v_fmac_f32"] = ValuSpec(
    32, (32, 32, 32), lambda a, b, c: b32(_fma32(f32(a), f32(b), f32(c))), True, accumulate=True
)
VALU["v_fmamk_f32"] = ValuSpec(
    32, (32, 32, 32), lambda a, k, b: b32(_fma32(f32(a), f32(k), f32(b))), True, constant_k="mk"
)
VALU["v_fmaak_f32"] = ValuSpec(
    32, (32, 32, 32), lambda a, b, k: b32(_fma32(f32(a), f32(b), f32(k))), True, constant_k="ak"
)


# integer add/sub without carry (VOP3 clamp saturates)
register(
    VALU, ("v_add_u32", "v_add_nc_u32"), ValuSpec(32, (32, 32), lambda a, b: b32(a + b), int_clamp="u_add")
)
register(
    VALU, ("v_sub_u32", "v_sub_nc_u32"), ValuSpec(32, (32, 32), lambda a, b: b32(a - b), int_clamp="u_sub")
)
register(
    VALU,
    ("v_subrev_u32", "v_subrev_nc_u32"),
    ValuSpec(32, (32, 32), lambda a, b: b32(b - a), int_clamp="u_subrev"),
)
register(VALU, "v_add_nc_i32", ValuSpec(32, (32, 32), lambda a, b: b32(a + b), int_clamp="i_add"))
register(VALU, "v_sub_nc_i32", ValuSpec(32, (32, 32), lambda a, b: b32(a - b), int_clamp="i_sub"))


def _add_carry(a, b, carry_in=None):
    total = _u64(a) + _u64(b)
    if carry_in is not None:
        total = total + carry_in.astype(U64)
    return (total & M32).astype(U32), total > M32


def _sub_borrow(a, b, borrow_in=None):
    subtrahend = _u64(b)
    if borrow_in is not None:
        subtrahend = subtrahend + borrow_in.astype(U64)
    return (_u64(a) - subtrahend).astype(U32), subtrahend > _u64(a)


register(VALU, "v_add_co_u32", ValuSpec(32, (32, 32), _add_carry, carry_out=True, int_clamp="u_add"))
register(VALU, "v_sub_co_u32", ValuSpec(32, (32, 32), _sub_borrow, carry_out=True, int_clamp="u_sub"))
register(
    VALU,
    "v_subrev_co_u32",
    ValuSpec(32, (32, 32), lambda a, b: _sub_borrow(b, a), carry_out=True, int_clamp="u_subrev"),
)
register(
    VALU,
    ("v_addc_co_u32", "v_add_co_ci_u32"),
    ValuSpec(32, (32, 32), _add_carry, mask_in=True, carry_out=True),
)
register(
    VALU,
    ("v_subb_co_u32", "v_sub_co_ci_u32"),
    ValuSpec(32, (32, 32), _sub_borrow, mask_in=True, carry_out=True),
)
register(
    VALU,
    ("v_subbrev_co_u32", "v_subrev_co_ci_u32"),
    ValuSpec(32, (32, 32), lambda a, b, m: _sub_borrow(b, a, m), mask_in=True, carry_out=True),
)


# --- VOP3-only ---------------------------------------------------------------------------------------------
def _u32s(*values):
    return (np.asarray(v, U32) for v in values)


def _bfe_op(signed: bool):
    return lambda a, b, c: bit_field_extract(
        a, np.asarray(b, U32) & U32(31), np.asarray(c, U32) & U32(31), 32, signed
    )


_u32_op("v_bfe_u32", 3, _bfe_op(False))
_u32_op("v_bfe_i32", 3, _bfe_op(True))
_u32_op("v_bfi_b32", 3, lambda a, b, c: (a & b) | (~a & c))
_u32_op(
    "v_alignbit_b32", 3, lambda a, b, c: ((_u64(a) << U64(32) | _u64(b)) >> (_u64(c) & U64(31))).astype(U32)
)
_u32_op(
    "v_alignbyte_b32",
    3,
    lambda a, b, c: ((_u64(a) << U64(32) | _u64(b)) >> ((_u64(c) & U64(3)) * U64(8))).astype(U32),
)
_f32_op("v_min3_f32", 3, lambda a, b, c: np.fmin(np.fmin(a, b), c))
_f32_op("v_max3_f32", 3, lambda a, b, c: np.fmax(np.fmax(a, b), c))
_u32_op("v_min3_i32", 3, lambda a, b, c: np.minimum(np.minimum(i32(a), i32(b)), i32(c)))
_u32_op("v_max3_i32", 3, lambda a, b, c: np.maximum(np.maximum(i32(a), i32(b)), i32(c)))
_u32_op("v_min3_u32", 3, lambda a, b, c: np.minimum(np.minimum(a, b), c))
_u32_op("v_max3_u32", 3, lambda a, b, c: np.maximum(np.maximum(a, b), c))


def _median(a, b, c):
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


_u32_op("v_med3_i32", 3, lambda a, b, c: _median(i32(a), i32(b), i32(c)))
_u32_op("v_med3_u32", 3, lambda a, b, c: _median(*_u32s(a, b, c)))
_f32_op("v_med3_f32", 3, lambda a, b, c: np.fmax(np.fmin(a, b), np.fmin(np.fmax(a, b), c)))
_u32_op(
    "v_sad_u32", 3, lambda a, b, c: (np.abs(_u64(a).astype(I64) - _u64(b).astype(I64)) + _u64(c)).astype(U32)
)
_u32_op("v_lshl_add_u32", 3, lambda a, b, c: (np.asarray(a, U32) << (np.asarray(b, U32) & U32(31))) + c)
_u32_op("v_add_lshl_u32", 3, lambda a, b, c: (np.asarray(a, U32) + b) << (np.asarray(c, U32) & U32(31)))
_u32_op(("v_add3_u32",), 3, lambda a, b, c: np.asarray(a, U32) + b + c)
_u32_op("v_lshl_or_b32", 3, lambda a, b, c: (np.asarray(a, U32) << (np.asarray(b, U32) & U32(31))) | c)
_u32_op("v_and_or_b32", 3, lambda a, b, c: (np.asarray(a, U32) & b) | c)
_u32_op("v_or3_b32", 3, lambda a, b, c: np.asarray(a, U32) | b | c)
_u32_op("v_xor3_b32", 3, lambda a, b, c: np.asarray(a, U32) ^ b ^ c)
_u32_op("v_xad_u32", 3, lambda a, b, c: (np.asarray(a, U32) ^ b) + c)
_u32_op("v_mul_lo_u32", 2, lambda a, b: (_u64(a) * _u64(b)).astype(U32))
_u32_op("v_mul_hi_u32", 2, lambda a, b: ((_u64(a) * _u64(b)) >> U64(32)).astype(U32))
_u32_op("v_mul_lo_i32", 2, lambda a, b: (i32(a).astype(I64) * i32(b).astype(I64)).astype(U32))
_u32_op("v_mul_hi_i32", 2, lambda a, b: ((i32(a).astype(I64) * i32(b).astype(I64)) >> 32).astype(U32))


def _perm(a, b, sel):
    """Byte permute: selector 0-3 picks a byte of b, 4-7 of a; 8-11 sign bits; 12 gives 0, 13+ 0xFF."""
    source = (_u64(a) << U64(32)) | _u64(b)
    result = np.zeros(np.broadcast(a, b, sel).shape, dtype=U32)
    for lane_byte in range(4):
        selector = (np.asarray(sel, U32) >> U32(8 * lane_byte)) & U32(0xFF)
        picked = ((source >> (selector.astype(U64) % U64(8)) * U64(8)) & U64(0xFF)).astype(U32)
        sign_source = np.array([1, 3, 5, 7], dtype=U64)[np.minimum(selector, 11) % 4]
        sign = (((source >> (sign_source * U64(8) + U64(7))) & U64(1)) * U64(0xFF)).astype(U32)
        byte = np.where(
            selector < 8, picked, np.where(selector < 12, sign, np.where(selector == 12, 0, 0xFF))
        )
        result |= byte.astype(U32) << U32(8 * lane_byte)
    return result


_u32_op("v_perm_b32", 3, _perm)


def _mad_u64_u32(a, b, c):
    product = _u64(a) * _u64(b)
    total = product + c
    return total, total < product


def _mad_i64_i32(a, b, c):
    product = i32(a).astype(I64) * i32(b).astype(I64)
    total = product + i64(c)
    overflow = ((product ^ total) & (i64(c) ^ total)) < 0
    return total.view(U64), overflow


register(VALU, "v_mad_u64_u32", ValuSpec(64, (32, 32, 64), _mad_u64_u32, carry_out=True))
register(VALU, "v_mad_i64_i32", ValuSpec(64, (32, 32, 64), _mad_i64_i32, carry_out=True))
register(VALU, "v_lshlrev_b64", ValuSpec(64, (32, 64), lambda a, b: _u64(b) << (_u64(a) & U64(63))))
register(VALU, "v_lshrrev_b64", ValuSpec(64, (32, 64), lambda a, b: _u64(b) >> (_u64(a) & U64(63))))
register(
    VALU,
    "v_ashrrev_i64",
    ValuSpec(64, (32, 64), lambda a, b: (i64(b) >> (_u64(a) & U64(63)).astype(I64)).view(U64)),
)
register(
    VALU,
    "v_lshl_add_u64",
    ValuSpec(64, (64, 32, 64), lambda a, b, c: (_u64(a) << (_u64(b) & U64(7))) + _u64(c)),
)
_f64_op("v_add_f64", 2, np.add)
_f64_op("v_mul_f64", 2, np.multiply)
_f64_op(("v_min_f64", "v_min_num_f64"), 2, np.fmin)
_f64_op(("v_max_f64", "v_max_num_f64"), 2, np.fmax)
_f64_op("v_fma_f64", 3, lambda a, b, c: a * b + c)
register(
    VALU,
    "v_ldexp_f64",
    ValuSpec(64, (64, 32), lambda a, b: b64(np.ldexp(f64(a), np.clip(i32(b), -3000, 3000))), is_float=True),
)
register(VALU, "v_readlane_b32", ValuSpec(32, (32, 32), lambda a, b: (a, b), kind="readlane"))
register(VALU, "v_writelane_b32", ValuSpec(32, (32, 32), lambda a, b: (a, b), kind="writelane"))
register(
    VALU,
    ("v_cvt_pkrtz_f16_f32", "v_cvt_pk_rtz_f16_f32"),
    ValuSpec(
        32,
        (32, 32),
        lambda a, b: (
            f32(a).astype(F16).view(U16).astype(U32) | (f32(b).astype(F16).view(U16).astype(U32) << U32(16))
        ),
        is_float=True,
    ),
)
register(
    VALU,
    "v_pack_b32_f16",
    ValuSpec(32, (32, 32), lambda a, b: (np.asarray(a, U32) & U32(0xFFFF)) | (np.asarray(b, U32) << U32(16))),
)

# --- VOP3P (packed) ----------------------------------------------------------------------------------------
register(VALU, "v_pk_mov_b32", ValuSpec(64, (64, 64), lambda a, b: (a & M32) | (b & ~M32), kind="pk_mov"))
for name, fn in (("add", np.add), ("mul", np.multiply)):
    register(
        VALU,
        f"v_pk_{name}_f32",
        ValuSpec(64, (64, 64), lambda a, b, f=fn: b32(f(f32(a), f32(b))), is_float=True, kind="pk_f32"),
    )
register(
    VALU,
    "v_pk_fma_f32",
    ValuSpec(
        64, (64, 64, 64), lambda a, b, c: b32(_fma32(f32(a), f32(b), f32(c))), is_float=True, kind="pk_f32"
    ),
)


# --- VOPC --------------------------------------------------------------------------------------------------
def _float_compares():
    ordered = lambda a, b: ~(np.isnan(a) | np.isnan(b))  # noqa: E731
    return {
        "f": lambda a, b: np.zeros(np.broadcast(a, b).shape, np.bool_),
        "lt": np.less,
        "eq": np.equal,
        "le": np.less_equal,
        "gt": np.greater,
        "lg": lambda a, b: ordered(a, b) & (a != b),
        "ge": np.greater_equal,
        "o": ordered,
        "u": lambda a, b: ~ordered(a, b),
        "nge": lambda a, b: ~(a >= b),
        "nlg": lambda a, b: ~(ordered(a, b) & (a != b)),
        "ngt": lambda a, b: ~(a > b),
        "nle": lambda a, b: ~(a <= b),
        "neq": lambda a, b: ~(a == b),
        "nlt": lambda a, b: ~(a < b),
        "tru": lambda a, b: np.ones(np.broadcast(a, b).shape, np.bool_),
    }


_INT_COMPARES = {
    "f": lambda a, b: np.zeros(np.broadcast(a, b).shape, np.bool_),
    "lt": np.less,
    "eq": np.equal,
    "le": np.less_equal,
    "gt": np.greater,
    "ne": np.not_equal,
    "lg": np.not_equal,
    "ge": np.greater_equal,
    "t": lambda a, b: np.ones(np.broadcast(a, b).shape, np.bool_),
}
_VIEWS = {  # compare type -> (operand bits, view of the raw bits); 16-bit types use the low half
    "f32": (32, f32),
    "f64": (64, f64),
    "i32": (32, i32),
    "u32": (32, np.asarray),
    "i64": (64, i64),
    "u64": (64, np.asarray),
    "f16": (16, lambda x: np.asarray(x, U32).astype(U16).view(F16)),
    "i16": (16, lambda x: np.asarray(x, U32).astype(U16).view(np.int16)),
    "u16": (16, lambda x: np.asarray(x, U32).astype(U16)),
}


def _compare(fn, view):
    return lambda a, b: fn(view(a), view(b))


for type_name, (bits, view) in _VIEWS.items():
    table = _float_compares() if type_name.startswith("f") else _INT_COMPARES
    for cond, fn in table.items():
        for prefix, cmpx in (("v_cmp", False), ("v_cmpx", True)):
            register(
                VALU,
                f"{prefix}_{cond}_{type_name}",
                ValuSpec(
                    0,
                    (bits, bits),
                    _compare(fn, view),
                    is_float=type_name.startswith("f"),
                    compare=True,
                    cmpx=cmpx,
                ),
            )


def _class(values, mask):
    """v_cmp_class mask bits: 0 sNaN, 1 qNaN, 2 -inf, 3 -normal, 4 -denorm, 5 -0, 6 +0, 7 +denorm,
    8 +normal, 9 +inf."""
    mask = np.asarray(mask, U32)
    finfo = np.finfo(values.dtype)
    negative = np.signbit(values)
    magnitude = np.abs(values)
    bits_view = values.view(U64 if values.dtype == F64 else U32)
    quiet_bit = (U64(1) << U64(51)) if values.dtype == F64 else (U32(1) << U32(22))
    nan = np.isnan(values)
    classes = [
        nan & ((bits_view & quiet_bit) == 0),
        nan & ((bits_view & quiet_bit) != 0),
        np.isinf(values) & negative,
        negative & (magnitude >= finfo.smallest_normal) & np.isfinite(values),
        negative & (magnitude > 0) & (magnitude < finfo.smallest_normal),
        negative & (magnitude == 0),
        ~negative & (magnitude == 0),
        ~negative & (magnitude > 0) & (magnitude < finfo.smallest_normal),
        ~negative & (magnitude >= finfo.smallest_normal) & np.isfinite(values),
        np.isinf(values) & ~negative,
    ]
    result = np.zeros(np.broadcast(values, mask).shape, dtype=np.bool_)
    for bit, member in enumerate(classes):
        result |= member & (((mask >> U32(bit)) & U32(1)) != 0)
    return result


for prefix, cmpx in (("v_cmp", False), ("v_cmpx", True)):
    register(
        VALU,
        f"{prefix}_class_f32",
        ValuSpec(0, (32, 32), lambda a, m: _class(f32(a), m), True, compare=True, cmpx=cmpx),
    )
    register(
        VALU,
        f"{prefix}_class_f64",
        ValuSpec(0, (64, 32), lambda a, m: _class(f64(a), m), True, compare=True, cmpx=cmpx),
    )

# --- VOPD halves (gfx11+): same semantics as their VOP2 namesakes ------------------------------------------
_VOPD_NAMES = {
    "v_dual_fmac_f32": "v_fmac_f32",
    "v_dual_fmaak_f32": "v_fmaak_f32",
    "v_dual_fmamk_f32": "v_fmamk_f32",
    "v_dual_mul_f32": "v_mul_f32",
    "v_dual_add_f32": "v_add_f32",
    "v_dual_sub_f32": "v_sub_f32",
    "v_dual_subrev_f32": "v_subrev_f32",
    "v_dual_mul_dx9_zero_f32": "v_mul_dx9_zero_f32",
    "v_dual_mov_b32": "v_mov_b32",
    "v_dual_cndmask_b32": "v_cndmask_b32",
    "v_dual_max_f32": "v_max_f32",
    "v_dual_min_f32": "v_min_f32",
    "v_dual_max_num_f32": "v_max_num_f32",
    "v_dual_min_num_f32": "v_min_num_f32",
    "v_dual_add_nc_u32": "v_add_nc_u32",
    "v_dual_lshlrev_b32": "v_lshlrev_b32",
    "v_dual_and_b32": "v_and_b32",
}
for dual, single in _VOPD_NAMES.items():
    VALU[dual] = VALU[single]
