"""Queue conformance: each kind created up to the device's limit, run, paused, wrapped, many at once."""

from __future__ import annotations

import contextlib
import errno

import numpy as np
import pytest

from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.driver.queues import Queue
from pytest_amdgpu.errors import GpuTimeoutError, KfdIoctlError, ResourceClosedError
from pytest_amdgpu.kfd import abi

QUEUE_KINDS = ("compute", "sdma", "sdma_xgmi")
# More than a process ever gets (KFD_MAX_NUM_OF_QUEUES_PER_PROCESS): a creation loop that passes it is broken.
PROCESS_QUEUE_CEILING = 1024


def xgmi_sdma_engines(device: Device) -> int:
    return device.properties.get("num_sdma_xgmi_engines", 0)


def require_kind(device: Device, kind: str) -> None:
    """Skip, naming what is missing, when `device` has no engine for queues of `kind`."""
    if kind == "sdma_xgmi" and not xgmi_sdma_engines(device):
        pytest.skip(f"gpu{device.index} ({device.gfx}) lists no XGMI SDMA engine (num_sdma_xgmi_engines 0)")


def open_queue(device: Device, kind: str, **options: object) -> Queue:
    if kind == "compute":
        return device.compute_queue(**options)  # type: ignore[arg-type]
    return device.sdma_queue(xgmi=kind == "sdma_xgmi", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_queue_of_each_kind_is_created_and_destroyed(amdgpu_device: Device, kind: str) -> None:
    """CreateDestroyCpQueue / CreateDestroySdmaQueue: the kernel hands out a queue id and takes it back."""
    require_kind(amdgpu_device, kind)
    queues_before = amdgpu_device.live_queues
    queue = open_queue(amdgpu_device, kind)
    assert queue.queue_id >= 0
    assert queue in amdgpu_device.live_queues
    queue.destroy()
    assert queue.destroyed
    assert amdgpu_device.live_queues == queues_before
    with pytest.raises(ResourceClosedError, match="destroyed"):
        queue.nop().submit()
    with open_queue(amdgpu_device, kind) as again:  # the id and the engine slot are free again
        assert again.queue_id >= 0


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_nop_and_write_data_run_on_every_kind_of_queue(amdgpu_device: Device, kind: str) -> None:
    """SubmitNopCpQueue / SubmitPacketCpQueue and their SDMA twins, on every GPU."""
    require_kind(amdgpu_device, kind)
    values = np.array([0xABCD_EF09, 0x1234_5678, 0, 0xFFFF_FFFF], dtype=np.uint32)
    with amdgpu_device.alloc(4096, "gtt") as target, open_queue(amdgpu_device, kind) as queue:
        target.fill(0x5A)
        queue.nop(1).nop(7).submit().wait()
        assert queue.completed_value == 1
        assert (target.read() == 0x5A).all(), "NOPs wrote memory"
        queue.write(target, values, offset=64).submit().wait()
        assert queue.completed_value == 2
        np.testing.assert_array_equal(target.read(np.uint32, 4, offset=64), values)
        untouched = np.delete(target.read(), np.arange(64, 64 + values.nbytes))
        assert (untouched == 0x5A).all(), "WRITE_DATA wrote outside its destination"


def test_sdma_queues_are_created_on_every_engine_until_they_run_out(amdgpu_devices: DeviceSet) -> None:
    """AllSdmaQueues: engines x queues per engine work at once, one more is ENOMEM, then all are reusable."""
    device = amdgpu_devices[0]
    capacity = device.properties["num_sdma_engines"] * device.properties["num_sdma_queues_per_engine"]
    assert capacity > 0, f"gpu{device.index} lists no SDMA queue"
    _fill_sdma_engines(device, capacity, xgmi=False)


def test_xgmi_sdma_queues_are_created_on_every_engine_until_they_run_out(amdgpu_devices: DeviceSet) -> None:
    """AllXgmiSdmaQueues: the same on the XGMI SDMA engines, where the GPU has them."""
    device = amdgpu_devices[0]
    require_kind(device, "sdma_xgmi")
    capacity = xgmi_sdma_engines(device) * device.properties["num_sdma_queues_per_engine"]
    _fill_sdma_engines(device, capacity, xgmi=True)


def _fill_sdma_engines(device: Device, capacity: int, *, xgmi: bool) -> None:
    buffers_before = len(device.live_buffers)
    queues: list[Queue] = []
    try:
        with device.alloc(4 * capacity, "gtt") as target:
            for _ in range(capacity):
                queues.append(device.sdma_queue(xgmi=xgmi, ring_bytes=4096))
            for index, queue in enumerate(queues):
                queue.write(target, [index + 1], offset=4 * index).submit()
            for queue in queues:
                queue.wait_idle()
            np.testing.assert_array_equal(target.read(np.uint32), np.arange(1, capacity + 1))
            with pytest.raises(KfdIoctlError) as refused:
                queues.append(device.sdma_queue(xgmi=xgmi, ring_bytes=4096))
            assert refused.value.errno == errno.ENOMEM, refused.value
    finally:
        for queue in queues:
            queue.destroy()
    assert len(device.live_buffers) == buffers_before, "a refused queue left buffers behind"
    with device.sdma_queue(xgmi=xgmi) as reused:
        assert reused.queue_id >= 0


def test_compute_queues_are_created_until_the_device_refuses(amdgpu_devices: DeviceSet) -> None:
    """AllCpQueues / OverSubscribeCpQueues: past the hardware queues, until ENOSPC; nothing leaks."""
    device = amdgpu_devices[0]
    queues_before = len(device.live_queues)
    buffers_before = len(device.live_buffers)
    events_before = len(device.process.events.events)
    available_before = device.available_memory()
    queues: list[Queue] = []
    try:
        with pytest.raises(KfdIoctlError) as refused:
            while len(queues) < PROCESS_QUEUE_CEILING:
                queues.append(device.compute_queue(ring_bytes=4096))
        assert refused.value.errno == errno.ENOSPC, refused.value
        hardware_queues = device.properties["num_cp_queues"]
        assert queues_before + len(queues) > hardware_queues, (
            f"only {len(queues)} compute queues, the GPU has {hardware_queues} hardware queues"
        )
        with device.alloc(4 * len(queues), "gtt") as target:  # every one of them runs work
            for index, queue in enumerate(queues):
                queue.write(target, [index + 1], offset=4 * index).submit()
            for queue in queues:
                queue.wait_idle()
            np.testing.assert_array_equal(target.read(np.uint32), np.arange(1, len(queues) + 1))
    finally:
        for queue in queues:
            queue.destroy()
    assert len(device.live_queues) == queues_before
    assert len(device.live_buffers) == buffers_before
    assert len(device.process.events.events) == events_before
    assert device.available_memory() == available_before
    with device.compute_queue() as reused:
        reused.nop().submit().wait()


def test_queues_are_created_and_destroyed_in_every_order(amdgpu_devices: DeviceSet) -> None:
    """CreateQueueStressSingleThreaded: a compute and an SDMA queue, made and torn down in all four orders."""
    device = amdgpu_devices[0]
    buffers_before = len(device.live_buffers)
    for iteration in range(64):
        made = {}
        create_order = ("compute", "sdma") if iteration % 2 == 0 else ("sdma", "compute")
        destroy_order = ("compute", "sdma") if iteration % 4 < 2 else ("sdma", "compute")
        for kind in create_order:
            made[kind] = open_queue(device, kind, ring_bytes=4096)
        for kind in destroy_order:
            made[kind].destroy()
    assert device.live_queues == []
    assert len(device.live_buffers) == buffers_before
    with device.alloc(4, "gtt") as target, device.compute_queue() as queue:
        queue.write(target, [64]).submit().wait()
        assert target.read(np.uint32, 1)[0] == 64


def test_an_sdma_engine_the_gpu_does_not_have_is_refused(amdgpu_devices: DeviceSet) -> None:
    """CREATE_QUEUE with sdma_engine_id past the listed engines is EINVAL, and leaves nothing behind."""
    device = amdgpu_devices[0]
    engines = device.properties["num_sdma_engines"] + xgmi_sdma_engines(device)
    buffers_before = len(device.live_buffers)
    events_before = len(device.process.events.events)
    with pytest.raises(KfdIoctlError) as refused:
        device.sdma_queue(sdma_engine=engines)
    assert refused.value.errno == errno.EINVAL, refused.value
    assert device.live_queues == []
    assert len(device.live_buffers) == buffers_before
    assert len(device.process.events.events) == events_before


@pytest.mark.parametrize(("priority", "percentage"), [(0, 100), (15, 100), (7, 1), (15, 50)])
def test_queues_of_any_priority_and_percentage_run_work(
    amdgpu_devices: DeviceSet, priority: int, percentage: int
) -> None:
    """QueuePriorityOnDifferentPipe, reduced to what a test can see: every setting still completes work."""
    device = amdgpu_devices[0]
    with (
        device.alloc(8, "gtt") as target,
        device.compute_queue(priority=priority, percentage=percentage) as compute,
        device.sdma_queue(priority=priority, percentage=percentage) as copy,
    ):
        compute.write(target, [priority + 1]).submit().wait()
        copy.write(target, [percentage], offset=4).submit().wait()
        np.testing.assert_array_equal(target.read(np.uint32), [priority + 1, percentage])


@pytest.mark.parametrize("same_pipe", [False, True], ids=["different-pipe", "same-pipe"])
def test_a_low_and_a_high_priority_queue_both_finish_dispatches_started_together(
    amdgpu_devices: DeviceSet, kernel, same_pipe: bool
) -> None:
    """QueuePriorityOnDifferentPipe / OnSamePipe: a queue updated to low and one to high priority run long
    dispatches at once; both finish. For the same pipe, eleven queues are made between the two, as kfdtest
    does, so that they land on one pipe whatever the number of pipes. (kfdtest logs how long each took and
    asserts nothing about it; neither does this.)"""
    device = amdgpu_devices[0]
    busy = kernel("busy_loop")
    with contextlib.ExitStack() as stack, device.alloc(4 * 32, "gtt") as out:
        out.write(np.zeros(32, dtype=np.uint32))
        low = stack.enter_context(device.compute_queue())
        for _ in range(11 if same_pipe else 0):
            stack.enter_context(device.compute_queue())
        high = stack.enter_context(device.compute_queue())
        low.set_priority(0)
        high.set_priority(abi.KFD_MAX_QUEUE_PRIORITY)
        done = [
            queue.dispatch(
                busy, grid=16, block=64, args=[out.gpu_addr + 64 * index, np.uint32(2000)]
            ).submit()
            for index, queue in enumerate((low, high))
        ]
        for completion in done:
            completion.wait()
        assert out.read(np.uint32).tolist() == [2000] * 16 + [2000] * 16


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_paused_queue_holds_its_work_until_resumed(amdgpu_devices: DeviceSet, kind: str) -> None:
    """DisableCpQueueByUpdateWithZeroPercentage: UPDATE_QUEUE to 0% stops the queue, back to 100% runs it."""
    device = amdgpu_devices[0]
    require_kind(device, kind)
    with device.alloc(8, "gtt") as target, open_queue(device, kind) as queue:
        queue.write(target, [1]).submit().wait()
        queue.pause()
        held = queue.write(target, [2]).submit()
        with pytest.raises(GpuTimeoutError):
            held.wait(timeout=0.2)
        assert target.read(np.uint32, 1)[0] == 1, "a paused queue ran its work"
        queue.resume()
        held.wait()
        assert target.read(np.uint32, 1)[0] == 2
        queue.pause()  # a second pause and resume of an idle queue changes nothing
        queue.resume()
        queue.write(target, [3]).submit().wait()
        assert target.read(np.uint32, 1)[0] == 3


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_queue_updated_to_no_ring_holds_its_work_until_resumed(
    amdgpu_devices: DeviceSet, kind: str
) -> None:
    """DisableCp/SdmaQueueByUpdateWithNullAddress: UPDATE_QUEUE to a ring of 0 disables the queue."""
    device = amdgpu_devices[0]
    require_kind(device, kind)
    with device.alloc(8, "gtt") as target, open_queue(device, kind) as queue:
        queue.disable()
        held = queue.write(target, [7]).submit()
        with pytest.raises(GpuTimeoutError):
            held.wait(timeout=0.2)
        assert target.read(np.uint32, 1)[0] == 0, "a queue without a ring ran its work"
        queue.resume()
        held.wait()
        assert target.read(np.uint32, 1)[0] == 7


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_ring_wraps_around_many_times(amdgpu_devices: DeviceSet, kind: str) -> None:
    """CpQueueWraparound / SdmaQueueWraparound: packets of changing length in a 4 KiB ring, all executed."""
    device = amdgpu_devices[0]
    require_kind(device, kind)
    submissions, slot_bytes = 300, 64
    with (
        device.alloc(submissions * slot_bytes, "gtt") as target,
        open_queue(device, kind, ring_bytes=4096) as queue,
    ):
        lengths = [1 + index % 13 for index in range(submissions)]  # so the wrap lands at every offset
        for index, length in enumerate(lengths):
            queue.write(target, np.full(length, index, dtype=np.uint32), offset=index * slot_bytes).submit()
        queue.wait_idle()
        assert queue.ring.write_bytes > 4 * queue.ring.size_bytes, "the ring never went round"
        slots = target.read(np.uint32).reshape(submissions, slot_bytes // 4)
        for index, length in enumerate(lengths):
            assert (slots[index, :length] == index).all(), f"submission {index} was lost"
            assert not slots[index, length:].any(), f"submission {index} wrote past its data"


def test_many_queues_of_both_kinds_each_do_their_own_work(amdgpu_devices: DeviceSet) -> None:
    """AllQueues: 32 compute and up to 16 SDMA queues at once, all submitted before any is waited for."""
    device = amdgpu_devices[0]
    sdma_capacity = device.properties["num_sdma_engines"] * device.properties["num_sdma_queues_per_engine"]
    queues: list[Queue] = []
    try:
        queues += [device.compute_queue(ring_bytes=4096) for _ in range(32)]
        queues += [device.sdma_queue(ring_bytes=4096) for _ in range(min(16, sdma_capacity))]
        with device.alloc(16 * len(queues), "gtt") as target:
            for index, queue in enumerate(queues):
                queue.write(target, [index, index * 7 + 1, queue.queue_id], offset=16 * index).submit()
            for queue in queues:
                queue.wait_idle()
            results = target.read(np.uint32).reshape(len(queues), 4)
            np.testing.assert_array_equal(results[:, 0], np.arange(len(queues)))
            np.testing.assert_array_equal(results[:, 1], np.arange(len(queues)) * 7 + 1)
            np.testing.assert_array_equal(results[:, 2], [queue.queue_id for queue in queues])
    finally:
        for queue in queues:
            queue.destroy()
    assert len({queue.queue_id for queue in queues}) == len(queues), "two live queues shared an id"


def test_a_queue_is_given_the_gpus_gws_and_gives_it_back(amdgpu_device: Device) -> None:
    """GWS Allocate: ALLOC_QUEUE_GWS gives one queue all of the GPU's global wave sync entries, from entry 0;
    a second queue is refused while the first holds them, and gets them once the first is destroyed."""
    available = amdgpu_device.node.properties.get("num_gws", 0)
    if not available:
        pytest.skip(f"{amdgpu_device} has no GWS (topology num_gws 0)")
    with amdgpu_device.compute_queue() as holder, amdgpu_device.compute_queue() as other:
        assert holder.allocate_gws() == 0
        assert holder.gws == available
        with pytest.raises(KfdIoctlError) as refused:
            other.allocate_gws()
        assert refused.value.errno == errno.EBUSY
        holder.nop().submit().wait()  # a queue holding GWS still runs work
    with amdgpu_device.compute_queue() as later:
        assert later.allocate_gws() == 0


def test_a_compute_queue_rings_an_sdma_queues_doorbell(amdgpu_device: Device, gpu_buffer) -> None:
    """GPUDoorbellWrite: SDMA packets sit in their ring unannounced; a compute queue's WRITE_DATA stores the
    SDMA queue's write pointer and then its doorbell, and the SDMA engine runs them."""
    dst = gpu_buffer(64, "gtt")
    dst.fill(0)
    with amdgpu_device.compute_queue() as compute, amdgpu_device.sdma_queue() as sdma:
        pending = sdma.write(dst, [0x0202_0202]).submit(ring_doorbell=False)
        pointer = sdma.write_pointer
        words = np.array([pointer & 0xFFFF_FFFF, pointer >> 32], dtype=np.uint32)
        compute.write(sdma.write_pointer_gpu_addr, words)
        compute.write(sdma.doorbell_gpu_addr, words[: amdgpu_device.target.doorbell_size_bytes // 4])
        compute.submit().wait()
        pending.wait(timeout=5.0)
        assert dst.read(np.uint32)[0] == 0x0202_0202
