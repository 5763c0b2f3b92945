"""Timeline semaphore conformance: CPU and GPU signal and wait on each other, past 2^32, with many waiters."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.driver.queues import Queue
from pytest_amdgpu.errors import ConfigurationError, GpuTimeoutError

QUEUE_KINDS = ("compute", "sdma")
TWO_TO_THE_32 = 1 << 32


def open_queue(device: Device, kind: str) -> Queue:
    return device.compute_queue() if kind == "compute" else device.sdma_queue()


def marker_value(marker, index: int = 0) -> int:
    return int(marker.read(np.uint32, 1, offset=4 * index)[0])


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_cpu_signal_releases_a_waiting_queue(amdgpu_device: Device, gpu_buffer, timeline_semaphore, kind):
    semaphore, marker = timeline_semaphore(0), gpu_buffer(4, "gtt")
    marker.fill(0)
    with open_queue(amdgpu_device, kind) as queue:
        completion = queue.wait(semaphore, 3).write(marker, [0xC0DE]).submit()
        semaphore.signal(2)
        assert marker_value(marker) == 0, "the queue passed a wait for 3 at value 2"
        assert not completion.done
        semaphore.signal(3)
        completion.wait()
        assert marker_value(marker) == 0xC0DE


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_a_queue_signal_wakes_a_cpu_waiter(amdgpu_device: Device, gpu_buffer, timeline_semaphore, kind):
    semaphore, data = timeline_semaphore(0), gpu_buffer(16, "gtt")
    with open_queue(amdgpu_device, kind) as queue:
        queue.write(data, [1, 2, 3, 4]).signal(semaphore, 7).submit()
        semaphore.wait(7, timeout=5.0)
        assert semaphore.value == 7
        # The signal comes after the work: whoever sees the value also sees the data.
        np.testing.assert_array_equal(data.read(np.uint32), [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("producer_kind", "consumer_kind"), [(p, c) for p in QUEUE_KINDS for c in QUEUE_KINDS]
)
def test_one_queue_waits_for_another(
    amdgpu_devices: DeviceSet, gpu_buffer, timeline_semaphore, producer_kind, consumer_kind
) -> None:
    """The consumer is submitted first and must not start before the producer's data is in memory."""
    device = amdgpu_devices[0]
    data = np.arange(1, 257, dtype=np.uint32) * 0x0101
    semaphore, shared, result = timeline_semaphore(0), gpu_buffer(data.nbytes, "vram"), gpu_buffer(64, "gtt")
    shared.fill(0)
    result.fill(0)
    with open_queue(device, producer_kind) as producer, open_queue(device, consumer_kind) as consumer:
        consumer.wait(semaphore, 1)
        if consumer_kind == "sdma":
            consumer.copy(result, shared, 64, src_offset=data.nbytes - 64)  # the producer's last dwords
        else:
            consumer.write(result, [0xD0E])
        consumer.signal(semaphore, 2).submit()
        assert not result.read().any(), "the consumer ran before its semaphore was signalled"
        producer.write(shared, data).signal(semaphore, 1).submit()
        semaphore.wait(2, timeout=5.0)
    expected = data[-16:] if consumer_kind == "sdma" else np.array([0xD0E] + [0] * 15, dtype=np.uint32)
    np.testing.assert_array_equal(result.read(np.uint32), expected)


def test_two_queues_take_turns_many_times(amdgpu_devices: DeviceSet, gpu_buffer, timeline_semaphore) -> None:
    """A compute and an SDMA queue alternate 50 times on one semaphore; the turns land in order."""
    device = amdgpu_devices[0]
    rounds = 50
    semaphore, log = timeline_semaphore(0), gpu_buffer(8 * rounds, "gtt")
    log.fill(0)
    with device.compute_queue() as compute, device.sdma_queue() as copy:
        for turn in range(rounds):
            compute.wait(semaphore, 2 * turn).write(log, [2 * turn + 1], offset=8 * turn)
            compute.signal(semaphore, 2 * turn + 1)
            copy.wait(semaphore, 2 * turn + 1).write(log, [2 * turn + 2], offset=8 * turn + 4)
            copy.signal(semaphore, 2 * turn + 2)
        copy.submit()  # the waiter first: nothing may run until its turn comes
        compute.submit()
        semaphore.wait(2 * rounds, timeout=10.0)
    np.testing.assert_array_equal(log.read(np.uint32), np.arange(1, 2 * rounds + 1))


