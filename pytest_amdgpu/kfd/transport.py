"""The Transport seam: the few system calls the driver makes, and their Linux implementation."""

from __future__ import annotations

import abc
import ctypes
import errno
import fcntl
import mmap as _mmap
import os
from pathlib import Path

import numpy as np

from pytest_amdgpu.errors import KfdIoctlError, TransportError
from pytest_amdgpu.kfd import abi

KFD_DEVICE_PATH = "/dev/kfd"
RENDER_DEVICE_PATTERN = "/dev/dri/renderD{minor}"
DEFAULT_SYSFS_TOPOLOGY = "/sys/devices/virtual/kfd/kfd/topology"
PAGE_SIZE = _mmap.PAGESIZE

PROT_NONE = _mmap.PROT_NONE if hasattr(_mmap, "PROT_NONE") else 0
PROT_READ = _mmap.PROT_READ
PROT_WRITE = _mmap.PROT_WRITE
MAP_SHARED = _mmap.MAP_SHARED
MAP_PRIVATE = _mmap.MAP_PRIVATE
MAP_ANONYMOUS = _mmap.MAP_ANONYMOUS
MAP_FIXED = 0x10
MAP_NORESERVE = 0x4000
_MAP_FAILED = ctypes.c_void_p(-1).value

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.mmap.restype = ctypes.c_void_p
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.munmap.restype = ctypes.c_int


