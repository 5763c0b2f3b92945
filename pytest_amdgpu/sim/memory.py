"""Simulated GPU memory: BO backing store, safe user-memory copies, and the per-GPU virtual address map."""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import itertools
import mmap
import os
from dataclasses import dataclass, field

import numpy as np

_libc = ctypes.CDLL(None, use_errno=True)


class _IoVec(ctypes.Structure):
    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


for _name in ("process_vm_readv", "process_vm_writev"):
    _function = getattr(_libc, _name)
    _function.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(_IoVec),
        ctypes.c_ulong,
        ctypes.POINTER(_IoVec),
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    _function.restype = ctypes.c_ssize_t


class UserFaultError(Exception):
    """A user pointer the simulated kernel could not read or write (the kernel's EFAULT)."""

    def __init__(self, addr: int, size: int) -> None:
        super().__init__(f"user address {addr:#x} (+{size}) is not accessible")
        self.addr = addr
        self.size = size


def _user_copy(function_name: str, local_addr: int, remote_addr: int, size: int) -> None:
    """Copy through process_vm_readv/writev on our own pid: a bad address gives EFAULT, never a crash."""
    if size == 0:
        return
    if remote_addr <= 0:
        raise UserFaultError(remote_addr, size)
    local = _IoVec(local_addr, size)
    remote = _IoVec(remote_addr, size)
    done = getattr(_libc, function_name)(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if done != size:
        raise UserFaultError(remote_addr, size)


def copy_from_user(addr: int, size: int) -> bytes:
    """Read `size` bytes of this process's memory at `addr` the way the kernel's copy_from_user would."""
    buffer = ctypes.create_string_buffer(size)
    _user_copy("process_vm_readv", ctypes.addressof(buffer), addr, size)
    return buffer.raw


def first_missing_page(addr: int, size: int, page_bytes: int) -> int | None:
    """The first page of [addr, addr + size) no readable mapping of this process covers, or None when every
    page is covered: what get_user_pages needs of a range (a VMA with read access over each page)."""
    first = addr - addr % page_bytes
    end = addr + size
    covered = first
    with open("/proc/self/maps", "rb") as maps:
        for line in maps:
            span, perms = line.split(b" ", 2)[:2]
            low, high = (int(part, 16) for part in span.split(b"-"))
            if high <= covered:
                continue
            if low > covered or perms[:1] != b"r":
                return covered  # a hole, or a mapping that cannot be read
            covered = high
            if covered >= end:
                return None
    return covered if covered < end else None


def copy_to_user(addr: int, data: bytes) -> None:
    """Write `data` at user address `addr`; raises UserFaultError where the kernel would return EFAULT."""
    source = ctypes.create_string_buffer(bytes(data), len(data))
    _user_copy("process_vm_writev", ctypes.addressof(source), addr, len(data))


_serials = itertools.count()


def memfd_name(fd: int) -> str | None:
    """The name a memfd was created with, or None when `fd` is no memfd (or not open)."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    if not target.startswith("/memfd:"):
        return None
    return target.removeprefix("/memfd:").removesuffix(" (deleted)")


def open_memfd_names() -> dict[str, int]:
    """How many open descriptors of this process refer to each memfd, by memfd name."""
    counts: dict[str, int] = {}
    for entry in os.listdir("/proc/self/fd"):
        name = memfd_name(int(entry))
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return counts


class Backing:
    """The bytes of one simulated BO: a sparse memfd, so untouched VRAM costs no host RAM."""

    def __init__(self, size: int, label: str, *, fd: int = -1) -> None:
        """New zeroed pages, or (fd given) the pages of an existing memfd: the Backing takes over `fd`."""
        self.size = size
        if fd < 0:
            self.name = f"pytest-amdgpu-{label}-{next(_serials)}"  # unique: it identifies exported pages
        else:  # the pages of another Backing: they keep that Backing's name
            self.name = memfd_name(fd)
        self.fd = os.memfd_create(self.name, os.MFD_CLOEXEC) if fd < 0 else fd
        try:
            if fd < 0:
                os.ftruncate(self.fd, size)
            self._map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self.fd)
            raise
        self.bytes = np.frombuffer(self._map, dtype=np.uint8)

    def close(self) -> None:
        if self.fd < 0:
            return
        self.bytes = np.empty(0, dtype=np.uint8)
        with contextlib.suppress(BufferError):  # a live view keeps the pages; they go with it
            self._map.close()
        os.close(self.fd)
        self.fd = -1


class UserPtrBacking:
    """A BO made of registered user memory: the simulator reads and writes exactly that range."""

    def __init__(self, addr: int, size: int) -> None:
        self.size = size
        self.addr = addr
        self.fd = -1
        self.bytes = np.ctypeslib.as_array((ctypes.c_ubyte * size).from_address(addr))

    def close(self) -> None:
        self.bytes = np.empty(0, dtype=np.uint8)


@dataclass
class VmMapping:
    """One range of a GPU virtual address space and the BO behind it."""

    va: int
    size: int
    bo: object  # the SimBo; typed loosely to keep this module free of kfd-model imports
    writable: bool
    doorbell: bool = False  # the BO is a doorbell page: writes to it ring (settled once, at map time)

    @property
    def end(self) -> int:
        return self.va + self.size


@dataclass
class GpuVm:
    """The virtual address space of one process on one GPU: sorted, non-overlapping mappings."""

    gpu_id: int
    _starts: list[int] = field(default_factory=list)
    _mappings: list[VmMapping] = field(default_factory=list)

    def overlapping(self, va: int, size: int) -> VmMapping | None:
        index = bisect.bisect_right(self._starts, va)
        for candidate in self._mappings[max(index - 1, 0) : index + 1]:
            if candidate.va < va + size and va < candidate.end:
                return candidate
        return None

    def map(self, va: int, size: int, bo: object, writable: bool) -> None:
        clash = self.overlapping(va, size)
        if clash is not None:
            raise ValueError(
                f"va {va:#x}-{va + size:#x} conflicts with the mapping at {clash.va:#x}-{clash.end:#x}"
            )
        index = bisect.bisect_left(self._starts, va)
        self._starts.insert(index, va)
        doorbell = bool(getattr(bo, "is_doorbell", False))
        self._mappings.insert(index, VmMapping(va, size, bo, writable, doorbell))

    def unmap(self, va: int) -> VmMapping:
        index = bisect.bisect_left(self._starts, va)
        if index == len(self._starts) or self._starts[index] != va:
            raise KeyError(va)
        self._starts.pop(index)
        return self._mappings.pop(index)

    def lookup(self, va: int, size: int = 1) -> VmMapping | None:
        """The mapping that holds all of [va, va+size), or None (a GPU access there would fault)."""
        index = bisect.bisect_right(self._starts, va) - 1
        if index < 0:
            return None
        mapping = self._mappings[index]
        return mapping if va + size <= mapping.end else None

    def __len__(self) -> int:
        return len(self._mappings)


class GpuFaultError(Exception):
    """A GPU access its VM does not allow; the device raises a memory-exception event with `va`."""

    def __init__(self, gpu_id: int, va: int, write: bool, reason: str) -> None:
        access = "write" if write else "read"
        super().__init__(f"GPU memory fault on gpu_id {gpu_id}: {access} at {va:#x} ({reason})")
        self.gpu_id = gpu_id
        self.va = va
        self.write = write
        self.reason = reason


class GpuMemory:
    """Memory as one simulated GPU sees it: only through its VM, with permissions, faulting elsewhere."""

    def __init__(self, vm: GpuVm) -> None:
        self.vm = vm
        # GPU writes that landed in a doorbell page, (BO, offset): the engines ring them after the step
        self.doorbell_writes: list[tuple[object, int]] = []

    def _mapping(self, va: int, size: int, write: bool) -> tuple[VmMapping, int]:
        mapping = self.vm.lookup(va, max(size, 1))
        if mapping is None or mapping.bo is None:
            first = self.vm.lookup(va, 1)
            reason = (
                "not mapped" if first is None or first.bo is None else "access runs past the end of a mapping"
            )
            raise GpuFaultError(self.vm.gpu_id, va if first is None else first.end, write, reason)
        if write and not mapping.writable:
            raise GpuFaultError(self.vm.gpu_id, va, write, "mapping is read-only")
        if write and mapping.doorbell:
            self.doorbell_writes.append((mapping.bo, va - mapping.va))
        return mapping, va - mapping.va

    def view(self, va: int, size: int, write: bool = False) -> np.ndarray:
        """A zero-copy uint8 view of [va, va+size), which must lie inside one mapping."""
        mapping, offset = self._mapping(va, size, write)
        return mapping.bo.backing.bytes[offset : offset + size]  # type: ignore[attr-defined]

    def _pieces(self, va: int, size: int, write: bool) -> list[tuple[np.ndarray, int]]:
        """The access split at mapping boundaries: (view, offset into the caller's data) pairs."""
        pieces = []
        done = 0
        while done < size:
            first = self.vm.lookup(va + done, 1)
            if first is None or first.bo is None:
                raise GpuFaultError(self.vm.gpu_id, va + done, write, "not mapped")
            length = min(size - done, first.end - (va + done))
            pieces.append((self.view(va + done, length, write), done))
            done += length
        return pieces

    def read(self, va: int, size: int) -> np.ndarray:
        """A copy of [va, va+size) as uint8, crossing mapping boundaries where the VM is contiguous."""
        out = np.empty(size, dtype=np.uint8)
        for piece, offset in self._pieces(va, size, write=False):
            out[offset : offset + piece.size] = piece
        return out

    def write(self, va: int, data: np.ndarray | bytes) -> None:
        source = (
            np.frombuffer(data, dtype=np.uint8)
            if isinstance(data, (bytes, bytearray))
            else data.view(np.uint8)
        )
        pieces = self._pieces(va, source.size, write=True)  # check every piece before writing any
        for piece, offset in pieces:
            piece[:] = source[offset : offset + piece.size]

    def read_u32(self, va: int) -> int:
        return int(self.view(va, 4).view(np.uint32)[0])

    def read_u64(self, va: int) -> int:
        return int(self.view(va, 8).view(np.uint64)[0])

    def write_u32(self, va: int, value: int) -> None:
        self.view(va, 4, write=True).view(np.uint32)[0] = value & 0xFFFF_FFFF

    def write_u64(self, va: int, value: int) -> None:
        self.view(va, 8, write=True).view(np.uint64)[0] = value & 0xFFFF_FFFF_FFFF_FFFF
