"""CU masks: SET_CU_MASK as the kernel checks it, and the simulated dispatcher using only enabled CUs."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.errors import AmdgpuError, ConfigurationError, KfdIoctlError
from pytest_amdgpu.kfd import abi


@pytest.fixture
def cdna3() -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine="mi300x") as devices:
        yield devices[0]


@pytest.fixture
def rdna3() -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine="rx7900xtx") as devices:
        yield devices[0]


def set_cu_mask(device: Device, queue_id: int, words: list[int], num_cu_mask: int | None = None) -> None:
    array = (ctypes.c_uint32 * max(len(words), 1))(*words)
    args = abi_args(
        queue_id, 32 * len(words) if num_cu_mask is None else num_cu_mask, ctypes.addressof(array)
    )
    device.process.ioctl(abi.AMDKFD_IOC_SET_CU_MASK, args)


def abi_args(queue_id: int, num_cu_mask: int, pointer: int) -> ctypes.Structure:
    return abi.kfd_ioctl_set_cu_mask_args(queue_id=queue_id, num_cu_mask=num_cu_mask, cu_mask_ptr=pointer)


def refused(errno_value: int, function, *args, **options) -> str:
    with pytest.raises(KfdIoctlError) as failure:
        function(*args, **options)
    assert failure.value.errno == errno_value, failure.value
    return str(failure.value)


def test_the_kernel_checks_count_pointer_and_queue(cdna3: Device) -> None:
    with cdna3.compute_queue() as queue:
        assert "not a multiple of 32" in refused(errno.EINVAL, set_cu_mask, cdna3, queue.queue_id, [1], 40)
        assert "cannot be empty" in refused(errno.EINVAL, set_cu_mask, cdna3, queue.queue_id, [], 0)
        bad_pointer = abi_args(queue.queue_id, 32, 0x10)
        message = refused(errno.EFAULT, cdna3.process.ioctl, abi.AMDKFD_IOC_SET_CU_MASK, bad_pointer)
        assert "cannot read" in message
        assert "does not exist" in refused(errno.EFAULT, set_cu_mask, cdna3, 999, [1])
        set_cu_mask(cdna3, queue.queue_id, [0b1])  # GFX9 has no WGPs: a single CU is a valid mask
        # A 2048-bit count reads only the first 1024 bits: 32 words are all the kernel copies.
        set_cu_mask(cdna3, queue.queue_id, [0xFFFF_FFFF] * 32, num_cu_mask=2048)
    with cdna3.sdma_queue() as sdma:
        set_cu_mask(cdna3, sdma.queue_id, [0b11])  # SDMA queues take a mask and ignore it, as the MQD does


def test_wgp_targets_want_both_cus_of_a_pair(rdna3: Device) -> None:
    with rdna3.compute_queue() as queue:
        message = refused(errno.EINVAL, set_cu_mask, rdna3, queue.queue_id, [0b0100, 0, 0])
        assert "pair 2,3" in message
        set_cu_mask(rdna3, queue.queue_id, [0b1100, 0, 0])
        with pytest.raises(ConfigurationError, match="pair starting at CU 4"):
            queue.set_cu_mask([4])
        queue.set_cu_mask([4, 5, 10, 11])
        assert queue.cu_mask == 0b1100_0011_0000


def test_the_driver_refuses_masks_before_the_kernel_sees_them(cdna3: Device) -> None:
    total = cdna3.node.compute_units
    with cdna3.compute_queue() as queue:
        for bad, reason in [
            (0, "enables no CU"),
            (1 << total, f"names CU {total}"),
            ([-1], ">= 0"),
            ([1.5], "must be integers"),
            (True, "must be integers"),
        ]:
            with pytest.raises(ConfigurationError, match=reason):
                queue.set_cu_mask(bad)
        assert queue.cu_mask is None
        queue.set_cu_mask(range(total))  # every CU, spread over ten 32-bit words
        assert queue.cu_mask == (1 << total) - 1


def test_fewer_cus_make_a_dispatch_take_longer_in_the_simulator(cdna3: Device) -> None:
    busy = cdna3.bundled_program("busy_loop")
    with cdna3.alloc(4 * 32, "gtt") as out, cdna3.alloc(32, "gtt") as stamps, cdna3.compute_queue() as queue:
        elapsed = []
        for cus in (32, 8):
            queue.set_cu_mask((1 << cus) - 1)
            queue.timestamp(stamps).dispatch(busy, grid=32, block=64, args=[out, np.uint32(400)])
            queue.timestamp(stamps, 8).submit().wait()
            start, end = stamps.read(np.uint64, count=2)
            elapsed.append(int(end - start))
        assert 3.5 < elapsed[1] / elapsed[0] < 4.5, elapsed  # four rounds of eight CUs against one of 32


def test_a_mask_that_enables_none_of_the_gpus_cus_stops_the_dispatch(cdna3: Device) -> None:
    total = cdna3.node.compute_units
    words = [0] * (total // 32 + 1) + [1]  # one bit, past the last CU: the kernel accepts it
    empty = cdna3.bundled_program("empty")
    with cdna3.compute_queue() as queue:
        set_cu_mask(cdna3, queue.queue_id, words)
        with pytest.raises(AmdgpuError, match="enables none of the GPU's 304 CUs"):
            queue.dispatch(empty, grid=1, block=64).submit().wait(timeout=1.0)
    cdna3.transport.kernel.queue_errors.clear()
