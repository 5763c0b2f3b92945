"""Scalar ALU semantics (SOP1, SOP2, SOPK, SOPC) as numpy functions over one value per wave."""

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
from pytest_amdgpu.sim.shader.specs import SALU, SaluSpec, register

U32, U64, I32, I64 = np.uint32, np.uint64, np.int32, np.int64
M32 = np.uint64(0xFFFF_FFFF)


def _u64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(U64)


def _nonzero(x: np.ndarray) -> np.ndarray:
    return np.asarray(x) != 0


def _bits(width: int) -> type:
    return U64 if width == 64 else U32


def _shift_mask(width: int) -> int:
    return 63 if width == 64 else 31


# --- arithmetic --------------------------------------------------------------------------------------------
def _add_u32(a, b):
    total = _u64(a) + _u64(b)
    return (total & M32).astype(U32), total > M32


def _sub_u32(a, b):
    return (a - b).astype(U32), b > a


def _add_i32(a, b):
    result = (a + b).astype(U32)
    overflow = ((~(a ^ b)) & (a ^ result)) >> U32(31)
    return result, overflow.astype(np.bool_)


def _sub_i32(a, b):
    result = (a - b).astype(U32)
    overflow = ((a ^ b) & (a ^ result)) >> U32(31)
    return result, overflow.astype(np.bool_)


def _addc_u32(a, b, scc):
    total = _u64(a) + _u64(b) + scc.astype(U64)
    return (total & M32).astype(U32), total > M32


def _subb_u32(a, b, scc):
    borrow = _u64(b) + scc.astype(U64)
    return (_u64(a) - borrow).astype(U32), borrow > _u64(a)


def _as_signed(x: np.ndarray) -> np.ndarray:
    return x.view(I64) if x.dtype == U64 else x.view(I32)


def _min_max(pick_first_if, signed: bool):
    def op(a, b):
        x, y = (_as_signed(a), _as_signed(b)) if signed else (a, b)
        take_a = pick_first_if(x, y)
        return np.where(take_a, a, b), take_a

    return op


def _logic(fn):
    def op(a, b):
        result = fn(a, b)
        return result, _nonzero(result)

    return op


def _shift(kind: str, width: int):
    mask = _shift_mask(width)

    def op(a, b):
        amount = (b & U32(mask)).astype(_bits(width))
        if kind == "lshl":
            result = a << amount
        elif kind == "lshr":
            result = a >> amount
        else:
            result = (_as_signed(a) >> amount.astype(I64 if width == 64 else I32)).view(_bits(width))
        return result, _nonzero(result)

    return op


def _bfm(width: int):
    mask = _shift_mask(width)
    one = _bits(width)(1)

    def op(a, b):
        size = (a & U32(mask)).astype(_bits(width))
        offset = (b & U32(mask)).astype(_bits(width))
        return ((one << size) - one) << offset, None

    return op


def _bfe(width: int, signed: bool):
    def op(a, b):
        offset = b & U32(_shift_mask(width))
        size = (b >> U32(16)) & U32(0x7F)
        result = bit_field_extract(a, offset, size, width, signed)
        return result, _nonzero(result)

    return op


def _mul_i32(a, b):
    return (a * b).astype(U32), None


def _mul_hi_u32(a, b):
    return ((_u64(a) * _u64(b)) >> U64(32)).astype(U32), None


def _mul_hi_i32(a, b):
    product = a.view(I32).astype(I64) * b.view(I32).astype(I64)
    return (product >> 32).astype(U32), None


def _absdiff(a, b):
    diff = np.abs(a.view(I32).astype(I64) - b.view(I32).astype(I64))
    result = (diff & 0xFFFF_FFFF).astype(U32)
    return result, _nonzero(result)


def _lshl_add(n: int):
    def op(a, b):
        total = (_u64(a) << U64(n)) + _u64(b)
        return (total & M32).astype(U32), total > M32

    return op


def _pack(first_high: bool, second_high: bool):
    def op(a, b):
        low = (a >> U32(16)) if first_high else (a & U32(0xFFFF))
        high = (b >> U32(16)) if second_high else (b & U32(0xFFFF))
        return (low & U32(0xFFFF)) | (high << U32(16)), None

    return op


def _cselect(a, b, scc):
    return np.where(scc, a, b), None


