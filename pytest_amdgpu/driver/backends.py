"""Backends by name: a registry of Transport factories ("kfd", "sim", more registered) and the auto rule."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

from pytest_amdgpu.errors import BackendUnavailableError, ConfigurationError
from pytest_amdgpu.kfd.transport import DEFAULT_SYSFS_TOPOLOGY, LinuxTransport, Transport

BACKENDS = ("auto", "kfd", "sim")  # the built-in names; backend_names() adds registered ones
DEFAULT_MACHINE = "mi300x"
SYSFS_ENV = "PYTEST_AMDGPU_SYSFS_TOPOLOGY"


@dataclass(frozen=True)
class BackendChoice:
    """An opened backend: its transport, a sentence saying what was chosen, and whether the caller owns it."""

    transport: Transport
    description: str
    owns_transport: bool


# A factory takes the simulated machine name (ignored by real hardware) and opens the backend.
BackendFactory = Callable[[str | None], BackendChoice]
# An opener resolves a concrete backend name; the pytest plugin passes one that asks its hooks first.
BackendOpener = Callable[[str, str | None], BackendChoice]

_linux_transports: dict[str, LinuxTransport] = {}


def linux_transport() -> LinuxTransport:
    """The process-wide transport to the real kernel (one per sysfs root, so KFD state is shared)."""
    root = os.environ.get(SYSFS_ENV, DEFAULT_SYSFS_TOPOLOGY)
    if root not in _linux_transports:
        _linux_transports[root] = LinuxTransport(root)
    return _linux_transports[root]


def kfd_backend(machine: str | None = None) -> BackendChoice:
    """The real kernel through /dev/kfd, shared by every caller in the process (one KFD process per mm)."""
    transport = linux_transport()
    usable, reason = transport.usable()
    if not usable:
        raise BackendUnavailableError(f"backend 'kfd' needs a usable AMD GPU, but {reason}", reason)
    return BackendChoice(transport, f"real GPUs through {transport.kfd_device_path}", owns_transport=False)


def sim_backend(machine: str | None = None) -> BackendChoice:
    """A new simulated machine that belongs to the caller."""
    from pytest_amdgpu.sim.transport import SimTransport  # the simulator loads only when it is used

    sim = SimTransport(machine or DEFAULT_MACHINE)
    return BackendChoice(sim, f"simulated machine {sim.machine.name!r}", owns_transport=True)


_registry: dict[str, BackendFactory] = {"kfd": kfd_backend, "sim": sim_backend}


def register_backend(name: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Make `name` usable as open_devices(backend=name) and --amdgpu-backend=name."""
    if name == "auto":
        raise ConfigurationError("'auto' is the rule 'kfd if usable, else sim', not a registrable backend")
    if name in _registry and not replace:
        raise ConfigurationError(f"backend {name!r} is already registered (pass replace=True to replace it)")
    _registry[name] = factory


def unregister_backend(name: str) -> None:
    if name in ("kfd", "sim"):
        raise ConfigurationError(f"the built-in backend {name!r} cannot be unregistered")
    _registry.pop(name, None)


def backend_names() -> tuple[str, ...]:
    """Every name open_devices() accepts: 'auto' and the registered backends."""
    return ("auto", *_registry)


def open_backend(name: str, machine: str | None = None) -> BackendChoice:
    """Open one registered backend by name (not 'auto')."""
    factory = _registry.get(name)
    if factory is None:
        raise ConfigurationError(f"unknown backend {name!r}: expected one of {', '.join(backend_names())}")
    return factory(machine)


def choose_backend(
    backend: str = "auto", machine: str | None = None, opener: BackendOpener = open_backend
) -> BackendChoice:
    """Open `backend`; 'auto' opens 'kfd' when it is usable, else 'sim', saying why in the description."""
    if backend != "auto":
        choice = opener(backend, machine)
        return dataclasses.replace(choice, description=f"backend {backend!r} requested: {choice.description}")
    try:
        return opener("kfd", machine)
    except BackendUnavailableError as unavailable:
        sim = opener("sim", machine)
        why = f"no usable AMD GPU ({unavailable.reason}); using the simulator"
        return dataclasses.replace(sim, description=f"{why}: {sim.description}")


def make_transport(backend: str = "auto", machine: str | None = None) -> tuple[Transport, str, bool]:
    """The transport for `backend`, a sentence saying what was chosen and why, and whether it is new.

    The real kernel's transport is shared by every caller in the process (the kernel keeps one KFD
    process per address space); a simulated machine is new for each call and belongs to the caller.
    """
    choice = choose_backend(backend, machine)
    return choice.transport, choice.description, choice.owns_transport
