"""The one exception hierarchy of pytest-amdgpu; every error the package raises derives from AmdgpuError."""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

_T = TypeVar("_T")


class AmdgpuError(Exception):
    """Root of every error raised by pytest_amdgpu."""


class ConfigurationError(AmdgpuError, ValueError):
    """A caller passed a value the API does not accept (wrong type, out of range, unknown name)."""


class UnknownTargetError(ConfigurationError, KeyError):
    """A gfx target or gfx_target_version that the family registry does not know."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return str(self.args[0]) if self.args else ""


class UnknownMachineError(ConfigurationError, KeyError):
    """A simulated machine name that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TopologyError(AmdgpuError):
    """A KFD sysfs topology tree is missing, unreadable or malformed."""


class TransportError(AmdgpuError, OSError):
    """A system call through the Transport seam (open, mmap, munmap, close) failed."""


class KfdIoctlError(AmdgpuError, OSError):
    """An AMDKFD_IOC_* request failed: carries the ioctl name, the errno and, where known, the broken rule."""

    def __init__(self, ioctl_name: str, errno_value: int, rule: str | None = None) -> None:
        self.ioctl_name = ioctl_name
        self.errno_name = _errno.errorcode.get(errno_value, f"errno {errno_value}")
        self.rule = rule
        message = f"{ioctl_name} failed: {self.errno_name}"
        if rule:
            message += f" ({rule})"
        else:
            message += f" ({os.strerror(errno_value)})"
        super().__init__(errno_value, message)

    def __str__(self) -> str:
        return self.strerror or ""


class DeviceError(AmdgpuError):
    """Opening or using a GPU device failed (no usable /dev/kfd, version mismatch, device closed)."""


class BackendUnavailableError(DeviceError):
    """A backend that exists but cannot run on this machine (no GPU, driver not loaded, no permission)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BufferAccessError(AmdgpuError):
    """Base of Buffer misuse errors (out of bounds, wrong dtype or shape)."""


class OutOfBoundsError(BufferAccessError, IndexError):
    """A read or write outside a Buffer's size."""


class ResourceClosedError(AmdgpuError):
    """An operation on a Buffer, queue or device that was already freed or closed."""


class LeakError(AmdgpuError):
    """Resources were still alive when their owner closed."""


class GpuTimeoutError(AmdgpuError, TimeoutError):
    """A wait for GPU work did not complete in time; the message carries what was reached and a dump."""


class QueueTimeoutError(GpuTimeoutError):
    """A queue did not make room in its ring, or did not finish its work, in time."""


class GpuFaultError(AmdgpuError):
    """The GPU reported a memory fault (or stopped a queue) while running work the caller waits for."""


def release_each(items: Iterable[_T], release: Callable[[_T], object]) -> list[AmdgpuError]:
    """Call `release` on every item, even when some of them fail; the AmdgpuErrors raised, in order."""
    errors: list[AmdgpuError] = []
    for item in items:
        try:
            release(item)
        except AmdgpuError as exc:
            errors.append(exc)
    return errors