def libc_mmap(addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """mmap(2) through libc; returns the address or raises TransportError naming the arguments."""
    result = _libc.mmap(addr or None, length, prot, flags, fd, offset)
    if result is None or result == _MAP_FAILED:
        err = ctypes.get_errno()
        raise TransportError(
            err,
            f"mmap(addr={addr:#x}, length={length:#x}, prot={prot:#x}, flags={flags:#x}, fd={fd}, "
            f"offset={offset:#x}) failed: {errno.errorcode.get(err, err)} ({os.strerror(err)})",
        )
    return int(result)


def libc_munmap(addr: int, length: int) -> None:
    """munmap(2) through libc; raises TransportError on failure."""
    if _libc.munmap(addr, length) != 0:
        err = ctypes.get_errno()
        raise TransportError(err, f"munmap(addr={addr:#x}, length={length:#x}) failed: {os.strerror(err)}")


class MappedRegion:
    """A range of this process's address space that a Transport mapped: CPU loads and stores go through it.

    On hardware a store is a plain memory write. A transport that must react to stores (a doorbell,
    a value a GPU queue polls) subclasses this and overrides `_after_store`.
    """

    def __init__(self, addr: int, length: int) -> None:
        self.addr = addr
        self.length = length
        self.closed = False
        self.writable = True  # False for a PROT_READ mapping: stores are refused instead of faulting

    def _check_store(self, offset: int, size: int) -> None:
        self._check(offset, size)
        if not self.writable:
            raise TransportError(errno.EACCES, f"mapping at {self.addr:#x} is read-only")

    def _check(self, offset: int, size: int) -> None:
        if self.closed:
            raise TransportError(errno.EFAULT, f"mapping at {self.addr:#x} was unmapped")
        if offset < 0 or size < 0 or offset + size > self.length:
            raise TransportError(
                errno.EFAULT,
                f"access of {size} bytes at offset {offset} is outside the {self.length}-byte mapping "
                f"at {self.addr:#x}",
            )

    def write(self, offset: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        source = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        if not source.flags.c_contiguous:
            source = np.ascontiguousarray(source)
        self._check_store(offset, source.nbytes)
        ctypes.memmove(self.addr + offset, source.ctypes.data, source.nbytes)
        self._after_store(offset, source.nbytes)

    def read(self, offset: int, size: int) -> bytes:
        self._check(offset, size)
        return ctypes.string_at(self.addr + offset, size)

    def store_u32(self, offset: int, value: int) -> None:
        self._check_store(offset, 4)
        ctypes.c_uint32.from_address(self.addr + offset).value = value
        self._after_store(offset, 4)

    def store_u64(self, offset: int, value: int) -> None:
        self._check_store(offset, 8)
        ctypes.c_uint64.from_address(self.addr + offset).value = value
        self._after_store(offset, 8)

    def load_u32(self, offset: int) -> int:
        self._check(offset, 4)
        return ctypes.c_uint32.from_address(self.addr + offset).value

    def load_u64(self, offset: int) -> int:
        self._check(offset, 8)
        return ctypes.c_uint64.from_address(self.addr + offset).value

    def ctypes_array(self) -> ctypes.Array:
        """The whole mapping as a ctypes byte array (for zero-copy numpy views)."""
        self._check(0, 0)
        return (ctypes.c_ubyte * self.length).from_address(self.addr)

    def _after_store(self, offset: int, size: int) -> None:
        """Hook for transports whose hardware reacts to CPU stores; plain memory does nothing."""


class Transport(abc.ABC):
    """The seam between the driver and the kernel: everything above it is the same for hardware and sim."""

    #: short description for headers and reports, e.g. "kfd" or "sim:mi300x"
    name: str = "transport"

    @property
    @abc.abstractmethod
    def sysfs_topology(self) -> Path:
        """Directory laid out like /sys/devices/virtual/kfd/kfd/topology."""

    @abc.abstractmethod
    def open(self, path: str, flags: int = os.O_RDWR | os.O_CLOEXEC) -> int:
        """Open a device file; returns a file descriptor."""

    @abc.abstractmethod
    def close(self, fd: int) -> None:
        """Close a file descriptor returned by open()."""

    @abc.abstractmethod
    def ioctl(self, fd: int, request: int, args: ctypes.Structure) -> None:
        """Issue an ioctl with `args` passed by reference; raises KfdIoctlError on failure."""

    @abc.abstractmethod
    def mmap(
        self, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0, addr: int = 0
    ) -> MappedRegion:
        """Map `length` bytes; fd -1 maps anonymous memory. Raises TransportError on failure."""

    @abc.abstractmethod
    def munmap(self, region: MappedRegion) -> None:
        """Unmap a region returned by mmap()."""

    def stall_report(self) -> list[str] | None:
        """Queues that hold work they cannot run, and why; None when this transport cannot tell (hardware)."""
        return None

    def close_transport(self) -> None:  # noqa: B027 - optional hook, a no-op for the real kernel
        """End of this transport's life. The real kernel needs nothing; the simulator ends its process."""

    def render_device_path(self, minor: int) -> str:
        return RENDER_DEVICE_PATTERN.format(minor=minor)

    @property
    def kfd_device_path(self) -> str:
        return KFD_DEVICE_PATH


class LinuxTransport(Transport):
    """The real kernel: os.open, fcntl.ioctl (retrying EINTR), libc mmap/munmap, a sysfs topology root."""

    name = "kfd"

    def __init__(self, sysfs_topology: str | os.PathLike[str] = DEFAULT_SYSFS_TOPOLOGY) -> None:
        self._sysfs_topology = Path(sysfs_topology)

    @property
    def sysfs_topology(self) -> Path:
        return self._sysfs_topology

    def open(self, path: str, flags: int = os.O_RDWR | os.O_CLOEXEC) -> int:
        try:
            return os.open(path, flags)
        except OSError as exc:
            raise TransportError(exc.errno, f"cannot open {path}: {exc.strerror}") from exc

    def close(self, fd: int) -> None:
        try:
            os.close(fd)
        except OSError as exc:
            raise TransportError(exc.errno, f"close(fd {fd}) failed: {exc.strerror}") from exc

    def ioctl(self, fd: int, request: int, args: ctypes.Structure) -> None:
        while True:
            try:
                fcntl.ioctl(fd, request, args, True)
                return
            except InterruptedError:
                continue
            except OSError as exc:
                raise KfdIoctlError(abi.ioctl_name(request), exc.errno or errno.EIO) from None

    def mmap(
        self, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0, addr: int = 0
    ) -> MappedRegion:
        return MappedRegion(libc_mmap(addr, length, prot, flags, fd, offset), length)

    def munmap(self, region: MappedRegion) -> None:
        if region.closed:
            return
        libc_munmap(region.addr, region.length)
        region.closed = True

    def usable(self) -> tuple[bool, str]:
        """Whether /dev/kfd can be opened and the topology lists a GPU; with the reason when not."""
        if not os.path.exists(KFD_DEVICE_PATH):
            return False, f"{KFD_DEVICE_PATH} does not exist (amdgpu/amdkfd driver not loaded?)"
        try:
            fd = os.open(KFD_DEVICE_PATH, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            return False, f"cannot open {KFD_DEVICE_PATH}: {exc.strerror} (is the user in the render group?)"
        os.close(fd)
        nodes = self._sysfs_topology / "nodes"
        if not nodes.is_dir():
            return False, f"no KFD topology at {self._sysfs_topology}"
        for node in nodes.iterdir():
            gpu_id_file = node / "gpu_id"
            if gpu_id_file.is_file() and gpu_id_file.read_text().strip() not in ("", "0"):
                return True, "usable"
        return False, f"the KFD topology at {self._sysfs_topology} lists no GPU node"
