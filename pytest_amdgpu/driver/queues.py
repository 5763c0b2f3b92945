"""User-mode queues in the driver: compute (PM4) and SDMA queues that build packets fluently and submit."""

from __future__ import annotations

import abc
import ctypes
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu import families
from pytest_amdgpu.driver.buffer import Buffer
from pytest_amdgpu.driver.dispatch import KernargRing, build_dispatch
from pytest_amdgpu.driver.ring import WPTR_OFFSET, Ring
from pytest_amdgpu.driver.semaphore import TimelineSemaphore
from pytest_amdgpu.errors import (
    AmdgpuError,
    ConfigurationError,
    GpuFaultError,
    QueueTimeoutError,
    ResourceClosedError,
)
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.packets import dump, pm4, sdma
from pytest_amdgpu.packets.layout import PacketDecodeError

if TYPE_CHECKING:
    from pytest_amdgpu.driver.device import Device
    from pytest_amdgpu.driver.events import Event, MemoryFault
    from pytest_amdgpu.driver.program import Program

DEFAULT_RING_BYTES = 64 * 1024
DEFAULT_TIMEOUT_S = 10.0
FENCE_OFFSET = 0  # the queue's own 64-bit completion counter, in its fence buffer
TIMESTAMP_BYTES = 8

# Cache actions that make everything before a RELEASE_MEM visible in memory, per PM4 dialect: the
# fields the kernel's own fence (gfx_v9_0_ring_emit_fence / gfx_v10_0_ring_emit_fence) sets.
RELEASE_FLUSH_FIELDS: dict[str, dict[str, int]] = {
    "gfx9": {"tcl1_action_ena": 1, "tc_action_ena": 1, "tc_wb_action_ena": 1, "tc_md_action_ena": 1},
    "gfx10": {"gl2_wb": 1, "glm_inv": 1, "glm_wb": 1, "seq": 1, "cache_policy": 3},
    "gfx11": {"gl2_wb": 1, "glm_inv": 1, "glm_wb": 1, "seq": 1, "cache_policy": 3},
    "gfx12": {"gl2_wb": 1, "glm_inv": 1, "glm_wb": 1, "seq": 1, "cache_policy": 3},
}
# ACQUIRE_MEM fields that invalidate (and write back) every cache level before later work reads memory.
ACQUIRE_INVALIDATE_FIELDS: dict[str, dict[str, int]] = {
    "gfx9": {
        "tc_action_ena": 1,
        "tc_wb_action_ena": 1,
        "tcl1_action_ena": 1,
        "sh_kcache_action_ena": 1,
        "sh_icache_action_ena": 1,
        "coher_size": 0xFFFF_FFFF,
        "coher_size_hi": 0xFF,
    },
    "gfx10": {
        "gl2_inv": 1,
        "gl2_wb": 1,
        "glm_inv": 1,
        "glm_wb": 1,
        "gl1_inv": 1,
        "glv_inv": 1,
        "glk_inv": 1,
        "gli_inv": 1,
        "coher_size": 0xFFFF_FFFF,
        "coher_size_hi": 0xFF,
    },
}
ACQUIRE_INVALIDATE_FIELDS["gfx11"] = ACQUIRE_INVALIDATE_FIELDS["gfx12"] = ACQUIRE_INVALIDATE_FIELDS["gfx10"]

# The SDMA atomic that signals a timeline semaphore: unsigned 64-bit max, so a value never goes back and no
# reader sees half of it (TC_OP_ATOMIC_UMAX_RTN_64 of the texture-cache atomic opcodes).
TC_OP_ATOMIC_UMAX_RTN_64 = 0x34


def _gpu_address(target: Buffer | int, offset: int, nbytes: int, what: str) -> int:
    """The GPU address of `offset` in a Buffer (bounds-checked) or of a raw address."""
    if isinstance(target, Buffer):
        if target.freed:
            raise ResourceClosedError(f"{what}: {target} was freed")
        if offset < 0 or nbytes < 0 or offset + nbytes > target.size:
            raise ConfigurationError(
                f"{what} of {nbytes} bytes at offset {offset} does not fit in {target} ({target.size} bytes)"
            )
        return target.gpu_addr + offset
    if isinstance(target, bool) or not isinstance(target, int) or target < 0:
        raise ConfigurationError(f"{what}: expected a Buffer or a GPU address, got {target!r}")
    return target + offset


