"""A GPU opened through KFD: its identity, its memory allocations and its counters."""

from __future__ import annotations

import ctypes
import fcntl
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from pytest_amdgpu import families
from pytest_amdgpu.driver.buffer import DOMAINS, Buffer, domain_flags
from pytest_amdgpu.driver.dmabuf import DmaBuf, DmaBufInfo
from pytest_amdgpu.driver.events import MemoryFault
from pytest_amdgpu.driver.process import Apertures, KfdProcess
from pytest_amdgpu.driver.program import Program, Upload, read_code_object, upload
from pytest_amdgpu.driver.queues import ComputeQueue, Queue, SdmaQueue
from pytest_amdgpu.driver.semaphore import TimelineSemaphore
from pytest_amdgpu.errors import AmdgpuError, ConfigurationError, DeviceError, LeakError, ResourceClosedError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.mmap_offsets import doorbell_mmap_offset
from pytest_amdgpu.kfd.transport import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    MappedRegion,
)
from pytest_amdgpu.topology import Node

SCRATCH_MIN_BYTES = 16 << 20  # scratch backing allocated at least this big (sparse until touched)

# Queues a KFD process may create; the doorbell slice holds one doorbell per queue (kfd_priv.h).
KFD_MAX_NUM_OF_QUEUES_PER_PROCESS = 1024


def round_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class Registration:
    """Caller-owned memory registered with KFD, shared by every Buffer that registered the same pages."""

    handle: int
    start: int
    alloc_size: int
    users: int = 0
    mapped_gpu_ids: list[int] = field(default_factory=list)
    gpu_va: MappedRegion | None = None  # the VA reserved for a registration with a GPU address of its own


@dataclass(frozen=True)
class ClockCounters:
    """One GET_CLOCK_COUNTERS sample."""

    gpu_clock_counter: int
    cpu_clock_counter: int
    system_clock_counter: int
    system_clock_freq: int


