"""Fault conformance: GPU accesses to unmapped, read-only or unshared memory fault; the GPU keeps working."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from pytest_amdgpu.driver import Device
from pytest_amdgpu.driver.queues import Completion
from pytest_amdgpu.errors import GpuFaultError, QueueTimeoutError

FAULT_TIMEOUT_S = 5.0
PAGE_BYTES = 4096
UNMAPPED_VA = 0x7000_0BAD_0000  # page-aligned; no test maps it (checked before use)
POISON = 0xDEAD_BEEF


def simulated(device: Device) -> bool:
    return device.transport.name.startswith("sim:")


def unmapped_va(device: Device) -> int:
    assert not any(
        buffer.gpu_addr <= UNMAPPED_VA < buffer.gpu_addr + buffer.alloc_size for buffer in device.live_buffers
    ), f"{UNMAPPED_VA:#x} is mapped on {device}: pick another address for the fault tests"
    return UNMAPPED_VA


def expect_memory_fault(
    device: Device, completion: Completion, *addresses: int, read_only: bool = False
) -> None:
    """The submission must end in a memory fault on `device` at the page of one of `addresses`.

    A real GPU may stop the queue without the fault reaching this process in time (QueueTimeoutError);
    the simulator must report it, with the page and the reason. Either way the faulted queue is destroyed.
    """
    pages = {address & ~(PAGE_BYTES - 1) for address in addresses}
    faults_before = len(device.fault_log)
    try:
        completion.wait(timeout=FAULT_TIMEOUT_S)
    except GpuFaultError as error:
        fault = device.fault_log[-1]
        assert len(device.fault_log) == faults_before + 1
        assert fault.gpu_id == device.gpu_id and fault.va in pages, (
            f"{fault} is not at {sorted(map(hex, pages))}"
        )
        assert f"{fault.va:#x}" in str(error)
        if simulated(device):
            assert (fault.read_only, fault.not_present) == (read_only, not read_only), str(fault)
    except QueueTimeoutError:
        if simulated(device):
            raise
    else:
        pytest.fail(f"no memory fault at {sorted(map(hex, pages))}: the submission completed")
    finally:
        completion.queue.destroy()  # a faulted queue must still be torn down cleanly
    assert completion.queue not in device.live_queues


# -- unmapped addresses ----------------------------------------------------------------------------------


def test_a_shader_store_to_an_unmapped_address_faults(amdgpu_device: Device, compute_queue, kernel) -> None:
    address = unmapped_va(amdgpu_device)
    completion = compute_queue.dispatch(kernel("fill"), grid=1, block=64, args=[address, 1, 64]).submit()
    expect_memory_fault(amdgpu_device, completion, address)


def test_a_shader_load_from_an_unmapped_address_faults(
    amdgpu_devices: Sequence[Device], compute_queue, kernel, gpu_buffer
) -> None:
    device, dst = amdgpu_devices[0], gpu_buffer(256, "gtt")
    dst.write(np.full(64, POISON, dtype=np.uint32))
    address = unmapped_va(device) + 0x40
    completion = compute_queue.dispatch(
        kernel("copy_dword"), grid=1, block=64, args=[dst, address, 64]
    ).submit()
    expect_memory_fault(device, completion, address)
    assert (dst.read(np.uint32) == POISON).all()


def test_an_sdma_copy_to_an_unmapped_address_faults(amdgpu_device: Device, sdma_queue, gpu_buffer) -> None:
    address = unmapped_va(amdgpu_device)
    src = gpu_buffer(PAGE_BYTES, "gtt")
    expect_memory_fault(amdgpu_device, sdma_queue.copy(address, src, 256).submit(), address)


def test_a_fault_storm_reports_one_of_the_faulting_addresses(
    amdgpu_devices: Sequence[Device], compute_queue, kernel
) -> None:
    """A million work-items load from and store to unmapped pages at once."""
    device = amdgpu_devices[0]
    src, dst = unmapped_va(device) + 0x1000_0000, unmapped_va(device)
    n = 16_384 * 64
    completion = compute_queue.dispatch(
        kernel("copy_dword"), grid=16_384, block=64, args=[dst, src, n]
    ).submit()
    expect_memory_fault(
        device, completion, *range(dst, dst + 4 * n, PAGE_BYTES), *range(src, src + 4 * n, PAGE_BYTES)
    )


def test_a_buffer_unmapped_from_its_gpu_faults_until_mapped_again(
    amdgpu_device: Device, gpu_buffer, sdma_queue
) -> None:
    target = gpu_buffer(PAGE_BYTES, "vram")
    target.write(np.full(PAGE_BYTES // 4, POISON, dtype=np.uint32))
    target.unmap_from(amdgpu_device)
    expect_memory_fault(amdgpu_device, sdma_queue.write(target, [1, 2, 3]).submit(), target.gpu_addr)
    assert (target.read(np.uint32) == POISON).all()
    target.map_to(amdgpu_device)
    with amdgpu_device.sdma_queue() as queue:
        queue.write(target, [1, 2, 3]).submit().wait()
    assert target.read(np.uint32, 4).tolist() == [1, 2, 3, POISON]


# -- read-only memory ------------------------------------------------------------------------------------


def write_with(engine: str, device: Device, kernel, target, queues: list) -> Completion:
    """Ask one GPU engine to write the first dwords of `target`."""
    if engine == "sdma":
        queue = device.sdma_queue()
        queues.append(queue)
        return queue.write(target, [1, 2]).submit()
    queue = device.compute_queue()
    queues.append(queue)
    if engine == "cp":
        return queue.write(target, [1, 2]).submit()
    return queue.dispatch(kernel("fill", device=device), grid=1, block=64, args=[target, 1, 64]).submit()


@pytest.mark.parametrize("domain", ["vram", "gtt", "host"])
@pytest.mark.parametrize("engine", ["shader", "cp", "sdma"])
def test_a_gpu_write_to_a_read_only_buffer_faults(
    amdgpu_devices: Sequence[Device], gpu_buffer, kernel, engine: str, domain: str
) -> None:
    device = amdgpu_devices[0]
    readonly = gpu_buffer(PAGE_BYTES, domain, writable=False)
    readonly.write(np.full(PAGE_BYTES // 4, POISON, dtype=np.uint32))
    queues: list = []
    try:
        completion = write_with(engine, device, kernel, readonly, queues)
        expect_memory_fault(device, completion, readonly.gpu_addr, read_only=True)
    finally:
        for queue in queues:
            queue.destroy()
    assert (readonly.read(np.uint32) == POISON).all()


@pytest.mark.parametrize("domain", ["vram", "gtt", "host"])
def test_a_read_only_buffer_can_be_read_by_the_gpu(
    amdgpu_devices: Sequence[Device], compute_queue, sdma_queue, kernel, gpu_buffer, domain: str
) -> None:
    readonly = gpu_buffer(PAGE_BYTES, domain, writable=False)
    data = np.arange(PAGE_BYTES // 4, dtype=np.uint32) * 3
    readonly.write(data)
    by_shader, by_sdma = gpu_buffer(PAGE_BYTES, "gtt"), gpu_buffer(PAGE_BYTES, "gtt")
    compute_queue.dispatch(kernel("copy_dword"), grid=4, block=256, args=[by_shader, readonly, data.size])
    compute_queue.submit().wait()
    sdma_queue.copy(by_sdma, readonly, PAGE_BYTES).submit().wait()
    np.testing.assert_array_equal(by_shader.read(np.uint32), data)
    np.testing.assert_array_equal(by_sdma.read(np.uint32), data)


# -- peer mappings are enforced --------------------------------------------------------------------------


@pytest.mark.amdgpu(gpus=2)
@pytest.mark.parametrize("engine", ["shader", "sdma"])
def test_a_gpu_cannot_reach_a_peer_buffer_it_has_no_mapping_for(
    amdgpu_devices: Sequence[Device], gpu_buffer, kernel, engine: str
) -> None:
    owner, peer = amdgpu_devices[0], amdgpu_devices[1]
    shared = gpu_buffer(PAGE_BYTES, "vram", device=owner)
    shared.write(np.full(PAGE_BYTES // 4, POISON, dtype=np.uint32))
    assert peer.gpu_id not in shared.mapped_gpu_ids
    queues: list = []
    try:
        expect_memory_fault(peer, write_with(engine, peer, kernel, shared, queues), shared.gpu_addr)
        assert (shared.read(np.uint32) == POISON).all()
        shared.map_to(peer)
        write_with(engine, peer, kernel, shared, queues).wait(timeout=FAULT_TIMEOUT_S)
        assert shared.read(np.uint32, 2).tolist() == [1, 1 if engine == "shader" else 2]
        shared.unmap_from(peer)
        expect_memory_fault(peer, write_with(engine, peer, kernel, shared, queues), shared.gpu_addr)
    finally:
        for queue in queues:
            queue.destroy()


# -- after a fault ---------------------------------------------------------------------------------------


def test_the_device_keeps_working_after_a_fault(amdgpu_device: Device, kernel, gpu_buffer) -> None:
    address = unmapped_va(amdgpu_device)
    with amdgpu_device.compute_queue() as faulting:
        faulting.dispatch(kernel("fill"), grid=4, block=64, args=[address, 7, 256])
        expect_memory_fault(amdgpu_device, faulting.submit(), address)
    n = 4096
    src, dst, copied = gpu_buffer(4 * n, "vram"), gpu_buffer(4 * n, "gtt"), gpu_buffer(4 * n, "gtt")
    src.write(np.arange(n, dtype=np.uint32))
    with amdgpu_device.compute_queue() as compute, amdgpu_device.sdma_queue() as sdma:
        compute.dispatch(kernel("copy_dword"), grid=n // 256, block=256, args=[dst, src, n]).submit().wait()
        sdma.copy(copied, dst, 4 * n).submit().wait()
    np.testing.assert_array_equal(copied.read(np.uint32), np.arange(n, dtype=np.uint32))
