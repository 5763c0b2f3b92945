"""Compute SH registers per generation: dword offsets as SET_SH_REG uses them, and their field layouts.

Offsets are absolute dword addresses (COMPUTE_DISPATCH_INITIATOR is 0x2E00, Mesa's R_00B800 divided by 4);
SET_SH_REG takes ``offset - 0x2C00``. Names are spelled as Mesa's sid.h and the register headers spell them.

Sources (facts only): the kernel's ``gc_9_4_3_offset.h`` / ``gc_9_4_3_sh_mask.h`` (the gfx9 row: gfx942; the
gfx90a and gfx950 rows are assumed to match), PAL's ``gfx9_plus_merged_offset.h`` /
``gfx9_plus_merged_registers.h`` (gfx10.3), the kernel's ``gc_11_0_0_*.h`` and ``gc_12_0_0_*.h`` (gfx11,
gfx12; gc_11_0_3 and gc_11_5_0 agree on every register here, except that gc_11_0_3 and PAL also list
RSRC1's DEBUG_MODE and CDBG_USER, which the table keeps), and Mesa's ac_gpu_info.c for the scratch
WAVESIZE granularity (1 KiB before gfx11, 256 bytes from gfx11 on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType

from pytest_amdgpu.errors import ConfigurationError

SH_REG_BASE = 0x2C00  # PACKET3_SET_SH_REG_START
SH_REG_END = 0x3000
UCONFIG_REG_BASE = 0xC000  # PACKET3_SET_UCONFIG_REG_START
UCONFIG_REG_END = 0xC400


@dataclass(frozen=True)
class RegisterField:
    """A bitfield of a register."""

    name: str
    shift: int
    width: int = 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.shift


@dataclass(frozen=True)
class Register:
    """One register: its absolute dword offset and its fields (none: the whole dword is one value)."""

    name: str
    offset: int
    fields: tuple[RegisterField, ...] = ()
    _by_name: Mapping[str, RegisterField] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", MappingProxyType({f.name: f for f in self.fields}))

    @property
    def sh_offset(self) -> int:
        """The reg_offset SET_SH_REG takes for this register."""
        if not SH_REG_BASE <= self.offset < SH_REG_END:
            raise ConfigurationError(f"{self.name} (0x{self.offset:04x}) is not an SH register")
        return self.offset - SH_REG_BASE

    def field(self, name: str) -> RegisterField:
        found = self._by_name.get(name)
        if found is None:
            known = ", ".join(self._by_name) or "none (the whole dword is one value)"
            raise ConfigurationError(f"{self.name} has no field {name!r}; its fields are: {known}")
        return found

    def encode(self, **values: int) -> int:
        """The register value with the named fields set and every other bit zero."""
        word = 0
        for name, value in values.items():
            bits = self.field(name)
            if type(value) is not int or not 0 <= value < (1 << bits.width):
                raise ConfigurationError(
                    f"{self.name}.{name}: {value!r} is out of range "
                    f"0..{(1 << bits.width) - 1} ({bits.width} bits)"
                )
            word |= value << bits.shift
        return word

    def decode(self, value: int) -> dict[str, int]:
        """Every field of a register value (nothing for a register without fields)."""
        return {f.name: (value >> f.shift) & ((1 << f.width) - 1) for f in self.fields}


@dataclass(frozen=True)
class ComputeRegisters:
    """One generation's compute registers: ``regs.COMPUTE_PGM_RSRC1`` or ``regs["COMPUTE_PGM_RSRC1"]``."""

    generation: str
    registers: Mapping[str, Register]
    tmpring_wavesize_granularity_bytes: int  # COMPUTE_TMPRING_SIZE.WAVESIZE unit: scratch bytes per wave
    source: str

    def __getitem__(self, name: str) -> Register:
        found = self.registers.get(name)
        if found is None:
            raise ConfigurationError(f"{self.generation} has no compute register {name!r}")
        return found

    def __getattr__(self, name: str) -> Register:
        if name.startswith("COMPUTE_"):
            return self[name]
        raise AttributeError(name)

    def __iter__(self) -> Iterator[Register]:
        return iter(self.registers.values())

    def __contains__(self, name: object) -> bool:
        return name in self.registers

    def by_offset(self, offset: int) -> Register | None:
        """The register at an absolute dword offset, if this generation has one there."""
        return _OFFSET_INDEX[self.generation].get(offset)


def _fields(*specs: tuple[str, int, int] | tuple[str, int]) -> tuple[RegisterField, ...]:
    return tuple(RegisterField(*spec) for spec in specs)