for width, suffix in ((32, "b32"), (64, "b64")):
    srcs = (width, width)
    register(SALU, f"s_cselect_{suffix}", SaluSpec(width, srcs, _cselect, reads_scc=True))
    for names, fn in (
        (("and",), np.bitwise_and),
        (("or",), np.bitwise_or),
        (("xor",), np.bitwise_xor),
        (("andn2", "and_not1"), lambda a, b: a & ~b),
        (("orn2", "or_not1"), lambda a, b: a | ~b),
        (("nand",), lambda a, b: ~(a & b)),
        (("nor",), lambda a, b: ~(a | b)),
        (("xnor",), lambda a, b: ~(a ^ b)),
    ):
        register(
            SALU, [f"s_{name}_{suffix}" for name in names], SaluSpec(width, srcs, _logic(fn), bitwise=True)
        )
    for kind in ("lshl", "lshr"):
        register(SALU, f"s_{kind}_{suffix}", SaluSpec(width, (width, 32), _shift(kind, width)))
    register(SALU, f"s_ashr_i{width}", SaluSpec(width, (width, 32), _shift("ashr", width)))
    register(SALU, f"s_bfm_{suffix}", SaluSpec(width, (32, 32), _bfm(width)))
    register(SALU, f"s_bfe_u{width}", SaluSpec(width, (width, 32), _bfe(width, False)))
    register(SALU, f"s_bfe_i{width}", SaluSpec(width, (width, 32), _bfe(width, True)))

register(SALU, ("s_add_u32", "s_add_co_u32"), SaluSpec(32, (32, 32), _add_u32))
register(SALU, ("s_sub_u32", "s_sub_co_u32"), SaluSpec(32, (32, 32), _sub_u32))
register(SALU, ("s_add_i32", "s_add_co_i32"), SaluSpec(32, (32, 32), _add_i32))
register(SALU, ("s_sub_i32", "s_sub_co_i32"), SaluSpec(32, (32, 32), _sub_i32))
register(SALU, ("s_addc_u32", "s_add_co_ci_u32"), SaluSpec(32, (32, 32), _addc_u32, reads_scc=True))
register(SALU, ("s_subb_u32", "s_sub_co_ci_u32"), SaluSpec(32, (32, 32), _subb_u32, reads_scc=True))
register(SALU, "s_min_i32", SaluSpec(32, (32, 32), _min_max(np.less, True)))
register(SALU, "s_min_u32", SaluSpec(32, (32, 32), _min_max(np.less, False)))
register(SALU, "s_max_i32", SaluSpec(32, (32, 32), _min_max(np.greater, True)))
register(SALU, "s_max_u32", SaluSpec(32, (32, 32), _min_max(np.greater, False)))
register(SALU, "s_mul_i32", SaluSpec(32, (32, 32), _mul_i32))
register(SALU, "s_mul_hi_u32", SaluSpec(32, (32, 32), _mul_hi_u32))
register(SALU, "s_mul_hi_i32", SaluSpec(32, (32, 32), _mul_hi_i32))
register(SALU, "s_absdiff_i32", SaluSpec(32, (32, 32), _absdiff))
for n in range(1, 5):
    register(SALU, f"s_lshl{n}_add_u32", SaluSpec(32, (32, 32), _lshl_add(n)))
register(SALU, "s_pack_ll_b32_b16", SaluSpec(32, (32, 32), _pack(False, False)))
register(SALU, "s_pack_lh_b32_b16", SaluSpec(32, (32, 32), _pack(False, True)))
register(SALU, "s_pack_hh_b32_b16", SaluSpec(32, (32, 32), _pack(True, True)))
register(SALU, "s_pack_hl_b32_b16", SaluSpec(32, (32, 32), _pack(True, False)))
register(SALU, "s_add_nc_u64", SaluSpec(64, (64, 64), lambda a, b: (a + b, None)))
register(SALU, "s_sub_nc_u64", SaluSpec(64, (64, 64), lambda a, b: (a - b, None)))
register(SALU, "s_mul_u64", SaluSpec(64, (64, 64), lambda a, b: (a * b, None)))


