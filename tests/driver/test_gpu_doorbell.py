"""Doorbells rung by GPU packets: one queue publishes another's write pointer and rings its doorbell."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.driver.queues import Queue
from pytest_amdgpu.errors import QueueTimeoutError


@pytest.fixture(params=["mi300x", "rx7900xtx"])
def device(request: pytest.FixtureRequest) -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine=request.param) as devices:
        yield devices[0]
        assert devices.transport.kernel.queue_errors == []


def ring_from(writer: Queue, target: Queue) -> None:
    """`writer`'s packets store `target`'s write pointer, then its doorbell, as kfdtest's GPUDoorbellWrite."""
    pointer = target.write_pointer
    words = np.array([pointer & 0xFFFF_FFFF, pointer >> 32], dtype=np.uint32)
    writer.write(target.write_pointer_gpu_addr, words)
    writer.write(target.doorbell_gpu_addr, words[: target.target.doorbell_size_bytes // 4])


def test_packets_left_unrung_do_not_run(device: Device) -> None:
    with device.alloc(64, "gtt") as dst, device.sdma_queue() as sdma:
        dst.fill(0)
        waiting = sdma.write(dst, [7]).submit(ring_doorbell=False)
        with pytest.raises(QueueTimeoutError):
            waiting.wait(timeout=0.2)
        assert dst.read(np.uint32)[0] == 0
        sdma.ring.publish()  # the CPU rings it after all
        waiting.wait()
        assert dst.read(np.uint32)[0] == 7


def test_a_compute_queue_rings_an_sdma_queue_and_back(device: Device) -> None:
    with device.alloc(64, "gtt") as dst, device.compute_queue() as compute, device.sdma_queue() as sdma:
        dst.fill(0)
        sdma_done = sdma.write(dst, [0x0202_0202]).submit(ring_doorbell=False)
        ring_from(compute, sdma)
        compute.submit().wait()
        sdma_done.wait(timeout=2.0)
        compute_done = compute.write(dst, [0x0303_0303], offset=4).submit(ring_doorbell=False)
        ring_from(sdma, compute)
        sdma.submit().wait()
        compute_done.wait(timeout=2.0)
        assert list(dst.read(np.uint32, count=2)) == [0x0202_0202, 0x0303_0303]


def test_a_doorbell_page_write_names_the_queue_by_its_slot(device: Device) -> None:
    """Two SDMA queues: ringing the second's slot runs the second's packets only."""
    with device.alloc(64, "gtt") as dst, device.compute_queue() as compute:
        dst.fill(0)
        with device.sdma_queue() as first, device.sdma_queue() as second:
            first.write(dst, [1]).submit(ring_doorbell=False)
            second_done = second.write(dst, [2], offset=4).submit(ring_doorbell=False)
            ring_from(compute, second)
            compute.submit().wait()
            second_done.wait(timeout=2.0)
            assert list(dst.read(np.uint32, count=2)) == [0, 2]
            first.ring.publish()
            first.wait_idle()
        assert list(dst.read(np.uint32, count=2)) == [1, 2]


def test_a_doorbell_without_the_write_pointer_in_memory_stops_the_queue(device: Device) -> None:
    """The engine reads the write pointer from memory when it maps the queue again, so the simulator
    insists that memory agrees with the doorbell: ringing alone is a driver bug it reports."""
    with device.alloc(64, "gtt") as dst, device.compute_queue() as compute, device.sdma_queue() as sdma:
        pending = sdma.write(dst, [5]).submit(ring_doorbell=False)
        pointer = sdma.write_pointer
        words = np.array([pointer & 0xFFFF_FFFF, pointer >> 32], dtype=np.uint32)
        compute.write(sdma.doorbell_gpu_addr, words[: sdma.target.doorbell_size_bytes // 4])
        compute.submit().wait()
        with pytest.raises(QueueTimeoutError, match="store the write pointer before the doorbell"):
            pending.wait(timeout=1.0)
        kernel = device.transport.kernel
        assert "store the write pointer before the doorbell" in kernel.queue_errors[-1][1]
        kernel.queue_errors.clear()
