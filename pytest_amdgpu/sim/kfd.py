"""The simulated KFD kernel: files, the process, per-GPU data, BOs and memory ioctls, by the kernel rules."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pytest_amdgpu import families
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd import mmap_offsets as mo
from pytest_amdgpu.kfd.transport import PAGE_SIZE
from pytest_amdgpu.packets import pm4
from pytest_amdgpu.packets import sdma as sdma_packets
from pytest_amdgpu.sim.engines import EngineHooks, Executor, GpuEngines
from pytest_amdgpu.sim.engines.cp import CommandProcessor
from pytest_amdgpu.sim.engines.dispatcher import ShaderDispatcher
from pytest_amdgpu.sim.engines.sdma import SdmaEngine
from pytest_amdgpu.sim.events import EventError, SimEvents, page_bytes_of
from pytest_amdgpu.sim.memory import (
    Backing,
    GpuFaultError,
    GpuMemory,
    GpuVm,
    UserFaultError,
    UserPtrBacking,
    copy_from_user,
    copy_to_user,
    first_missing_page,
    memfd_name,
    open_memfd_names,
)
from pytest_amdgpu.sim.queues import (
    QueueError,
    SimQueue,
    check_queue_properties,
    create_queue,
    doorbell_offset,
)
from pytest_amdgpu.topology import Node, Topology

# Apertures of a gfx9+ process (kfd_flat_memory.c, kfd_init_apertures_v9) on a 48-bit VM.
LDS_APP_BASE_V9 = 0x1 << 48
SCRATCH_APP_BASE_V9 = 0x2 << 48
AMDGPU_VA_RESERVED_BOTTOM = 1 << 16
AMDGPU_GMC_HOLE_START = 0x0000_8000_0000_0000
VM_SIZE_BYTES = 1 << 48  # max_pfn << 12: amdgpu_vm_bo_map rejects mappings that end beyond it
# ACQUIRE_VM maps the 2-page CWSR trap area just below the CSA and SEQ64 reservations at the VM top.
CWSR_TBA_TMA_BYTES = 2 * PAGE_SIZE
CWSR_BASE = VM_SIZE_BYTES - (2 << 20) - (2 << 20) - CWSR_TBA_TMA_BYTES

# Memory accounting of amdgpu_amdkfd_gpuvm.c.
VRAM_AVAILABILITY_ALIGN = 1 << 21
AMDGPU_VM_RESERVED_VRAM = 8 << 20

KFD_MAX_NUM_OF_QUEUES_PER_PROCESS = 1024
MAX_CU_MASK_BITS = 1024  # kfd_ioctl_set_cu_mask's max_num_cus

# RUNTIME_ENABLE states (kfd_priv.h, DEBUG_RUNTIME_STATE_*).
RUNTIME_DISABLED = 0
RUNTIME_ENABLED = 1


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class KernelError(Exception):
    """A simulated kernel function returned -errno; `rule` says which check failed, as pr_debug would."""

    def __init__(self, errno_value: int, rule: str) -> None:
        super().__init__(rule)
        self.errno = errno_value
        self.rule = rule


@dataclass
class SimFile:
    """An open file of the simulated kernel: /dev/kfd or a render node."""

    fd: int
    kind: str  # "kfd" | "render"
    gpu_id: int = 0


@dataclass
class SimDevice:
    """A simulated GPU as the kernel sees it: identity from the topology, memory accounting, doorbells."""

    node: Node
    gpu_id: int
    vram_bytes: int
    render_minor: int
    doorbell_size: int
    is_apu: bool
    vram_used: int = 0
    vram_used_aligned: int = 0
    gpu_clock: int = 0

    @property
    def doorbell_slice_bytes(self) -> int:
        """kfd_doorbell_process_slice(): one doorbell per queue, rounded up to a page."""
        return _align(self.doorbell_size * KFD_MAX_NUM_OF_QUEUES_PER_PROCESS, PAGE_SIZE)


@dataclass
class SimBo:
    """A buffer object: its backing bytes, where it lives in the VA space, and on which GPUs it is mapped."""

    idr: int
    gpu_id: int
    va: int
    size: int
    flags: int
    backing: Backing | UserPtrBacking
    owns_backing: bool
    drm_offset: int = 0
    mapped_gpu_ids: set[int] = field(default_factory=set)
    cpu_mappings: int = 0
    queue_refs: int = 0  # queues using this BO as ring, pointers, EOP or CWSR area
    imported: bool = False  # made by IMPORT_DMABUF: shares another BO's pages, charged to no limit

    @property
    def handle(self) -> int:
        return mo.make_handle(self.gpu_id, self.idr)

    @property
    def writable(self) -> bool:
        return bool(self.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE)

    @property
    def is_doorbell(self) -> bool:
        return bool(self.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL)


@dataclass
class SimDmaBuf:
    """What the simulated amdgpu knows of a BO it exported as a dma-buf (the fd is a dup of its memfd)."""

    gpu_id: int
    size: int
    placement: int  # KFD_IOC_ALLOC_MEM_FLAGS_VRAM or _GTT; 0 for doorbell and MMIO pages
    cpu_access_required: bool
    # The exporter's memory charge, once its handle is freed: returned when no fd holds the pages any more
    # (amdgpu_amdkfd_release_notify runs when the last reference to the BO goes).
    pending_charge: tuple[SimDevice, int, int] | None = None


@dataclass
class DmaBufPages:
    """An mmap of a dma-buf fd: unlike a BO's memfd, it is mapped at the caller's offset."""

    fd: int
    size: int


@dataclass
class SimPdd:
    """Per-process device data (kfd_process_device): VM, handles, apertures of one GPU."""

    device: SimDevice
    vm: GpuVm
    drm_file: SimFile | None = None
    objects: dict[int, SimBo] = field(default_factory=dict)
    doorbells: Backing | None = None
    mmio: Backing | None = None
    scratch_backing_va: int = 0
    idr_floor: int = 0  # no free handle index below this one (keeps new_idr from rescanning every handle)
    num_gws: int = 0  # qpd.num_gws: the GWS entries the one GWS queue of the process holds on this GPU
    gws_values: np.ndarray | None = None  # those entries' semaphore values (uint32), while a queue holds them

    @property
    def gpu_id(self) -> int:
        return self.device.gpu_id

    lds_base: int = LDS_APP_BASE_V9
    scratch_base: int = SCRATCH_APP_BASE_V9
    gpuvm_base: int = AMDGPU_VA_RESERVED_BOTTOM
    gpuvm_limit: int = AMDGPU_GMC_HOLE_START - 1

    def new_idr(self) -> int:
        """idr_alloc(..., 0, 0): the lowest free handle index, starting at 0."""
        idr = self.idr_floor
        while idr in self.objects:
            idr += 1
        self.idr_floor = idr  # every index below is taken (release_idr lowers it again)
        return idr

    def release_idr(self, idr: int) -> None:
        self.objects.pop(idr, None)
        self.idr_floor = min(self.idr_floor, idr)

    @staticmethod
    def limit_of(base: int) -> int:
        """MAKE_LDS_APP_LIMIT / MAKE_SCRATCH_APP_LIMIT: the low 32 bits all ones."""
        return (base & 0xFFFF_FFFF_0000_0000) | 0xFFFF_FFFF


@dataclass
class SimProcess:
    """The one KFD process of this address space (the kernel keys processes by mm)."""

    pdds: dict[int, SimPdd]
    runtime_state: int = RUNTIME_DISABLED
    r_debug: int = 0
    events: SimEvents = field(default_factory=SimEvents)
    queues: dict[int, SimQueue] = field(default_factory=dict)


def _locked(method: Callable) -> Callable:
    """Run a SimKfd entry point under the kernel lock: threads of the process take turns, as in a kernel."""

    @functools.wraps(method)
    def locked(self: SimKfd, *args: object, **kwargs: object) -> object:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


class SimKfd:
    """The kernel side: dispatches ioctls by number, validates like kfd_chardev.c, owns every BO."""

    def __init__(self, topology: Topology, doorbell_size_of: Callable[[Node], int]) -> None:
        self.topology = topology
        self.lock = threading.RLock()
        self._wakeup = threading.Condition(self.lock)
        self.devices: dict[int, SimDevice] = {}
        for node in topology.gpus:
            vram = node.vram_bytes
            self.devices[node.gpu_id] = SimDevice(
                node=node,
                gpu_id=node.gpu_id,
                vram_bytes=vram,
                render_minor=node.properties.get("drm_render_minor", 0),
                doorbell_size=doorbell_size_of(node),
                is_apu=vram == 0,
            )
        self.system_memory_bytes = sum(
            bank.properties.get("size_in_bytes", 0) for node in topology.cpus for bank in node.mem_banks
        )
        self.system_used = 0
        self.files: dict[int, SimFile] = {}
        self.process: SimProcess | None = None
        self._drm_offsets: dict[int, SimBo] = {}
        self._dmabufs: dict[str, SimDmaBuf] = {}  # by the exported memfd's unique name
        self._next_drm_page = 0x10_0000  # DRM_FILE_PAGE_OFFSET_START-like base for BO mmap offsets
        self.engines: dict[int, GpuEngines] = {}
        self.executor_factory: Callable[[GpuEngines, SimDevice], dict[str, Executor]] = self.default_executors
        self.queue_errors: list[tuple[SimQueue, str]] = []
        self.gpu_faults: list[tuple[int, int, bool]] = []
        self._handlers: dict[int, Callable[[SimProcess, ctypes.Structure], None]] = {
            abi.AMDKFD_IOC_GET_VERSION: self._get_version,
            abi.AMDKFD_IOC_GET_CLOCK_COUNTERS: self._get_clock_counters,
            abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW: self._get_process_apertures_new,
            abi.AMDKFD_IOC_ACQUIRE_VM: self._acquire_vm,
            abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU: self._alloc_memory_of_gpu,
            abi.AMDKFD_IOC_FREE_MEMORY_OF_GPU: self._free_memory_of_gpu,
            abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU: self._map_memory_to_gpu,
            abi.AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU: self._unmap_memory_from_gpu,
            abi.AMDKFD_IOC_AVAILABLE_MEMORY: self._available_memory,
            abi.AMDKFD_IOC_EXPORT_DMABUF: self._export_dmabuf,
            abi.AMDKFD_IOC_GET_DMABUF_INFO: self._get_dmabuf_info,
            abi.AMDKFD_IOC_IMPORT_DMABUF: self._import_dmabuf,
            abi.AMDKFD_IOC_RUNTIME_ENABLE: self._runtime_enable,
            abi.AMDKFD_IOC_CREATE_QUEUE: self._create_queue,
            abi.AMDKFD_IOC_DESTROY_QUEUE: self._destroy_queue,
            abi.AMDKFD_IOC_UPDATE_QUEUE: self._update_queue,
            abi.AMDKFD_IOC_SET_CU_MASK: self._set_cu_mask,
            abi.AMDKFD_IOC_ALLOC_QUEUE_GWS: self._alloc_queue_gws,
            abi.AMDKFD_IOC_SET_SCRATCH_BACKING_VA: self._set_scratch_backing_va,
            abi.AMDKFD_IOC_CREATE_EVENT: self._create_event,
            abi.AMDKFD_IOC_DESTROY_EVENT: lambda process, args: process.events.destroy(args),
            abi.AMDKFD_IOC_SET_EVENT: lambda process, args: process.events.set(args),
            abi.AMDKFD_IOC_RESET_EVENT: lambda process, args: process.events.reset(args),
            abi.AMDKFD_IOC_WAIT_EVENTS: lambda process, args: process.events.wait(
                args, self.pump, self._idle
            ),
        }
        self._handlers_by_nr = {
            abi._IOC_NR(request): (request, handler) for request, handler in self._handlers.items()
        }

    # -- files -------------------------------------------------------------------------------

    @_locked
    def open(self, path: str) -> SimFile:
        if path == "/dev/kfd":
            kind, gpu_id = "kfd", 0
        else:
            matching = [d for d in self.devices.values() if path == f"/dev/dri/renderD{d.render_minor}"]
            if not matching:
                raise KernelError(errno.ENOENT, f"no such device file {path}")
            kind, gpu_id = "render", matching[0].gpu_id
        fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)  # a real, unique descriptor number
        sim_file = SimFile(fd=fd, kind=kind, gpu_id=gpu_id)
        self.files[fd] = sim_file
        if kind == "kfd" and self.process is None:
            self.process = self._create_process()  # found again by mm on later opens
        return sim_file

    @_locked
    def close(self, fd: int) -> None:
        sim_file = self.files.pop(fd, None)
        if sim_file is None and self._dmabuf_or_none(fd) is None:
            raise KernelError(errno.EBADF, f"fd {fd} is not open")
        os.close(fd)
        if sim_file is None:
            self._settle_dmabufs()

    @_locked
    def shutdown(self) -> None:
        """The process exits: its files close and the kernel releases everything it still held."""
        for fd in list(self.files):
            self.close(fd)
        if self.process is not None:
            self._destroy_process(self.process)
            self.process = None

    @_locked
    def live_objects(self) -> list[str]:
        """What the process still holds in the kernel (BOs by handle and VA), for leak checks."""
        if self.process is None:
            return []
        return [
            f"BO handle {bo.handle:#x} at va {bo.va:#x} ({bo.size} bytes, flags {bo.flags:#x})"
            for pdd in self.process.pdds.values()
            for bo in pdd.objects.values()
        ]

    def _create_process(self) -> SimProcess:
        """kfd_create_process + kfd_init_apertures: one pdd per GPU, nothing acquired yet."""
        return SimProcess(
            pdds={gpu_id: SimPdd(device=d, vm=GpuVm(gpu_id)) for gpu_id, d in self.devices.items()}
        )

    def _destroy_process(self, process: SimProcess) -> None:
        """Process teardown: everything the process still holds is released, as the kernel does."""
        for queue in list(process.queues.values()):
            self._remove_queue(process, queue)
        for pdd in process.pdds.values():
            for bo in list(pdd.objects.values()):
                for gpu_id in list(bo.mapped_gpu_ids):
                    self._vm_unmap(process.pdds[gpu_id], bo)
                self._release_bo(pdd, bo)
            for backing in (pdd.doorbells, pdd.mmio):
                if backing is not None:
                    backing.close()
        process.events.close()

    # -- ioctl dispatch (kfd_ioctl) ----------------------------------------------------------------

    @_locked
    def ioctl(self, fd: int, request: int, arg_addr: int) -> None:
        """Run one ioctl the way kfd_ioctl() does: sizes, copy in, handler, copy out (even on failure)."""
        sim_file = self.files.get(fd)
        if sim_file is None:
            raise KernelError(errno.EBADF, f"fd {fd} is not open")
        if sim_file.kind != "kfd":
            raise KernelError(errno.ENOTTY, f"request {request:#x} is not a KFD ioctl of a render node")
        nr = abi._IOC_NR(request)
        if not abi.AMDKFD_COMMAND_START <= nr < abi.AMDKFD_COMMAND_END:
            raise KernelError(errno.ENOTTY, f"ioctl nr {nr:#x} is outside the KFD command range")
        if nr not in self._handlers_by_nr:
            raise KernelError(
                errno.EOPNOTSUPP,
                f"{abi.ioctl_name(request)} is a real KFD ioctl the simulator does not model yet",
            )
        kernel_request, handler = self._handlers_by_nr[nr]
        struct_type = abi.IOCTLS[kernel_request].struct
        user_size = abi._IOC_SIZE(request)
        kernel_size = ctypes.sizeof(struct_type)
        direction = abi._IOC_DIR(kernel_request)
        buffer = bytearray(max(user_size, kernel_size))
        try:
            if direction & abi._IOC_WRITE:
                buffer[:user_size] = copy_from_user(arg_addr, user_size)
        except UserFaultError:
            raise KernelError(
                errno.EFAULT, f"cannot read the {user_size}-byte argument at {arg_addr:#x}"
            ) from None
        args = struct_type.from_buffer(buffer)
        assert self.process is not None  # a kfd file implies a process
        failure: KernelError | None = None
        try:
            handler(self.process, args)
        except KernelError as exc:
            failure = exc
        except (EventError, QueueError) as exc:
            failure = KernelError(exc.errno, exc.rule)
        if direction & abi._IOC_READ:
            try:
                copy_to_user(arg_addr, bytes(buffer[:user_size]))
            except UserFaultError:
                failure = KernelError(errno.EFAULT, f"cannot write the argument back to {arg_addr:#x}")
        del args
        if failure is not None:
            raise failure

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _pdd(process: SimProcess, gpu_id: int) -> SimPdd | None:
        """kfd_process_device_data_by_id: 0 and unknown ids find nothing."""
        return process.pdds.get(gpu_id) if gpu_id else None

    @staticmethod
    def _bind(pdd: SimPdd) -> SimPdd:
        """kfd_bind_process_to_device: a device whose VM was never acquired cannot be used."""
        if pdd.drm_file is None:
            raise KernelError(errno.ENODEV, f"gpu_id {pdd.gpu_id}: ACQUIRE_VM was not called for this device")
        return pdd

    # -- ioctls ------------------------------------------------------------------------------

    def _get_version(self, process: SimProcess, args: ctypes.Structure) -> None:
        args.major_version = abi.KFD_IOCTL_MAJOR_VERSION
        args.minor_version = abi.KFD_IOCTL_MINOR_VERSION

    def _get_clock_counters(self, process: SimProcess, args: ctypes.Structure) -> None:
        pdd = self._pdd(process, args.gpu_id)
        if pdd is not None:
            args.gpu_clock_counter = self._engines(pdd).advance_clock(1)  # deterministic, only forward
        else:
            args.gpu_clock_counter = 0
        args.cpu_clock_counter = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
        args.system_clock_counter = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        args.system_clock_freq = 1_000_000_000

    def _get_process_apertures_new(self, process: SimProcess, args: ctypes.Structure) -> None:
        pdds = list(process.pdds.values())
        if args.num_of_nodes == 0:
            args.num_of_nodes = len(pdds)
            return
        count = min(len(pdds), args.num_of_nodes)
        entries = (abi.kfd_process_device_apertures * count)()
        for entry, pdd in zip(entries, pdds[:count], strict=True):
            entry.lds_base = pdd.lds_base
            entry.lds_limit = pdd.limit_of(pdd.lds_base)
            entry.scratch_base = pdd.scratch_base
            entry.scratch_limit = pdd.limit_of(pdd.scratch_base)
            entry.gpuvm_base = pdd.gpuvm_base
            entry.gpuvm_limit = pdd.gpuvm_limit
            entry.gpu_id = pdd.gpu_id
        args.num_of_nodes = count
        try:
            copy_to_user(args.kfd_process_device_apertures_ptr, bytes(entries))
        except UserFaultError:
            raise KernelError(
                errno.EFAULT, f"cannot write {count} apertures at {args.kfd_process_device_apertures_ptr:#x}"
            ) from None

    def _acquire_vm(self, process: SimProcess, args: ctypes.Structure) -> None:
        drm_file = self.files.get(args.drm_fd)
        if drm_file is None and not _fd_is_open(args.drm_fd):
            raise KernelError(errno.EINVAL, f"drm_fd {args.drm_fd} is not an open file")
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        if pdd.drm_file is not None:
            if drm_file is not None and pdd.drm_file is drm_file:
                return
            raise KernelError(
                errno.EBUSY, f"gpu_id {args.gpu_id} already has its VM bound to another render-node file"
            )
        if drm_file is None or drm_file.kind != "render":
            raise KernelError(errno.EINVAL, f"drm_fd {args.drm_fd} is not an amdgpu DRM file")
        if any(other.drm_file is drm_file for other in process.pdds.values()):
            raise KernelError(errno.EINVAL, f"the VM of drm_fd {args.drm_fd} is already a compute VM")
        if drm_file.gpu_id != args.gpu_id:
            # The kernel does not check this; the GPU would then run in another device's VM. The
            # simulator refuses instead of modelling that corruption.
            raise KernelError(
                errno.EINVAL,
                f"drm_fd {args.drm_fd} is the render node of gpu_id {drm_file.gpu_id}, not of {args.gpu_id} "
                "(simulator check; the kernel would accept it and misbehave later)",
            )
        pdd.drm_file = drm_file
        if not pdd.device.is_apu:
            pdd.vm.map(CWSR_BASE, CWSR_TBA_TMA_BYTES, None, writable=False)

    def _runtime_enable(self, process: SimProcess, args: ctypes.Structure) -> None:
        if args.mode_mask & abi.KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK:
            if process.runtime_state != RUNTIME_DISABLED:
                raise KernelError(errno.EBUSY, "the runtime is already enabled for this process")
            if process.queues:
                raise KernelError(
                    errno.EEXIST, f"the process already has {len(process.queues)} user queue(s)"
                )
            process.runtime_state = RUNTIME_ENABLED
            process.r_debug = args.r_debug
        else:
            process.runtime_state = RUNTIME_DISABLED

    def _available_memory(self, process: SimProcess, args: ctypes.Structure) -> None:
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        self._settle_dmabufs()  # dma-buf fds closed behind the kernel's back (os.close) count as closed
        args.available = self.available_vram(pdd.device)

    def _reserved_for_page_tables(self) -> int:
        """ESTIMATE_PT_SIZE of the system memory size: VRAM the kernel keeps back for page tables."""
        return max(self.system_memory_bytes >> 14, AMDGPU_VM_RESERVED_VRAM)

    def _max_system_mem_limit(self) -> int:
        """How much GTT and userptr memory KFD lets processes pin (amdgpu_amdkfd_gpuvm_init_mem_limits)."""
        usable = self.system_memory_bytes - self.system_memory_bytes // 64
        limit = usable - (3 << 29)
        return usable // 2 if limit < (3 << 30) else limit

    def available_vram(self, device: SimDevice) -> int:
        available = device.vram_bytes - self._reserved_for_page_tables() - device.vram_used_aligned
        available = max(available, 0)
        return available - available % VRAM_AVAILABILITY_ALIGN

    @staticmethod
    def _accounting(device: SimDevice, flags: int) -> str:
        """Which limit an allocation counts against: "vram", "system" or "none" (doorbell, MMIO)."""
        if flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM:
            return "system" if device.is_apu else "vram"
        if flags & (abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT | abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR):
            return "system"
        return "none"

    def _reserve_mem_limit(self, device: SimDevice, size: int, flags: int) -> None:
        """amdgpu_amdkfd_reserve_mem_limit: VRAM against the device, GTT and userptr against system memory."""
        self._settle_dmabufs()
        pool = self._accounting(device, flags)
        if pool == "vram":
            limit = device.vram_bytes - self._reserved_for_page_tables()
            if device.vram_used + size > limit:
                raise KernelError(
                    errno.ENOMEM,
                    f"insufficient VRAM on gpu_id {device.gpu_id}: {size} bytes asked, "
                    f"{max(limit - device.vram_used, 0)} free",
                )
            device.vram_used += size
            device.vram_used_aligned += _align(size, VRAM_AVAILABILITY_ALIGN)
        elif pool == "system":
            limit = self._max_system_mem_limit()
            if self.system_used + size > limit:
                raise KernelError(
                    errno.ENOMEM,
                    f"insufficient system memory: {size} bytes asked, "
                    f"{max(limit - self.system_used, 0)} free",
                )
            self.system_used += size

    def _unreserve_mem_limit(self, device: SimDevice, size: int, flags: int) -> None:
        pool = self._accounting(device, flags)
        if pool == "vram":
            device.vram_used -= size
            device.vram_used_aligned -= _align(size, VRAM_AVAILABILITY_ALIGN)
        elif pool == "system":
            self.system_used -= size

    def _alloc_memory_of_gpu(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_alloc_memory_of_gpu: the VA is only recorded here; MAP_MEMORY_TO_GPU checks it."""
        flags = args.flags
        if args.size == 0:
            raise KernelError(errno.EINVAL, "size is 0")
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        device = pdd.device
        if (
            flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC
            and flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM
            and not self._large_bar(device)
        ):
            raise KernelError(errno.EINVAL, "host-visible VRAM on a small-BAR device is not allowed")
        self._bind(pdd)
        size = args.size
        is_userptr = not flags & (
            abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT
        ) and bool(flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR)
        if is_userptr and args.mmap_offset % PAGE_SIZE:
            raise KernelError(errno.EINVAL, f"userptr address {args.mmap_offset:#x} is not page aligned")
        shared_backing: Backing | None = None
        if flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL:
            if size != device.doorbell_slice_bytes:
                raise KernelError(
                    errno.EINVAL,
                    "a doorbell allocation must be the process doorbell slice of "
                    f"{device.doorbell_slice_bytes} bytes, not {size}",
                )
            shared_backing = self._doorbells(pdd)
        elif flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP:
            if size != PAGE_SIZE:
                raise KernelError(
                    errno.EINVAL, f"an MMIO-remap allocation must be one page ({PAGE_SIZE}), not {size}"
                )
            shared_backing = self._mmio(pdd)
        typed = flags & (
            abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_USERPTR
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP
        )
        if not typed:
            raise KernelError(errno.EINVAL, f"flags {flags:#x} name no memory type (VRAM, GTT, USERPTR, ...)")
        if is_userptr and args.mmap_offset == 0:
            raise KernelError(errno.EINVAL, "a USERPTR allocation needs the user address in mmap_offset")
        aligned_size = _align(size, PAGE_SIZE)
        if aligned_size > VM_SIZE_BYTES:
            raise KernelError(errno.ENOMEM, f"size {size} is larger than the whole GPU address space")
        self._reserve_mem_limit(device, aligned_size, flags)
        try:
            if is_userptr:
                backing: Backing | UserPtrBacking = self._userptr_backing(args.mmap_offset, aligned_size)
            elif shared_backing is not None:
                backing = shared_backing
            else:
                backing = Backing(aligned_size, f"bo-{device.gpu_id}")
        except BaseException:
            self._unreserve_mem_limit(device, aligned_size, flags)
            raise
        bo = SimBo(
            idr=pdd.new_idr(),
            gpu_id=device.gpu_id,
            va=args.va_addr,
            size=aligned_size,
            flags=flags,
            backing=backing,
            owns_backing=shared_backing is None and isinstance(backing, Backing),
        )
        pdd.objects[bo.idr] = bo
        args.handle = bo.handle
        bo.drm_offset = self._next_drm_page * PAGE_SIZE
        self._next_drm_page += aligned_size // PAGE_SIZE
        self._drm_offsets[bo.drm_offset] = bo
        if (
            flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP
            and not flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL
        ):
            args.mmap_offset = mo.mmio_mmap_offset(device.gpu_id)
        else:
            args.mmap_offset = bo.drm_offset

    def _doorbells(self, pdd: SimPdd) -> Backing:
        """kfd_get_process_doorbells: the process's doorbell slice on this GPU, made on first use."""
        if pdd.doorbells is None:
            pdd.doorbells = Backing(pdd.device.doorbell_slice_bytes, f"doorbells-{pdd.gpu_id}")
        return pdd.doorbells

    def _mmio(self, pdd: SimPdd) -> Backing:
        """The remapped HDP-flush register page of this GPU."""
        if pdd.mmio is None:
            pdd.mmio = Backing(PAGE_SIZE, f"mmio-{pdd.gpu_id}")
        return pdd.mmio

    @staticmethod
    def _large_bar(device: SimDevice) -> bool:
        """Simulated dGPUs expose all of VRAM through the BAR (resizable BAR), as current boards do."""
        return True

    @staticmethod
    def _userptr_backing(addr: int, size: int) -> UserPtrBacking:
        """Register user pages: every page must exist now (get_user_pages), else EFAULT."""
        missing = first_missing_page(addr, size, PAGE_SIZE) if addr > 0 else addr
        if missing is not None:
            raise KernelError(errno.EFAULT, f"user pages at {missing:#x} are not mapped")
        return UserPtrBacking(addr, size)

    def _lookup_bo(self, process: SimProcess, handle: int, missing_errno: int) -> tuple[SimPdd, SimBo]:
        pdd = self._pdd(process, mo.handle_gpu_id(handle))
        if pdd is None:
            raise KernelError(
                errno.EINVAL,
                f"handle {handle:#x} names gpu_id {mo.handle_gpu_id(handle)}, not a GPU of this process",
            )
        bo = pdd.objects.get(mo.handle_idr(handle))
        if bo is None:
            raise KernelError(missing_errno, f"handle {handle:#x} is not an allocation of this process")
        return pdd, bo

    def _free_memory_of_gpu(self, process: SimProcess, args: ctypes.Structure) -> None:
        if process.events.signal_handle and args.handle == process.events.signal_handle:
            raise KernelError(
                errno.EPERM, f"handle {args.handle:#x} is the event page, freed only at process exit"
            )
        pdd, bo = self._lookup_bo(process, args.handle, errno.EINVAL)
        if bo.mapped_gpu_ids:
            raise KernelError(
                errno.EBUSY, f"BO at va {bo.va:#x} is still mapped on gpu_id(s) {sorted(bo.mapped_gpu_ids)}"
            )
        self._release_bo(pdd, bo)

    def _release_bo(self, pdd: SimPdd, bo: SimBo) -> None:
        pdd.release_idr(bo.idr)
        self._drm_offsets.pop(bo.drm_offset, None)
        exported = None if bo.imported else self._dmabufs.get(getattr(bo.backing, "name", ""))
        if not bo.imported and exported is None:
            self._unreserve_mem_limit(pdd.device, bo.size, bo.flags)
        elif exported is not None:
            exported.pending_charge = (pdd.device, bo.size, bo.flags)
        if isinstance(bo.backing, UserPtrBacking) or bo.owns_backing:
            bo.backing.close()  # CPU mappings keep their pages, as a GEM object outlives its handle
        self._settle_dmabufs()

    def _settle_dmabufs(self) -> None:
        """Exported pages no descriptor refers to any more are gone: their charge returns, their entry too."""
        if not any(dmabuf.pending_charge for dmabuf in self._dmabufs.values()):
            return
        open_names = open_memfd_names()
        for name, dmabuf in list(self._dmabufs.items()):
            if dmabuf.pending_charge is not None and not open_names.get(name):
                self._unreserve_mem_limit(*dmabuf.pending_charge)
                del self._dmabufs[name]

    def _read_device_ids(self, args: ctypes.Structure) -> list[int]:
        if args.n_devices == 0:
            raise KernelError(errno.EINVAL, "n_devices is 0: the device id array is empty")
        if args.n_success > args.n_devices:
            raise KernelError(errno.EINVAL, f"n_success {args.n_success} exceeds n_devices {args.n_devices}")
        try:
            raw = copy_from_user(args.device_ids_array_ptr, 4 * args.n_devices)
        except UserFaultError:
            raise KernelError(
                errno.EFAULT, f"cannot read {args.n_devices} device ids at {args.device_ids_array_ptr:#x}"
            ) from None
        return list((ctypes.c_uint32 * args.n_devices).from_buffer_copy(raw))

    def _map_memory_to_gpu(self, process: SimProcess, args: ctypes.Structure) -> None:
        device_ids = self._read_device_ids(args)
        owner = self._pdd(process, mo.handle_gpu_id(args.handle))
        if owner is None:
            raise KernelError(errno.EINVAL, f"handle {args.handle:#x} names no GPU of this process")
        self._bind(owner)
        bo = owner.objects.get(mo.handle_idr(args.handle))
        if bo is None:
            raise KernelError(errno.ENOMEM, f"handle {args.handle:#x} is not an allocation of this process")
        for index in range(args.n_success, args.n_devices):
            peer = self._pdd(process, device_ids[index])
            if peer is None:
                raise KernelError(errno.EINVAL, f"device id {device_ids[index]} (entry {index}) is not a GPU")
            self._bind(peer)
            if peer.gpu_id not in bo.mapped_gpu_ids:
                self._vm_map(peer, bo)
            args.n_success = index + 1

    def _vm_map(self, pdd: SimPdd, bo: SimBo) -> None:
        """kfd_mem_attach + amdgpu_vm_bo_map: a VA, page aligned, inside the VM, overlapping nothing."""
        if bo.va == 0:
            raise KernelError(errno.EINVAL, "invalid VA when adding the BO to the VM (va_addr was 0)")
        if bo.va % PAGE_SIZE:
            raise KernelError(errno.EINVAL, f"va {bo.va:#x} is not page aligned")
        if bo.va + bo.size > VM_SIZE_BYTES:
            raise KernelError(
                errno.EINVAL, f"va {bo.va:#x}-{bo.va + bo.size:#x} ends beyond the {VM_SIZE_BYTES:#x}-byte VM"
            )
        clash = pdd.vm.overlapping(bo.va, bo.size)
        if clash is not None:
            raise KernelError(
                errno.EINVAL,
                f"va {bo.va:#x}-{bo.va + bo.size:#x} conflicts with the mapping at "
                f"{clash.va:#x}-{clash.end:#x} on gpu_id {pdd.gpu_id}",
            )
        pdd.vm.map(bo.va, bo.size, bo, bo.writable)
        bo.mapped_gpu_ids.add(pdd.gpu_id)

    def _vm_unmap(self, pdd: SimPdd, bo: SimBo) -> None:
        pdd.vm.unmap(bo.va)
        bo.mapped_gpu_ids.discard(pdd.gpu_id)

    def _unmap_memory_from_gpu(self, process: SimProcess, args: ctypes.Structure) -> None:
        device_ids = self._read_device_ids(args)
        owner = self._pdd(process, mo.handle_gpu_id(args.handle))
        if owner is None:
            raise KernelError(errno.EINVAL, f"handle {args.handle:#x} names no GPU of this process")
        bo = owner.objects.get(mo.handle_idr(args.handle))
        if bo is None:
            raise KernelError(errno.ENOMEM, f"handle {args.handle:#x} is not an allocation of this process")
        for index in range(args.n_success, args.n_devices):
            peer = self._pdd(process, device_ids[index])
            if peer is None:
                raise KernelError(errno.EINVAL, f"device id {device_ids[index]} (entry {index}) is not a GPU")
            if peer.drm_file is None:
                # The kernel dereferences a NULL VM here; the simulator reports the misuse instead.
                raise KernelError(
                    errno.EINVAL,
                    f"gpu_id {peer.gpu_id} has no VM (ACQUIRE_VM was never called; simulator check)",
                )
            if peer.gpu_id not in bo.mapped_gpu_ids:
                raise KernelError(errno.EINVAL, f"BO at va {bo.va:#x} is not mapped on gpu_id {peer.gpu_id}")
            if bo.queue_refs and peer.gpu_id == bo.gpu_id:
                raise KernelError(
                    errno.EBUSY, f"BO at va {bo.va:#x} is in use by {bo.queue_refs} live queue(s)"
                )
            self._vm_unmap(peer, bo)
            args.n_success = index + 1

    # -- dma-buf -----------------------------------------------------------------------------------

    def _dmabuf_or_none(self, fd: int) -> SimDmaBuf | None:
        name = memfd_name(fd)
        if name is None or name not in self._dmabufs or fd in self._internal_fds():
            return None
        return self._dmabufs[name]

    def _internal_fds(self) -> set[int]:
        """The simulator's own descriptors of BO pages: no caller was given these, so none is a dma-buf."""
        if self.process is None:
            return set()
        fds = {bo.backing.fd for pdd in self.process.pdds.values() for bo in pdd.objects.values()}
        for pdd in self.process.pdds.values():
            fds.update(backing.fd for backing in (pdd.doorbells, pdd.mmio) if backing is not None)
        return fds

    def _dmabuf(self, fd: int) -> SimDmaBuf:
        """dma_buf_get(): a closed fd is EBADF, an open fd that is not an amdgpu dma-buf EINVAL."""
        if fd > 0x7FFF_FFFF or not _fd_is_open(fd):
            raise KernelError(errno.EBADF, f"dma-buf fd {fd} is not open")
        dmabuf = self._dmabuf_or_none(fd)
        if dmabuf is None:
            raise KernelError(errno.EINVAL, f"fd {fd} is not a dma-buf exported by an amdgpu device")
        return dmabuf

    @staticmethod
    def _importable(fd: int, dmabuf: SimDmaBuf) -> None:
        if not dmabuf.placement:
            raise KernelError(
                errno.EINVAL, f"dma-buf fd {fd} holds doorbell or MMIO pages: only VRAM and GTT BOs import"
            )

    def _export_dmabuf(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_export_dmabuf: one dma-buf per BO, a new fd each time; userptr BOs refuse (EPERM)."""
        gpu_id = mo.handle_gpu_id(args.handle)
        if gpu_id not in self.devices:
            raise KernelError(errno.EINVAL, f"handle {args.handle:#x} names gpu_id {gpu_id}, not a GPU")
        bo = process.pdds[gpu_id].objects.get(mo.handle_idr(args.handle))
        if bo is None:
            raise KernelError(errno.EINVAL, f"handle {args.handle:#x} is not an allocation of this process")
        if isinstance(bo.backing, UserPtrBacking):
            raise KernelError(errno.EPERM, f"BO at va {bo.va:#x} is registered user memory (userptr)")
        placement = bo.flags & (abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT)
        if bo.flags & (abi.KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL | abi.KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP):
            placement = 0
        self._dmabufs.setdefault(
            bo.backing.name,
            SimDmaBuf(
                gpu_id=bo.gpu_id,
                size=bo.size,
                placement=placement,
                # CPU_ACCESS_REQUIRED is a VRAM placement flag: GTT is always CPU-reachable
                cpu_access_required=bool(bo.flags & abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC)
                and placement == abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM,
            ),
        )
        # The fd shares the BO's pages for as long as it lives, as a dma-buf does; memory that is not
        # WRITABLE exports without DRM_RDWR, so the file is read-only.
        if bo.writable:
            fd = os.dup(bo.backing.fd)
        else:
            fd = os.open(f"/proc/self/fd/{bo.backing.fd}", os.O_RDONLY | os.O_CLOEXEC)
        os.set_inheritable(fd, not args.flags & os.O_CLOEXEC)
        args.dmabuf_fd = fd

    def _get_dmabuf_info(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_get_dmabuf_info: size, exporting GPU and placement; simulated BOs carry no metadata."""
        dmabuf = self._dmabuf(args.dmabuf_fd)
        self._importable(args.dmabuf_fd, dmabuf)
        args.size = dmabuf.size
        args.gpu_id = dmabuf.gpu_id
        args.flags = dmabuf.placement | (
            abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC if dmabuf.cpu_access_required else 0
        )
        args.metadata_size = 0

    def _import_dmabuf(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_import_dmabuf: a new handle on the same pages, at va_addr, mapped nowhere yet."""
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        self._bind(pdd)
        dmabuf = self._dmabuf(args.dmabuf_fd)
        self._importable(args.dmabuf_fd, dmabuf)
        # The kernel's reference to the pages, whatever access the caller's fd has (imports are WRITABLE)
        pages = os.open(f"/proc/self/fd/{args.dmabuf_fd}", os.O_RDWR | os.O_CLOEXEC)
        backing = Backing(dmabuf.size, f"import-{pdd.gpu_id}", fd=pages)
        bo = SimBo(
            idr=pdd.new_idr(),
            gpu_id=pdd.gpu_id,
            va=args.va_addr,
            size=dmabuf.size,
            flags=dmabuf.placement
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
            | abi.KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE,
            backing=backing,
            owns_backing=True,
            imported=True,
        )
        pdd.objects[bo.idr] = bo
        args.handle = bo.handle

    # -- queues ------------------------------------------------------------------------------------

    def _create_queue(self, process: SimProcess, args: ctypes.Structure) -> None:
        check_queue_properties(args, update=False)
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        if pdd.drm_file is None:
            raise KernelError(errno.ESRCH, f"gpu_id {args.gpu_id}: ACQUIRE_VM was not called for this device")
        queue_id = next(qid for qid in range(1024 + 1) if qid not in process.queues)
        if queue_id == 1024:
            raise KernelError(errno.ENOMEM, "the process has 1024 queues already")
        queue = create_queue(process, pdd, args, queue_id)
        process.queues[queue_id] = queue
        args.queue_id = queue_id
        args.doorbell_offset = doorbell_offset(pdd.gpu_id, queue.doorbell_index, pdd.device.doorbell_size)
        self._engines(pdd).add(queue)

    def _alloc_queue_gws(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_alloc_queue_gws + pqm_set_gws: a GPU's whole GWS to one queue of the process, or none."""
        queue = process.queues.get(args.queue_id)
        if queue is None:
            raise KernelError(errno.EINVAL, f"queue_id {args.queue_id} does not exist")
        pdd = process.pdds[queue.gpu_id]
        gws_size = pdd.device.node.properties.get("num_gws", 0)
        if not gws_size:
            raise KernelError(errno.ENODEV, f"gpu_id {queue.gpu_id} has no GWS (topology num_gws is 0)")
        args.first_gws = 0
        if args.num_gws and pdd.num_gws:
            holders = [q.queue_id for q in process.queues.values() if q.gws and q.gpu_id == queue.gpu_id]
            holder = holders[0] if holders else "another"
            raise KernelError(
                errno.EBUSY,
                f"queue {holder} already holds the GWS of gpu_id {queue.gpu_id}: one queue per process may",
            )
        if not args.num_gws and not pdd.num_gws:
            raise KernelError(
                errno.EINVAL, f"num_gws 0 releases GWS, but no queue of gpu_id {queue.gpu_id} holds any"
            )
        queue.gws = bool(args.num_gws)
        pdd.num_gws = gws_size if args.num_gws else 0  # every entry the GPU has, whatever num_gws asked
        pdd.gws_values = np.zeros(gws_size, dtype=np.uint32) if args.num_gws else None

    def _remove_queue(self, process: SimProcess, queue: SimQueue) -> None:
        if queue.gws:  # pqm_destroy_queue gives the GWS back
            process.pdds[queue.gpu_id].num_gws = 0
            process.pdds[queue.gpu_id].gws_values = None
        for bo in queue.buffers:
            bo.queue_refs -= 1
        del process.queues[queue.queue_id]
        engines = self.engines.get(queue.gpu_id)
        if engines is not None:
            engines.remove(queue)

    def _destroy_queue(self, process: SimProcess, args: ctypes.Structure) -> None:
        queue = process.queues.get(args.queue_id)
        if queue is None:
            raise KernelError(errno.EINVAL, f"queue_id {args.queue_id} does not exist")
        self._remove_queue(process, queue)

    def _update_queue(self, process: SimProcess, args: ctypes.Structure) -> None:
        check_queue_properties(args, update=True)
        queue = process.queues.get(args.queue_id)
        if queue is None:
            raise KernelError(errno.EFAULT, f"queue_id {args.queue_id} does not exist")
        if args.ring_base_address and args.ring_size:
            pdd = process.pdds[queue.gpu_id]
            mapping = pdd.vm.lookup(args.ring_base_address)
            if mapping is None or mapping.va != args.ring_base_address or mapping.size != args.ring_size:
                raise KernelError(
                    errno.EFAULT,
                    f"the new ring at {args.ring_base_address:#x} is not a mapping of "
                    f"exactly {args.ring_size} bytes",
                )
        queue.ring_va = args.ring_base_address
        queue.ring_size = args.ring_size
        queue.percentage = args.queue_percentage & 0xFF
        queue.priority = args.queue_priority
        self.pump()  # a resumed queue runs what it was given meanwhile

    def _set_cu_mask(self, process: SimProcess, args: ctypes.Structure) -> None:
        """kfd_ioctl_set_cu_mask + pqm_update_mqd: whole 32-bit words, at most 1024 bits read, WGP pairs."""
        if args.num_cu_mask % 32:
            raise KernelError(errno.EINVAL, f"num_cu_mask {args.num_cu_mask} is not a multiple of 32")
        if args.num_cu_mask == 0:
            raise KernelError(errno.EINVAL, "num_cu_mask is 0: the CU mask cannot be empty")
        count = min(args.num_cu_mask, MAX_CU_MASK_BITS)  # bits past 1024 are dropped, not read
        try:
            raw = copy_from_user(args.cu_mask_ptr, count // 8)
        except UserFaultError:
            raise KernelError(
                errno.EFAULT, f"cannot read {count // 32} CU mask words at {args.cu_mask_ptr:#x}"
            ) from None
        mask = int.from_bytes(raw, "little")
        queue = process.queues.get(args.queue_id)
        if queue is None:
            raise KernelError(errno.EFAULT, f"queue_id {args.queue_id} does not exist")
        target = families.get_target(self.devices[queue.gpu_id].node.properties.get("gfx_target_version", 0))
        if target.cus_per_wgp == 2:  # CUs pair into WGPs: both or neither
            for cu in range(0, count, 2):
                if (mask >> cu) & 3 in (1, 2):
                    raise KernelError(
                        errno.EINVAL,
                        f"CU mask {mask:#x} enables one CU of the pair {cu},{cu + 1} (a WGP): "
                        "CUs must be enabled pairwise",
                    )
        queue.cu_mask = mask

    def _set_scratch_backing_va(self, process: SimProcess, args: ctypes.Structure) -> None:
        pdd = self._pdd(process, args.gpu_id)
        if pdd is None:
            raise KernelError(errno.EINVAL, f"gpu_id {args.gpu_id} is not a GPU of this process")
        self._bind(pdd).scratch_backing_va = args.va_addr

    # -- events ------------------------------------------------------------------------------------

    def _create_event(self, process: SimProcess, args: ctypes.Structure) -> None:
        """CREATE_EVENT; a non-zero event_page_offset first makes that BO (a handle) the signal page."""
        if args.event_page_offset:
            handle = args.event_page_offset
            if process.events.slots is not None:
                raise KernelError(errno.EINVAL, "the process already has a signal page")
            pdd = self._pdd(process, mo.handle_gpu_id(handle))
            if pdd is None:
                raise KernelError(errno.EINVAL, f"event page handle {handle:#x} names no GPU of this process")
            self._bind(pdd)
            bo = pdd.objects.get(mo.handle_idr(handle))
            if bo is None:
                raise KernelError(errno.EINVAL, f"event page handle {handle:#x} is not an allocation")
            page = page_bytes_of(bo.backing)
            if page is None:
                raise KernelError(errno.EINVAL, "a userptr allocation cannot be the event page")
            process.events.set_event_page(handle, page)
        process.events.create(args)

    # -- engines -----------------------------------------------------------------------------------

    def _engines(self, pdd: SimPdd) -> GpuEngines:
        engines = self.engines.get(pdd.gpu_id)
        if engines is None:
            hooks = EngineHooks(
                interrupt=self._interrupt,
                memory_fault=self._memory_fault,
                queue_error=self._queue_error,
                doorbell_write=self._gpu_doorbell_write,
            )
            engines = GpuEngines(pdd.gpu_id, GpuMemory(pdd.vm), {}, hooks)
            engines.executors = self.executor_factory(engines, pdd.device)
            self.engines[pdd.gpu_id] = engines
        return engines

    def _interrupt(self, context_id: int, valid_bits: int) -> None:
        if self.process is not None:
            self.process.events.interrupt(context_id, valid_bits)

    def _memory_fault(self, gpu_id: int, va: int, not_present: bool, write: bool) -> None:
        self.gpu_faults.append((gpu_id, va, write))
        if self.process is not None:
            self.process.events.memory_fault(gpu_id, va, not_present=not_present, read_only=not not_present)

    def _queue_error(self, queue: SimQueue, report: str) -> None:
        self.queue_errors.append((queue, report))

    def _idle(self, seconds: float) -> None:
        """A sleeping WAIT_EVENTS lets other threads into the kernel (they may signal what it waits for)."""
        self._wakeup.wait(seconds)

    @_locked
    def pump(self) -> None:
        """Let every simulated engine run until none can make progress (deterministic order)."""
        while any([engines.run() for _, engines in sorted(self.engines.items())]):
            pass

    @_locked
    def doorbell_store(self, gpu_id: int, offset: int, backing: Backing) -> None:
        """A CPU store into the doorbell slice: the queue owning that doorbell gets a new write pointer."""
        if self._ring_doorbell(gpu_id, offset, backing):
            self.pump()

    def _gpu_doorbell_write(self, bo: object, offset: int) -> None:
        """A queue's packet wrote a doorbell page mapped in its GPU's VM: the doorbell rings as for the CPU
        (the engines running now carry on, so no pump here)."""
        assert isinstance(bo, SimBo)
        self._ring_doorbell(bo.gpu_id, offset, bo.backing)

    def _ring_doorbell(self, gpu_id: int, offset: int, backing: Backing | UserPtrBacking) -> bool:
        device = self.devices[gpu_id]
        index = offset // device.doorbell_size
        engines = self.engines.get(gpu_id)
        if engines is None or self.process is None:
            return False
        for queue in self.process.queues.values():
            if queue.gpu_id == gpu_id and queue.doorbell_index == index:
                start = index * device.doorbell_size
                raw = backing.bytes[start : start + device.doorbell_size]
                value_type = np.uint64 if device.doorbell_size == 8 else np.uint32
                value = int(raw.view(value_type)[0])
                mismatch = self._write_pointer_mismatch(engines, queue, value, device.doorbell_size)
                if mismatch:
                    engines.fail(queue.queue_id, mismatch)
                    return True
                engines.doorbell(queue.queue_id, value)
                return True
        return False

    @staticmethod
    def _write_pointer_mismatch(engines: GpuEngines, queue: SimQueue, value: int, size: int) -> str:
        """A doorbell must carry the write pointer the queue's memory holds: the engine reads that memory
        whenever it maps the queue again (after preemption or with more queues than hardware slots)."""
        try:
            in_memory = engines.memory.read_u64(queue.wptr_va)
        except GpuFaultError:
            return (
                f"doorbell rang with write pointer {value}, but the queue's write pointer address "
                f"{queue.wptr_va:#x} is not mapped on gpu_id {queue.gpu_id}"
            )
        if in_memory & ((1 << (8 * size)) - 1) != value:
            return (
                f"doorbell rang with write pointer {value}, but memory at {queue.wptr_va:#x} holds "
                f"{in_memory}: store the write pointer before the doorbell (the engine reads that memory "
                "when it maps the queue again; simulator check)"
            )
        return ""

    @_locked
    def stall_report(self) -> list[str] | None:
        """Queues that hold work they cannot run, with what each waits for; empty if nothing is stuck; None
        while a dispatch is in flight (the GPU is busy: a waiter cannot tell whether waiting helps)."""
        if any(engines.has_running() for engines in self.engines.values()):
            return None
        return [line for _, engines in sorted(self.engines.items()) for line in engines.stall_report()]

    # -- mmap --------------------------------------------------------------------------------------

    @_locked
    def mmap_target(
        self, fd: int, offset: int, length: int
    ) -> tuple[Backing | UserPtrBacking | DmaBufPages, SimBo | None, Callable[[int, int], None]]:
        """What an mmap of (fd, offset, length) maps: checks as kfd_mmap and the DRM GEM mmap do."""
        sim_file = self.files.get(fd)
        if sim_file is None:
            dmabuf = self._dmabuf(fd)
            if offset % PAGE_SIZE or offset + length > dmabuf.size:
                raise KernelError(
                    errno.EINVAL,
                    f"mmap of {length:#x} bytes at offset {offset:#x} overruns the "
                    f"{dmabuf.size:#x}-byte dma-buf",
                )
            return DmaBufPages(fd, dmabuf.size), None, self._cpu_store
        process = self.process
        if sim_file.kind == "render":
            bo = self._drm_offsets.get(offset)
            if bo is None or length > bo.size or process is None:
                raise KernelError(
                    errno.EINVAL, f"no buffer object at render-node offset {offset:#x} (+{length:#x})"
                )
            if process.pdds[bo.gpu_id].drm_file is not sim_file:
                raise KernelError(
                    errno.EACCES, f"the BO at offset {offset:#x} was not made through this render file"
                )
            return bo.backing, bo, self._cpu_store
        assert process is not None  # a kfd file implies a process
        gpu_id = mo.kfd_mmap_get_gpu_id(offset)
        known_device = gpu_id in self.devices
        pdd = self._pdd(process, gpu_id)
        kind = mo.kfd_mmap_type(offset)
        if kind == mo.KFD_MMAP_TYPE_DOORBELL:
            if not known_device:
                raise KernelError(errno.ENODEV, f"doorbell mmap names unknown gpu_id {gpu_id}")
            slice_bytes = self.devices[gpu_id].doorbell_slice_bytes
            if length != slice_bytes:
                raise KernelError(errno.EINVAL, f"a doorbell mmap must be {slice_bytes} bytes, not {length}")
            if pdd is None:
                raise KernelError(errno.EINVAL, f"gpu_id {gpu_id} is not a GPU of this process")
            doorbells = self._doorbells(pdd)
            return (
                doorbells,
                None,
                lambda store_offset, size: self.doorbell_store(gpu_id, store_offset, doorbells),
            )
        if kind == mo.KFD_MMAP_TYPE_MMIO:
            if not known_device or pdd is None:
                raise KernelError(errno.ENODEV, f"MMIO mmap names unknown gpu_id {gpu_id}")
            if length != PAGE_SIZE:
                raise KernelError(errno.EINVAL, f"an MMIO mmap must be one page, not {length} bytes")
            return self._mmio(pdd), None, self._cpu_store
        if kind == mo.KFD_MMAP_TYPE_EVENTS:
            try:
                return process.events.mmap_kernel_page(length), None, self._cpu_store
            except EventError as exc:
                raise KernelError(exc.errno, exc.rule) from None
        raise KernelError(errno.EINVAL, f"KFD mmap offset {offset:#x} names nothing the simulator maps yet")

    def default_executors(self, engines: GpuEngines, device: SimDevice) -> dict[str, Executor]:
        """The engines a simulated GPU has: a command processor (with its shader core) and SDMA engines."""
        target = families.get_target(device.node.properties.get("gfx_target_version", 0))
        engine = SdmaEngine(engines, sdma_packets.generation(target))

        def scratch_base() -> int:
            return self.process.pdds[device.gpu_id].scratch_backing_va if self.process else 0

        def gws_values() -> np.ndarray | None:
            """The process's GWS while its GWS queue is mapped (pm_map_process: num_gws only then)."""
            pdd = self.process.pdds.get(device.gpu_id) if self.process else None
            if pdd is None or pdd.gws_values is None:
                return None
            mapped = any(
                q.gws and q.active for q in self.process.queues.values() if q.gpu_id == device.gpu_id
            )
            return pdd.gws_values if mapped else None

        dispatcher = ShaderDispatcher(device.node, scratch_base, gws_values)
        return {
            "compute": CommandProcessor(engines, pm4.dialect(target), dispatcher),
            "sdma": engine,
            "sdma_xgmi": engine,
        }

    @_locked
    def _cpu_store(self, offset: int, size: int) -> None:
        """The CPU wrote GPU-visible memory: a queue blocked on a wait may run now."""
        if any(engines.has_blocked() for engines in self.engines.values()):
            self.pump()


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
