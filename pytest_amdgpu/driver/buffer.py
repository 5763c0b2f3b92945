"""GPU memory objects: a Buffer is one KFD allocation, mapped at the same address for the CPU and the GPU."""

from __future__ import annotations

import ctypes
import warnings
from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.errors import ConfigurationError, OutOfBoundsError, ResourceClosedError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import MappedRegion

if TYPE_CHECKING:
    from pytest_amdgpu.driver.device import Device
    from pytest_amdgpu.driver.dmabuf import DmaBuf

DOMAINS = ("vram", "gtt", "host")


def as_byte_array(data: object) -> np.ndarray:
    """Any bytes-like object or numpy array as a flat, C-contiguous uint8 array (no copy when possible)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, dtype=np.uint8)
    raise ConfigurationError(
        f"cannot write a {type(data).__name__}: expected bytes, bytearray, memoryview or a numpy array"
    )


class Buffer:
    """One allocation of GPU-visible memory: `gpu_addr` is both its GPU VA and its CPU address."""

    def __init__(
        self,
        device: Device,
        *,
        domain: str,
        gpu_addr: int,
        size: int,
        alloc_size: int,
        handle: int,
        flags: int,
        cpu: MappedRegion | None,
    ) -> None:
        self.device = device
        self.domain = domain
        self.gpu_addr = gpu_addr
        self.size = size
        self.alloc_size = alloc_size
        self.handle = handle
        self.flags = flags
        self._cpu = cpu
        self.mapped_gpu_ids: list[int] = []
        self.freed = False
        self.owner: object | None = None  # a queue or semaphore that frees this buffer itself
        self.registration: object | None = None  # caller-owned memory registered by Device.register_host
        self.keepalive: object | None = None  # what must outlive the registration (the caller's array)
        self.exporter_gpu_id: int | None = None  # set on a Buffer imported from a dma-buf

    # -- CPU access --------------------------------------------------------------------------

    @property
    def cpu(self) -> MappedRegion:
        if self.freed:
            raise ResourceClosedError(f"{self} was freed")
        if self._cpu is None:
            raise ConfigurationError(f"{self} has no CPU mapping")
        return self._cpu

    def _check_range(self, what: str, offset: int, nbytes: int) -> None:
        if offset < 0 or nbytes < 0 or offset + nbytes > self.size:
            raise OutOfBoundsError(
                f"{what} of {nbytes} bytes at offset {offset} does not fit in {self} "
                f"(valid offsets 0..{self.size}, size {self.size} bytes)"
            )

    def write(self, data: object, offset: int = 0) -> None:
        """Copy `data` (bytes-like or numpy array) into the buffer at byte `offset`; bounds-checked."""
        source = as_byte_array(data)
        self._check_range("write", offset, source.nbytes)
        self.cpu.write(offset, source)

    def read(self, dtype: np.typing.DTypeLike = np.uint8, count: int = -1, offset: int = 0) -> np.ndarray:
        """A copy of `count` items of `dtype` from byte `offset` (all that fit when count is -1)."""
        item_size = np.dtype(dtype).itemsize
        if count == -1:
            count = (self.size - max(offset, 0)) // item_size
        self._check_range("read", offset, count * item_size)
        return np.frombuffer(self.cpu.read(offset, count * item_size), dtype=dtype).copy()

    def view(self, dtype: np.typing.DTypeLike = np.uint8) -> np.ndarray:
        """A zero-copy numpy view of the whole buffer (valid until free())."""
        item_size = np.dtype(dtype).itemsize
        if self.size % item_size:
            raise ConfigurationError(
                f"{self} of {self.size} bytes is not a whole number of {np.dtype(dtype)}"
            )
        raw = np.ctypeslib.as_array(self.cpu.ctypes_array())[: self.size]
        raw.flags.writeable = self.cpu.writable  # a read-only mapping gives a read-only view
        return raw.view(dtype)

    def fill(self, byte_value: int) -> None:
        """Set every byte to `byte_value` from the CPU."""
        self.cpu._check_store(0, self.size)
        ctypes.memset(self.cpu.addr, byte_value, self.size)

    # -- GPU mappings ------------------------------------------------------------------------

    def map_to(self, *devices: Device) -> None:
        """Map this buffer into the GPU VM of further devices (peer access)."""
        self.device.map_buffer(self, devices)

    def unmap_from(self, *devices: Device) -> None:
        self.device.unmap_buffer(self, devices)

    def export_dmabuf(self) -> DmaBuf:
        """A dma-buf file descriptor sharing this buffer's pages (close it when done)."""
        return self.device.export_dmabuf(self)

    # -- lifetime ----------------------------------------------------------------------------

    def free(self) -> None:
        """Unmap from every GPU, drop the CPU mapping and free the memory; idempotent."""
        if self.freed:
            return
        self.device.free_buffer(self)

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.free()

    def __del__(self) -> None:
        if not getattr(self, "freed", True):
            warnings.warn(f"{self} was never freed", ResourceWarning, stacklevel=2)

    def __repr__(self) -> str:
        state = " freed" if self.freed else ""
        where = f"at {self.gpu_addr:#x} on gpu {self.device.gpu_id}"
        return f"<Buffer {self.domain} {self.size} bytes {where}{state}>"


def domain_flags(domain: str, *, writable: bool, executable: bool, uncached: bool) -> int:
    """The ALLOC_MEMORY_OF_GPU flags for a memory domain and access options."""
    base = {
        "vram": abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC,
        "gtt": abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT,
        "host": abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR,
    }
    if domain not in base:
        raise ConfigurationError(f"unknown memory domain {domain!r}: expected one of {', '.join(DOMAINS)}")
    flags = base[domain] | abi.KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE
    if writable:
        flags |= abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    if executable:
        flags |= abi.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE
    if uncached:
        flags |= abi.KFD_IOC_ALLOC_MEM_FLAGS_UNCACHED
    return flags
