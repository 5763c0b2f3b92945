"""Global wave sync: ALLOC_QUEUE_GWS as the kernel rules it, through the driver and raw."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.errors import ConfigurationError, KfdIoctlError
from pytest_amdgpu.kfd import abi


@pytest.fixture
def device() -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine="mi250x") as devices:
        yield devices[0]


def alloc_gws(device: Device, queue_id: int, num_gws: int) -> abi.kfd_ioctl_alloc_queue_gws_args:
    args = abi.kfd_ioctl_alloc_queue_gws_args(queue_id=queue_id, num_gws=num_gws, first_gws=77)
    return device.process.ioctl(abi.AMDKFD_IOC_ALLOC_QUEUE_GWS, args)


def refused(errno_value: int, function, *args) -> str:
    with pytest.raises(KfdIoctlError) as failure:
        function(*args)
    assert failure.value.errno == errno_value, failure.value
    return str(failure.value)


def test_one_queue_of_the_process_holds_all_of_a_gpus_gws(device: Device) -> None:
    kernel_pdd = device.transport.kernel.process.pdds[device.gpu_id]
    with device.compute_queue() as first, device.compute_queue() as second:
        assert first.allocate_gws() == 0
        assert first.gws == 64 and kernel_pdd.num_gws == 64  # the topology's num_gws, all of it
        assert "already holds the GWS" in refused(errno.EBUSY, second.allocate_gws)
        assert second.gws == 0
        first.release_gws()
        assert second.allocate_gws() == 0
        with pytest.raises(ConfigurationError, match="holds no GWS"):
            first.release_gws()
    assert kernel_pdd.num_gws == 0  # destroying the holder gave the GWS back
    with device.compute_queue() as third:
        assert third.allocate_gws() == 0


def test_the_kernel_rules_hold_for_raw_ioctls(device: Device) -> None:
    assert "does not exist" in refused(errno.EINVAL, alloc_gws, device, 999, 1)
    with device.compute_queue() as queue:
        assert "no queue" in refused(errno.EINVAL, alloc_gws, device, queue.queue_id, 0)
        assert alloc_gws(device, queue.queue_id, 1).first_gws == 0  # asking for 1 gets the GPU's 64
        assert device.transport.kernel.process.pdds[device.gpu_id].num_gws == 64
        assert alloc_gws(device, queue.queue_id, 0).first_gws == 0


def test_a_gpu_without_gws_is_refused_by_driver_and_kernel() -> None:
    with driver.open_devices(backend="sim", machine="rx9070xt") as devices:
        device = devices[0]
        with device.compute_queue() as queue:
            with pytest.raises(ConfigurationError, match="num_gws 0"):
                queue.allocate_gws()
            assert "has no GWS" in refused(errno.ENODEV, alloc_gws, device, queue.queue_id, 1)