class Device:
    """One GPU node of the topology, with its VM acquired by this process."""

    def __init__(self, process: KfdProcess, node: Node, index: int) -> None:
        self.process = process
        self.node = node
        self.index = index
        self.gpu_id = node.gpu_id
        self.target = families.get_target(node.properties.get("gfx_target_version", 0))
        self.gfx = self.target.name
        self.family = self.target.family
        # Boards found through IP discovery are all named "ip discovery" by the kernel.
        self.name = node.name if node.name and node.name != "ip discovery" else self.gfx
        if node.gpu_id not in process.apertures:
            raise DeviceError(
                f"the kernel reported no apertures for gpu_id {node.gpu_id} (node {node.index})"
            )
        self.apertures: Apertures = process.apertures[node.gpu_id]
        self.render_fd = process.acquire_vm(node)
        self._buffers: dict[int, Buffer] = {}
        self._queues: dict[int, Queue] = {}
        self._semaphores: dict[int, TimelineSemaphore] = {}
        self._uploads: dict[str, Upload] = {}
        self._registrations: dict[tuple[int, int], Registration] = {}
        self._registration_lock = threading.Lock()
        self._scratch: Buffer | None = None
        self._doorbells: Buffer | None = None
        self._dmabufs: dict[int, DmaBuf] = {}
        self.closed = False
        # Armed for the device's life: the kernel reports GPU page faults through memory events.
        self.memory_event = process.events.create("memory", device=self)
        self.hw_exception_event = process.events.create("hw_exception", device=self)
        self.fault_log: list[MemoryFault] = []

    # -- identity ----------------------------------------------------------------------------

    @property
    def properties(self) -> Mapping[str, int]:
        """The node's sysfs properties, as the kernel reports them."""
        return self.node.properties

    @property
    def node_index(self) -> int:
        return self.node.index

    @property
    def kfd_version(self) -> tuple[int, int]:
        return self.process.version

    @property
    def transport(self):
        return self.process.transport

    def __repr__(self) -> str:
        return (
            f"<Device gpu{self.index} {self.gfx} ({self.family}) node {self.node.index} gpu_id {self.gpu_id}>"
        )

    # -- memory ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ResourceClosedError(f"{self} is closed")

    def alloc(
        self,
        size: int,
        domain: str = "vram",
        *,
        writable: bool = True,
        executable: bool = False,
        uncached: bool = False,
    ) -> Buffer:
        """Allocate `size` bytes in `domain` ("vram", "gtt" or "host"), CPU-mapped and mapped on this GPU."""
        self._check_open()
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ConfigurationError(f"buffer size must be a positive integer number of bytes, got {size!r}")
        if domain not in DOMAINS:
            raise ConfigurationError(
                f"unknown memory domain {domain!r}: expected one of {', '.join(DOMAINS)}"
            )
        flags = domain_flags(domain, writable=writable, executable=executable, uncached=uncached)
        alloc_size = round_up(size, PAGE_SIZE)
        if domain == "host":
            return self._alloc_userptr(size, alloc_size, flags)
        return self._alloc_bo(domain, size, alloc_size, flags)

    def _reserve_va(
        self, alloc_size: int, prot: int = PROT_NONE, flags: int = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
    ) -> MappedRegion:
        """Anonymous CPU address space that is also inside this GPU's gpuvm aperture (by default a
        PROT_NONE reservation; host allocations ask for readable, writable pages)."""
        reservation = self.transport.mmap(alloc_size, prot, flags)
        if not self.apertures.contains_gpuvm(reservation.addr, alloc_size):
            self.transport.munmap(reservation)
            raise DeviceError(
                f"reserved address {reservation.addr:#x} (+{alloc_size:#x}) lies outside the gpuvm aperture "
                f"{self.apertures.gpuvm_base:#x}..{self.apertures.gpuvm_limit:#x} of gpu_id {self.gpu_id}"
            )
        return reservation

    def _alloc_memory_of_gpu(self, va: int, size: int, flags: int, mmap_offset: int = 0):
        args = abi.kfd_ioctl_alloc_memory_of_gpu_args(
            va_addr=va, size=size, mmap_offset=mmap_offset, gpu_id=self.gpu_id, flags=flags
        )
        return self.process.ioctl(abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU, args)

    def _free_handle(self, handle: int) -> None:
        self.process.ioctl(
            abi.AMDKFD_IOC_FREE_MEMORY_OF_GPU, abi.kfd_ioctl_free_memory_of_gpu_args(handle=handle)
        )

    def _alloc_bo(
        self, domain: str, size: int, alloc_size: int, flags: int, kfd_mmap_offset: int | None = None
    ) -> Buffer:
        """VA reserved, ALLOC_MEMORY_OF_GPU, CPU mapping at the same address, MAP_MEMORY_TO_GPU.

        Memory is CPU-mapped through the render node at the offset the kernel returned; doorbells and
        MMIO pages through /dev/kfd at `kfd_mmap_offset` (None: the offset the kernel returned).
        Any failure undoes the steps before it, so nothing leaks and no Buffer points at unmapped memory.
        """
        reservation = self._reserve_va(alloc_size)
        try:
            args = self._alloc_memory_of_gpu(reservation.addr, alloc_size, flags)
        except BaseException:
            self.transport.munmap(reservation)
            raise
        if domain in ("doorbell", "mmio_remap"):
            map_fd = self.process.kfd_fd
            map_offset = args.mmap_offset if kfd_mmap_offset is None else kfd_mmap_offset
        else:
            map_fd, map_offset = self.render_fd, args.mmap_offset
        cpu = self._map_over(reservation, args.handle, map_fd, map_offset, PROT_READ | PROT_WRITE)
        buffer = Buffer(
            self,
            domain=domain,
            gpu_addr=reservation.addr,
            size=size,
            alloc_size=alloc_size,
            handle=args.handle,
            flags=flags,
            cpu=cpu,
        )
        self._map_new_buffer(buffer)
        return buffer

    def _map_over(
        self, reservation: MappedRegion, handle: int, fd: int, offset: int, prot: int
    ) -> MappedRegion:
        """CPU-map (fd, offset) exactly over the VA reservation; on failure free `handle` and the VA."""
        try:
            cpu = self.transport.mmap(
                reservation.length, prot, MAP_SHARED | MAP_FIXED, fd=fd, offset=offset, addr=reservation.addr
            )
            if cpu.addr != reservation.addr:  # MAP_FIXED either lands exactly or fails; check anyway
                self.transport.munmap(cpu)
                raise DeviceError(f"CPU mapping landed at {cpu.addr:#x}, not at {reservation.addr:#x}")
        except BaseException:
            try:
                self._free_handle(handle)
            finally:
                self.transport.munmap(reservation)
            raise
        return cpu

    def _alloc_userptr(self, size: int, alloc_size: int, flags: int) -> Buffer:
        """Host memory registered with KFD: the user address goes in mmap_offset and serves as the GPU VA."""
        host = self._reserve_va(alloc_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
        try:
            args = self._alloc_memory_of_gpu(host.addr, alloc_size, flags, mmap_offset=host.addr)
        except BaseException:
            self.transport.munmap(host)
            raise
        buffer = Buffer(
            self,
            domain="host",
            gpu_addr=host.addr,
            size=size,
            alloc_size=alloc_size,
            handle=args.handle,
            flags=flags,
            cpu=host,
        )
        self._map_new_buffer(buffer)
        return buffer

    def register_host(self, memory: np.ndarray | tuple[int, int], *, own_gpu_va: bool = False) -> Buffer:
        """Make memory the caller owns GPU-visible, at its own address (a userptr registration).

        `memory` is a C-contiguous numpy array (kept alive by the Buffer) or an (address, size) pair.
        The pages around it are registered; registering the same memory again shares that registration,
        as libhsakmt does. With own_gpu_va the registration is never shared: the GPU sees the pages at
        an address reserved for it (Buffer.gpu_addr), so overlapping ranges can be registered side by
        side. Free every Buffer before the memory itself goes away.
        """
        self._check_open()
        keepalive: object = None
        if isinstance(memory, np.ndarray):
            if not memory.flags.c_contiguous or memory.nbytes == 0:
                raise ConfigurationError("register_host needs a non-empty C-contiguous numpy array")
            addr, size, keepalive = memory.ctypes.data, memory.nbytes, memory
        elif (
            isinstance(memory, tuple)
            and len(memory) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in memory)
            and memory[0] > 0
            and memory[1] > 0
        ):
            addr, size = memory
        else:
            raise ConfigurationError(f"register_host takes a numpy array or (address, size), got {memory!r}")
        start = addr - addr % PAGE_SIZE
        alloc_size = round_up(addr + size, PAGE_SIZE) - start
        if own_gpu_va:
            own = self._register_at_own_va(start, alloc_size)
            return self._registered_buffer(own, addr, size, own.gpu_va.addr + addr - start, keepalive)
        with self._registration_lock:
            shared = self._registrations.get((start, alloc_size))
            if shared is None:
                flags = domain_flags("host", writable=True, executable=False, uncached=False)
                args = self._alloc_memory_of_gpu(start, alloc_size, flags, mmap_offset=start)
                shared = Registration(handle=args.handle, start=start, alloc_size=alloc_size)
                try:
                    self._map_to_gpus_of(shared, [self])
                except BaseException:
                    self._free_handle(shared.handle)
                    raise
                self._registrations[(start, alloc_size)] = shared
            shared.users += 1
        return self._registered_buffer(shared, addr, size, addr, keepalive)

    def _register_at_own_va(self, start: int, alloc_size: int) -> Registration:
        """A userptr registration of [start, start+alloc_size) mapped at a VA reserved for it alone."""
        reservation = self._reserve_va(alloc_size)
        flags = domain_flags("host", writable=True, executable=False, uncached=False)
        try:
            args = self._alloc_memory_of_gpu(reservation.addr, alloc_size, flags, mmap_offset=start)
        except BaseException:
            self.transport.munmap(reservation)
            raise
        own = Registration(
            handle=args.handle, start=start, alloc_size=alloc_size, users=1, gpu_va=reservation
        )
        try:
            self._map_to_gpus_of(own, [self])
        except BaseException:
            try:
                self._free_handle(own.handle)
            finally:
                self.transport.munmap(reservation)
            raise
        return own

    def _registered_buffer(
        self, registration: Registration, addr: int, size: int, gpu_addr: int, keepalive: object
    ) -> Buffer:
        buffer = Buffer(
            self,
            domain="host",
            gpu_addr=gpu_addr,
            size=size,
            alloc_size=registration.alloc_size,
            handle=registration.handle,
            flags=0,
            cpu=MappedRegion(addr, size),
        )
        buffer.mapped_gpu_ids = registration.mapped_gpu_ids
        buffer.registration = registration
        buffer.keepalive = keepalive
        self._buffers[id(buffer)] = buffer
        return buffer

    def _map_to_gpus_of(self, registration: Registration, devices: list[Device]) -> None:
        holder = Buffer(
            self,
            domain="host",
            gpu_addr=registration.start,
            size=registration.alloc_size,
            alloc_size=registration.alloc_size,
            handle=registration.handle,
            flags=0,
            cpu=None,
        )
        holder.mapped_gpu_ids = registration.mapped_gpu_ids
        self._map_to_gpus(holder, devices)
        holder.freed = True  # only a carrier for the mapping call

    def alloc_process_buffer(self, size: int, domain: str) -> Buffer:
        """A buffer that belongs to the KFD process, not to this device's lifetime (e.g. the event page)."""
        buffer = self.alloc(size, domain)
        del self._buffers[id(buffer)]
        return buffer

    def map_handle(self, handle: int, devices: list[Device]) -> None:
        """MAP_MEMORY_TO_GPU of an allocation on further devices of this process."""
        id_array = self._device_id_array(devices)
        args = abi.kfd_ioctl_map_memory_to_gpu_args(
            handle=handle,
            device_ids_array_ptr=ctypes.addressof(id_array),
            n_devices=len(devices),
            n_success=0,
        )
        self.process.ioctl(abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU, args)

    def memory_faults(self) -> list[MemoryFault]:
        """GPU memory faults reported since the last call (does not block); all are kept in fault_log."""
        if self.memory_event.wait(0):
            fault = self.memory_event.last_memory_fault
            if fault is not None and fault.gpu_id == self.gpu_id:  # every memory event hears every GPU
                self.fault_log.append(fault)
                return [fault]
        return []

    # -- dma-buf -----------------------------------------------------------------------------

    def export_dmabuf(self, buffer: Buffer) -> DmaBuf:
        """EXPORT_DMABUF: a dma-buf fd for `buffer` (VRAM or GTT; registered host memory cannot be)."""
        self._check_owned(buffer)
        args = abi.kfd_ioctl_export_dmabuf_args(handle=buffer.handle, flags=os.O_CLOEXEC)
        self.process.ioctl(abi.AMDKFD_IOC_EXPORT_DMABUF, args)
        dmabuf = DmaBuf(self, args.dmabuf_fd, buffer)
        self._dmabufs[id(dmabuf)] = dmabuf
        return dmabuf

    def forget_dmabuf(self, dmabuf: DmaBuf) -> None:
        self._dmabufs.pop(id(dmabuf), None)

    @property
    def live_dmabufs(self) -> list[DmaBuf]:
        return list(self._dmabufs.values())

    def dmabuf_info(self, dmabuf: DmaBuf | int) -> DmaBufInfo:
        """GET_DMABUF_INFO of a dma-buf fd (ours or another driver's): size, exporting GPU, placement."""
        self._check_open()
        fd = dmabuf.fileno() if isinstance(dmabuf, DmaBuf) else _check_fd(dmabuf)
        args = abi.kfd_ioctl_get_dmabuf_info_args(dmabuf_fd=fd)
        self.process.ioctl(abi.AMDKFD_IOC_GET_DMABUF_INFO, args)
        return DmaBufInfo(size=args.size, gpu_id=args.gpu_id, flags=args.flags)

    def import_dmabuf(self, dmabuf: DmaBuf | int) -> Buffer:
        """IMPORT_DMABUF: the dma-buf's pages as a Buffer of this GPU, CPU-mapped through the fd.

        The Buffer shares memory with the exporter and keeps it alive after the fd is closed; it is
        freed like any other Buffer. Any failure undoes the steps before it.
        """
        info = self.dmabuf_info(dmabuf)
        fd = dmabuf.fileno() if isinstance(dmabuf, DmaBuf) else dmabuf
        reservation = self._reserve_va(info.size)
        try:
            args = abi.kfd_ioctl_import_dmabuf_args(
                va_addr=reservation.addr, gpu_id=self.gpu_id, dmabuf_fd=fd
            )
            self.process.ioctl(abi.AMDKFD_IOC_IMPORT_DMABUF, args)
        except BaseException:
            self.transport.munmap(reservation)
            raise
        # A dma-buf of read-only memory is an O_RDONLY file: it maps for reading only.
        writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
        cpu = self._map_over(reservation, args.handle, fd, 0, PROT_READ | (PROT_WRITE if writable else 0))
        cpu.writable = writable
        placement = abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT
        buffer = Buffer(
            self,
            domain="vram" if info.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM else "gtt",
            gpu_addr=reservation.addr,
            size=info.size,
            alloc_size=info.size,
            handle=args.handle,
            flags=(info.flags & placement)
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE,
            cpu=cpu,
        )
        buffer.exporter_gpu_id = info.gpu_id
        self._map_new_buffer(buffer)
        return buffer

    def _map_new_buffer(self, buffer: Buffer) -> None:
        try:
            self._map_to_gpus(buffer, [self])
        except BaseException:
            self._release(buffer)
            raise
        self._buffers[id(buffer)] = buffer

    def alloc_doorbells(self) -> Buffer:
        """This process's doorbell slice on this GPU, CPU-mapped (one doorbell per queue)."""
        self._check_open()
        slice_bytes = self.doorbell_slice_bytes
        flags = (
            abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_COHERENT
        )
        return self._alloc_bo("doorbell", slice_bytes, slice_bytes, flags, doorbell_mmap_offset(self.gpu_id))

    @property
    def doorbell_slice_bytes(self) -> int:
        """kfd_doorbell_process_slice(): one doorbell per possible queue, page aligned."""
        return round_up(self.target.doorbell_size_bytes * KFD_MAX_NUM_OF_QUEUES_PER_PROCESS, PAGE_SIZE)

    def doorbells(self) -> Buffer:
        """This process's doorbell slice on this GPU, mapped once and shared by its queues."""
        self._check_open()
        if self._doorbells is None:
            self._doorbells = self.alloc_doorbells()
            del self._buffers[id(self._doorbells)]  # infrastructure, not a user allocation
        return self._doorbells

    # -- queues and semaphores -----------------------------------------------------------------------

    def compute_queue(self, **options: object) -> ComputeQueue:
        """A PM4 compute queue (ring_bytes=, priority=, percentage=)."""
        self._check_open()
        return ComputeQueue(self, **options)

    def sdma_queue(self, *, xgmi: bool = False, **options: object) -> SdmaQueue:
        """An SDMA queue; xgmi=True asks for one of the XGMI engines, sdma_engine=N for engine N."""
        self._check_open()
        return SdmaQueue(self, xgmi=xgmi, **options)

    def timeline_semaphore(self, initial: int = 0, **options: float) -> TimelineSemaphore:
        self._check_open()
        return TimelineSemaphore(self, initial, **options)

    def register_semaphore(self, semaphore: TimelineSemaphore) -> None:
        self._semaphores[id(semaphore)] = semaphore

    def forget_semaphore(self, semaphore: TimelineSemaphore) -> None:
        self._semaphores.pop(id(semaphore), None)

    @property
    def live_semaphores(self) -> list[TimelineSemaphore]:
        return list(self._semaphores.values())

    # -- programs ------------------------------------------------------------------------------------

    def load_program(self, source: bytes | str | os.PathLike[str], kernel: str) -> Program:
        """An HSA code object (bytes or a path) checked against this GPU, uploaded once; `kernel` chosen."""
        self._check_open()
        return Program(self, upload(self, read_code_object(source), self._uploads), kernel)

    def bundled_program(self, kernel: str) -> Program:
        """One of the bundled kernels (pytest_amdgpu/kernels) built for this GPU's target."""
        from pytest_amdgpu.kernels import code_object_path

        return self.load_program(code_object_path(self.gfx), kernel)

    def scratch(self, min_bytes: int) -> Buffer:
        """This process's scratch backing memory on this GPU (SET_SCRATCH_BACKING_VA), grown on demand."""
        self._check_open()
        if self._scratch is None or self._scratch.size < min_bytes:
            for queue in self.live_queues:
                queue.wait_idle()  # no dispatch may still use the old backing
            size = max(min_bytes, SCRATCH_MIN_BYTES)
            new = self.alloc(size, "vram")
            new.owner = self
            try:
                args = abi.kfd_ioctl_set_scratch_backing_va_args(va_addr=new.gpu_addr, gpu_id=self.gpu_id)
                self.process.ioctl(abi.AMDKFD_IOC_SET_SCRATCH_BACKING_VA, args)
            except BaseException:
                new.free()
                raise
            if self._scratch is not None:
                self._scratch.free()
            self._scratch = new
        return self._scratch

    def register_queue(self, queue: Queue) -> None:
        self._queues[id(queue)] = queue

    def forget_queue(self, queue: Queue) -> None:
        self._queues.pop(id(queue), None)

    @property
    def live_queues(self) -> list[Queue]:
        return list(self._queues.values())

    def alloc_mmio_remap(self) -> Buffer:
        """The page of HDP flush registers the kernel remaps for user space (one page)."""
        self._check_open()
        flags = (
            abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_COHERENT
        )
        return self._alloc_bo("mmio_remap", PAGE_SIZE, PAGE_SIZE, flags)

    def _device_id_array(self, devices: Iterable[Device]) -> ctypes.Array:
        ids = [device.gpu_id for device in devices]
        return (ctypes.c_uint32 * len(ids))(*ids)

    def _map_to_gpus(self, buffer: Buffer, devices: list[Device]) -> None:
        new = [device for device in devices if device.gpu_id not in buffer.mapped_gpu_ids]
        if not new:
            return
        for device in new:
            if device.process is not self.process:
                raise ConfigurationError(f"{device} belongs to another KFD process than {buffer}")
            device._check_open()
        id_array = self._device_id_array(new)
        args = abi.kfd_ioctl_map_memory_to_gpu_args(
            handle=buffer.handle,
            device_ids_array_ptr=ctypes.addressof(id_array),
            n_devices=len(new),
            n_success=0,
        )
        try:
            self.process.ioctl(abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU, args)
        finally:
            buffer.mapped_gpu_ids.extend(device.gpu_id for device in new[: args.n_success])

    def _unmap_from_gpus(self, buffer: Buffer, gpu_ids: list[int]) -> None:
        if not gpu_ids:
            return
        id_array = (ctypes.c_uint32 * len(gpu_ids))(*gpu_ids)
        args = abi.kfd_ioctl_unmap_memory_from_gpu_args(
            handle=buffer.handle,
            device_ids_array_ptr=ctypes.addressof(id_array),
            n_devices=len(gpu_ids),
            n_success=0,
        )
        try:
            self.process.ioctl(abi.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU, args)
        finally:
            for gpu_id in gpu_ids[: args.n_success]:
                buffer.mapped_gpu_ids.remove(gpu_id)

    def map_buffer(self, buffer: Buffer, devices: Iterable[Device]) -> None:
        self._check_owned(buffer)
        self._map_to_gpus(buffer, list(devices))

    def unmap_buffer(self, buffer: Buffer, devices: Iterable[Device]) -> None:
        self._check_owned(buffer)
        self._unmap_from_gpus(buffer, [d.gpu_id for d in devices if d.gpu_id in buffer.mapped_gpu_ids])

    def _check_owned(self, buffer: Buffer) -> None:
        if buffer.freed:
            raise ResourceClosedError(f"{buffer} was freed")
        if buffer.device is not self or id(buffer) not in self._buffers:
            raise ConfigurationError(f"{buffer} was not allocated on {self}")

    def _release(self, buffer: Buffer) -> None:
        """Undo an allocation as libhsakmt does: unmap from GPUs, free the BO, then drop the CPU mapping.

        Freeing before munmap keeps registered user memory (userptr) alive for as long as the kernel
        may still reference it; a freed VRAM/GTT BO keeps its pages until the CPU mapping goes.
        """
        errors: list[AmdgpuError] = []
        registration = buffer.registration
        if registration is not None:
            with self._registration_lock:
                registration.users -= 1
                if registration.users > 0:  # another Buffer still uses this registration
                    buffer.freed = True
                    self._buffers.pop(id(buffer), None)
                    return
                key = (registration.start, registration.alloc_size)
                if self._registrations.get(key) is registration:
                    del self._registrations[key]
        try:
            self._unmap_from_gpus(buffer, list(buffer.mapped_gpu_ids))
        except AmdgpuError as exc:
            errors.append(exc)
        try:
            self._free_handle(buffer.handle)
        except AmdgpuError as exc:
            errors.append(exc)
        if buffer._cpu is not None and registration is None:  # registered memory stays the caller's
            try:
                self.transport.munmap(buffer._cpu)
            except AmdgpuError as exc:
                errors.append(exc)
        if registration is not None and registration.gpu_va is not None:  # its own VA goes with it
            try:
                self.transport.munmap(registration.gpu_va)
            except AmdgpuError as exc:
                errors.append(exc)
        buffer.freed = True
        self._buffers.pop(id(buffer), None)
        if errors:
            raise errors[0]

    def free_buffer(self, buffer: Buffer) -> None:
        if buffer.freed:
            return
        self._check_owned(buffer)
        self._release(buffer)

    @property
    def live_buffers(self) -> list[Buffer]:
        return list(self._buffers.values())

    def available_memory(self) -> int:
        """Bytes of VRAM this process could still allocate on this GPU (AVAILABLE_MEMORY)."""
        self._check_open()
        args = abi.kfd_ioctl_get_available_memory_args(gpu_id=self.gpu_id)
        return self.process.ioctl(abi.AMDKFD_IOC_AVAILABLE_MEMORY, args).available

    def clock_counters(self) -> ClockCounters:
        self._check_open()
        args = self.process.ioctl(
            abi.AMDKFD_IOC_GET_CLOCK_COUNTERS, abi.kfd_ioctl_get_clock_counters_args(gpu_id=self.gpu_id)
        )
        return ClockCounters(
            gpu_clock_counter=args.gpu_clock_counter,
            cpu_clock_counter=args.cpu_clock_counter,
            system_clock_counter=args.system_clock_counter,
            system_clock_freq=args.system_clock_freq,
        )

    def close(self, *, leak_check: bool = False) -> None:
        """Free every buffer still alive; with leak_check, raise LeakError naming what was left."""
        if self.closed:
            return
        errors: list[AmdgpuError] = []
        leaked_queues = self.live_queues
        for resource in [*leaked_queues, *self.live_semaphores]:
            try:
                resource.close() if isinstance(resource, TimelineSemaphore) else resource.destroy()
            except AmdgpuError as exc:
                errors.append(exc)
        for owned in [uploaded.buffer for uploaded in self._uploads.values()] + [self._scratch]:
            if owned is not None and not owned.freed:
                try:
                    owned.free()
                except AmdgpuError as exc:
                    errors.append(exc)
        self._uploads.clear()
        self._scratch = None
        leaked = [buffer for buffer in self.live_buffers if buffer.owner is None]
        leaked_dmabufs = self.live_dmabufs
        for dmabuf in leaked_dmabufs:
            try:
                dmabuf.close()
            except AmdgpuError as exc:
                errors.append(exc)
        if self._doorbells is not None:
            try:
                self._release(self._doorbells)
            except AmdgpuError as exc:
                errors.append(exc)
            self._doorbells = None
        for event in (self.memory_event, self.hw_exception_event):
            try:
                event.destroy()
            except AmdgpuError as exc:
                errors.append(exc)
        for buffer in leaked:
            try:
                self._release(buffer)
            except AmdgpuError as exc:
                errors.append(exc)
        self.closed = True
        if errors:
            raise errors[0]
        if leak_check and (leaked or leaked_queues or leaked_dmabufs):
            what = ", ".join(map(repr, [*leaked_queues, *leaked, *leaked_dmabufs]))
            raise LeakError(
                f"{self} closed with {len(leaked_queues)} queue(s), {len(leaked)} buffer(s) and "
                f"{len(leaked_dmabufs)} dma-buf fd(s) live: {what}"
            )


def _check_fd(fd: object) -> int:
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ConfigurationError(f"a dma-buf must be a DmaBuf or a file descriptor (int >= 0), got {fd!r}")
    return fd
