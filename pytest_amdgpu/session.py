"""The GPUs of one pytest process (controller or xdist worker): backend, opened devices and the selection."""

from __future__ import annotations

import pytest

from pytest_amdgpu.driver import DeviceSet, open_devices
from pytest_amdgpu.driver.backends import BackendChoice, backend_names, choose_backend
from pytest_amdgpu.driver.process import KfdProcess
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.selection import DeviceSelection


class AmdgpuSession:
    """Opens the backend and selects GPUs through the plugin hooks, and closes everything at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.backend: str = config.getoption("--amdgpu-backend") or config.getini("amdgpu_backend")
        self.machine: str = config.getoption("--amdgpu-machine") or config.getini("amdgpu_machine")
        self.device_set: DeviceSet | None = None
        self._selection: DeviceSelection | None = None

    def _open_through_hooks(self, name: str, machine: str | None) -> BackendChoice:
        choice = self.config.hook.pytest_amdgpu_make_transport(
            backend=name, machine=machine, config=self.config
        )
        if choice is None:
            raise ConfigurationError(
                f"unknown backend {name!r}: known backends are {', '.join(backend_names())}, "
                "and no installed plugin provides one by that name"
            )
        return choice

    def open_backend(self) -> DeviceSet:
        """Open the backend (through the hooks, "auto" resolved) and every GPU it has."""
        if self.device_set is not None:
            return self.device_set
        choice = choose_backend(self.backend, self.machine, opener=self._open_through_hooks)
        try:
            device_set = open_devices(
                transport=choice.transport,
                description=choice.description,
                owns_transport=choice.owns_transport,
            )
        except BaseException:
            if choice.owns_transport:
                KfdProcess.shutdown_transport(choice.transport)
                choice.transport.close_transport()
            raise
        self.device_set = device_set
        return device_set

    def select(self) -> DeviceSelection:
        """Apply the selection hooks (--amdgpu-devices first) to the opened GPUs, once per process."""
        if self._selection is None:
            selected = list(self.open_backend())
            self.config.hook.pytest_amdgpu_select_devices(devices=selected, config=self.config)
            self._selection = DeviceSelection(self.open_backend(), selected)
        return self._selection

    @property
    def selection(self) -> DeviceSelection:
        return self.select()

    @property
    def backend_label(self) -> str:
        """'kfd', or 'sim:<machine>' for the simulator: the transport's name."""
        return self.selection.transport.name

    @property
    def simulated(self) -> bool:
        return self.backend_label.startswith("sim:")

    def close(self) -> None:
        if self.device_set is not None:
            device_set, self.device_set, self._selection = self.device_set, None, None
            device_set.close()


SESSION_KEY = pytest.StashKey[AmdgpuSession]()


def active_session(config: pytest.Config) -> AmdgpuSession | None:
    """The process's AmdgpuSession, or None when the run is not an --amdgpu run."""
    return config.stash.get(SESSION_KEY, None)
