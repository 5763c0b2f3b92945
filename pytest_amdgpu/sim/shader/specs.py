"""What each implemented mnemonic is: operand widths and the numpy function behind it, keyed by mnemonic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SaluSpec:
    """SOP1/SOP2/SOPK/SOPC: `fn(*sources)` -> (result or None, SCC or None), sources as (W,) uint32/uint64."""

    dst_bits: int  # 0: no scalar destination
    src_bits: tuple[int, ...]
    fn: Callable[..., tuple[np.ndarray | None, np.ndarray | None]]
    reads_scc: bool = False
    simm16: str = ""  # SOPK: "signed" / "unsigned" immediate, passed as the last source
    dst_is_source: bool = False  # SOPK s_addk/s_mulk/s_cmovk: the destination is also the first source
    bitwise: bool = False  # each bit of the result depends on that bit of the sources only (b64: per dword)


@dataclass(frozen=True)
class ValuSpec:
    """VOP1/VOP2/VOPC/VOP3/VOP3P/VOPD: `fn(*sources[, mask])` -> result bits (and a lane mask for carries)."""

    dst_bits: int  # 0: no vector destination (compares write a lane mask instead)
    src_bits: tuple[int, ...]
    fn: Callable[..., object]
    is_float: bool = False  # abs/neg/clamp/omod apply to float operands
    mask_in: bool = False  # reads a lane mask: VCC in VOP2, an SGPR (src2) in VOP3
    carry_out: bool = False  # writes a lane mask: VCC in VOP2, SDST in VOP3
    compare: bool = False  # VOPC: result is a lane mask
    cmpx: bool = False  # VOPC: the result also goes to EXEC
    accumulate: bool = False  # v_mac/v_fmac: the destination is also the addend
    constant_k: str = ""  # "mk": d = s0 * K + s1; "ak": d = s0 * s1 + K (K is the literal)
    int_clamp: str = ""  # "u32"/"i32": VOP3 clamp saturates this integer result
    kind: str = "alu"  # "alu", "readlane", "writelane", "readfirstlane", "mbcnt", "swap", "nop"


@dataclass(frozen=True)
class MemSpec:
    """SMEM, DS, FLAT/GLOBAL/SCRATCH and MUBUF: what moves where."""

    kind: str  # "load", "store", "atomic", "load2", "store2", "permute", "gws", "cache", "nop"
    dwords: int = 1  # data dwords per lane (for 8/16-bit accesses: 1)
    byte_size: int = 4  # bytes per element in memory (1, 2, 4 or 4*dwords)
    signed: bool = False  # sub-dword loads sign-extend
    atomic: str = ""  # atomic operation name: "add", "sub", "swap", "cmpswap", "umin", ...
    returns: bool = False  # DS *_rtn atomics return the pre-op value (FLAT/MUBUF use GLC instead)
    stride64: bool = False  # ds_*2st64: offsets count 64-element strides
    extra: dict[str, int] = field(default_factory=dict)


SALU: dict[str, SaluSpec] = {}
VALU: dict[str, ValuSpec] = {}
SMEM: dict[str, MemSpec] = {}
DS: dict[str, MemSpec] = {}
VMEM: dict[str, MemSpec] = {}  # FLAT/GLOBAL/SCRATCH/MUBUF share names after their prefix
SOPP: dict[str, str] = {}  # mnemonic -> control kind ("branch", "endpgm", "barrier", "nop", ...)


def register(table: dict, names: str | tuple[str, ...] | list[str], spec: object) -> None:
    for name in (names,) if isinstance(names, str) else names:
        table[name] = spec
