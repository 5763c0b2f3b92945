"""Queue and event ioctls of the simulated kernel, raw, with the errno kfd_chardev.c gives for each misuse."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

import pytest

from pytest_amdgpu import families
from pytest_amdgpu.errors import TransportError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd import mmap_offsets as mo
from pytest_amdgpu.kfd.transport import MAP_SHARED, PROT_READ, PROT_WRITE
from pytest_amdgpu.sim.events import UNSIGNALED_EVENT_SLOT

from .test_kfd_rules import GTT, Kfd, fails

VA = 0x6000_0000_0000


class QueueKfd(Kfd):
    """A raw session with the VM of GPU 0 acquired and a VA cursor for page-exact buffers."""

    def __init__(self, machine: str) -> None:
        super().__init__(machine)
        self.acquire(0)
        self.next_va = VA
        self.node = self.gpus[0]
        self.target = families.get_target(self.node.properties["gfx_target_version"])

    def buffer(self, size: int) -> int:
        va = self.next_va
        self.next_va += max(size, 4096) + 0x10000
        handle = self.alloc(size, GTT, va).handle
        self.map(handle, [self.gpu_ids[0]])
        self.handles = [*getattr(self, "handles", []), handle]
        return va

    def queue_args(self, queue_type: int = abi.KFD_IOC_QUEUE_TYPE_COMPUTE, ring_size: int = 4096):
        sizes = families.cwsr_sizes(self.target, self.node)
        pointers = self.buffer(4096)
        return abi.kfd_ioctl_create_queue_args(
            ring_base_address=self.buffer(ring_size),
            write_pointer_address=pointers + 8,
            read_pointer_address=pointers,
            ring_size=ring_size,
            gpu_id=self.gpu_ids[0],
            queue_type=queue_type,
            queue_percentage=100,
            queue_priority=7,
            eop_buffer_address=self.buffer(self.target.eop_size_bytes),
            eop_buffer_size=self.target.eop_size_bytes,
            ctx_save_restore_address=self.buffer(sizes.cwsr_area_size),
            ctx_save_restore_size=sizes.ctx_save_restore_size,
            ctl_stack_size=sizes.ctl_stack_size,
        )

    def create_queue(self, args: ctypes.Structure) -> ctypes.Structure:
        return self.ioctl(abi.AMDKFD_IOC_CREATE_QUEUE, args)


@pytest.fixture(params=["mi300x", "rx7900xtx", "rx9070xt"])
def kfd(request: pytest.FixtureRequest) -> Iterator[QueueKfd]:
    session = QueueKfd(request.param)
    yield session
    session.close()


def test_a_well_formed_compute_queue_is_created(kfd: QueueKfd) -> None:
    args = kfd.create_queue(kfd.queue_args())
    assert args.queue_id == 0
    assert args.doorbell_offset & ~0x1FFF == mo.doorbell_mmap_offset(kfd.gpu_ids[0])
    second = kfd.create_queue(kfd.queue_args())
    assert second.queue_id == 1 and second.doorbell_offset != args.doorbell_offset


def test_queue_property_checks(kfd: QueueKfd) -> None:
    for field_name, value, errno_value, text in (
        ("queue_percentage", 101, errno.EINVAL, "over 100"),
        ("queue_priority", 16, errno.EINVAL, "over 15"),
        ("ring_size", 3000, errno.EINVAL, "not a power of two"),
        ("ring_base_address", 1 << 47, errno.EFAULT, "not a user address"),
        ("queue_type", 9, 524, "not a KFD queue type"),
        ("gpu_id", 0xBEEF, errno.EINVAL, "not a GPU"),
    ):
        args = kfd.queue_args()
        setattr(args, field_name, value)
        fails(errno_value, kfd.create_queue, args, match=text)


def test_small_rings_are_clamped_and_the_caller_sees_it(kfd: QueueKfd) -> None:
    args = kfd.queue_args()
    args.ring_size = 256
    kfd.create_queue(args)
    assert args.ring_size == abi.KFD_MIN_QUEUE_RING_SIZE


def test_queue_buffers_must_be_exact_mappings(kfd: QueueKfd) -> None:
    args = kfd.queue_args()
    args.write_pointer_address = kfd.next_va  # nothing is mapped there
    fails(errno.EINVAL, kfd.create_queue, args, match="write pointer")
    args = kfd.queue_args()
    args.read_pointer_address = kfd.buffer(8192)  # a mapping, but of two pages
    fails(errno.EINVAL, kfd.create_queue, args, match="read pointer at")
    args = kfd.queue_args(ring_size=8192)
    args.ring_size = 16384  # the mapping holds 8 KiB
    fails(errno.EINVAL, kfd.create_queue, args, match="exactly 16384 bytes")
    args = kfd.queue_args()
    args.eop_buffer_size = 8192
    fails(errno.EINVAL, kfd.create_queue, args, match="eop_buffer_size")
    args = kfd.queue_args()
    args.ctl_stack_size += 4096
    fails(errno.EINVAL, kfd.create_queue, args, match="ctl_stack_size")
    args = kfd.queue_args()
    args.ctx_save_restore_size -= 4096
    fails(errno.EINVAL, kfd.create_queue, args, match="ctx_save_restore_size")


def test_sdma_queues_skip_the_compute_buffers_and_pick_engines(kfd: QueueKfd) -> None:
    args = kfd.queue_args(abi.KFD_IOC_QUEUE_TYPE_SDMA)
    args.eop_buffer_address = args.ctx_save_restore_address = 0
    kfd.create_queue(args)
    engines = kfd.node.properties["num_sdma_engines"] + kfd.node.properties["num_sdma_xgmi_engines"]
    by_id = kfd.queue_args(abi.KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID)
    by_id.sdma_engine_id = engines
    fails(errno.EINVAL, kfd.create_queue, by_id, match="beyond the")


def test_a_queue_without_an_acquired_vm_is_esrch(kfd: QueueKfd) -> None:
    args = kfd.queue_args()
    args.gpu_id = kfd.gpu_ids[1] if len(kfd.gpu_ids) > 1 else args.gpu_id
    if args.gpu_id == kfd.gpu_ids[0]:
        pytest.skip("single-GPU machine")
    fails(errno.ESRCH, kfd.create_queue, args)


def test_buffers_of_a_live_queue_cannot_be_unmapped_and_destroy_releases_them(kfd: QueueKfd) -> None:
    args = kfd.create_queue(kfd.queue_args())
    ring_handle = kfd.handles[1]
    fails(errno.EBUSY, kfd.unmap, ring_handle, [kfd.gpu_ids[0]], match="live queue")
    kfd.ioctl(abi.AMDKFD_IOC_DESTROY_QUEUE, abi.kfd_ioctl_destroy_queue_args(queue_id=args.queue_id))
    kfd.unmap(ring_handle, [kfd.gpu_ids[0]])
    fails(
        errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_DESTROY_QUEUE, abi.kfd_ioctl_destroy_queue_args(queue_id=99)
    )


def test_update_queue_rules(kfd: QueueKfd) -> None:
    args = kfd.create_queue(kfd.queue_args())
    update = abi.kfd_ioctl_update_queue_args(
        ring_base_address=args.ring_base_address, queue_id=args.queue_id, ring_size=4096, queue_percentage=0
    )
    kfd.ioctl(abi.AMDKFD_IOC_UPDATE_QUEUE, update)
    assert not kfd.transport.kernel.process.queues[args.queue_id].active
    update.queue_id = 77
    fails(errno.EFAULT, kfd.ioctl, abi.AMDKFD_IOC_UPDATE_QUEUE, update)
    update.queue_id, update.ring_size = args.queue_id, 8192
    fails(errno.EFAULT, kfd.ioctl, abi.AMDKFD_IOC_UPDATE_QUEUE, update)


def test_runtime_enable_with_queues_is_eexist(kfd: QueueKfd) -> None:
    kfd.create_queue(kfd.queue_args())
    enable = abi.kfd_ioctl_runtime_enable_args(mode_mask=abi.KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK)
    fails(errno.EEXIST, kfd.ioctl, abi.AMDKFD_IOC_RUNTIME_ENABLE, enable)


# -- events -----------------------------------------------------------------------------------


def create_event(kfd: Kfd, event_type: int = abi.KFD_IOC_EVENT_SIGNAL, page: int = 0, auto_reset: int = 1):
    args = abi.kfd_ioctl_create_event_args(
        event_page_offset=page, event_type=event_type, auto_reset=auto_reset
    )
    return kfd.ioctl(abi.AMDKFD_IOC_CREATE_EVENT, args)


def wait(kfd: Kfd, event_ids: list[int], timeout_ms: int = 0, wait_for_all: bool = False) -> int:
    records = (abi.kfd_event_data * max(len(event_ids), 1))()
    for record, event_id in zip(records, event_ids, strict=False):
        record.event_id = event_id
    args = abi.kfd_ioctl_wait_events_args(
        events_ptr=ctypes.addressof(records),
        num_events=len(event_ids),
        wait_for_all=int(wait_for_all),
        timeout=timeout_ms,
    )
    kfd.ioctl(abi.AMDKFD_IOC_WAIT_EVENTS, args)
    return args.wait_result


def test_event_page_from_a_buffer_and_signal_ids(kfd: QueueKfd) -> None:
    page_va = kfd.buffer(32768)
    page_handle = kfd.handles[-1]
    first = create_event(kfd, page=page_handle)
    assert first.event_id == first.event_slot_index == first.event_trigger_data == 1
    assert first.event_page_offset == mo.KFD_MMAP_TYPE_EVENTS
    fails(
        errno.EINVAL,
        create_event,
        kfd,
        abi.KFD_IOC_EVENT_SIGNAL,
        page_handle,
        match="already has a signal page",
    )
    memory = create_event(kfd, abi.KFD_IOC_EVENT_MEMORY)
    assert memory.event_id >= 0x4000_0000 and memory.event_page_offset == 0
    fails(errno.EPERM, kfd.free, page_handle, match="event page")
    slots = kfd.transport.kernel.process.events.slots
    assert int(slots[1]) == UNSIGNALED_EVENT_SLOT
    assert page_va  # the page is the BO at page_va; slot n is page_va + 8 n


def test_an_event_page_must_hold_every_slot(kfd: QueueKfd) -> None:
    kfd.buffer(4096)
    fails(errno.EINVAL, create_event, kfd, abi.KFD_IOC_EVENT_SIGNAL, kfd.handles[-1], match="at least 32768")


def test_kernel_page_allows_256_signals_until_mapped_larger(kfd: QueueKfd) -> None:
    created = [create_event(kfd) for _ in range(255)]
    assert created[-1].event_id == 255
    fails(errno.ENOSPC, create_event, kfd, match="256 signal slots")
    region = kfd.transport.mmap(
        32768, PROT_READ | PROT_WRITE, MAP_SHARED, fd=kfd.fd, offset=mo.KFD_MMAP_TYPE_EVENTS
    )
    assert create_event(kfd).event_id == 256
    assert region.load_u64(8 * 256) == UNSIGNALED_EVENT_SLOT
    kfd.transport.munmap(region)


def test_set_reset_wait_and_auto_reset(kfd: QueueKfd) -> None:
    manual = create_event(kfd, auto_reset=0).event_id
    auto = create_event(kfd, auto_reset=1).event_id
    assert wait(kfd, [manual, auto]) == abi.KFD_IOC_WAIT_RESULT_TIMEOUT
    for event_id in (manual, auto):
        kfd.ioctl(abi.AMDKFD_IOC_SET_EVENT, abi.kfd_ioctl_set_event_args(event_id=event_id))
    assert wait(kfd, [manual, auto], wait_for_all=True) == abi.KFD_IOC_WAIT_RESULT_COMPLETE
    assert wait(kfd, [auto]) == abi.KFD_IOC_WAIT_RESULT_TIMEOUT  # consumed
    assert wait(kfd, [manual]) == abi.KFD_IOC_WAIT_RESULT_COMPLETE  # stays signaled
    kfd.ioctl(abi.AMDKFD_IOC_RESET_EVENT, abi.kfd_ioctl_reset_event_args(event_id=manual))
    assert wait(kfd, [manual], timeout_ms=5) == abi.KFD_IOC_WAIT_RESULT_TIMEOUT
    assert wait(kfd, []) == abi.KFD_IOC_WAIT_RESULT_COMPLETE


def test_event_misuse(kfd: QueueKfd) -> None:
    memory = create_event(kfd, abi.KFD_IOC_EVENT_MEMORY).event_id
    fails(errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_SET_EVENT, abi.kfd_ioctl_set_event_args(event_id=memory))
    fails(errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_DESTROY_EVENT, abi.kfd_ioctl_destroy_event_args(event_id=0))
    fails(errno.EINVAL, wait, kfd, [12345])
    args = abi.kfd_ioctl_wait_events_args(events_ptr=0x10, num_events=1)
    fails(errno.EFAULT, kfd.ioctl, abi.AMDKFD_IOC_WAIT_EVENTS, args)


def test_interrupts_need_the_mailbox_and_a_wrong_context_id_wakes_nothing(kfd: QueueKfd) -> None:
    kfd.buffer(32768)
    first = create_event(kfd, page=kfd.handles[-1]).event_id
    second = create_event(kfd).event_id
    events = kfd.transport.kernel.process.events
    events.interrupt(first, 32)  # right id, but nobody wrote the mailbox
    assert wait(kfd, [first]) == abi.KFD_IOC_WAIT_RESULT_TIMEOUT
    events.slots[second] = second  # the packet wrote the second event's mailbox...
    events.interrupt(first, 32)  # ...and named the first: only the second wakes (the kernel's scan)
    assert wait(kfd, [first]) == abi.KFD_IOC_WAIT_RESULT_TIMEOUT
    assert wait(kfd, [second]) == abi.KFD_IOC_WAIT_RESULT_COMPLETE
    assert int(events.slots[second]) == UNSIGNALED_EVENT_SLOT  # acknowledged
    events.slots[first] = first
    events.interrupt(first, 28)  # SDMA trap width
    assert wait(kfd, [first]) == abi.KFD_IOC_WAIT_RESULT_COMPLETE


def test_memory_faults_fill_memory_events(kfd: QueueKfd) -> None:
    memory = create_event(kfd, abi.KFD_IOC_EVENT_MEMORY).event_id
    kfd.transport.kernel.process.events.memory_fault(
        kfd.gpu_ids[0], 0x1234_5678, not_present=True, read_only=False
    )
    records = (abi.kfd_event_data * 1)()
    records[0].event_id = memory
    args = abi.kfd_ioctl_wait_events_args(events_ptr=ctypes.addressof(records), num_events=1, timeout=0)
    kfd.ioctl(abi.AMDKFD_IOC_WAIT_EVENTS, args)
    assert args.wait_result == abi.KFD_IOC_WAIT_RESULT_COMPLETE
    data = records[0].memory_exception_data
    assert (data.va, data.gpu_id, data.failure.NotPresent, data.failure.ReadOnly) == (
        0x1234_5000,
        kfd.gpu_ids[0],
        1,
        0,
    )


def test_scratch_backing_va_needs_the_vm(kfd: QueueKfd) -> None:
    args = abi.kfd_ioctl_set_scratch_backing_va_args(va_addr=0x1000_0000, gpu_id=0xBEEF)
    fails(errno.EINVAL, kfd.ioctl, abi.AMDKFD_IOC_SET_SCRATCH_BACKING_VA, args)
    args.gpu_id = kfd.gpu_ids[0]
    kfd.ioctl(abi.AMDKFD_IOC_SET_SCRATCH_BACKING_VA, args)
    assert kfd.transport.kernel.process.pdds[kfd.gpu_ids[0]].scratch_backing_va == 0x1000_0000


def test_closing_the_transport_releases_queues(kfd: QueueKfd) -> None:
    kfd.create_queue(kfd.queue_args())
    kernel = kfd.transport.kernel
    kfd.transport.close_transport()
    assert kernel.process is None
    with pytest.raises(TransportError, match="was shut down"):
        kfd.create_queue(kfd.queue_args())
