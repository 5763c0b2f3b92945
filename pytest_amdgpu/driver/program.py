"""Programs in the driver: a code object checked against the GPU, uploaded once, with a kernel to dispatch."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.driver.buffer import Buffer
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.program import CodeObject, KernelInfo, load_code_object

if TYPE_CHECKING:
    from pytest_amdgpu.driver.device import Device


@dataclass
class Upload:
    """A code object's image in GPU memory (executable VRAM); shared by every Program made from it."""

    code_object: CodeObject
    buffer: Buffer


class Program:
    """One kernel of an uploaded code object, ready for ComputeQueue.dispatch()."""

    def __init__(self, device: Device, upload: Upload, kernel: str) -> None:
        self.device = device
        self.upload = upload
        self.kernel: KernelInfo = upload.code_object.kernel(kernel)  # UnknownKernelError lists the names
        self.name = kernel

    @property
    def code_object(self) -> CodeObject:
        return self.upload.code_object

    @property
    def base_va(self) -> int:
        return self.upload.buffer.gpu_addr

    @property
    def entry_va(self) -> int:
        """Address of the kernel's first instruction (COMPUTE_PGM_LO/HI hold it shifted right by 8)."""
        return self.base_va + self.kernel.code_offset

    @property
    def descriptor_va(self) -> int:
        return self.base_va + self.kernel.descriptor_offset

    def with_kernel(self, name: str) -> Program:
        """Another kernel of the same upload."""
        return Program(self.device, self.upload, name)

    @property
    def kernel_names(self) -> list[str]:
        return sorted(self.code_object.kernels)

    def __repr__(self) -> str:
        where = f"at {self.entry_va:#x} on gpu {self.device.gpu_id}"
        return f"<Program {self.name} ({self.code_object.target}) {where}>"


def read_code_object(source: bytes | bytearray | str | os.PathLike[str]) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return handle.read()
    raise ConfigurationError(f"a code object is bytes or a path, not {type(source).__name__}")


def upload(device: Device, data: bytes, cache: dict[str, Upload]) -> Upload:
    """Load `data` for `device`'s target and upload its image, once per distinct code object."""
    key = hashlib.sha256(data).hexdigest()
    if key in cache:
        return cache[key]
    code_object = load_code_object(data, device.target)  # TargetMismatchError names both targets
    size = max(len(code_object.image), 1)
    buffer = device.alloc(size, "vram", executable=True)
    buffer.owner = device  # the device frees its program uploads when it closes
    try:
        if buffer.gpu_addr % code_object.image_align:
            raise ConfigurationError(
                f"code buffer at {buffer.gpu_addr:#x} is not aligned to {code_object.image_align:#x}"
            )
        buffer.write(np.frombuffer(code_object.load(buffer.gpu_addr), dtype=np.uint8))
    except BaseException:
        buffer.free()
        raise
    cache[key] = Upload(code_object, buffer)
    return cache[key]
