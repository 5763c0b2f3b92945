"""The target an AMDGPU code object is built for (e_flags, EI_ABIVERSION) and whether a device can run it.

Facts from LLVM's AMDGPUUsage ("ELF Header", "Target ID", "Generic processors"): EF_AMDGPU_MACH in e_flags
bits 7:0, the xnack (bits 9:8) and sramecc (bits 11:10) settings of code object v4 and later, and the generic
version in bits 31:24 (code object v6).
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_amdgpu.families import GpuTarget
from pytest_amdgpu.program.errors import CodeObjectError, TargetMismatchError

EM_AMDGPU = 224
ELFOSABI_AMDGPU_HSA = 64

# EI_ABIVERSION -> code object version, for the versions this loader reads.
CODE_OBJECT_VERSION_BY_ABI_VERSION = {2: 4, 3: 5, 4: 6}
# Older ELFABIVERSION_AMDGPU_HSA values, named in the error.
_RETIRED_ABI_VERSIONS = {0: 2, 1: 3}

EF_AMDGPU_MACH = 0x0FF
EF_AMDGPU_FEATURE_XNACK_V4 = 0x300
EF_AMDGPU_FEATURE_SRAMECC_V4 = 0xC00
EF_AMDGPU_GENERIC_VERSION = 0xFF000000
EF_AMDGPU_GENERIC_VERSION_OFFSET = 24

# A feature setting in e_flags: the 2-bit field value of XNACK (shift 8) and SRAMECC (shift 10).
FEATURE_UNSUPPORTED = "unsupported"
FEATURE_ANY = "any"
FEATURE_OFF = "off"
FEATURE_ON = "on"
_FEATURE_SETTINGS = (FEATURE_UNSUPPORTED, FEATURE_ANY, FEATURE_OFF, FEATURE_ON)
_FEATURE_SHIFTS = {"xnack": 8, "sramecc": 10}

# EF_AMDGPU_MACH_AMDGCN_* values of the processors of the GFX9 to GFX12 generations.
EF_AMDGPU_MACH_BY_PROCESSOR: dict[str, int] = {
    "gfx900": 0x02C,
    "gfx902": 0x02D,
    "gfx904": 0x02E,
    "gfx906": 0x02F,
    "gfx908": 0x030,
    "gfx909": 0x031,
    "gfx90c": 0x032,
    "gfx1010": 0x033,
    "gfx1011": 0x034,
    "gfx1012": 0x035,
    "gfx1030": 0x036,
    "gfx1031": 0x037,
    "gfx1032": 0x038,
    "gfx1033": 0x039,
    "gfx1035": 0x03D,
    "gfx1034": 0x03E,
    "gfx90a": 0x03F,
    "gfx1100": 0x041,
    "gfx1013": 0x042,
    "gfx1150": 0x043,
    "gfx1103": 0x044,
    "gfx1036": 0x045,
    "gfx1101": 0x046,
    "gfx1102": 0x047,
    "gfx1200": 0x048,
    "gfx1250": 0x049,
    "gfx1151": 0x04A,
    "gfx942": 0x04C,
    "gfx1201": 0x04E,
    "gfx950": 0x04F,
    "gfx9-generic": 0x051,
    "gfx10-1-generic": 0x052,
    "gfx10-3-generic": 0x053,
    "gfx11-generic": 0x054,
    "gfx1152": 0x055,
    "gfx1153": 0x058,
    "gfx12-generic": 0x059,
    "gfx9-4-generic": 0x05F,
}
PROCESSOR_BY_EF_AMDGPU_MACH = {mach: name for name, mach in EF_AMDGPU_MACH_BY_PROCESSOR.items()}

# The processors each generic target runs on (AMDGPUUsage, "Generic processors").
GENERIC_MEMBERS: dict[str, frozenset[str]] = {
    "gfx9-generic": frozenset({"gfx900", "gfx902", "gfx904", "gfx906", "gfx909", "gfx90c"}),
    "gfx9-4-generic": frozenset({"gfx942", "gfx950"}),
    "gfx10-1-generic": frozenset({"gfx1010", "gfx1011", "gfx1012", "gfx1013"}),
    "gfx10-3-generic": frozenset(
        {"gfx1030", "gfx1031", "gfx1032", "gfx1033", "gfx1034", "gfx1035", "gfx1036"}
    ),
    "gfx11-generic": frozenset(
        {"gfx1100", "gfx1101", "gfx1102", "gfx1103", "gfx1150", "gfx1151", "gfx1152", "gfx1153"}
    ),
    "gfx12-generic": frozenset({"gfx1200", "gfx1201"}),
}


@dataclass(frozen=True)
class CodeObjectTarget:
    """What a code object was built for: processor, xnack/sramecc settings and (v6) generic version."""

    processor: str  # "gfx942", or a generic target such as "gfx11-generic"
    xnack: str  # one of FEATURE_UNSUPPORTED, FEATURE_ANY, FEATURE_OFF, FEATURE_ON
    sramecc: str
    generic_version: int = 0

    @property
    def is_generic(self) -> bool:
        return self.processor in GENERIC_MEMBERS

    @property
    def target_id(self) -> str:
        """The LLVM target ID: processor plus ":sramecc±" / ":xnack±" for features set on or off."""
        parts = [self.processor]
        for feature in ("sramecc", "xnack"):  # target IDs list features alphabetically
            setting = getattr(self, feature)
            if setting in (FEATURE_ON, FEATURE_OFF):
                parts.append(f"{feature}{'+' if setting == FEATURE_ON else '-'}")
        return ":".join(parts)

    def runs_on(self, processor: str) -> bool:
        """Whether code for this target runs on `processor` (the same, or a member of the generic family)."""
        return processor == self.processor or processor in GENERIC_MEMBERS.get(self.processor, ())


@dataclass(frozen=True)
class DeviceTargetId:
    """A device's target ID: processor and, where known, whether xnack and sramecc are on (None: unknown)."""

    processor: str
    xnack: bool | None = None
    sramecc: bool | None = None

    @property
    def target_id(self) -> str:
        parts = [self.processor]
        for feature in ("sramecc", "xnack"):
            enabled = getattr(self, feature)
            if enabled is not None:
                parts.append(f"{feature}{'+' if enabled else '-'}")
        return ":".join(parts)