@pytest.mark.parametrize("kind", QUEUE_KINDS)
def test_waits_count_past_two_to_the_32(
    amdgpu_devices: DeviceSet, gpu_buffer, timeline_semaphore, kind
) -> None:
    """Waiters for values on both sides of 2^32 each pass exactly when the value reaches theirs."""
    device = amdgpu_devices[0]
    waited = [TWO_TO_THE_32 - 1, TWO_TO_THE_32, TWO_TO_THE_32 + 1, 2 * TWO_TO_THE_32 + 1]
    semaphore, markers = timeline_semaphore(TWO_TO_THE_32 - 2), gpu_buffer(4 * len(waited), "gtt")
    markers.fill(0)
    queues = [open_queue(device, kind) for _ in waited]
    try:
        for index, (queue, value) in enumerate(zip(queues, waited, strict=True)):
            queue.wait(semaphore, value).write(markers, [1], offset=4 * index).submit()
        for value in [
            TWO_TO_THE_32 - 1,
            TWO_TO_THE_32,
            TWO_TO_THE_32 + 1,
            2 * TWO_TO_THE_32,
            2 * TWO_TO_THE_32 + 1,
        ]:
            semaphore.signal(value)
            for queue, threshold in zip(queues, waited, strict=True):
                if threshold <= value:
                    queue.wait_idle()
            expected = [int(threshold <= value) for threshold in waited]
            assert markers.read(np.uint32).tolist() == expected, f"at value {value:#x}"
    finally:
        for queue in queues:
            queue.destroy()


JUMPS = {  # name: (initial value, awaited value, the value the signal jumps to)
    "small": (0, 5, 10),
    "below-2^32-to-2^32": (0, TWO_TO_THE_32 - 1, TWO_TO_THE_32),
    "above-2^32-to-2^33": (TWO_TO_THE_32, TWO_TO_THE_32 + 5, 2 * TWO_TO_THE_32),
}


@pytest.mark.parametrize("kind", QUEUE_KINDS)
@pytest.mark.parametrize(("start", "waited", "reached"), list(JUMPS.values()), ids=list(JUMPS))
def test_a_value_beyond_the_awaited_one_releases_the_waiter(
    amdgpu_devices: DeviceSet, gpu_buffer, timeline_semaphore, kind, start, waited, reached
) -> None:
    """Timeline waits are 'at least': a signal that jumps over the awaited value must still release it."""
    device = amdgpu_devices[0]
    semaphore, marker = timeline_semaphore(start), gpu_buffer(4, "gtt")
    marker.fill(0)
    with open_queue(device, kind) as queue:
        queue.wait(semaphore, waited).write(marker, [1]).submit()
        semaphore.signal(reached)
        queue.wait_idle(timeout=2.0)
    assert marker_value(marker) == 1


@pytest.mark.parametrize("signaller", ["cpu", "sdma", "compute"])
def test_one_signal_releases_many_waiting_queues(
    amdgpu_devices: DeviceSet, gpu_buffer, timeline_semaphore, signaller
) -> None:
    """Four compute and four SDMA queues wait for one value; a single signal lets all of them run."""
    device = amdgpu_devices[0]
    semaphore, markers = timeline_semaphore(0), gpu_buffer(4 * 8, "gtt")
    markers.fill(0)
    sdma_capacity = device.properties["num_sdma_engines"] * device.properties["num_sdma_queues_per_engine"]
    kinds = ["compute"] * 4 + ["sdma"] * min(4, sdma_capacity - 1)  # one SDMA slot left for the signaller
    waiters = [open_queue(device, kind) for kind in kinds]
    try:
        for index, queue in enumerate(waiters):
            queue.wait(semaphore, 1).write(markers, [index + 1], offset=4 * index).submit()
        assert not markers.read().any(), "a queue passed its wait before the signal"
        if signaller == "cpu":
            semaphore.signal(1)
        else:
            with open_queue(device, signaller) as source:
                source.signal(semaphore, 1).submit().wait()
        for queue in waiters:
            queue.wait_idle()
        expected = [index + 1 for index in range(len(waiters))] + [0] * (8 - len(waiters))
        assert markers.read(np.uint32).tolist() == expected
    finally:
        for queue in waiters:
            queue.destroy()


def test_an_sdma_signal_never_lowers_the_value(amdgpu_devices: DeviceSet, timeline_semaphore, sdma_queue):
    """SDMA signals are an atomic 64-bit maximum: a late, smaller signal leaves the larger value."""
    semaphore = timeline_semaphore(TWO_TO_THE_32 + 10)
    sdma_queue.signal(semaphore, 11).signal(semaphore, TWO_TO_THE_32 + 3).submit().wait()
    assert semaphore.value == TWO_TO_THE_32 + 10
    sdma_queue.signal(semaphore, TWO_TO_THE_32 + 11).submit().wait()
    assert semaphore.value == TWO_TO_THE_32 + 11


def test_a_cpu_signal_below_the_value_is_refused(amdgpu_devices: DeviceSet, timeline_semaphore) -> None:
    semaphore = timeline_semaphore(100)
    with pytest.raises(ConfigurationError, match="only grow"):
        semaphore.signal(99)
    assert semaphore.value == 100
    semaphore.signal(100)  # the same value again is allowed and changes nothing
    assert semaphore.value == 100


def test_a_cpu_wait_that_is_never_signalled_times_out_with_the_value(
    amdgpu_devices: DeviceSet, timeline_semaphore
) -> None:
    semaphore = timeline_semaphore(2)
    with pytest.raises(GpuTimeoutError, match="waited for 5, value reached 2"):
        semaphore.wait(5, timeout=0.1)
    semaphore.wait(2, timeout=0.0)  # a value already reached needs no time at all
