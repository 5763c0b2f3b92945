"""How KFD encodes mmap offsets of /dev/kfd (kfd_priv.h): a type in the top bits, a gpu_id below it."""

from __future__ import annotations

# The kernel applies these to the byte offset user space passes to mmap().
KFD_MMAP_TYPE_SHIFT = 62
KFD_MMAP_TYPE_MASK = 0x3 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_DOORBELL = 0x3 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_EVENTS = 0x2 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_RESERVED_MEM = 0x1 << KFD_MMAP_TYPE_SHIFT
KFD_MMAP_TYPE_MMIO = 0x0 << KFD_MMAP_TYPE_SHIFT

KFD_GPU_ID_HASH_WIDTH = 16
KFD_MMAP_GPU_ID_SHIFT = 46
KFD_MMAP_GPU_ID_MASK = ((1 << KFD_GPU_ID_HASH_WIDTH) - 1) << KFD_MMAP_GPU_ID_SHIFT


def kfd_mmap_gpu_id(gpu_id: int) -> int:
    """The gpu_id field of a KFD mmap offset."""
    return (gpu_id << KFD_MMAP_GPU_ID_SHIFT) & KFD_MMAP_GPU_ID_MASK


def kfd_mmap_get_gpu_id(offset: int) -> int:
    return (offset & KFD_MMAP_GPU_ID_MASK) >> KFD_MMAP_GPU_ID_SHIFT


def kfd_mmap_type(offset: int) -> int:
    return offset & KFD_MMAP_TYPE_MASK


def doorbell_mmap_offset(gpu_id: int) -> int:
    """Where a process maps its doorbell slice of one GPU from /dev/kfd."""
    return KFD_MMAP_TYPE_DOORBELL | kfd_mmap_gpu_id(gpu_id)


def mmio_mmap_offset(gpu_id: int) -> int:
    """Where a process maps the remapped HDP-flush MMIO page of one GPU from /dev/kfd."""
    return KFD_MMAP_TYPE_MMIO | kfd_mmap_gpu_id(gpu_id)


def events_mmap_offset() -> int:
    """Where a process maps its signal-event page from /dev/kfd."""
    return KFD_MMAP_TYPE_EVENTS


# Handles returned by ALLOC_MEMORY_OF_GPU carry the gpu_id above an IDR index (kfd_priv.h MAKE_HANDLE).
def make_handle(gpu_id: int, idr_handle: int) -> int:
    return (gpu_id << 32) | idr_handle


def handle_gpu_id(handle: int) -> int:
    return handle >> 32


def handle_idr(handle: int) -> int:
    return handle & 0xFFFFFFFF
