"""Preemption of running dispatches: a persistent kernel saved and restored (CWSR) while its waves run."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pytest_amdgpu.driver import Device

CWSR_ENABLE = Path("/sys/module/amdgpu/parameters/cwsr_enable")  # absent without the amdgpu module
STOP = 0x1234_5678
UNTOUCHED = 0x8765_4321


@pytest.fixture
def device(amdgpu_devices: Sequence[Device]) -> Device:
    """The first selected GPU: preemption is per queue, one GPU shows it."""
    if CWSR_ENABLE.is_file() and CWSR_ENABLE.read_text().strip() == "0":
        pytest.skip("amdgpu was loaded with cwsr_enable=0: running waves cannot be saved and restored")
    return amdgpu_devices[0]


@pytest.mark.parametrize(("work_items", "preemptions"), [(1, 10), (256, 50), (1024, 100)])
def test_a_running_dispatch_is_preempted_and_resumed_again_and_again(
    device: Device, kernel, gpu_buffer, work_items: int, preemptions: int
) -> None:
    """CWSR BasicTest: poll_until runs until the CPU writes its flag; meanwhile its queue is taken off the
    GPU (UPDATE_QUEUE to 0 %, which saves the running waves) and put back (which restores them) again and
    again. Nothing is written while it runs; after the flag, every work-item writes the value it kept in a
    register all along."""
    flag = gpu_buffer(4, "gtt")
    flag.write(np.array([0], dtype=np.uint32))
    out = gpu_buffer(4 * work_items, "gtt")
    out.write(np.full(work_items, UNTOUCHED, dtype=np.uint32))
    block = min(work_items, 256)
    with device.compute_queue() as queue:
        args = [flag, np.uint32(STOP), out]
        running = queue.dispatch(
            kernel("poll_until"), grid=work_items // block, block=block, args=args
        ).submit()
        for _ in range(preemptions):
            queue.pause()
            queue.resume()
            assert not running.done
            assert (out.read(np.uint32) == UNTOUCHED).all(), "a preempted dispatch wrote its output early"
        flag.write(np.array([STOP], dtype=np.uint32))
        running.wait()
    expected = 3 * np.arange(work_items, dtype=np.uint32) + 1
    np.testing.assert_array_equal(out.read(np.uint32), expected)


def test_queues_with_running_dispatches_are_created_around_and_destroyed(
    device: Device, kernel, gpu_buffer
) -> None:
    """CWSR InterruptRestore: two queues each run a dispatch of 65536 work-items that never ends by
    itself; creating a third queue changes the set of mapped queues (saving and restoring both), then all
    three are destroyed with the dispatches still running. Nothing hangs, and the GPU runs new work."""
    flag = gpu_buffer(4, "gtt")
    flag.write(np.array([0], dtype=np.uint32))
    out = gpu_buffer(4 * 0x10000, "gtt")
    program = kernel("poll_until")
    with contextlib.ExitStack() as queues:  # destroys all three, running or not, each even if another fails
        first = queues.enter_context(device.compute_queue())
        second = queues.enter_context(device.compute_queue())
        first.dispatch(program, grid=256, block=256, args=[flag, np.uint32(STOP), out]).submit()
        second.dispatch(program, grid=256, block=256, args=[flag, np.uint32(STOP), out]).submit()
        queues.enter_context(device.compute_queue())
    done = gpu_buffer(64 * 4, "gtt")
    with device.compute_queue() as queue:
        queue.dispatch(
            kernel("fill"), grid=1, block=64, args=[done, np.uint32(7), np.uint32(64)]
        ).submit().wait()
    assert (done.read(np.uint32) == 7).all()
