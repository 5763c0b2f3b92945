"""Caller-owned memory registered with Device.register_host: same address on GPU and CPU, shared, released."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.errors import ConfigurationError, KfdIoctlError


@pytest.fixture
def devices():
    with driver.open_devices(backend="sim", machine="mi300x") as opened:
        yield opened


def registered(device, address: int) -> list[str]:
    """Kernel objects of the process that sit on the page of `address` (the registration BO, if alive)."""
    page = address - address % 4096
    return [line for line in device.transport.kernel.live_objects() if f"at va {page:#x} " in line]


def test_an_array_is_used_in_place_by_the_gpu(devices) -> None:
    device = devices[0]
    data = np.arange(10_000, dtype=np.uint32)  # not page aligned at either end
    with (
        device.register_host(data) as host,
        device.alloc(data.nbytes, "vram") as vram,
        device.sdma_queue() as q,
    ):
        assert host.gpu_addr == data.ctypes.data and host.size == data.nbytes
        q.copy(vram, host, data.nbytes).submit().wait()
        np.testing.assert_array_equal(vram.read(np.uint32), data)
        q.fill(host, 7, 64, offset=4).submit().wait()  # the GPU writes the caller's array itself
        assert data[1:17].tolist() == [7] * 16 and data[0] == 0 and data[17] == 17
        assert registered(device, data.ctypes.data)
    assert registered(device, data.ctypes.data) == []
    assert data[17] == 17  # the caller's memory survives its registration


def test_registering_the_same_memory_twice_shares_one_registration(devices) -> None:
    device, peer = devices[0], devices[1]
    data = np.zeros(8192, dtype=np.uint8)
    first = device.register_host(data)
    second = device.register_host(data)
    assert first.handle == second.handle and len(registered(device, data.ctypes.data)) == 1
    second.map_to(peer)
    assert peer.gpu_id in first.mapped_gpu_ids
    first.free()  # the other Buffer keeps the registration and its mappings
    with peer.sdma_queue() as queue:
        queue.fill(second, 0x0101_0101, 64).submit().wait()
    assert (data[:64] == 1).all()
    second.free()
    assert registered(device, data.ctypes.data) == []


def test_threads_registering_one_range_at_once_share_it(devices) -> None:
    device = devices[0]
    data = np.zeros(1 << 20, dtype=np.uint8)
    buffers, errors = [], []

    def register() -> None:
        try:
            buffers.append(device.register_host(data))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len({buffer.handle for buffer in buffers}) == 1
    assert len(registered(device, data.ctypes.data)) == 1
    for buffer in buffers:
        buffer.free()
    assert registered(device, data.ctypes.data) == []


def test_bad_memory_is_refused_by_name(devices) -> None:
    device = devices[0]
    with pytest.raises(ConfigurationError, match="C-contiguous"):
        device.register_host(np.zeros((4, 4))[:, 0])
    with pytest.raises(ConfigurationError, match=r"\(address, size\)"):
        device.register_host((0, 16))


def test_overlapping_ranges_each_get_a_gpu_address_of_their_own(devices) -> None:
    device = devices[0]
    kernel = device.transport.kernel
    with device.sdma_queue():  # what a first queue leaves behind on the device (its event page)
        pass
    before = kernel.live_objects()
    host = np.arange(1 << 20, dtype=np.uint32)  # 4 MiB
    page = 4096
    slices = [
        device.register_host((host.ctypes.data + i * page, host.nbytes - i * page), own_gpu_va=True)
        for i in range(8)
    ]
    try:
        gpu_addrs = [b.gpu_addr for b in slices]
        assert len(set(gpu_addrs)) == 8 and host.ctypes.data not in gpu_addrs
        assert len({b.handle for b in slices}) == 8  # never shared
        with device.alloc(64, "gtt") as out, device.sdma_queue() as sdma:
            for i, registration in enumerate(slices):  # the GPU reads the same host words through each
                sdma.copy(out, registration, 16).submit().wait()
                assert list(out.read(np.uint32, count=4)) == list(range(i * 1024, i * 1024 + 4))
            sdma.write(slices[7], [0xFEED]).submit().wait()  # and writes reach the caller's array
        assert host[7 * 1024] == 0xFEED
    finally:
        for registration in slices:
            registration.free()
    assert kernel.live_objects() == before
    assert host[0] == 0  # the caller's memory is untouched by the frees


def test_a_refused_own_va_registration_leaves_nothing(devices) -> None:
    device = devices[0]
    transport = device.transport
    mapped, unmapped = [], []
    real_mmap, real_munmap = transport.mmap, transport.munmap

    def mmap(*args, **options):
        region = real_mmap(*args, **options)
        mapped.append(region.addr)
        return region

    def munmap(region):
        unmapped.append(region.addr)
        real_munmap(region)

    transport.mmap, transport.munmap = mmap, munmap
    try:
        with pytest.raises(ConfigurationError):
            device.register_host((0, 4096), own_gpu_va=True)
        with pytest.raises(KfdIoctlError) as refused:  # no user pages at 0x10000: the kernel says EFAULT
            device.register_host((0x10000, 4096), own_gpu_va=True)
        assert refused.value.errno == errno.EFAULT
    finally:
        transport.mmap, transport.munmap = real_mmap, real_munmap
    assert mapped and sorted(mapped) == sorted(unmapped)  # the reserved GPU address went back