# --- the registers every generation has at the same offset, without per-generation fields -------------------

_PLAIN = {
    "COMPUTE_DIM_X": 0x2E01,
    "COMPUTE_DIM_Y": 0x2E02,
    "COMPUTE_DIM_Z": 0x2E03,
    "COMPUTE_START_X": 0x2E04,
    "COMPUTE_START_Y": 0x2E05,
    "COMPUTE_START_Z": 0x2E06,
    "COMPUTE_PIPELINESTAT_ENABLE": 0x2E0A,
    "COMPUTE_PERFCOUNT_ENABLE": 0x2E0B,
    "COMPUTE_PGM_LO": 0x2E0C,  # program address bits 39:8
    "COMPUTE_DISPATCH_PKT_ADDR_LO": 0x2E0E,
    "COMPUTE_DISPATCH_PKT_ADDR_HI": 0x2E0F,
    "COMPUTE_DISPATCH_SCRATCH_BASE_LO": 0x2E10,
    "COMPUTE_DISPATCH_SCRATCH_BASE_HI": 0x2E11,
    "COMPUTE_VMID": 0x2E14,
    "COMPUTE_RESTART_X": 0x2E1B,
    "COMPUTE_RESTART_Y": 0x2E1C,
    "COMPUTE_RESTART_Z": 0x2E1D,
    "COMPUTE_THREAD_TRACE_ENABLE": 0x2E1E,
    "COMPUTE_MISC_RESERVED": 0x2E1F,
    "COMPUTE_DISPATCH_ID": 0x2E20,
    "COMPUTE_THREADGROUP_ID": 0x2E21,
    **{f"COMPUTE_USER_DATA_{index}": 0x2E40 + index for index in range(16)},
}
_PGM_HI = ("COMPUTE_PGM_HI", 0x2E0D, _fields(("DATA", 0, 8)))  # program address bits 47:40

# --- field layouts that change between generations ----------------------------------------------------------

_INITIATOR_GFX9 = (
    ("COMPUTE_SHADER_EN", 0),
    ("PARTIAL_TG_EN", 1),
    ("FORCE_START_AT_000", 2),
    ("ORDERED_APPEND_ENBL", 3),
    ("ORDERED_APPEND_MODE", 4),
    ("USE_THREAD_DIMENSIONS", 5),
    ("ORDER_MODE", 6),
    ("SCALAR_L1_INV_VOL", 10),
    ("VECTOR_L1_INV_VOL", 11),
    ("RESTORE", 14),
)
_INITIATOR_GFX10 = (*_INITIATOR_GFX9, ("TUNNEL_ENABLE", 13), ("CS_W32_EN", 15))
_INITIATOR_GFX11 = (*_INITIATOR_GFX10, ("AMP_SHADER_EN", 16), ("DISABLE_DISP_PREMPT_EN", 17))
_INITIATOR_GFX12 = (
    *_INITIATOR_GFX11,
    ("PING_PONG_EN", 12),
    ("INTERLEAVE_2D_EN", 18),
    ("TTRACE_QUEUE_ID", 29, 3),
)

_RSRC1_COMMON = (
    ("VGPRS", 0, 6),
    ("SGPRS", 6, 4),
    ("PRIORITY", 10, 2),
    ("FLOAT_MODE", 12, 8),
    ("PRIV", 20),
)
_RSRC1_GFX9 = (
    *_RSRC1_COMMON,
    ("DX10_CLAMP", 21),
    ("DEBUG_MODE", 22),
    ("IEEE_MODE", 23),
    ("BULKY", 24),
    ("CDBG_USER", 25),
    ("FP16_OVFL", 26),
)
_RSRC1_WGP = (("WGP_MODE", 29), ("MEM_ORDERED", 30), ("FWD_PROGRESS", 31))
_RSRC1_GFX10 = (*_RSRC1_GFX9, *_RSRC1_WGP)
_RSRC1_GFX11 = _RSRC1_GFX10  # gc_11_0_3_sh_mask.h and PAL (gc_11_0_0 leaves out DEBUG_MODE, CDBG_USER)
_RSRC1_GFX12 = (  # DX10_CLAMP and IEEE_MODE are gone; WG_RR_EN and DISABLE_PERF take their bits
    *_RSRC1_COMMON,
    ("WG_RR_EN", 21),
    ("DEBUG_MODE", 22),
    ("DISABLE_PERF", 23),
    ("BULKY", 24),
    ("CDBG_USER", 25),
    ("FP16_OVFL", 26),
    *_RSRC1_WGP,
)

