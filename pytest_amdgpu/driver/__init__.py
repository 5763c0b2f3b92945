"""The pure-Python KFD driver: open GPUs, allocate memory, (later) queues and programs — without ROCm."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_amdgpu.driver.backends import BACKENDS, DEFAULT_MACHINE, make_transport
from pytest_amdgpu.driver.buffer import Buffer
from pytest_amdgpu.driver.device import ClockCounters, Device
from pytest_amdgpu.driver.dmabuf import DmaBuf, DmaBufInfo
from pytest_amdgpu.driver.process import KfdProcess
from pytest_amdgpu.errors import AmdgpuError, DeviceError, release_each
from pytest_amdgpu.kfd.transport import Transport


class DeviceSet(Sequence[Device]):
    """The GPUs opened by one open_devices() call; closing it releases every device and the KFD files."""

    def __init__(
        self, process: KfdProcess, devices: list[Device], backend_description: str, *, owns_transport: bool
    ) -> None:
        self.process = process
        self.owns_transport = owns_transport
        self._devices = devices
        self.backend_description = backend_description
        self.closed = False

    @property
    def transport(self) -> Transport:
        return self.process.transport

    @property
    def kfd_version(self) -> tuple[int, int]:
        return self.process.version

    def __getitem__(self, index):
        return self._devices[index]

    def __len__(self) -> int:
        return len(self._devices)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices)

    def close(self, *, leak_check: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        errors = release_each(self._devices, lambda device: device.close(leak_check=leak_check))
        try:
            self.process.release()
            if self.owns_transport:
                KfdProcess.shutdown_transport(self.transport)
                self.transport.close_transport()
        except AmdgpuError as exc:
            errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> DeviceSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DeviceSet {len(self)} GPU(s) via {self.transport.name}>"


def open_devices(
    backend: str = "auto",
    machine: str | None = None,
    *,
    transport: Transport | None = None,
    description: str | None = None,
    owns_transport: bool = False,
) -> DeviceSet:
    """Open every GPU of the topology through `backend` ("kfd", "sim" or "auto") or an explicit transport.

    With an explicit `transport`, `owns_transport` says whether closing the set also ends the transport.
    """
    if transport is None:
        transport, description, owns_transport = make_transport(backend, machine)
    elif description is None:
        description = f"explicit transport {transport.name}"
    try:
        process = KfdProcess.shared(transport)
    except BaseException:
        if owns_transport:
            transport.close_transport()
        raise
    devices: list[Device] = []
    try:
        for node in process.topology.gpus:
            devices.append(Device(process, node, index=len(devices)))
        if not devices:
            raise DeviceError(f"the topology at {transport.sysfs_topology} lists no GPU")
    except BaseException:
        for device in devices:
            device.close()
        process.release()
        if owns_transport:
            KfdProcess.shutdown_transport(transport)
            transport.close_transport()
        raise
    return DeviceSet(process, devices, description, owns_transport=owns_transport)


def list_machines() -> list[str]:
    """Names of the simulated machines."""
    from pytest_amdgpu.sim.machines import list_machines as _list

    return _list()


__all__ = [
    "BACKENDS",
    "DEFAULT_MACHINE",
    "Buffer",
    "ClockCounters",
    "Device",
    "DeviceSet",
    "DmaBuf",
    "DmaBufInfo",
    "list_machines",
    "open_devices",
]
