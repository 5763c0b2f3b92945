"""dma-buf sharing: a Buffer exported as a file descriptor, and that descriptor imported on any GPU."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_amdgpu.errors import ResourceClosedError

if TYPE_CHECKING:
    from pytest_amdgpu.driver.buffer import Buffer
    from pytest_amdgpu.driver.device import Device


@dataclass(frozen=True)
class DmaBufInfo:
    """What GET_DMABUF_INFO tells of a dma-buf: its size, the GPU that exported it, where it lives."""

    size: int
    gpu_id: int
    flags: int  # KFD_IOC_ALLOC_MEM_FLAGS_VRAM or _GTT, with _PUBLIC when the CPU must reach it


class DmaBuf:
    """A dma-buf file descriptor exported from a Buffer.

    It holds the buffer's pages by itself: the Buffer may be freed while the fd lives, and a Buffer
    imported from it keeps the pages after the fd is closed, as the kernel's reference counting does.
    """

    def __init__(self, device: Device, fd: int, source: Buffer) -> None:
        self.device = device
        self.fd = fd
        self.size = source.alloc_size
        self.source = repr(source)
        self.closed = False

    def fileno(self) -> int:
        if self.closed:
            raise ResourceClosedError(f"{self} was closed")
        return self.fd

    def close(self) -> None:
        """Close the file descriptor; idempotent."""
        if self.closed:
            return
        self.closed = True
        self.device.forget_dmabuf(self)
        self.device.transport.close(self.fd)

    def __enter__(self) -> DmaBuf:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "closed", True):
            warnings.warn(f"{self} was never closed", ResourceWarning, stacklevel=2)

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<DmaBuf fd {self.fd} of {self.source}{state}>"