_RSRC2_COMMON = (
    ("SCRATCH_EN", 0),
    ("USER_SGPR", 1, 5),
    ("TGID_X_EN", 7),
    ("TGID_Y_EN", 8),
    ("TGID_Z_EN", 9),
    ("TG_SIZE_EN", 10),
    ("TIDIG_COMP_CNT", 11, 2),
    ("EXCP_EN_MSB", 13, 2),
    ("LDS_SIZE", 15, 9),
    ("EXCP_EN", 24, 7),
)
_RSRC2_GFX9 = (*_RSRC2_COMMON, ("TRAP_PRESENT", 6), ("SKIP_USGPR0", 31))
_RSRC2_GFX10 = (*_RSRC2_COMMON, ("TRAP_PRESENT", 6))
_RSRC2_GFX12 = (*_RSRC2_COMMON, ("DYNAMIC_VGPR", 6), ("WGP_TAKEOVER", 31))

_RSRC3_GFX9 = (("ACCUM_OFFSET", 0, 6), ("TRAP_ON_START", 10), ("TRAP_ON_END", 11), ("TG_SPLIT", 16))
_RSRC3_GFX10 = (("SHARED_VGPR_CNT", 0, 4),)
_RSRC3_GFX11 = (
    ("SHARED_VGPR_CNT", 0, 4),
    ("INST_PREF_SIZE", 4, 6),
    ("TRAP_ON_START", 10),
    ("TRAP_ON_END", 11),
    ("IMAGE_OP", 31),
)
_RSRC3_GFX12 = (("SHARED_VGPR_CNT", 0, 4), ("INST_PREF_SIZE", 4, 8), ("GLG_EN", 13), ("IMAGE_OP", 31))

_LIMITS_COMMON = (
    ("WAVES_PER_SH", 0, 10),
    ("TG_PER_CU", 12, 4),
    ("LOCK_THRESHOLD", 16, 6),
    ("SIMD_DEST_CNTL", 22),
    ("FORCE_SIMD_DIST", 23),
    ("CU_GROUP_COUNT", 24, 3),
)
_LIMITS_GFX9 = (*_LIMITS_COMMON, ("SIMD_DISABLE", 27, 4))

_NUM_THREAD = (("NUM_THREAD_FULL", 0, 16), ("NUM_THREAD_PARTIAL", 16, 16))


def _num_thread_gfx12(axis: str) -> tuple:
    if axis == "Z":
        return _NUM_THREAD
    return (("NUM_THREAD_FULL", 0, 13), (f"INTERLEAVE_BITS_{axis}", 13, 3), ("NUM_THREAD_PARTIAL", 16, 16))


_THREAD_MGMT_GFX9 = (("SH0_CU_EN", 0, 16), ("SH1_CU_EN", 16, 16))
_THREAD_MGMT_GFX10 = (("SA0_CU_EN", 0, 16), ("SA1_CU_EN", 16, 16))
_THREAD_MGMT_OFFSETS = {
    0: 0x2E16,
    1: 0x2E17,
    2: 0x2E19,
    3: 0x2E1A,
    4: 0x2E2B,
    5: 0x2E2C,
    6: 0x2E2D,
    7: 0x2E2E,
}


@dataclass(frozen=True)
class _Row:
    """What one generation's compute registers look like: the per-generation column of the table."""

    generation: str
    initiator: tuple
    rsrc1: tuple
    rsrc2: tuple
    rsrc3: tuple
    rsrc3_offset: int
    limits: tuple
    thread_mgmt: tuple
    shader_engines: int  # COMPUTE_STATIC_THREAD_MGMT_SE0..n-1 exist
    num_thread_x: tuple
    num_thread_y: tuple
    num_thread_z: tuple
    wavesize_width: int  # COMPUTE_TMPRING_SIZE.WAVESIZE bits (from bit 12)
    wavesize_granularity_bytes: int
    source: str


