"""Simulated user-mode queues: CREATE/DESTROY/UPDATE_QUEUE, checked as kfd_chardev.c and kfd_queue.c do."""

from __future__ import annotations

import ctypes
import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_amdgpu import families
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd import mmap_offsets as mo
from pytest_amdgpu.kfd.transport import PAGE_SIZE

if TYPE_CHECKING:
    from pytest_amdgpu.sim.kfd import SimBo, SimPdd, SimProcess

TASK_SIZE_MAX = 0x7FFF_FFFF_F000  # access_ok(): the top of the user address space on x86_64
ENOTSUPP = 524  # kernel-internal errno that CREATE_QUEUE lets reach user space
MAX_QUEUES_PER_DEVICE = 127
MAX_QUEUES_PER_DEVICE_GC_9_4_3 = 255
QUEUE_TYPES = {
    abi.KFD_IOC_QUEUE_TYPE_COMPUTE: "compute",
    abi.KFD_IOC_QUEUE_TYPE_SDMA: "sdma",
    abi.KFD_IOC_QUEUE_TYPE_COMPUTE_AQL: "compute_aql",
    abi.KFD_IOC_QUEUE_TYPE_SDMA_XGMI: "sdma_xgmi",
    abi.KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID: "sdma",
}
SDMA_DOORBELL_BASE = 0x100  # SDMA doorbells sit above the compute ones in the process slice


class QueueError(Exception):
    """A queue ioctl check failed; the kfd model turns it into the errno."""

    def __init__(self, errno_value: int, rule: str) -> None:
        super().__init__(rule)
        self.errno = errno_value
        self.rule = rule


@dataclass
class SimQueue:
    """One user-mode queue as the kernel and the engines know it."""

    queue_id: int
    gpu_id: int
    kind: str  # "compute" | "compute_aql" | "sdma" | "sdma_xgmi"
    ring_va: int
    ring_size: int
    rptr_va: int
    wptr_va: int
    percentage: int
    priority: int
    doorbell_index: int
    sdma_engine: int = -1
    eop_va: int = 0
    ctx_save_va: int = 0
    buffers: list[SimBo] = field(default_factory=list)
    state: str = "idle"  # idle | busy | blocked | running | polling (a dispatch in flight) | error
    blocked_on: str = ""
    error_report: str = ""
    read_units: int = 0  # the engine's read pointer, in the queue's units, never wrapped
    cu_mask: int | None = None  # SET_CU_MASK: bit i enables CU i of the GPU; None: every CU
    gws: bool = False  # ALLOC_QUEUE_GWS gave this queue the GPU's global wave sync entries

    @property
    def is_sdma(self) -> bool:
        return self.kind.startswith("sdma")

    @property
    def active(self) -> bool:
        """QUEUE_IS_ACTIVE: a ring, a size and a non-zero percentage."""
        return self.ring_size > 0 and self.ring_va != 0 and self.percentage > 0


def _access_ok(addr: int, size: int) -> bool:
    return addr + size <= TASK_SIZE_MAX


def check_queue_properties(args: ctypes.Structure, *, update: bool) -> None:
    """set_queue_properties_from_user / the update variant: ranges, user addresses, power-of-two ring."""
    if args.queue_percentage & 0xFF > abi.KFD_MAX_QUEUE_PERCENTAGE:
        raise QueueError(errno.EINVAL, f"queue_percentage {args.queue_percentage & 0xFF} is over 100")
    if args.queue_priority > abi.KFD_MAX_QUEUE_PRIORITY:
        raise QueueError(
            errno.EINVAL, f"queue_priority {args.queue_priority} is over {abi.KFD_MAX_QUEUE_PRIORITY}"
        )
    if args.ring_base_address and not _access_ok(args.ring_base_address, 8):
        raise QueueError(errno.EFAULT, f"ring_base_address {args.ring_base_address:#x} is not a user address")
    if args.ring_size and args.ring_size & (args.ring_size - 1):
        raise QueueError(errno.EINVAL, f"ring_size {args.ring_size} is not a power of two")
    if args.ring_size < abi.KFD_MIN_QUEUE_RING_SIZE:
        args.ring_size = abi.KFD_MIN_QUEUE_RING_SIZE  # clamped, and the caller sees the new size
    if update:
        return
    for name in ("read_pointer_address", "write_pointer_address"):
        if not _access_ok(getattr(args, name), 4):
            raise QueueError(errno.EFAULT, f"{name} {getattr(args, name):#x} is not a user address")
    for name in ("eop_buffer_address", "ctx_save_restore_address"):
        value = getattr(args, name)
        if value and not _access_ok(value, 4):
            raise QueueError(errno.EFAULT, f"{name} {value:#x} is not a user address")
    if args.queue_type not in QUEUE_TYPES:
        raise QueueError(ENOTSUPP, f"queue_type {args.queue_type} is not a KFD queue type")


def queue_buffer(pdd: SimPdd, addr: int, expected_bytes: int, what: str) -> SimBo:
    """kfd_queue_buffer_get: a mapping must start at the page of `addr` and, if sized, be exactly that big."""
    page = addr & ~(PAGE_SIZE - 1)
    mapping = pdd.vm.lookup(page)
    if mapping is None or mapping.bo is None or mapping.va != page:
        raise QueueError(errno.EINVAL, f"{what} at {addr:#x} is not at the start of a GPU mapping")
    expected_pages = expected_bytes // PAGE_SIZE
    if expected_pages and mapping.size != expected_pages * PAGE_SIZE:
        raise QueueError(
            errno.EINVAL,
            f"{what} at {addr:#x} must be a mapping of exactly {expected_bytes} bytes, not {mapping.size}",
        )
    return mapping.bo  # type: ignore[return-value]