class Completion:
    """The end of one submission: done when the queue's fence reaches `value`."""

    def __init__(self, queue: Queue, value: int) -> None:
        self.queue = queue
        self.value = value

    @property
    def done(self) -> bool:
        return self.queue.completed_value >= self.value

    def wait(self, timeout: float | None = None) -> None:
        """Return when the work is done; QueueTimeoutError (with a ring dump) or GpuFaultError if not."""
        self.queue.wait_for_fence(self.value, self.queue.default_timeout if timeout is None else timeout)

    def __repr__(self) -> str:
        return f"<Completion {self.queue.name} #{self.value} {'done' if self.done else 'pending'}>"


class Queue(abc.ABC):
    """What compute and SDMA queues share: resources, CREATE_QUEUE, the ring, fences, waits, teardown."""

    kind = "queue"
    queue_type = -1
    unit_bytes = 4

    def __init__(
        self,
        device: Device,
        *,
        ring_bytes: int = DEFAULT_RING_BYTES,
        priority: int = 7,
        percentage: int = 100,
        sdma_engine: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if ring_bytes < 4096 or ring_bytes & (ring_bytes - 1):
            raise ConfigurationError(f"ring size {ring_bytes} must be a power of two of at least 4096 bytes")
        if not 0 <= priority <= abi.KFD_MAX_QUEUE_PRIORITY:
            raise ConfigurationError(f"queue priority {priority} is outside 0..{abi.KFD_MAX_QUEUE_PRIORITY}")
        if not 1 <= percentage <= abi.KFD_MAX_QUEUE_PERCENTAGE:
            raise ConfigurationError(
                f"queue percentage {percentage} is outside 1..{abi.KFD_MAX_QUEUE_PERCENTAGE}"
            )
        self.device = device
        self.target = device.target
        self.default_timeout = timeout
        self.priority = priority
        self.percentage = percentage
        self.queue_id = -1
        self.destroyed = False
        self.submitted_value = 0
        self.reported_fault: MemoryFault | None = None  # a fault a wait on this queue already raised
        self._pending: list[int] = []
        self._owned: list[Buffer] = []
        self.event: Event | None = None
        try:
            self.ring_buffer = self._own(device.alloc(ring_bytes, "gtt"))
            self.pointers = self._own(device.alloc(4096, "gtt"))
            self.fence = self._own(device.alloc(4096, "gtt"))
            extra = self._queue_buffers()
            self.event = device.process.events.create("signal", auto_reset=True, device=device)
            args = abi.kfd_ioctl_create_queue_args(
                ring_base_address=self.ring_buffer.gpu_addr,
                write_pointer_address=self.pointers.gpu_addr + 8,
                read_pointer_address=self.pointers.gpu_addr,
                ring_size=ring_bytes,
                gpu_id=device.gpu_id,
                queue_type=self._queue_type(sdma_engine),
                queue_percentage=percentage,
                queue_priority=priority,
                sdma_engine_id=sdma_engine or 0,
                **extra,
            )
            device.process.ioctl(abi.AMDKFD_IOC_CREATE_QUEUE, args)
        except BaseException:
            self._release_resources()
            raise
        self.queue_id = args.queue_id
        slice_bytes = device.doorbell_slice_bytes
        self.ring = Ring(
            self.ring_buffer,
            self.pointers,
            device.doorbells().cpu,
            args.doorbell_offset & (slice_bytes - 1),
            self.target.doorbell_size_bytes,
            self.unit_bytes,
            self._nop,
            self.name,
        )
        device.register_queue(self)

    # -- per-kind hooks ------------------------------------------------------------------------------

    def _queue_type(self, sdma_engine: int | None) -> int:
        return self.queue_type

    def _queue_buffers(self) -> dict[str, int]:
        """Extra buffers a kind of queue needs (EOP, CWSR), as CREATE_QUEUE arguments."""
        return {}

    @abc.abstractmethod
    def _nop(self, dwords: int) -> list[int]:
        """Padding of exactly `dwords` dwords in this engine's packets."""

    @abc.abstractmethod
    def _fence_packets(self, value: int) -> list[int]:
        """Packets that set the queue's fence to `value` after all prior work and interrupt."""

    @abc.abstractmethod
    def _decoder(self) -> Callable:
        """decode(words, offset) for this engine's packets, for dumps."""

    # -- resources -----------------------------------------------------------------------------------

    def _own(self, buffer: Buffer) -> Buffer:
        buffer.owner = self
        self._owned.append(buffer)
        return buffer

    @property
    def name(self) -> str:
        return f"{self.kind} queue {self.queue_id} on gpu{self.device.index} ({self.device.gfx})"

    def __repr__(self) -> str:
        state = " destroyed" if self.destroyed else ""
        return f"<{type(self).__name__} {self.queue_id} on gpu {self.device.gpu_id}{state}>"

    def _check(self) -> None:
        if self.destroyed:
            raise ResourceClosedError(f"{self.name} was destroyed")

    # -- building ------------------------------------------------------------------------------------

    def emit(self, dwords: list[int]) -> Queue:
        """Append raw packet dwords (already encoded) to the next submission."""
        self._check()
        self._pending.extend(dwords)
        return self

    @property
    def pending_dwords(self) -> list[int]:
        return list(self._pending)

    def submit(self, timeout: float | None = None, *, ring_doorbell: bool = True) -> Completion:
        """Write what was built, then a fence that interrupts; ring the doorbell; return the Completion.

        With ring_doorbell=False the packets wait in the ring, unseen by the engine, until something
        stores `write_pointer` to `write_pointer_gpu_addr` and `doorbell_gpu_addr` (another queue can).
        """
        self._check()
        value = self.submitted_value + 1
        timeout_s = self.default_timeout if timeout is None else timeout
        self.ring.write(
            self._pending + self._fence_packets(value), timeout_s, self.dump, publish=ring_doorbell
        )
        self.submitted_value = value  # only once the packets are in the ring: a failed submit leaves no gap
        self._pending = []
        return Completion(self, value)

    @property
    def write_pointer(self) -> int:
        """The write pointer after everything submitted, in the engine's units (what the doorbell takes)."""
        return self.ring.write_units

    @property
    def write_pointer_gpu_addr(self) -> int:
        """GPU address of the 64-bit write pointer the engine reads (given to CREATE_QUEUE)."""
        return self.pointers.gpu_addr + WPTR_OFFSET

    @property
    def doorbell_gpu_addr(self) -> int:
        """GPU address of this queue's doorbell in the device's doorbell page (mapped on its GPU)."""
        return self.device.doorbells().gpu_addr + self.ring.doorbell_offset

    # -- completion ----------------------------------------------------------------------------------

    @property
    def completed_value(self) -> int:
        return self.fence.cpu.load_u64(FENCE_OFFSET)

    def wait_for_fence(self, value: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.completed_value < value:
            faults = self.device.memory_faults()
            if faults:
                self.reported_fault = faults[0]
                raise GpuFaultError(f"{self.name}: {faults[0]}\n{self.dump()}")
            report = self.device.transport.stall_report()
            if report is not None and threading.active_count() == 1 and self.completed_value < value:
                raise QueueTimeoutError(
                    f"{self.name}: submission #{value} cannot complete (fence at {self.completed_value}); "
                    "no queue can make progress:\n  "
                    + "\n  ".join(report or ["every queue is idle"])
                    + f"\n{self.dump()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueueTimeoutError(
                    f"{self.name}: submission #{value} not complete within {timeout_s} s "
                    f"(fence at {self.completed_value})\n{self.dump()}"
                )
            assert self.event is not None
            self.event.wait(min(remaining, 0.05))

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far has completed."""
        if self.submitted_value:
            self.wait_for_fence(self.submitted_value, self.default_timeout if timeout is None else timeout)

    @property
    def busy(self) -> bool:
        return self.completed_value < self.submitted_value

    def dump(self) -> str:
        """The ring around the read pointer, decoded, with pointers and the fence (for hang reports)."""
        if self.destroyed:
            return f"{self.name}: destroyed"
        words = np.frombuffer(self.ring_buffer.cpu.read(0, self.ring_buffer.size), dtype=np.uint32)
        unit_dwords = self.unit_bytes / 4
        read = int(self.ring.read_units * unit_dwords)
        write = int(self.ring.write_units * unit_dwords)
        # Show from a packet boundary: the start of the oldest recent submission still in the ring.
        ring_dwords = self.ring_buffer.size // 4
        starts = [int(unit * unit_dwords) for unit in self.ring.submission_starts]
        start = min(
            (s for s in starts if s <= read and write - s <= ring_dwords and read - s <= 64), default=read
        )
        try:
            text = dump.format_ring(
                words, read_pointer=read, write_pointer=write, decode=self._decoder(), start=start
            )
        except (PacketDecodeError, AmdgpuError) as error:
            text = f"ring could not be shown: {error}"
        return f"{self.name}: fence {self.completed_value} of {self.submitted_value} submitted\n{text}"

    # -- control -------------------------------------------------------------------------------------

    def _update(self, percentage: int) -> None:
        args = abi.kfd_ioctl_update_queue_args(
            ring_base_address=self.ring_buffer.gpu_addr,
            queue_id=self.queue_id,
            ring_size=self.ring_buffer.size,
            queue_percentage=percentage,
            queue_priority=self.priority,
        )
        self.device.process.ioctl(abi.AMDKFD_IOC_UPDATE_QUEUE, args)

    def set_priority(self, priority: int) -> None:
        """UPDATE_QUEUE with a new scheduling priority (0 .. KFD_MAX_QUEUE_PRIORITY) and the queue's ring and
        percentage as they are."""
        self._check()
        if not 0 <= priority <= abi.KFD_MAX_QUEUE_PRIORITY:
            raise ConfigurationError(f"queue priority {priority} is outside 0..{abi.KFD_MAX_QUEUE_PRIORITY}")
        previous, self.priority = self.priority, priority
        try:
            self._update(self.percentage)
        except BaseException:
            self.priority = previous
            raise

    def pause(self) -> None:
        """UPDATE_QUEUE with percentage 0: the engine stops taking work from this queue."""
        self._check()
        self._update(0)

    def disable(self) -> None:
        """UPDATE_QUEUE with no ring (address and size 0): the queue is inactive until resume()."""
        self._check()
        args = abi.kfd_ioctl_update_queue_args(
            ring_base_address=0,
            queue_id=self.queue_id,
            ring_size=0,
            queue_percentage=self.percentage,
            queue_priority=self.priority,
        )
        self.device.process.ioctl(abi.AMDKFD_IOC_UPDATE_QUEUE, args)

    def resume(self) -> None:
        """UPDATE_QUEUE with the queue's ring and percentage again, after pause() or disable()."""
        self._check()
        self._update(self.percentage)

    def destroy(self) -> None:
        """DESTROY_QUEUE, then free every buffer and the event the queue owned."""
        if self.destroyed:
            return
        self.destroyed = True
        errors: list[AmdgpuError] = []
        try:
            self.device.process.ioctl(
                abi.AMDKFD_IOC_DESTROY_QUEUE, abi.kfd_ioctl_destroy_queue_args(queue_id=self.queue_id)
            )
        except AmdgpuError as exc:
            errors.append(exc)
        self.device.forget_queue(self)
        try:
            self._release_resources()
        except AmdgpuError as exc:
            errors.append(exc)
        if errors:
            raise errors[0]

    def _release_resources(self) -> None:
        errors: list[AmdgpuError] = []
        if self.event is not None:
            try:
                self.event.destroy()
            except AmdgpuError as exc:
                errors.append(exc)
        for buffer in reversed(self._owned):
            try:
                buffer.free()
            except AmdgpuError as exc:
                errors.append(exc)
        self._owned.clear()
        if errors:
            raise errors[0]

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


class ComputeQueue(Queue):
    """A PM4 compute queue (KFD_IOC_QUEUE_TYPE_COMPUTE) with its EOP buffer and CWSR area."""

    kind = "compute"
    queue_type = abi.KFD_IOC_QUEUE_TYPE_COMPUTE
    unit_bytes = 4

    def __init__(self, device: Device, **options: object) -> None:
        self.dialect = pm4.dialect(device.target)
        self._kernargs: KernargRing | None = None
        self.dispatch_count = 0
        self.cu_mask: int | None = None  # set by set_cu_mask(); None: every CU
        self.gws = 0  # GWS entries this queue holds (allocate_gws)
        self._release_mem = pm4.layout(self.dialect, "RELEASE_MEM")
        self._flush = RELEASE_FLUSH_FIELDS[self.dialect]
        super().__init__(device, **options)  # type: ignore[arg-type]

    def _queue_buffers(self) -> dict[str, int]:
        sizes = families.cwsr_sizes(self.target, self.device.node)
        self.eop = self._own(self.device.alloc(self.target.eop_size_bytes, "vram"))
        self.cwsr = self._own(self.device.alloc(sizes.cwsr_area_size, "gtt"))
        return {
            "eop_buffer_address": self.eop.gpu_addr,
            "eop_buffer_size": self.target.eop_size_bytes,
            "ctx_save_restore_address": self.cwsr.gpu_addr,
            "ctx_save_restore_size": sizes.ctx_save_restore_size,
            "ctl_stack_size": sizes.ctl_stack_size,
        }

    def _nop(self, dwords: int) -> list[int]:
        return pm4.nop(self.dialect, dwords)

    def _decoder(self) -> Callable:
        return lambda words, offset: pm4.decode(words, offset, self.dialect)

    def _release(
        self, addr: int, data: int, data_sel: int, interrupt_event: Event | None = None
    ) -> list[int]:
        """RELEASE_MEM after all prior work, caches written back: data to `addr`, optionally interrupting."""
        fields = dict(
            self._flush,
            event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
            event_index=pm4.EVENT_INDEX_END_OF_PIPE,
            data_sel=data_sel,
            addr=addr,
            data=data,
        )
        if interrupt_event is not None:
            fields.update(int_sel=pm4.EOP_INT_SEL_SEND_INT_ON_CONFIRM, int_ctxid=interrupt_event.event_id)
        return self._release_mem.encode_mapping(fields)

    def _interrupt(self, event: Event) -> list[int]:
        """Write the event's mailbox and interrupt with its id, so a CPU waiter wakes."""
        return self._release(event.mailbox_va, event.event_id, pm4.EOP_DATA_SEL_VALUE_32BIT, event)

    def _fence_packets(self, value: int) -> list[int]:
        assert self.event is not None
        return self._release(self.fence.gpu_addr, value, pm4.EOP_DATA_SEL_VALUE_64BIT) + self._interrupt(
            self.event
        )

    # -- CU masking ----------------------------------------------------------------------------------

    def set_cu_mask(self, cus: int | Iterable[int]) -> None:
        """SET_CU_MASK: only these CUs of the GPU run this queue's dispatches.

        `cus` is a bit mask (bit i enables CU i) or the CU indices. The mask must enable at least one CU
        and name only CUs the GPU has; on GFX10 and later two CUs form a WGP, enabled both or neither.
        """
        self._check()
        total = self.device.node.compute_units
        if isinstance(cus, bool):
            raise ConfigurationError(f"a CU mask must be integers (a mask or CU indices), got {cus!r}")
        if not isinstance(cus, int):
            indices = list(cus)
            if not all(isinstance(cu, int) and not isinstance(cu, bool) for cu in indices):
                raise ConfigurationError(f"CU indices must be integers, got {indices!r}")
            if any(cu < 0 for cu in indices):
                raise ConfigurationError(f"CU indices must be >= 0, got {sorted(indices)}")
            mask = sum(1 << cu for cu in set(indices))
        else:
            mask = cus
        if mask <= 0:
            raise ConfigurationError(f"the CU mask {mask:#x} enables no CU: the queue would never run work")
        if mask >> total:
            raise ConfigurationError(
                f"the CU mask {mask:#x} names CU {mask.bit_length() - 1}, but {self.device} has {total} CUs "
                f"(0..{total - 1})"
            )
        if self.device.target.cus_per_wgp == 2:
            single = [cu for cu in range(0, total, 2) if (mask >> cu) & 3 in (1, 2)]
            if single:
                raise ConfigurationError(
                    f"the CU mask {mask:#x} enables one CU of the WGP pair starting at CU {single[0]}: "
                    f"{self.device.gfx} CUs are enabled in pairs (bits 2n and 2n+1 both or neither)"
                )
        words = -(-total // 32)
        array = (ctypes.c_uint32 * words)(*((mask >> (32 * i)) & 0xFFFF_FFFF for i in range(words)))
        args = abi.kfd_ioctl_set_cu_mask_args(
            queue_id=self.queue_id, num_cu_mask=32 * words, cu_mask_ptr=ctypes.addressof(array)
        )
        self.device.process.ioctl(abi.AMDKFD_IOC_SET_CU_MASK, args)
        self.cu_mask = mask

    # -- global wave sync ----------------------------------------------------------------------------

    def allocate_gws(self) -> int:
        """ALLOC_QUEUE_GWS: give this queue the GPU's global wave sync entries; returns the first entry.

        The kernel hands a GPU's GWS to one queue of a process at a time, all of it; destroying the queue
        or release_gws() gives it back.
        """
        self._check()
        available = self.device.node.properties.get("num_gws", 0)
        if not available:
            raise ConfigurationError(f"{self.device} has no GWS (its topology lists num_gws 0)")
        args = abi.kfd_ioctl_alloc_queue_gws_args(queue_id=self.queue_id, num_gws=available)
        self.device.process.ioctl(abi.AMDKFD_IOC_ALLOC_QUEUE_GWS, args)
        self.gws = available
        return args.first_gws

    def release_gws(self) -> None:
        """ALLOC_QUEUE_GWS with num_gws 0: give the GWS back."""
        self._check()
        if not self.gws:
            raise ConfigurationError(f"{self.name} holds no GWS to release")
        args = abi.kfd_ioctl_alloc_queue_gws_args(queue_id=self.queue_id, num_gws=0)
        self.device.process.ioctl(abi.AMDKFD_IOC_ALLOC_QUEUE_GWS, args)
        self.gws = 0

    # -- operations ----------------------------------------------------------------------------------

    def nop(self, dwords: int = 1) -> ComputeQueue:
        self.emit(self._nop(dwords))
        return self

    def write(self, dst: Buffer | int, values: object, offset: int = 0) -> ComputeQueue:
        """WRITE_DATA of 32-bit `values` at `dst` + `offset` (confirmed before the next packet)."""
        data = np.asarray(values, dtype=np.uint32).reshape(-1)
        addr = _gpu_address(dst, offset, data.nbytes, "compute write")
        if addr % 4:
            raise ConfigurationError(f"WRITE_DATA needs a dword-aligned address, got {addr:#x}")
        self.emit(
            pm4.build(
                self.dialect,
                "WRITE_DATA",
                dst_sel=pm4.WRITE_DATA_DST_SEL_MEMORY,
                wr_confirm=1,
                dst_addr=addr,
                data=data.tolist(),
            )
        )
        return self

    def signal(self, semaphore: TimelineSemaphore, value: int) -> ComputeQueue:
        """After all prior work: write `value` to the semaphore (64 bits at once) and wake CPU waiters."""
        self._check_semaphore(semaphore)
        self.emit(self._release(semaphore.gpu_addr, value, pm4.EOP_DATA_SEL_VALUE_64BIT))
        self.emit(self._interrupt(semaphore.event))
        return self

    def wait(self, semaphore: TimelineSemaphore, value: int) -> ComputeQueue:
        """Later work waits until the semaphore is at least `value` (a 64-bit compare)."""
        self._check_semaphore(semaphore)
        self.emit(
            pm4.build(
                self.dialect,
                "WAIT_REG_MEM64",
                function=pm4.WAIT_REG_MEM_FUNCTION_GREATER_EQUAL,
                mem_space=pm4.WAIT_REG_MEM_MEM_SPACE_MEMORY,
                poll_addr=semaphore.gpu_addr,
                reference=value,
                mask=(1 << 64) - 1,
                poll_interval=4,
            )
        )
        return self

    def timestamp(self, dst: Buffer | int, offset: int = 0) -> ComputeQueue:
        """The GPU clock counter, once all prior work is done, as 64 bits at `dst` + `offset`."""
        addr = _gpu_address(dst, offset, TIMESTAMP_BYTES, "timestamp")
        self.emit(self._release(addr, 0, pm4.EOP_DATA_SEL_TIMESTAMP))
        return self

    def wait_for_dispatches(self) -> ComputeQueue:
        """CS_PARTIAL_FLUSH: the CP starts nothing after this until every earlier dispatch has ended (without
        it the next dispatch may start while the previous one runs)."""
        self.emit(
            pm4.build(
                self.dialect,
                "EVENT_WRITE",
                event_type=pm4.CS_PARTIAL_FLUSH,
                event_index=pm4.EVENT_INDEX_CS_PARTIAL_FLUSH,
            )
        )
        return self

    def barrier(self) -> ComputeQueue:
        """Invalidate and write back every cache level before later packets read memory."""
        self.emit(pm4.build(self.dialect, "ACQUIRE_MEM", **ACQUIRE_INVALIDATE_FIELDS[self.dialect]))
        return self

    def _check_semaphore(self, semaphore: TimelineSemaphore) -> None:
        if semaphore.closed:
            raise ResourceClosedError(f"{semaphore!r} is closed")
        self.device.process.events.map_page_on(self.device)

    def kernarg_ring(self) -> KernargRing:
        """The queue's kernel-argument memory, reused round-robin (made on the first dispatch)."""
        if self._kernargs is None:
            self._kernargs = KernargRing(self)
        return self._kernargs

    def dispatch(
        self,
        program: Program,
        grid: int | Sequence[int],
        block: int | Sequence[int],
        args: Sequence[object] = (),
        lds_bytes: int = 0,
    ) -> ComputeQueue:
        """Launch `program`: `grid` workgroups per dimension of `block` work-items, `args` per its metadata.

        `lds_bytes` is dynamic LDS on top of the kernel's static LDS.
        """
        self._check()
        self.emit(build_dispatch(self, program, grid, block, args, lds_bytes))
        return self


class SdmaQueue(Queue):
    """An SDMA queue: copies, fills and writes, with semaphores signalled atomically."""

    kind = "sdma"
    queue_type = abi.KFD_IOC_QUEUE_TYPE_SDMA
    unit_bytes = 1

    def __init__(self, device: Device, *, xgmi: bool = False, **options: object) -> None:
        self.xgmi = xgmi
        self.kind = "sdma_xgmi" if xgmi else "sdma"
        self.generation = sdma.generation(device.target)
        self._atomic = sdma.encoder(self.generation, "ATOMIC", "atomic_op", "addr", "src_data")
        self._fence = sdma.encoder(self.generation, "FENCE", "addr", "data")
        self._trap = sdma.encoder(self.generation, "TRAP", "int_context")
        self._poll = sdma.layout(self.generation, "POLL_REGMEM")
        self._patterns: dict[int, int] = {}
        self._relay: ComputeQueue | None = None
        self._relay_page: Buffer | None = None
        self._relay_count = 0
        super().__init__(device, **options)  # type: ignore[arg-type]

    def _queue_type(self, sdma_engine: int | None) -> int:
        if sdma_engine is not None:
            return abi.KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID
        return abi.KFD_IOC_QUEUE_TYPE_SDMA_XGMI if self.xgmi else abi.KFD_IOC_QUEUE_TYPE_SDMA

    def _queue_buffers(self) -> dict[str, int]:
        self.pattern_page = self._own(self.device.alloc(4096, "gtt"))
        return {}

    def _nop(self, dwords: int) -> list[int]:
        nop = sdma.layout(self.generation, "NOP")
        return nop.encode_mapping({"payload": [0] * (dwords - 1)}) if dwords else []

    def _decoder(self) -> Callable:
        return lambda words, offset: sdma.decode(words, offset, self.generation)

    def _mailbox_and_trap(self, event: Event) -> list[int]:
        return self._fence(event.mailbox_va, event.event_id) + self._trap(event.event_id)

    def _umax(self, addr: int, value: int) -> list[int]:
        return self._atomic(TC_OP_ATOMIC_UMAX_RTN_64, addr, value)

    def _fence_packets(self, value: int) -> list[int]:
        assert self.event is not None
        return self._umax(self.fence.gpu_addr, value) + self._mailbox_and_trap(self.event)

    # -- operations ----------------------------------------------------------------------------------

    def nop(self, dwords: int = 1) -> SdmaQueue:
        self.emit(self._nop(dwords))
        return self

    def copy(
        self, dst: Buffer | int, src: Buffer | int, nbytes: int, dst_offset: int = 0, src_offset: int = 0
    ) -> SdmaQueue:
        """COPY_LINEAR of `nbytes` (any size, any alignment), split into packets the engine accepts."""
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
            raise ConfigurationError(f"copy size must be a positive number of bytes, got {nbytes!r}")
        dst_addr = _gpu_address(dst, dst_offset, nbytes, "copy destination")
        src_addr = _gpu_address(src, src_offset, nbytes, "copy source")
        self.emit(sdma.build_copy(self.generation, src_addr, dst_addr, nbytes))
        return self

    def fill(self, dst: Buffer | int, value: int, nbytes: int, offset: int = 0) -> SdmaQueue:
        """Fill `nbytes` at `dst` + `offset` with the 32-bit pattern `value` (memset32 from aligned dwords).

        The dword-aligned middle is a CONSTANT_FILL; unaligned edge bytes are copied from a pattern slot.
        """
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
            raise ConfigurationError(f"fill size must be a positive number of bytes, got {nbytes!r}")
        if not 0 <= value <= 0xFFFF_FFFF:
            raise ConfigurationError(f"fill value {value!r} is not a 32-bit pattern")
        addr = _gpu_address(dst, offset, nbytes, "fill")
        end = addr + nbytes
        body_start = min((addr + 3) & ~3, end)
        body_end = max(end & ~3, body_start)
        for edge_start, edge_end in ((addr, body_start), (body_end, end)):
            if edge_end > edge_start:
                source = self._pattern_slot(value) + (edge_start % 4)
                self.emit(sdma.build_copy(self.generation, source, edge_start, edge_end - edge_start))
        if body_end > body_start:
            self.emit(sdma.build_fill(self.generation, body_start, value, body_end - body_start))
        return self

    def _pattern_slot(self, value: int) -> int:
        """A GPU address holding `value` twice (8 bytes): any edge of up to 3 bytes can be copied from it."""
        if value not in self._patterns:
            if len(self._patterns) == self.pattern_page.size // 8:
                self.wait_idle()  # every earlier edge copy has run: slots can be reused
                self._patterns.clear()
            slot = len(self._patterns) * 8
            self.pattern_page.cpu.store_u64(slot, value | value << 32)
            self._patterns[value] = slot
        return self.pattern_page.gpu_addr + self._patterns[value]

    def write(self, dst: Buffer | int, values: object, offset: int = 0) -> SdmaQueue:
        """WRITE_LINEAR of 32-bit `values` at a dword-aligned `dst` + `offset`."""
        data = np.asarray(values, dtype=np.uint32).reshape(-1)
        addr = _gpu_address(dst, offset, data.nbytes, "SDMA write")
        if addr % 4:
            raise ConfigurationError(f"WRITE_LINEAR needs a dword-aligned address, got {addr:#x}")
        self.emit(sdma.build(self.generation, "WRITE_LINEAR", dst_addr=addr, data=data.tolist()))
        return self

    def signal(self, semaphore: TimelineSemaphore, value: int) -> SdmaQueue:
        """After prior copies: raise the semaphore to `value` (atomic 64-bit max) and wake CPU waiters."""
        self._check_semaphore(semaphore)
        self.emit(self._umax(semaphore.gpu_addr, value))
        self.emit(self._mailbox_and_trap(semaphore.event))
        return self

    def wait(self, semaphore: TimelineSemaphore, value: int) -> SdmaQueue:
        """Later work waits until the semaphore is at least `value`.

        SDMA compares only 32 bits, and no pair of 32-bit polls is both never early and never stuck when a
        64-bit value jumps past the one awaited. So the wait is relayed: a companion compute queue waits on
        the whole value (WAIT_REG_MEM64) and then bumps a 32-bit counter, which this queue polls.
        """
        self._check_semaphore(semaphore)
        relay = self._relay_queue()
        self._relay_count += 1
        relay.wait(semaphore, value).write(self._relay_page, [self._relay_count]).submit()
        self.emit(
            self._poll.encode_mapping(
                {
                    "func": sdma.SDMA_POLL_FUNC_GREATER_EQUAL,
                    "mem_poll": 1,
                    "addr": self._relay_page.gpu_addr,
                    "value": self._relay_count,
                    "mask": 0xFFFF_FFFF,
                    "interval": sdma.SDMA_POLL_INTERVAL_160_CLK,
                    "retry_count": sdma.SDMA_POLL_RETRY_INDEFINITELY,
                }
            )
        )
        return self

    def _relay_queue(self) -> ComputeQueue:
        """The compute queue that turns this queue's 64-bit semaphore waits into 32-bit ones (made once)."""
        if self._relay is None:
            self._relay = ComputeQueue(self.device, ring_bytes=16384, timeout=self.default_timeout)
            self._relay_page = self._relay._own(self.device.alloc(4096, "gtt"))
        return self._relay

    def destroy(self) -> None:
        try:
            super().destroy()
        finally:
            if self._relay is not None:
                self._relay.destroy()

    def timestamp(self, dst: Buffer | int, offset: int = 0) -> SdmaQueue:
        """The GPU's global timestamp (64 bits) at `dst` + `offset`, after prior packets."""
        addr = _gpu_address(dst, offset, TIMESTAMP_BYTES, "timestamp")
        self.emit(sdma.build(self.generation, "TIMESTAMP_GET_GLOBAL", addr=addr))
        return self

    def _check_semaphore(self, semaphore: TimelineSemaphore) -> None:
        if semaphore.closed:
            raise ResourceClosedError(f"{semaphore!r} is closed")
        self.device.process.events.map_page_on(self.device)
