"""This process's KFD context through one Transport: the /dev/kfd file, interface version, apertures, VMs."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import os
from dataclasses import dataclass

from pytest_amdgpu.driver.events import EventManager
from pytest_amdgpu.errors import AmdgpuError, DeviceError, KfdIoctlError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import Transport
from pytest_amdgpu.topology import Node, Topology, parse_topology

# RUNTIME_ENABLE arrived with interface 1.13 (the debugger API).
RUNTIME_ENABLE_MIN_MINOR = 13


@dataclass(frozen=True)
class Apertures:
    """The address ranges the kernel gave this process on one GPU (GET_PROCESS_APERTURES_NEW)."""

    gpu_id: int
    lds_base: int
    lds_limit: int
    scratch_base: int
    scratch_limit: int
    gpuvm_base: int
    gpuvm_limit: int

    def contains_gpuvm(self, addr: int, size: int) -> bool:
        return self.gpuvm_base <= addr and addr + size - 1 <= self.gpuvm_limit


class KfdProcess:
    """Owns the /dev/kfd file descriptor and the render-node files of the GPUs whose VM it acquired.

    The kernel keeps one KFD process per address space, and binds each GPU's VM to the render-node
    file that ACQUIRE_VM named for as long as the process lives: a later ACQUIRE_VM with another file
    fails with EBUSY. So every user of one transport shares one KfdProcess (`shared()` hands out
    references); when the last one is released /dev/kfd is closed but the render files stay open for
    reuse, and only `shutdown()` (the end of the transport, or interpreter exit) closes them.
    """

    _shared: dict[int, KfdProcess] = {}

    @classmethod
    def shared(cls, transport: Transport) -> KfdProcess:
        process = cls._shared.get(id(transport))
        if process is None:
            process = cls(transport)
            cls._shared[id(transport)] = process
        elif process.closed:
            process._open()
        process.references += 1
        return process

    @classmethod
    def shutdown_transport(cls, transport: Transport) -> None:
        """Close everything this process holds through `transport`, render files included."""
        process = cls._shared.pop(id(transport), None)
        if process is not None:
            process.shutdown()

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.references = 0
        self.topology: Topology = parse_topology(transport.sysfs_topology)
        self.render_fds: dict[int, int] = {}
        self.runtime_enabled = False
        self.events = EventManager(self)
        self.closed = True
        self.kfd_fd = -1
        self._open()

    def _open(self) -> None:
        self.kfd_fd = self.transport.open(self.transport.kfd_device_path, os.O_RDWR | os.O_CLOEXEC)
        self.closed = False
        try:
            self.version = self._get_version()
            self.apertures = self._query_apertures()
            self._enable_runtime()
        except BaseException:
            self.close()
            raise

    def release(self) -> None:
        """Drop one reference from shared(); the last one closes /dev/kfd."""
        self.references -= 1
        if self.references <= 0:
            self.references = 0
            self.close()

    def ioctl(self, request: int, args: ctypes.Structure) -> ctypes.Structure:
        """Issue `request` on /dev/kfd; returns `args` (filled in by the kernel)."""
        if self.closed:
            raise DeviceError(f"{abi.ioctl_name(request)} on a closed KFD process")
        self.transport.ioctl(self.kfd_fd, request, args)
        return args

    def _get_version(self) -> tuple[int, int]:
        args = self.ioctl(abi.AMDKFD_IOC_GET_VERSION, abi.kfd_ioctl_get_version_args())
        if args.major_version != abi.KFD_IOCTL_MAJOR_VERSION:
            raise DeviceError(
                f"KFD interface major version {args.major_version} is not supported "
                f"(this driver speaks {abi.KFD_IOCTL_MAJOR_VERSION}.x)"
            )
        return args.major_version, args.minor_version

    def _query_apertures(self) -> dict[int, Apertures]:
        """Ask how many devices the process has, then fetch every aperture; key them by gpu_id."""
        count_args = self.ioctl(
            abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW,
            abi.kfd_ioctl_get_process_apertures_new_args(num_of_nodes=0),
        )
        count = count_args.num_of_nodes
        if count == 0:
            return {}
        entries = (abi.kfd_process_device_apertures * count)()
        args = abi.kfd_ioctl_get_process_apertures_new_args(
            kfd_process_device_apertures_ptr=ctypes.addressof(entries), num_of_nodes=count
        )
        self.ioctl(abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, args)
        return {
            entry.gpu_id: Apertures(
                gpu_id=entry.gpu_id,
                lds_base=entry.lds_base,
                lds_limit=entry.lds_limit,
                scratch_base=entry.scratch_base,
                scratch_limit=entry.scratch_limit,
                gpuvm_base=entry.gpuvm_base,
                gpuvm_limit=entry.gpuvm_limit,
            )
            for entry in entries[: args.num_of_nodes]
        }

    def _enable_runtime(self) -> None:
        if self.version[1] < RUNTIME_ENABLE_MIN_MINOR:
            return
        args = abi.kfd_ioctl_runtime_enable_args(
            r_debug=0, mode_mask=abi.KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK, capabilities_mask=0
        )
        self.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, args)
        self.runtime_enabled = True

    def acquire_vm(self, node: Node) -> int:
        """Open the node's render device and hand its VM to KFD (once per GPU); returns the render fd."""
        if node.gpu_id in self.render_fds:
            return self.render_fds[node.gpu_id]
        if node.gpu_id not in self.apertures:
            raise DeviceError(
                f"GPU node {node.index} (gpu_id {node.gpu_id}) has no aperture in this process; "
                f"the kernel listed gpu_ids {sorted(self.apertures)}"
            )
        minor = node.properties.get("drm_render_minor", 0)
        if minor <= 0:
            raise DeviceError(f"GPU node {node.index} (gpu_id {node.gpu_id}) has no drm_render_minor")
        render_fd = self.transport.open(self.transport.render_device_path(minor), os.O_RDWR | os.O_CLOEXEC)
        acquire = abi.kfd_ioctl_acquire_vm_args(drm_fd=render_fd, gpu_id=node.gpu_id)
        try:
            self.ioctl(abi.AMDKFD_IOC_ACQUIRE_VM, acquire)
        except KfdIoctlError as exc:
            self.transport.close(render_fd)
            if exc.errno == errno.EBUSY:
                raise DeviceError(
                    f"ACQUIRE_VM of gpu_id {node.gpu_id} failed with EBUSY: this process already bound that "
                    "GPU's VM to a render-node file that was since closed, and the kernel keeps that binding "
                    "until the process exits. Keep the transport's shared process alive (open_devices does) "
                    "instead of shutting it down and reopening."
                ) from exc
            raise
        except BaseException:
            self.transport.close(render_fd)
            raise
        self.render_fds[node.gpu_id] = render_fd
        return render_fd

    def _disable_runtime(self) -> None:
        if self.runtime_enabled:
            self.runtime_enabled = False
            self.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, abi.kfd_ioctl_runtime_enable_args(mode_mask=0))

    def close(self) -> None:
        """Disable the runtime and close /dev/kfd; the render files stay open (see the class docstring)."""
        if self.closed:
            return
        errors: list[AmdgpuError] = []
        try:
            self._disable_runtime()
        except AmdgpuError as exc:
            errors.append(exc)
        self.closed = True
        try:
            self.transport.close(self.kfd_fd)
        except AmdgpuError as exc:
            errors.append(exc)
        self.kfd_fd = -1
        if errors:
            raise errors[0]

    def shutdown(self) -> None:
        """Close /dev/kfd and every render file: nothing of this process remains open."""
        errors: list[AmdgpuError] = []
        try:
            self.close()
        except AmdgpuError as exc:
            errors.append(exc)
        for render_fd in self.render_fds.values():
            try:
                self.transport.close(render_fd)
            except AmdgpuError as exc:
                errors.append(exc)
        self.render_fds.clear()
        if errors:
            raise errors[0]


@atexit.register
def _shutdown_all() -> None:
    for process in list(KfdProcess._shared.values()):
        with contextlib.suppress(AmdgpuError):
            process.shutdown()
    KfdProcess._shared.clear()