# --- SOP1 --------------------------------------------------------------------------------------------------
def _wqm(x: np.ndarray, width: int) -> np.ndarray:
    dtype = _bits(width)
    result = np.zeros_like(x)
    for quad in range(width // 4):
        nibble = (x >> dtype(4 * quad)) & dtype(0xF)
        result = result | np.where(nibble != 0, dtype(0xF) << dtype(4 * quad), dtype(0))
    return result


def _sop1_with_scc(fn):
    def op(a):
        result = fn(a)
        return result, _nonzero(result)

    return op


for width, suffix in ((32, "b32"), (64, "b64")):
    register(SALU, f"s_mov_{suffix}", SaluSpec(width, (width,), lambda a: (a, None), bitwise=True))
    register(
        SALU,
        f"s_cmov_{suffix}",
        SaluSpec(
            width, (width,), lambda d, a, scc: (np.where(scc, a, d), None), reads_scc=True, dst_is_source=True
        ),
    )
    register(SALU, f"s_not_{suffix}", SaluSpec(width, (width,), _sop1_with_scc(np.invert), bitwise=True))
    register(
        SALU, f"s_wqm_{suffix}", SaluSpec(width, (width,), _sop1_with_scc(lambda a, w=width: _wqm(a, w)))
    )
    register(SALU, f"s_brev_{suffix}", SaluSpec(width, (width,), lambda a: (bit_reverse(a), None)))
    register(
        SALU,
        f"s_bcnt1_i32_{suffix}",
        SaluSpec(32, (width,), _sop1_with_scc(popcount)),
    )
    register(
        SALU,
        f"s_bcnt0_i32_{suffix}",
        SaluSpec(32, (width,), _sop1_with_scc(lambda a, w=width: U32(w) - popcount(a))),
    )
    register(
        SALU,
        (f"s_ff1_i32_{suffix}", f"s_ctz_i32_{suffix}"),
        SaluSpec(32, (width,), lambda a: (lowest_set_bit(a), None)),
    )
    register(
        SALU,
        f"s_ff0_i32_{suffix}",
        SaluSpec(32, (width,), lambda a: (lowest_set_bit(~a), None)),
    )
register(SALU, ("s_flbit_i32_b32", "s_clz_i32_u32"), SaluSpec(32, (32,), lambda a: (leading_zeros(a), None)))
register(SALU, ("s_flbit_i32_b64", "s_clz_i32_u64"), SaluSpec(32, (64,), lambda a: (leading_zeros(a), None)))
register(SALU, ("s_flbit_i32", "s_cls_i32"), SaluSpec(32, (32,), lambda a: (leading_sign_bits(a), None)))
register(
    SALU, ("s_flbit_i32_i64", "s_cls_i32_i64"), SaluSpec(32, (64,), lambda a: (leading_sign_bits(a), None))
)
register(
    SALU, "s_sext_i32_i8", SaluSpec(32, (32,), lambda a: (a.astype(np.int8).astype(I32).view(U32), None))
)
register(
    SALU, "s_sext_i32_i16", SaluSpec(32, (32,), lambda a: (a.astype(np.int16).astype(I32).view(U32), None))
)
register(
    SALU,
    "s_abs_i32",
    SaluSpec(32, (32,), _sop1_with_scc(lambda a: np.abs(a.view(I32).astype(I64)).astype(U32))),
)


def _bitset(width: int, value: int):
    dtype = _bits(width)

    def op(dst, a):
        bit = dtype(1) << (a & U32(width - 1)).astype(dtype)
        return (dst | bit) if value else (dst & ~bit), None

    return op


for width, suffix in ((32, "b32"), (64, "b64")):
    register(SALU, f"s_bitset0_{suffix}", SaluSpec(width, (32,), _bitset(width, 0), dst_is_source=True))
    register(SALU, f"s_bitset1_{suffix}", SaluSpec(width, (32,), _bitset(width, 1), dst_is_source=True))


# --- SOPC --------------------------------------------------------------------------------------------------
def _compare(fn, signed: bool):
    def op(a, b):
        x, y = (_as_signed(a), _as_signed(b)) if signed else (a, b)
        return None, fn(x, y)

    return op


_COMPARES = {
    "eq": np.equal,
    "lg": np.not_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "lt": np.less,
    "le": np.less_equal,
}
for cond, fn in _COMPARES.items():
    register(SALU, f"s_cmp_{cond}_i32", SaluSpec(0, (32, 32), _compare(fn, True)))
    register(SALU, f"s_cmp_{cond}_u32", SaluSpec(0, (32, 32), _compare(fn, False)))
    register(SALU, f"s_cmpk_{cond}_i32", SaluSpec(0, (32, 32), _compare(fn, True), simm16="signed"))
    register(SALU, f"s_cmpk_{cond}_u32", SaluSpec(0, (32, 32), _compare(fn, False), simm16="unsigned"))
for cond in ("eq", "lg"):
    register(SALU, f"s_cmp_{cond}_u64", SaluSpec(0, (64, 64), _compare(_COMPARES[cond], False)))


def _bitcmp(width: int, want: int):
    dtype = _bits(width)

    def op(a, b):
        bit = (a >> (b & U32(width - 1)).astype(dtype)) & dtype(1)
        return None, bit == want

    return op


for width, suffix in ((32, "b32"), (64, "b64")):
    register(SALU, f"s_bitcmp0_{suffix}", SaluSpec(0, (width, 32), _bitcmp(width, 0)))
    register(SALU, f"s_bitcmp1_{suffix}", SaluSpec(0, (width, 32), _bitcmp(width, 1)))

# --- SOPK --------------------------------------------------------------------------------------------------
register(SALU, "s_movk_i32", SaluSpec(32, (32,), lambda k: (k, None), simm16="signed"))
register(
    SALU,
    "s_cmovk_i32",
    SaluSpec(
        32,
        (32,),
        lambda d, k, scc: (np.where(scc, k, d), None),
        simm16="signed",
        reads_scc=True,
        dst_is_source=True,
    ),
)
register(
    SALU,
    ("s_addk_i32", "s_addk_co_i32"),
    SaluSpec(32, (32, 32), _add_i32, simm16="signed", dst_is_source=True),
)
register(SALU, "s_mulk_i32", SaluSpec(32, (32, 32), _mul_i32, simm16="signed", dst_is_source=True))