def acquire_buffers(pdd: SimPdd, args: ctypes.Structure, kind: str) -> list[SimBo]:
    """kfd_queue_acquire_buffers: read/write pointers, ring, and for compute queues EOP and CWSR areas."""
    buffers = [
        queue_buffer(pdd, args.write_pointer_address, PAGE_SIZE, "the write pointer"),
        queue_buffer(pdd, args.read_pointer_address, PAGE_SIZE, "the read pointer"),
        queue_buffer(pdd, args.ring_base_address, args.ring_size, "the ring"),
    ]
    if kind.startswith("compute"):
        node = pdd.device.node
        target = families.get_target(node.properties.get("gfx_target_version", 0))
        if args.eop_buffer_address:
            if args.eop_buffer_size != target.eop_size_bytes:
                raise QueueError(
                    errno.EINVAL,
                    f"eop_buffer_size {args.eop_buffer_size} is not the node's {target.eop_size_bytes}",
                )
            buffers.append(
                queue_buffer(pdd, args.eop_buffer_address, target.eop_size_bytes, "the EOP buffer")
            )
        sizes = families.cwsr_sizes(target, node)
        if args.ctl_stack_size != sizes.ctl_stack_size:
            raise QueueError(
                errno.EINVAL, f"ctl_stack_size {args.ctl_stack_size} is not the node's {sizes.ctl_stack_size}"
            )
        if args.ctx_save_restore_size < sizes.ctx_save_restore_size:
            raise QueueError(
                errno.EINVAL,
                f"ctx_save_restore_size {args.ctx_save_restore_size} is below the node's "
                f"{sizes.ctx_save_restore_size}",
            )
        area = families.cwsr_area_size(target, node, args.ctx_save_restore_size)
        buffers.append(queue_buffer(pdd, args.ctx_save_restore_address, area, "the CWSR area"))
    return buffers


def queue_limit(pdd: SimPdd) -> int:
    target = families.get_target(pdd.device.node.properties.get("gfx_target_version", 0))
    return (
        MAX_QUEUES_PER_DEVICE_GC_9_4_3
        if target.gc_ip_version >= (9, 4, 3) and target.generation == "gfx9"
        else (MAX_QUEUES_PER_DEVICE)
    )


def pick_sdma_engine(pdd: SimPdd, queues: list[SimQueue], kind: str, requested: int | None) -> int:
    """allocate_sdma_queue: the engine with the fewest queues of the wanted kind, or the requested one."""
    props = pdd.device.node.properties
    pcie, xgmi = props.get("num_sdma_engines", 0), props.get("num_sdma_xgmi_engines", 0)
    per_engine = props.get("num_sdma_queues_per_engine", 0)
    if requested is not None:
        if requested > pcie + xgmi - 1:
            raise QueueError(
                errno.EINVAL, f"sdma_engine_id {requested} is beyond the {pcie + xgmi} SDMA engines"
            )
        candidates = [requested]
    else:
        candidates = list(range(pcie, pcie + xgmi)) if kind == "sdma_xgmi" else list(range(pcie))
    if not candidates:
        raise QueueError(
            errno.ENOMEM, f"the device has no {'XGMI ' if kind == 'sdma_xgmi' else ''}SDMA engine"
        )
    load = {
        engine: sum(1 for q in queues if q.gpu_id == pdd.gpu_id and q.sdma_engine == engine)
        for engine in candidates
    }
    engine = min(candidates, key=lambda e: (load[e], e))
    if load[engine] >= per_engine:
        raise QueueError(errno.ENOMEM, "no more SDMA queues to allocate")
    return engine


def doorbell_offset(gpu_id: int, doorbell_index: int, doorbell_size: int) -> int:
    """What CREATE_QUEUE returns: the KFD mmap offset of the doorbell slice plus this queue's byte offset."""
    return mo.doorbell_mmap_offset(gpu_id) | doorbell_index * doorbell_size


def new_doorbell_index(queues: list[SimQueue], gpu_id: int, sdma: bool) -> int:
    used = {q.doorbell_index for q in queues if q.gpu_id == gpu_id}
    start = SDMA_DOORBELL_BASE if sdma else 0
    return next(index for index in range(start, 1024) if index not in used)


def create_queue(process: SimProcess, pdd: SimPdd, args: ctypes.Structure, queue_id: int) -> SimQueue:
    """Everything CREATE_QUEUE checks after the pdd lookup and the bind, then the new queue."""
    kind = QUEUE_TYPES[args.queue_type]
    queues = list(process.queues.values())
    requested = args.sdma_engine_id if args.queue_type == abi.KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID else None
    engine = pick_sdma_engine(pdd, queues, kind, requested) if kind.startswith("sdma") else -1
    buffers = acquire_buffers(pdd, args, kind)
    if sum(1 for q in queues if q.gpu_id == pdd.gpu_id) >= queue_limit(pdd):
        raise QueueError(
            errno.ENOSPC, f"gpu_id {pdd.gpu_id} already has {queue_limit(pdd)} queues of this process"
        )
    queue = SimQueue(
        queue_id=queue_id,
        gpu_id=pdd.gpu_id,
        kind=kind,
        ring_va=args.ring_base_address,
        ring_size=args.ring_size,
        rptr_va=args.read_pointer_address,
        wptr_va=args.write_pointer_address,
        percentage=args.queue_percentage & 0xFF,
        priority=args.queue_priority,
        doorbell_index=new_doorbell_index(queues, pdd.gpu_id, kind.startswith("sdma")),
        sdma_engine=engine,
        eop_va=args.eop_buffer_address,
        ctx_save_va=args.ctx_save_restore_address,
        buffers=buffers,
    )
    for bo in buffers:
        bo.queue_refs += 1
    return queue
