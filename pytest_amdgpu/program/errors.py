"""Errors of code-object loading and kernel-argument packing, rooted in pytest_amdgpu.errors."""

from __future__ import annotations

from pytest_amdgpu.errors import AmdgpuError, ConfigurationError


class CodeObjectError(AmdgpuError, ValueError):
    """The bytes are not a loadable HSA code object (bad ELF, unsupported ABI, malformed metadata)."""


class TargetMismatchError(CodeObjectError):
    """A code object built for one gfx target (or target features) was offered to a device of another."""


class RelocationError(CodeObjectError):
    """A dynamic relocation the loader cannot apply (unknown type, undefined symbol, outside the image)."""


class UnknownKernelError(ConfigurationError, KeyError):
    """A kernel name that the code object does not define."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return str(self.args[0]) if self.args else ""


class KernargError(ConfigurationError):
    """Kernel arguments that do not match the metadata (count, type, range), or a bad dispatch shape."""
