"""Choosing a Transport by backend name: the real kernel ("kfd"), the simulator ("sim"), or "auto"."""

from __future__ import annotations

import os

from pytest_amdgpu.errors import ConfigurationError, DeviceError
from pytest_amdgpu.kfd.transport import DEFAULT_SYSFS_TOPOLOGY, LinuxTransport, Transport

BACKENDS = ("auto", "kfd", "sim")
DEFAULT_MACHINE = "mi300x"
SYSFS_ENV = "PYTEST_AMDGPU_SYSFS_TOPOLOGY"


_linux_transports: dict[str, LinuxTransport] = {}


def linux_transport() -> LinuxTransport:
    """The process-wide transport to the real kernel (one per sysfs root, so KFD state is shared)."""
    root = os.environ.get(SYSFS_ENV, DEFAULT_SYSFS_TOPOLOGY)
    if root not in _linux_transports:
        _linux_transports[root] = LinuxTransport(root)
    return _linux_transports[root]


def make_transport(backend: str = "auto", machine: str | None = None) -> tuple[Transport, str, bool]:
    """The transport for `backend`, a sentence saying what was chosen and why, and whether it is new.

    The real kernel's transport is shared by every caller in the process (the kernel keeps one KFD
    process per address space); a simulated machine is new for each call and belongs to the caller.
    """
    if backend not in BACKENDS:
        raise ConfigurationError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend in ("kfd", "auto"):
        transport = linux_transport()
        usable, reason = transport.usable()
        if usable:
            return transport, f"real GPUs through {transport.kfd_device_path}", False
        if backend == "kfd":
            raise DeviceError(f"backend 'kfd' needs a usable AMD GPU, but {reason}")
        why = f"no usable AMD GPU ({reason}); using the simulator"
    else:
        why = "simulator requested"
    from pytest_amdgpu.sim.transport import SimTransport  # the simulator loads only when it is used

    sim = SimTransport(machine or DEFAULT_MACHINE)
    return sim, f"{why}: simulated machine {sim.machine.name!r}", True
