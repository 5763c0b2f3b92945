"""The amdgpu marker's requirements, the skip reasons for unmet ones, and the automatic target markers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_amdgpu import families
from pytest_amdgpu.driver import Device
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.selection import xgmi_peers

REQUIREMENT_NAMES = ("gfx", "family", "gpus", "xgmi", "min_vram")
MULTI_GPU_MARKER = "multi_gpu"
XGMI_MARKER = "xgmi"
GENERAL_MARKER = "amdgpu"

_BINARY_PREFIXES = "KMGT"


def parse_size_bytes(value: object) -> int:
    """An int of bytes, or text such as '64 GiB', '512MiB', '1.5G' (binary units; 'GB' is read as GiB)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])i?B?|B)?\s*", value, re.IGNORECASE)
        if match:
            prefix = match.group(2)
            scale = 1 << (10 * (_BINARY_PREFIXES.index(prefix.upper()) + 1)) if prefix else 1
            return int(float(match.group(1)) * scale)
    raise ConfigurationError(f"min_vram must be a number of bytes or text like '64 GiB', got {value!r}")


def format_size(size_bytes: int) -> str:
    """'24 GiB', '512 MiB', '1.5 GiB': the largest binary unit that gives a number of at least one."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.4g} {unit}"
    return f"{size_bytes} bytes"


def _names(value: object, what: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, Iterable) else None
    if not names or not all(isinstance(name, str) for name in names):
        raise ConfigurationError(f"{what} must be a name or a list of names, got {value!r}")
    return tuple(name.lower() for name in names)


@dataclass(frozen=True)
class Requirements:
    """What one test needs from the GPUs (None: no requirement); several markers combine, all must hold."""

    gfx: frozenset[str] | None = None
    family: frozenset[str] | None = None
    gpus: int | None = None
    xgmi: bool | None = None
    min_vram_bytes: int | None = None

    @classmethod
    def from_marker_kwargs(cls, marker_kwargs: Iterable[dict[str, object]]) -> Requirements:
        """Merge the keyword arguments of every amdgpu marker on a test, checking each value."""
        merged = cls()
        for kwargs in marker_kwargs:
            unknown = set(kwargs) - set(REQUIREMENT_NAMES)
            if unknown:
                raise ConfigurationError(
                    f"@pytest.mark.amdgpu got unknown argument(s) {', '.join(sorted(unknown))}; "
                    f"it takes {', '.join(REQUIREMENT_NAMES)}"
                )
            merged = merged._merge(cls._from_kwargs(kwargs))
        return merged

    @classmethod
    def _from_kwargs(cls, kwargs: dict[str, object]) -> Requirements:
        gfx = family = gpus = xgmi = min_vram = None
        if kwargs.get("gfx") is not None:
            gfx = frozenset(families.get_target(name).name for name in _names(kwargs["gfx"], "gfx"))
        if kwargs.get("family") is not None:
            family = frozenset(_names(kwargs["family"], "family"))
            for name in family:
                families.targets_in_family(name)  # an unknown family names the known ones
        if kwargs.get("gpus") is not None:
            gpus = kwargs["gpus"]
            if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
                raise ConfigurationError(f"gpus must be a positive integer, got {gpus!r}")
        if kwargs.get("xgmi") is not None:
            xgmi = kwargs["xgmi"]
            if not isinstance(xgmi, bool):
                raise ConfigurationError(f"xgmi must be True or False, got {xgmi!r}")
        if kwargs.get("min_vram") is not None:
            min_vram = parse_size_bytes(kwargs["min_vram"])
        return cls(gfx, family, gpus, xgmi, min_vram)

    def _merge(self, other: Requirements) -> Requirements:
        def both(mine, theirs, combine):
            return theirs if mine is None else mine if theirs is None else combine(mine, theirs)

        if self.xgmi is not None and other.xgmi is not None and self.xgmi != other.xgmi:
            raise ConfigurationError("@pytest.mark.amdgpu markers ask for both xgmi=True and xgmi=False")
        return Requirements(
            gfx=both(self.gfx, other.gfx, frozenset.intersection),
            family=both(self.family, other.family, frozenset.intersection),
            gpus=both(self.gpus, other.gpus, max),
            xgmi=both(self.xgmi, other.xgmi, lambda mine, _: mine),
            min_vram_bytes=both(self.min_vram_bytes, other.min_vram_bytes, max),
        )

    def unmet(self, device: Device | None, selected: Sequence[Device]) -> str | None:
        """Why the test cannot run on `device` (or, without one, on every selected GPU); None when it can."""
        if self.gpus is not None and len(selected) < self.gpus:
            return f"needs {self.gpus} GPU{'s' * (self.gpus != 1)}, {len(selected)} selected"
        targets = [device] if device is not None else list(selected)
        for target in targets:
            reason = self._unmet_on(target)
            if reason:
                return reason
        return self._unmet_xgmi(device, selected)

    def _unmet_on(self, device: Device) -> str | None:
        where = f"gpu{device.index}"
        if self.gfx is not None and device.gfx not in self.gfx:
            return f"needs {' or '.join(sorted(self.gfx)) or 'no gfx target'}, found {device.gfx} on {where}"
        if self.family is not None and device.family not in self.family:
            return (
                f"needs {' or '.join(sorted(self.family)) or 'no family'}, found {device.family} on {where}"
            )
        vram = device.node.vram_bytes
        if self.min_vram_bytes is not None and vram < self.min_vram_bytes:
            return f"needs {format_size(self.min_vram_bytes)} VRAM, {where} has {format_size(vram)}"
        return None

    def _unmet_xgmi(self, device: Device | None, selected: Sequence[Device]) -> str | None:
        if self.xgmi is None:
            return None
        sources = [device] if device is not None else list(selected)
        pairs = [(source, peer) for source in sources for peer in xgmi_peers(source, selected)]
        if self.xgmi and not pairs:
            on = f" on gpu{device.index}" if device is not None else ""
            return f"needs XGMI between GPUs, none found{on}"
        if not self.xgmi and pairs:
            source, peer = pairs[0]
            return f"needs GPUs without XGMI, found XGMI between gpu{source.index} and gpu{peer.index}"
        return None


def automatic_markers(devices: Sequence[Device], requirements: Requirements) -> list[str]:
    """Marker names for a test instance running on `devices`: its gfx targets and families, and more."""
    names = [GENERAL_MARKER]
    for device in devices:
        names += [device.gfx, device.family]
    if requirements.gpus is not None and requirements.gpus >= 2:
        names.append(MULTI_GPU_MARKER)
    if requirements.xgmi:
        names.append(XGMI_MARKER)
    return list(dict.fromkeys(names))


def marker_help_lines() -> list[str]:
    """`markers` ini lines for every marker the plugin uses (for --strict-markers and `pytest --markers`)."""
    lines = [
        f"{GENERAL_MARKER}(gfx=None, family=None, gpus=None, xgmi=None, min_vram=None): a test that needs "
        "AMD GPUs; unmet requirements skip it with a reason. gfx/family take a name or a list, gpus a count, "
        "xgmi True/False, min_vram bytes or text like '64 GiB'. Added to every test using the GPU fixtures",
        f"{MULTI_GPU_MARKER}: added to tests that need two or more GPUs (@pytest.mark.amdgpu(gpus=N>=2))",
        f"{XGMI_MARKER}: added to tests that need XGMI links between GPUs (@pytest.mark.amdgpu(xgmi=True))",
    ]
    for family in families.families():
        targets = ", ".join(target.name for target in families.targets_in_family(family))
        lines.append(f"{family}: added to test instances running on a {family} GPU ({targets})")
    for target in families.all_targets():
        examples = f" ({', '.join(target.examples)})" if target.examples else ""
        lines.append(f"{target.name}: added to test instances running on a {target.name} GPU{examples}")
    return lines