_ROWS = (
    _Row(
        "gfx9",
        _INITIATOR_GFX9,
        _RSRC1_GFX9,
        _RSRC2_GFX9,
        _RSRC3_GFX9,
        0x2E2D,
        _LIMITS_GFX9,
        _THREAD_MGMT_GFX9,
        4,
        _NUM_THREAD,
        _NUM_THREAD,
        _NUM_THREAD,
        13,
        1024,
        "gc_9_4_3_offset.h, gc_9_4_3_sh_mask.h",
    ),
    _Row(
        "gfx10",
        _INITIATOR_GFX10,
        _RSRC1_GFX10,
        _RSRC2_GFX10,
        _RSRC3_GFX10,
        0x2E28,
        _LIMITS_COMMON,
        _THREAD_MGMT_GFX10,
        4,
        _NUM_THREAD,
        _NUM_THREAD,
        _NUM_THREAD,
        13,
        1024,
        "PAL gfx9_plus_merged_offset.h, gfx9_plus_merged_registers.h (gfx10.3)",
    ),
    _Row(
        "gfx11",
        _INITIATOR_GFX11,
        _RSRC1_GFX11,
        _RSRC2_GFX10,
        _RSRC3_GFX11,
        0x2E28,
        _LIMITS_COMMON,
        _THREAD_MGMT_GFX10,
        8,
        _NUM_THREAD,
        _NUM_THREAD,
        _NUM_THREAD,
        15,
        256,
        "gc_11_0_0_offset.h, gc_11_0_0_sh_mask.h",
    ),
    _Row(
        "gfx12",
        _INITIATOR_GFX12,
        _RSRC1_GFX12,
        _RSRC2_GFX12,
        _RSRC3_GFX12,
        0x2E28,
        _LIMITS_COMMON,
        _THREAD_MGMT_GFX10,
        8,
        _num_thread_gfx12("X"),
        _num_thread_gfx12("Y"),
        _num_thread_gfx12("Z"),
        18,
        256,
        "gc_12_0_0_offset.h, gc_12_0_0_sh_mask.h",
    ),
)


def _registers(row: _Row) -> ComputeRegisters:
    registers = [Register(name, offset) for name, offset in _PLAIN.items()]
    registers += [
        Register(*_PGM_HI),
        Register("COMPUTE_DISPATCH_INITIATOR", 0x2E00, _fields(*row.initiator)),
        Register("COMPUTE_NUM_THREAD_X", 0x2E07, _fields(*row.num_thread_x)),
        Register("COMPUTE_NUM_THREAD_Y", 0x2E08, _fields(*row.num_thread_y)),
        Register("COMPUTE_NUM_THREAD_Z", 0x2E09, _fields(*row.num_thread_z)),
        Register("COMPUTE_PGM_RSRC1", 0x2E12, _fields(*row.rsrc1)),
        Register("COMPUTE_PGM_RSRC2", 0x2E13, _fields(*row.rsrc2)),
        Register("COMPUTE_PGM_RSRC3", row.rsrc3_offset, _fields(*row.rsrc3)),
        Register("COMPUTE_RESOURCE_LIMITS", 0x2E15, _fields(*row.limits)),
        Register(
            "COMPUTE_TMPRING_SIZE", 0x2E18, _fields(("WAVES", 0, 12), ("WAVESIZE", 12, row.wavesize_width))
        ),
    ]
    registers += [
        Register(
            f"COMPUTE_STATIC_THREAD_MGMT_SE{index}", _THREAD_MGMT_OFFSETS[index], _fields(*row.thread_mgmt)
        )
        for index in range(row.shader_engines)
    ]
    registers.sort(key=lambda register: register.offset)
    return ComputeRegisters(
        row.generation,
        MappingProxyType({register.name: register for register in registers}),
        row.wavesize_granularity_bytes,
        row.source,
    )


REGISTER_SETS: Mapping[str, ComputeRegisters] = MappingProxyType(
    {row.generation: _registers(row) for row in _ROWS}
)
_OFFSET_INDEX = {
    name: {register.offset: register for register in regs.registers.values()}
    for name, regs in REGISTER_SETS.items()
}
_BY_GC_MAJOR = {9: "gfx9", 10: "gfx10", 11: "gfx11", 12: "gfx12"}


def compute_registers(target: object) -> ComputeRegisters:
    """The compute registers of ``"gfx9"``..``"gfx12"`` or of a GpuTarget (by its GC major version)."""
    if isinstance(target, str):
        found = REGISTER_SETS.get(target)
        if found is not None:
            return found
    else:
        gc_ip_version = getattr(target, "gc_ip_version", None)
        if gc_ip_version is not None and gc_ip_version[0] in _BY_GC_MAJOR:
            return REGISTER_SETS[_BY_GC_MAJOR[gc_ip_version[0]]]
    raise ConfigurationError(
        f"no compute register table for {target!r}: known are {', '.join(REGISTER_SETS)}"
    )


def sh_reg_offset(offset: int) -> int:
    """SET_SH_REG's reg_offset for an absolute SH register dword offset."""
    if type(offset) is not int or not SH_REG_BASE <= offset < SH_REG_END:
        raise ConfigurationError(
            f"{offset!r} is not an SH register offset (0x{SH_REG_BASE:x}..0x{SH_REG_END - 1:x})"
        )
    return offset - SH_REG_BASE
