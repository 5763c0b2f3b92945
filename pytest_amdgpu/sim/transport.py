"""SimTransport: the Transport seam answered by the simulated KFD kernel of one simulated machine."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pytest_amdgpu import families
from pytest_amdgpu.errors import KfdIoctlError, TransportError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import MAP_FIXED, MappedRegion, Transport, libc_mmap, libc_munmap
from pytest_amdgpu.sim.kfd import DmaBufPages, KernelError, SimBo, SimKfd
from pytest_amdgpu.sim.machines import get_machine, render_sysfs
from pytest_amdgpu.topology import Node, parse_topology


class SimMappedRegion(MappedRegion):
    """A CPU mapping of simulated GPU memory: stores also tell the simulated GPUs that memory changed."""

    def __init__(
        self, addr: int, length: int, bo: SimBo | None, on_store: Callable[[int, int], None]
    ) -> None:
        super().__init__(addr, length)
        self.bo = bo
        self._on_store = on_store

    def _after_store(self, offset: int, size: int) -> None:
        self._on_store(offset, size)


def _doorbell_size(node: Node) -> int:
    return families.get_target(node.properties.get("gfx_target_version", 0)).doorbell_size_bytes


class SimTransport(Transport):
    """One simulated machine and the one KFD process this Python process has on it."""

    def __init__(self, machine: str = "mi300x") -> None:
        self.machine = get_machine(machine)
        self.name = f"sim:{self.machine.name}"
        self._root = Path(tempfile.mkdtemp(prefix=f"pytest-amdgpu-{self.machine.name}-"))
        topology_dir = self._root / "topology"
        try:
            render_sysfs(self.machine, topology_dir)
            self.kernel = SimKfd(parse_topology(topology_dir), _doorbell_size)
        except BaseException:
            shutil.rmtree(self._root, ignore_errors=True)
            raise
        self._topology_dir = topology_dir
        self._regions: dict[int, SimMappedRegion] = {}
        self.closed = False

    @property
    def sysfs_topology(self) -> Path:
        return self._topology_dir

    def _call(self, what: str, function, *args):
        try:
            return function(*args)
        except KernelError as exc:
            raise TransportError(
                exc.errno, f"{what} failed: {errno.errorcode.get(exc.errno)} ({exc.rule})"
            ) from None

    def open(self, path: str, flags: int = os.O_RDWR | os.O_CLOEXEC) -> int:
        self._check_open()
        return self._call(f"open({path})", self.kernel.open, path).fd

    def close(self, fd: int) -> None:
        self._call(f"close(fd {fd})", self.kernel.close, fd)

    def ioctl(self, fd: int, request: int, args: ctypes.Structure) -> None:
        self._check_open()
        try:
            self.kernel.ioctl(fd, request, ctypes.addressof(args))
        except KernelError as exc:
            raise KfdIoctlError(abi.ioctl_name(request), exc.errno, exc.rule) from None

    def mmap(
        self, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0, addr: int = 0
    ) -> MappedRegion:
        self._check_open()
        if fd == -1:
            return MappedRegion(libc_mmap(addr, length, prot, flags, -1, offset), length)
        backing, bo, on_store = self._call(
            f"mmap(fd {fd}, offset {offset:#x})", self.kernel.mmap_target, fd, offset, length
        )
        if backing.fd < 0:
            raise TransportError(
                errno.EINVAL, f"mmap(fd {fd}, offset {offset:#x}): a userptr BO has no pages to map"
            )
        file_offset = offset if isinstance(backing, DmaBufPages) else 0  # a BO's memfd holds just that BO
        mapped_addr = libc_mmap(
            addr, length, prot, flags | (MAP_FIXED if addr else 0), backing.fd, file_offset
        )
        region = SimMappedRegion(mapped_addr, length, bo, on_store)
        if bo is not None:
            bo.cpu_mappings += 1
        self._regions[mapped_addr] = region
        return region

    def munmap(self, region: MappedRegion) -> None:
        if region.closed:
            return
        libc_munmap(region.addr, region.length)
        region.closed = True
        if isinstance(region, SimMappedRegion):
            self._regions.pop(region.addr, None)
            if region.bo is not None:
                region.bo.cpu_mappings -= 1

    def stall_report(self) -> list[str] | None:
        """Run the engines, then list the queues that still hold work they cannot run, and why (None while a
        dispatch is still running)."""
        if self.closed:
            return []
        self.kernel.pump()
        return self.kernel.stall_report()

    def _check_open(self) -> None:
        if self.closed:
            raise TransportError(errno.EBADF, f"the simulated machine {self.machine.name!r} was shut down")

    def close_transport(self) -> None:
        """Process exit on the simulated machine: unmap what is still mapped, release every kernel object."""
        if self.closed:
            return
        self.closed = True
        for region in list(self._regions.values()):
            self.munmap(region)
        self.kernel.shutdown()
        shutil.rmtree(self._root, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<SimTransport {self.machine.name}>"
