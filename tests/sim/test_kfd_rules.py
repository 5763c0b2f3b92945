"""The simulated KFD kernel answers raw ioctls with kfd_chardev.c's errno for each bad input.

Every test talks to the simulator through the Transport seam with the real request numbers and
struct bytes, exactly as the driver does, so these are the answers the driver would get.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator

import pytest

from pytest_amdgpu.errors import KfdIoctlError, TransportError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd import mmap_offsets as mo
from pytest_amdgpu.kfd.transport import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)
from pytest_amdgpu.sim.kfd import KernelError
from pytest_amdgpu.sim.transport import SimTransport

GTT = abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
VRAM = (
    abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM
    | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    | abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC
)
VA = 0x7000_0000_0000  # a page-aligned VA inside the gpuvm aperture


class Kfd:
    """A raw KFD session on a simulated machine: /dev/kfd and render nodes opened, nothing else done."""

    def __init__(self, machine: str) -> None:
        self.transport = SimTransport(machine)
        self.fd = self.transport.open("/dev/kfd")
        self.gpus = [node for node in self.transport.kernel.topology.gpus]
        self.gpu_ids = [node.gpu_id for node in self.gpus]
        self.render_fds: dict[int, int] = {}

    def ioctl(self, request: int, args: ctypes.Structure) -> ctypes.Structure:
        self.transport.ioctl(self.fd, request, args)
        return args

    def render(self, index: int = 0) -> int:
        node = self.gpus[index]
        return self.transport.open(f"/dev/dri/renderD{node.properties['drm_render_minor']}")

    def acquire(self, index: int = 0) -> int:
        render_fd = self.render(index)
        self.ioctl(
            abi.AMDKFD_IOC_ACQUIRE_VM,
            abi.kfd_ioctl_acquire_vm_args(drm_fd=render_fd, gpu_id=self.gpu_ids[index]),
        )
        self.render_fds[self.gpu_ids[index]] = render_fd
        return render_fd

    def alloc(self, size: int, flags: int, va: int = VA, gpu: int = 0, mmap_offset: int = 0):
        args = abi.kfd_ioctl_alloc_memory_of_gpu_args(
            va_addr=va, size=size, gpu_id=self.gpu_ids[gpu], flags=flags, mmap_offset=mmap_offset
        )
        return self.ioctl(abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, args)

    def map(self, handle: int, gpu_ids: list[int], n_success: int = 0):
        ids = (ctypes.c_uint32 * max(len(gpu_ids), 1))(*gpu_ids)
        args = abi.kfd_ioctl_map_memory_to_gpu_args(
            handle=handle,
            device_ids_array_ptr=ctypes.addressof(ids),
            n_devices=len(gpu_ids),
            n_success=n_success,
        )
        try:
            return self.ioctl(abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU, args)
        finally:
            self.last_map_args = args

    def unmap(self, handle: int, gpu_ids: list[int]):
        ids = (ctypes.c_uint32 * len(gpu_ids))(*gpu_ids)
        args = abi.kfd_ioctl_unmap_memory_from_gpu_args(
            handle=handle, device_ids_array_ptr=ctypes.addressof(ids), n_devices=len(gpu_ids)
        )
        return self.ioctl(abi.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, args)

    def free(self, handle: int) -> None:
        self.ioctl(abi.AMDKFD_IOC_FREE_MEMORY_OF_GPU, abi.kfd_ioctl_free_memory_of_gpu_args(handle=handle))

    def close(self) -> None:
        self.transport.close_transport()


@pytest.fixture
def kfd() -> Iterator[Kfd]:
    session = Kfd("mi300x")
    yield session
    session.close()


def fails(errno_value: int, function, *args, match: str | None = None) -> KfdIoctlError:
    with pytest.raises(KfdIoctlError) as failure:
        function(*args)
    assert failure.value.errno == errno_value, f"{failure.value} (wanted {errno.errorcode[errno_value]})"
    if match:
        assert match in str(failure.value)
    return failure.value


# -- dispatch ---------------------------------------------------------------------------------


def test_numbers_outside_the_command_range_are_enotty(kfd: Kfd) -> None:
    args = abi.kfd_ioctl_get_version_args()
    for nr in (0x00, 0x27, 0x80):
        request = abi._IOC(abi._IOC_READ, ord("K"), nr, ctypes.sizeof(args))
        fails(errno.ENOTTY, kfd.ioctl, request, args)


def test_a_real_ioctl_the_simulator_lacks_says_so(kfd: Kfd) -> None:
    error = fails(errno.EOPNOTSUPP, kfd.ioctl, abi.AMDKFD_IOC_CRIU_OP, abi.kfd_ioctl_criu_args())
    assert "AMDKFD_IOC_CRIU_OP" in str(error) and "does not model" in str(error)


def test_only_the_number_selects_the_ioctl_and_short_args_are_zero_filled(kfd: Kfd) -> None:
    # An older user space passing only the first 8 bytes of AVAILABLE_MEMORY: gpu_id reads as 0.
    args = abi.kfd_ioctl_get_available_memory_args(available=123, gpu_id=kfd.gpu_ids[0])
    short_request = abi._IOC(abi._IOC_READ | abi._IOC_WRITE, ord("K"), 0x23, 8)
    fails(errno.EINVAL, kfd.ioctl, short_request, args)
    # The type byte is not checked: 'X' instead of 'K' still reaches GET_VERSION.
    version = abi.kfd_ioctl_get_version_args()
    kfd.ioctl(abi._IOC(abi._IOC_READ, ord("X"), 0x01, 8), version)
    assert (version.major_version, version.minor_version) == (1, abi.KFD_IOCTL_MINOR_VERSION)


def test_an_unreadable_argument_pointer_is_efault(kfd: Kfd) -> None:
    # The transport always passes a live struct; the kernel side still copies from user memory safely.
    with pytest.raises(KernelError) as failure:
        kfd.transport.kernel.ioctl(kfd.fd, abi.AMDKFD_IOC_ACQUIRE_VM, 0x10)
    assert failure.value.errno == errno.EFAULT


def test_ioctl_on_a_closed_descriptor_is_ebadf(kfd: Kfd) -> None:
    fd = kfd.transport.open("/dev/kfd")
    kfd.transport.close(fd)
    with pytest.raises(KfdIoctlError) as failure:
        kfd.transport.ioctl(fd, abi.AMDKFD_IOC_GET_VERSION, abi.kfd_ioctl_get_version_args())
    assert failure.value.errno == errno.EBADF


# -- apertures --------------------------------------------------------------------------------


def test_apertures_count_then_fill_then_truncate(kfd: Kfd) -> None:
    count = kfd.ioctl(
        abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, abi.kfd_ioctl_get_process_apertures_new_args(num_of_nodes=0)
    ).num_of_nodes
    assert count == 8
    entries = (abi.kfd_process_device_apertures * 3)()
    args = abi.kfd_ioctl_get_process_apertures_new_args(
        kfd_process_device_apertures_ptr=ctypes.addressof(entries), num_of_nodes=3
    )
    kfd.ioctl(abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, args)
    assert args.num_of_nodes == 3
    assert [entry.gpu_id for entry in entries] == kfd.gpu_ids[:3]
    first = entries[0]
    assert (first.lds_base, first.lds_limit) == (0x1_0000_0000_0000, 0x1_0000_FFFF_FFFF)
    assert (first.scratch_base, first.scratch_limit) == (0x2_0000_0000_0000, 0x2_0000_FFFF_FFFF)
    assert (first.gpuvm_base, first.gpuvm_limit) == (0x10000, 0x7FFF_FFFF_FFFF)


def test_apertures_to_a_bad_pointer_is_efault_but_the_count_comes_back(kfd: Kfd) -> None:
    args = abi.kfd_ioctl_get_process_apertures_new_args(kfd_process_device_apertures_ptr=0x10, num_of_nodes=8)
    fails(errno.EFAULT, kfd.ioctl, abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW, args)
    assert args.num_of_nodes == 8


# -- ACQUIRE_VM -------------------------------------------------------------------------------


def test_acquire_vm_rules(kfd: Kfd) -> None:
    gpu0, gpu1 = kfd.gpu_ids[:2]
    acquire = abi.AMDKFD_IOC_ACQUIRE_VM
    closed_fd = kfd.render(0)
    kfd.transport.close(closed_fd)
    fails(errno.EINVAL, kfd.ioctl, acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=closed_fd, gpu_id=gpu0))
    render0 = kfd.render(0)
    fails(errno.EINVAL, kfd.ioctl, acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=render0, gpu_id=0xDEAD))
    not_drm = os.open(os.devnull, os.O_RDONLY)
    try:
        fails(errno.EINVAL, kfd.ioctl, acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=not_drm, gpu_id=gpu0))
    finally:
        os.close(not_drm)
    kfd.ioctl(acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=render0, gpu_id=gpu0))
    kfd.ioctl(acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=render0, gpu_id=gpu0))  # same file: fine
    other_file = kfd.render(0)
    fails(errno.EBUSY, kfd.ioctl, acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=other_file, gpu_id=gpu0))
    # One render file is one VM: it cannot become a second GPU's compute VM.
    fails(errno.EINVAL, kfd.ioctl, acquire, abi.kfd_ioctl_acquire_vm_args(drm_fd=render0, gpu_id=gpu1))


def test_runtime_enable_twice_is_ebusy_and_disable_always_works(kfd: Kfd) -> None:
    enable = abi.kfd_ioctl_runtime_enable_args(mode_mask=abi.KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK)
    kfd.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, enable)
    fails(errno.EBUSY, kfd.ioctl, abi.AMDKFD_IOC_RUNTIME_ENABLE, enable)
    kfd.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, abi.kfd_ioctl_runtime_enable_args(mode_mask=0))
    kfd.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, abi.kfd_ioctl_runtime_enable_args(mode_mask=0))
    kfd.ioctl(abi.AMDKFD_IOC_RUNTIME_ENABLE, enable)


# -- ALLOC_MEMORY_OF_GPU ----------------------------------------------------------------------


def test_alloc_checks_in_kernel_order(kfd: Kfd) -> None:
    fails(errno.EINVAL, kfd.alloc, 0, GTT, match="size is 0")
    args = abi.kfd_ioctl_alloc_memory_of_gpu_args(va_addr=VA, size=4096, gpu_id=0xBEEF, flags=GTT)
    fails(errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, args)
    fails(errno.ENODEV, kfd.alloc, 4096, GTT, match="ACQUIRE_VM")  # VM not acquired yet
    kfd.acquire(0)
    fails(errno.EINVAL, kfd.alloc, 4096, abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE, match="no memory type")
    userptr = abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    fails(errno.EINVAL, kfd.alloc, 4096, userptr, match="user address")
    fails(errno.EINVAL, kfd.alloc, 4096, userptr, VA, 0, 0x1234_5678_9001, match="not page aligned")
    fails(errno.EFAULT, kfd.alloc, 4096, userptr, VA, 0, 0x1000, match="not mapped")
    doorbell = abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    fails(errno.EINVAL, kfd.alloc, 4096, doorbell, match="doorbell slice of 8192")
    mmio = abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    fails(errno.EINVAL, kfd.alloc, 8192, mmio, match="one page")
    assert kfd.transport.kernel.live_objects() == []


def test_alloc_beyond_free_vram_is_enomem_and_accounts_nothing(kfd: Kfd) -> None:
    kfd.acquire(0)
    available = abi.kfd_ioctl_get_available_memory_args(gpu_id=kfd.gpu_ids[0])
    before = kfd.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, available).available
    assert before > 0 and before % (2 << 20) == 0
    fails(errno.ENOMEM, kfd.alloc, before + (64 << 20), VRAM, match="insufficient VRAM")
    assert kfd.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, available).available == before
    handle = kfd.alloc(4096, VRAM).handle
    assert kfd.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, available).available == before - (2 << 20)
    kfd.free(handle)
    assert kfd.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, available).available == before


def test_available_memory_of_an_unknown_gpu_is_einval(kfd: Kfd) -> None:
    args = abi.kfd_ioctl_get_available_memory_args(gpu_id=0xBEEF)
    fails(errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_AVAILABLE_MEMORY, args)


def test_handles_carry_the_gpu_id_and_reuse_the_lowest_free_index(kfd: Kfd) -> None:
    kfd.acquire(0)
    gpu_id = kfd.gpu_ids[0]
    first = kfd.alloc(4096, GTT, VA).handle
    second = kfd.alloc(4096, GTT, VA + 0x10000).handle
    assert (first, second) == (gpu_id << 32 | 0, gpu_id << 32 | 1)
    kfd.free(first)
    assert kfd.alloc(4096, GTT, VA + 0x20000).handle == first


def test_mmio_remap_is_mapped_through_kfd_and_others_through_the_render_node(kfd: Kfd) -> None:
    kfd.acquire(0)
    mmio = kfd.alloc(PAGE_SIZE, abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)
    assert mmio.mmap_offset == mo.KFD_MMAP_TYPE_MMIO | kfd.gpu_ids[0] << 46
    gtt = kfd.alloc(4096, GTT, VA + 0x10000)
    assert gtt.mmap_offset >= 1 << 32 and gtt.mmap_offset % PAGE_SIZE == 0


# -- FREE_MEMORY_OF_GPU -----------------------------------------------------------------------


def test_free_rules(kfd: Kfd) -> None:
    kfd.acquire(0)
    gpu_id = kfd.gpu_ids[0]
    fails(errno.EINVAL, kfd.free, gpu_id << 32 | 77, match="not an allocation")
    fails(errno.EINVAL, kfd.free, 0xBEEF << 32, match="not a GPU of this process")
    handle = kfd.alloc(4096, GTT).handle
    kfd.map(handle, [gpu_id])
    fails(errno.EBUSY, kfd.free, handle, match="still mapped")
    kfd.unmap(handle, [gpu_id])
    kfd.free(handle)
    fails(errno.EINVAL, kfd.free, handle)  # freeing twice


def test_a_handle_from_another_process_is_rejected(kfd: Kfd) -> None:
    other = Kfd("mi300x")  # another simulated process on an identical machine: same gpu_ids
    try:
        other.acquire(0)
        foreign = [other.alloc(4096, GTT, VA + page * 0x10000).handle for page in range(3)][-1]
    finally:
        other.close()
    kfd.acquire(0)
    kfd.alloc(4096, GTT)
    fails(errno.EINVAL, kfd.free, foreign)
    fails(errno.ENOMEM, kfd.map, foreign, [kfd.gpu_ids[0]])


# -- MAP / UNMAP ------------------------------------------------------------------------------


def test_map_argument_checks(kfd: Kfd) -> None:
    kfd.acquire(0)
    gpu0 = kfd.gpu_ids[0]
    handle = kfd.alloc(4096, GTT).handle
    fails(errno.EINVAL, kfd.map, handle, [], match="n_devices is 0")
    fails(errno.EINVAL, kfd.map, handle, [gpu0], 2, match="n_success 2 exceeds")
    args = abi.kfd_ioctl_map_memory_to_gpu_args(handle=handle, device_ids_array_ptr=0x10, n_devices=1)
    fails(errno.EFAULT, kfd.ioctl, abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU, args)
    fails(errno.ENOMEM, kfd.map, gpu0 << 32 | 99, [gpu0])  # unknown handle: ENOMEM, as the kernel says
    fails(errno.EINVAL, kfd.map, handle, [0xBEEF])


def test_map_reports_partial_success_and_needs_each_peer_acquired(kfd: Kfd) -> None:
    kfd.acquire(0)
    gpu0, gpu1 = kfd.gpu_ids[:2]
    handle = kfd.alloc(4096, GTT).handle
    fails(errno.ENODEV, kfd.map, handle, [gpu0, gpu1])
    assert kfd.last_map_args.n_success == 1  # copied back although the ioctl failed
    kfd.acquire(1)
    kfd.map(handle, [gpu0, gpu1], n_success=1)
    assert kfd.last_map_args.n_success == 2
    kfd.map(handle, [gpu0])  # mapping again is harmless


def test_va_is_checked_when_mapping_not_when_allocating(kfd: Kfd) -> None:
    kfd.acquire(0)
    gpu0 = kfd.gpu_ids[0]
    for va, why in (
        (VA + 0x123, "not page aligned"),
        (0, "va_addr was 0"),
        ((1 << 48) - 4096 * 2, "ends beyond"),
    ):
        handle = kfd.alloc(3 * 4096, GTT, va).handle  # accepted: ALLOC only records the VA
        fails(errno.EINVAL, kfd.map, handle, [gpu0], match=why)
        kfd.free(handle)
    first = kfd.alloc(8192, GTT, VA).handle
    kfd.map(first, [gpu0])
    overlapping = kfd.alloc(8192, GTT, VA + 4096).handle
    fails(errno.EINVAL, kfd.map, overlapping, [gpu0], match="conflicts with the mapping")
    # The CWSR trap area that ACQUIRE_VM mapped at the top of the VM is taken as well.
    cwsr = kfd.alloc(4096, GTT, (1 << 48) - (4 << 20) - 8192).handle
    fails(errno.EINVAL, kfd.map, cwsr, [gpu0], match="conflicts")


def test_unmapping_what_is_not_mapped_is_einval(kfd: Kfd) -> None:
    kfd.acquire(0)
    handle = kfd.alloc(4096, GTT).handle
    fails(errno.EINVAL, kfd.unmap, handle, [kfd.gpu_ids[0]], match="not mapped")
    fails(errno.EINVAL, kfd.unmap, handle, [kfd.gpu_ids[1]], match="no VM")


def test_clock_counters_of_an_unknown_gpu_read_zero(kfd: Kfd) -> None:
    args = kfd.ioctl(abi.AMDKFD_IOC_GET_CLOCK_COUNTERS, abi.kfd_ioctl_get_clock_counters_args(gpu_id=0xBEEF))
    assert args.gpu_clock_counter == 0 and args.system_clock_freq == 1_000_000_000
    known = abi.kfd_ioctl_get_clock_counters_args(gpu_id=kfd.gpu_ids[0])
    first = kfd.ioctl(abi.AMDKFD_IOC_GET_CLOCK_COUNTERS, known).gpu_clock_counter
    assert kfd.ioctl(abi.AMDKFD_IOC_GET_CLOCK_COUNTERS, known).gpu_clock_counter > first > 0


# -- mmap -------------------------------------------------------------------------------------


def test_mmap_rules(kfd: Kfd) -> None:
    render0 = kfd.acquire(0)
    bo = kfd.alloc(8192, GTT)
    transport = kfd.transport
    with pytest.raises(TransportError, match="no buffer object"):
        transport.mmap(
            8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd=render0, offset=bo.mmap_offset + 4096 * 64
        )
    with pytest.raises(TransportError, match="no buffer object"):
        transport.mmap(3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd=render0, offset=bo.mmap_offset)
    other_render = kfd.render(0)
    with pytest.raises(TransportError, match="EACCES"):
        transport.mmap(8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd=other_render, offset=bo.mmap_offset)
    with pytest.raises(TransportError, match="8192 bytes"):
        transport.mmap(
            4096,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
            fd=kfd.fd,
            offset=mo.doorbell_mmap_offset(kfd.gpu_ids[0]),
        )
    with pytest.raises(TransportError, match="ENODEV"):
        transport.mmap(
            8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd=kfd.fd, offset=mo.doorbell_mmap_offset(0xBEEF)
        )


def test_cpu_and_gpu_views_share_pages_and_survive_the_handle(kfd: Kfd) -> None:
    render0 = kfd.acquire(0)
    bo = kfd.alloc(8192, GTT)
    region = kfd.transport.mmap(8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd=render0, offset=bo.mmap_offset)
    region.store_u64(4096, 0x1122334455667788)
    pdd = kfd.transport.kernel.process.pdds[kfd.gpu_ids[0]]
    backing = pdd.objects[bo.handle & 0xFFFFFFFF].backing
    assert bytes(backing.bytes[4096:4104]) == (0x1122334455667788).to_bytes(8, "little")
    kfd.free(bo.handle)
    assert region.load_u64(4096) == 0x1122334455667788  # like a GEM object, pages live while mapped
    kfd.transport.munmap(region)


def test_userptr_registers_existing_pages(kfd: Kfd) -> None:
    kfd.acquire(0)
    host = kfd.transport.mmap(4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
    ctypes.memset(host.addr, 0xAB, 4 * 4096)
    userptr = abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    args = kfd.alloc(4 * 4096, userptr, host.addr, 0, host.addr)
    assert args.mmap_offset != host.addr  # the kernel overwrites it with the BO's render-node offset
    kfd.map(args.handle, [kfd.gpu_ids[0]])
    mapping = kfd.transport.kernel.process.pdds[kfd.gpu_ids[0]].vm.lookup(host.addr, 4 * 4096)
    assert mapping is not None and bytes(mapping.bo.backing.bytes[:2]) == b"\xab\xab"
    reserved = kfd.transport.mmap(4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)
    fails(errno.EFAULT, kfd.alloc, 4096, userptr, reserved.addr + 0x100000, 0, reserved.addr)