def isa_family_of(processor: str) -> str:
    """The ISA family ("gfx9" ... "gfx12") of a processor or generic target: "gfx" and its major version."""
    digits = processor.removeprefix("gfx").split("-", 1)[0]
    if not digits[:1].isdigit():
        raise CodeObjectError(f"{processor!r} is not a gfx processor name")
    major = digits[:-2] if "-" not in processor else digits  # gfx90a -> 9, gfx1100 -> 11, gfx11-generic -> 11
    return f"gfx{major}"


def decode_e_flags(e_flags: int, abi_version: int) -> CodeObjectTarget:
    """The target of a code object from its e_flags (code object v4 and later layout)."""
    mach = e_flags & EF_AMDGPU_MACH
    processor = PROCESSOR_BY_EF_AMDGPU_MACH.get(mach)
    if processor is None:
        raise CodeObjectError(
            f"code object e_flags {e_flags:#x}: EF_AMDGPU_MACH {mach:#05x} is not a GFX9-GFX12 "
            "processor this loader knows"
        )
    settings = {
        feature: _FEATURE_SETTINGS[(e_flags >> shift) & 0x3] for feature, shift in _FEATURE_SHIFTS.items()
    }
    generic_version = (e_flags & EF_AMDGPU_GENERIC_VERSION) >> EF_AMDGPU_GENERIC_VERSION_OFFSET
    if processor in GENERIC_MEMBERS and (
        CODE_OBJECT_VERSION_BY_ABI_VERSION.get(abi_version, 0) < 6 or generic_version == 0
    ):
        raise CodeObjectError(
            f"code object for generic target {processor} needs code object v6 and a generic version "
            f"in e_flags (EI_ABIVERSION {abi_version}, generic version {generic_version})"
        )
    return CodeObjectTarget(processor, settings["xnack"], settings["sramecc"], generic_version)


def code_object_version(abi_version: int) -> int:
    """The code object version (4, 5 or 6) of an HSA EI_ABIVERSION; older or unknown ones are errors."""
    version = CODE_OBJECT_VERSION_BY_ABI_VERSION.get(abi_version)
    if version is None:
        retired = _RETIRED_ABI_VERSIONS.get(abi_version)
        detail = (
            f"code object v{retired}, which this loader does not read" if retired else "an unknown version"
        )
        raise CodeObjectError(
            f"EI_ABIVERSION {abi_version} is {detail}: rebuild with code object v4, v5 or v6 "
            "(llvm-mc --amdhsa-code-object-version=5)"
        )
    return version


def parse_device_target(requested: str | GpuTarget | DeviceTargetId) -> DeviceTargetId:
    """A device target ID from a GpuTarget, a DeviceTargetId, or a string like "gfx90a:sramecc+:xnack-"."""
    if isinstance(requested, DeviceTargetId):
        return requested
    if isinstance(requested, GpuTarget):
        return DeviceTargetId(requested.llvm_target)
    if not isinstance(requested, str) or not requested.strip():
        raise TargetMismatchError(
            f"a device target must be a gfx target name or GpuTarget, not {requested!r}"
        )
    processor, *features = requested.strip().lower().split(":")
    settings: dict[str, bool] = {}
    for feature in features:
        name, sign = feature[:-1], feature[-1:]
        if name not in _FEATURE_SHIFTS or sign not in "+-" or not sign:
            raise TargetMismatchError(
                f"target ID {requested!r}: {feature!r} is not a target feature (expected xnack± or sramecc±)"
            )
        settings[name] = sign == "+"
    return DeviceTargetId(processor, settings.get("xnack"), settings.get("sramecc"))


def check_runs_on(code_target: CodeObjectTarget, requested: str | GpuTarget | DeviceTargetId) -> None:
    """Raise TargetMismatchError naming both targets unless code for `code_target` runs on `requested`."""
    device = parse_device_target(requested)
    if not code_target.runs_on(device.processor):
        where = (
            f" (the generic target {code_target.processor} runs on "
            f"{', '.join(sorted(GENERIC_MEMBERS[code_target.processor]))})"
            if code_target.is_generic
            else ""
        )
        raise TargetMismatchError(
            f"code object is for {code_target.target_id} but the device is {device.target_id}{where}: "
            f"use the code object built for {device.processor}"
        )
    for feature in ("xnack", "sramecc"):
        setting = getattr(code_target, feature)
        enabled = getattr(device, feature)
        if enabled is None or setting not in (FEATURE_ON, FEATURE_OFF):
            continue  # "any" and "unsupported" run either way; an unknown device setting is not checked
        if enabled != (setting == FEATURE_ON):
            raise TargetMismatchError(
                f"code object is for {code_target.target_id} ({feature} {setting}) but the device is "
                f"{device.target_id}: rebuild with {feature}{'+' if enabled else '-'} or {feature} 'any'"
            )
