"""Memory conformance: allocate, CPU-map, write, read and free in every domain, and reject bad requests."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu.driver import Buffer, Device, DeviceSet
from pytest_amdgpu.errors import (
    ConfigurationError,
    GpuFaultError,
    KfdIoctlError,
    OutOfBoundsError,
    ResourceClosedError,
)
from pytest_amdgpu.kfd.abi import KFD_MMIO_REMAP_HDP_MEM_FLUSH_CNTL
from pytest_amdgpu.topology import HEAP_TYPE_FB_PRIVATE, HEAP_TYPE_FB_PUBLIC

DOMAINS = ("vram", "gtt", "host")
SIZES = (1, 4095, 4096, 65536 + 3, 1 << 21)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("size", SIZES)
def test_write_then_read_back(amdgpu_device: Device, domain: str, size: int) -> None:
    pattern = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
    with amdgpu_device.alloc(size, domain=domain) as buffer:
        buffer.write(pattern)
        np.testing.assert_array_equal(buffer.read(), pattern)
        assert buffer.size == size
        assert buffer.gpu_addr % 4096 == 0


@pytest.mark.parametrize("domain", DOMAINS)
def test_out_of_bounds_write_is_refused_and_changes_nothing(amdgpu_device: Device, domain: str) -> None:
    with amdgpu_device.alloc(64, domain=domain) as buffer:
        buffer.write(np.full(64, 7, dtype=np.uint8))
        with pytest.raises(OutOfBoundsError, match="offset 60"):
            buffer.write(np.zeros(8, dtype=np.uint8), offset=60)
        assert (buffer.read() == 7).all()


def test_vram_allocation_is_accounted(amdgpu_device: Device) -> None:
    before = amdgpu_device.available_memory()
    with amdgpu_device.alloc(8 << 20, domain="vram"):
        assert amdgpu_device.available_memory() <= before - (8 << 20)
    assert amdgpu_device.available_memory() == before


def test_allocation_beyond_free_vram_fails_with_enomem_and_leaks_nothing(amdgpu_device: Device) -> None:
    available = amdgpu_device.available_memory()
    if available == 0:
        pytest.skip(f"{amdgpu_device} reports no dedicated VRAM")
    buffers_before = len(amdgpu_device.live_buffers)
    with pytest.raises(KfdIoctlError) as failure:
        amdgpu_device.alloc(available + (1 << 30), domain="vram")
    assert failure.value.errno == errno.ENOMEM
    assert len(amdgpu_device.live_buffers) == buffers_before
    assert amdgpu_device.available_memory() == available


@pytest.mark.parametrize("size", (0, -1, 1.5, True))
def test_bad_sizes_are_rejected_before_the_kernel(amdgpu_device: Device, size: object) -> None:
    with pytest.raises(ConfigurationError, match="positive integer"):
        amdgpu_device.alloc(size, domain="gtt")  # type: ignore[arg-type]


def test_unknown_domain_names_the_choices(amdgpu_device: Device) -> None:
    with pytest.raises(ConfigurationError, match="expected one of vram, gtt, host"):
        amdgpu_device.alloc(4096, domain="lds")


# -- sizes and domains, seen by the GPU -------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_tens_of_megabytes_in_every_domain_reach_the_gpu_intact(
    amdgpu_devices: DeviceSet, gpu_buffer, sdma_queue, domain: str
) -> None:
    """What the CPU wrote is what the GPU copies out, to the last byte of an odd-sized large buffer."""
    size = (24 << 20) + 5
    buffer, copy = gpu_buffer(size, domain), gpu_buffer(size, "gtt")
    words = np.random.default_rng(size).integers(0, 1 << 32, size // 4 + 1, dtype=np.uint32)
    buffer.view()[:] = words.view(np.uint8)[:size]
    sdma_queue.copy(copy, buffer, size).write(buffer, [0xFEED_F00D], offset=size - 5).submit().wait()
    assert np.array_equal(copy.view(), words.view(np.uint8)[:size]), "the GPU read other bytes"
    assert buffer.read(np.uint32, 1, offset=size - 5)[0] == 0xFEED_F00D, (
        "the CPU does not see the GPU's write"
    )


# -- zero-initialisation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_new_memory_never_shows_data_freed_before_it(
    amdgpu_devices: DeviceSet, sdma_queue, domain: str
) -> None:
    """CheckZeroInitializationSysMem / CheckZeroInitializationVram: dirty, free, allocate again, three times.

    GTT pages and fresh anonymous (userptr) pages are zero; that is guaranteed and checked. VRAM is wiped
    when KFD frees it (WIPE_ON_RELEASE), with zeros since the kernel tracks cleared pages and with a poison
    pattern before: so for VRAM this checks that no byte of the old data comes back.
    """
    device = amdgpu_devices[0]
    size = (1 << 20) + 4096 * 3 + 4
    stale = 0xABCD_EFFF
    for round_number in range(3):
        with device.alloc(size, domain) as buffer, device.alloc(size, "gtt") as gpu_view:
            gpu_view.fill(0x77)
            sdma_queue.copy(gpu_view, buffer, size).submit().wait()
            for seen_by, contents in (("CPU", buffer.view(np.uint32)), ("GPU", gpu_view.view(np.uint32))):
                if domain == "vram":
                    assert not (contents == stale).any(), (
                        f"round {round_number}: the {seen_by} saw freed data"
                    )
                else:
                    assert not contents.any(), f"round {round_number}: new {domain} memory is not zero"
            sdma_queue.fill(buffer, stale, size).submit().wait()


# -- mappings -----------------------------------------------------------------------------------------------


def test_contents_survive_unmapping_and_mapping_again(
    amdgpu_devices: DeviceSet, gpu_buffer, sdma_queue
) -> None:
    """VerifyContentsAfterUnmapAndMap: the GPU wrote VRAM, lost and regained its mapping, reads it back."""
    device = amdgpu_devices[0]
    local, readback = gpu_buffer(4 * 4096, "vram"), gpu_buffer(4 * 4096, "gtt")
    sdma_queue.fill(local, 0x0101_0101, local.size).submit().wait()
    local.unmap_from(device)
    assert device.gpu_id not in local.mapped_gpu_ids
    local.map_to(device)
    assert device.gpu_id in local.mapped_gpu_ids
    sdma_queue.copy(readback, local, local.size).submit().wait()
    assert (readback.view(np.uint32) == 0x0101_0101).all()


@pytest.mark.amdgpu(gpus=2)
def test_a_peer_keeps_seeing_the_same_memory_after_unmap_and_map(amdgpu_devices: DeviceSet) -> None:
    """MapVramToGPUNodesTest: a peer writes another GPU's VRAM, is unmapped, mapped again, reads it back."""
    owner, peer = amdgpu_devices[0], amdgpu_devices[1]
    with (
        owner.alloc(64 << 10, "vram") as shared,
        peer.alloc(64 << 10, "gtt") as readback,
        owner.sdma_queue() as owner_queue,
        peer.sdma_queue() as peer_queue,
    ):
        shared.map_to(peer)
        peer_queue.fill(shared, 0x5EED_0001, shared.size).submit().wait()
        shared.unmap_from(peer)
        assert shared.mapped_gpu_ids == [owner.gpu_id]
        owner_queue.fill(shared, 0x5EED_0002, 4096).submit().wait()  # the owner still has its mapping
        shared.map_to(peer)
        peer_queue.copy(readback, shared, shared.size).submit().wait()
        words = readback.view(np.uint32)
        assert (words[:1024] == 0x5EED_0002).all()
        assert (words[1024:] == 0x5EED_0001).all()
        np.testing.assert_array_equal(shared.view(np.uint32), words)


@pytest.mark.amdgpu(gpus=3)
def test_memory_mapped_to_a_subset_of_gpus_is_reachable_only_from_them(amdgpu_devices: DeviceSet) -> None:
    """Mapped on gpus 0 and 2, not 1: gpu2 copies from it, gpu1's copy faults at the buffer's address."""
    owner, outsider, member = amdgpu_devices[0], amdgpu_devices[1], amdgpu_devices[2]
    with (
        owner.alloc(8192, "vram") as shared,
        member.alloc(8192, "gtt") as member_copy,
        outsider.alloc(8192, "gtt") as outsider_copy,
        member.sdma_queue() as member_queue,
    ):
        shared.view(np.uint32)[:] = np.arange(2048, dtype=np.uint32)
        shared.map_to(member)
        assert sorted(shared.mapped_gpu_ids) == sorted([owner.gpu_id, member.gpu_id])
        member_queue.copy(member_copy, shared, shared.size).submit().wait()
        np.testing.assert_array_equal(member_copy.view(np.uint32), np.arange(2048))
        outsider_copy.fill(0)
        with outsider.sdma_queue(timeout=2.0) as outsider_queue:
            completion = outsider_queue.copy(outsider_copy, shared, shared.size).submit()
            with pytest.raises(GpuFaultError, match=f"{shared.gpu_addr:#x}"):
                completion.wait()
        assert not outsider_copy.view().any(), "a GPU without a mapping read the buffer"


@pytest.mark.amdgpu(gpus=2)
def test_mapping_to_changing_sets_of_gpus_never_disturbs_the_owner(amdgpu_devices: DeviceSet) -> None:
    """MapUnmapToNodes, without the polling shader: the owner's view holds while peers come and go."""
    owner, *peers = amdgpu_devices[: min(4, len(amdgpu_devices))]
    with owner.alloc(4096, "vram") as shared, owner.alloc(4096, "gtt") as readback, owner.sdma_queue() as q:
        for round_number in range(32):
            chosen = peers[: 1 + round_number % len(peers)]
            shared.map_to(*chosen)
            q.write(shared, [round_number], offset=4 * round_number).submit()
            shared.unmap_from(*chosen)
        q.copy(readback, shared, 4096).submit().wait()
        np.testing.assert_array_equal(readback.read(np.uint32, 32), np.arange(32))
        assert shared.mapped_gpu_ids == [owner.gpu_id]


# -- available memory ---------------------------------------------------------------------------------------


def has_dedicated_vram(device: Device) -> bool:
    return any(
        bank.heap_type in (HEAP_TYPE_FB_PUBLIC, HEAP_TYPE_FB_PRIVATE) for bank in device.node.mem_banks
    )


@pytest.mark.parametrize("domain", ["gtt", "host"])
def test_system_memory_allocations_leave_available_vram_alone(amdgpu_device: Device, domain: str) -> None:
    if not has_dedicated_vram(amdgpu_device):
        pytest.skip(f"gpu{amdgpu_device.index} has no framebuffer heap: its VRAM is system memory")
    before = amdgpu_device.available_memory()
    with amdgpu_device.alloc(4 << 20, domain=domain):
        assert amdgpu_device.available_memory() == before


def test_all_available_vram_can_be_allocated_and_no_more(amdgpu_device: Device) -> None:
    """MemoryAllocAll / LargestVramBufferTest: what AVAILABLE_MEMORY promises is really there, and no more.

    Per GPU, so that under xdist only the worker that owns the GPU runs it.
    """
    device = amdgpu_device
    available = device.available_memory() // (2 << 20) * (2 << 20)
    if available == 0:
        pytest.skip(f"gpu{device.index} reports no available VRAM")
    with device.alloc(available, "vram") as everything:
        assert device.available_memory() <= 2 << 20
        everything.view(np.uint32)[-1] = 0x600D  # the last page is real memory
        assert everything.read(np.uint32, 1, offset=available - 4)[0] == 0x600D
        with pytest.raises(KfdIoctlError) as refused:
            device.alloc(256 << 20, "vram")
        assert refused.value.errno == errno.ENOMEM
    assert device.available_memory() >= available


def test_small_vram_allocations_add_up_and_are_all_given_back(amdgpu_device: Device) -> None:
    before = amdgpu_device.available_memory()
    sizes = [4096 * (1 + index) for index in range(16)] + [1, 3, 4097]
    buffers = [amdgpu_device.alloc(size, "vram") for size in sizes]
    try:
        assert amdgpu_device.available_memory() <= before - sum(sizes)
    finally:
        for buffer in buffers:
            buffer.free()
    assert amdgpu_device.available_memory() == before


def test_gtt_beyond_the_system_memory_limit_fails_with_enomem_and_leaks_nothing(
    amdgpu_devices: DeviceSet,
) -> None:
    device = amdgpu_devices[0]
    buffers_before = len(device.live_buffers)
    with pytest.raises(KfdIoctlError) as refused:
        device.alloc(1 << 44, "gtt")  # 16 TiB: more than KFD lets a process pin
    assert refused.value.errno == errno.ENOMEM
    assert len(device.live_buffers) == buffers_before
    with device.alloc(1 << 20, "gtt") as afterwards:  # the failed request left the allocator usable
        afterwards.fill(1)
        assert afterwards.read(np.uint8, 1)[0] == 1


def test_the_largest_system_buffer_is_found_and_used_and_a_larger_one_refused(
    amdgpu_devices: DeviceSet,
) -> None:
    """LargestSysBufferTest: a binary search (64 MiB steps) for the largest GTT buffer the kernel allocates
    and maps to the GPU; it is most of system memory (KFD keeps back a part for itself), both its ends
    work, one step more is ENOMEM, and nothing is left allocated."""
    device = amdgpu_devices[0]
    if not has_dedicated_vram(device):
        pytest.skip(
            f"gpu{device.index} shares system memory with the CPU: kfdtest skips APUs (it can lock them)"
        )
    cpus = [node for node in amdgpu_devices.process.topology.nodes if node.is_cpu]
    system_bytes = sum(bank.properties.get("size_in_bytes", 0) for node in cpus for bank in node.mem_banks)
    step = 64 << 20
    buffers_before = len(device.live_buffers)
    low, high = 0, (system_bytes // step + 1) * step  # multiples of step: low allocates, high never does
    while high - low > step:
        size = (low + high) // 2 // step * step
        try:
            device.alloc(size, "gtt").free()
        except KfdIoctlError as refused:
            assert refused.errno == errno.ENOMEM, refused
            high = size
        else:
            low = size
    assert low >= system_bytes // 2, f"only {low >> 20} MiB of {system_bytes >> 20} MiB could be allocated"
    with device.alloc(low, "gtt") as largest:
        marks = np.array([0x600D_F00D], dtype=np.uint32)
        largest.write(marks)
        largest.write(marks, offset=low - 4)
        assert largest.read(np.uint32, 1)[0] == largest.read(np.uint32, 1, offset=low - 4)[0] == 0x600D_F00D
    try:
        device.alloc(low + step, "gtt").free()
    except KfdIoctlError as refused:
        assert refused.errno == errno.ENOMEM, refused
    else:
        pytest.fail(
            f"{(low + step) >> 20} MiB was allocated after the search found {low >> 20} MiB the largest"
        )
    assert len(device.live_buffers) == buffers_before


def test_a_freed_buffer_refuses_every_use(amdgpu_devices: DeviceSet) -> None:
    device = amdgpu_devices[0]
    buffer = device.alloc(4096, "vram")
    buffer.free()
    buffer.free()  # freeing twice is harmless
    assert buffer.freed and buffer not in device.live_buffers
    for use in (buffer.read, lambda: buffer.write(b"x"), lambda: buffer.map_to(device)):
        with pytest.raises(ResourceClosedError, match="freed"):
            use()


# -- userptr ------------------------------------------------------------------------------------------------


def test_registered_host_memory_is_one_memory_for_cpu_and_gpu(
    amdgpu_devices: DeviceSet, gpu_buffer, sdma_queue, compute_queue
) -> None:
    """MemoryRegister: the GPU reads what the CPU put in user memory and the CPU sees the GPU's stores."""
    host, local = gpu_buffer(10_000, "host"), gpu_buffer(10_000, "vram")
    assert host.domain == "host" and host.gpu_addr % 4096 == 0
    pattern = np.random.default_rng(10_000).integers(0, 256, 10_000, dtype=np.uint8)
    host.view()[:] = pattern
    sdma_queue.copy(local, host, host.size).write(host, [0x1234_5678], offset=64).submit().wait()
    compute_queue.write(host, [0xDEAD_BEEF], offset=9_996).submit().wait()
    np.testing.assert_array_equal(local.view(), pattern)
    assert host.read(np.uint32, 1, offset=64)[0] == 0x1234_5678
    assert host.read(np.uint32, 1, offset=9_996)[0] == 0xDEAD_BEEF


# -- fragmentation and stress -------------------------------------------------------------------------------

VRAM_ALIGN_BYTES = 2 << 20  # AVAILABLE_MEMORY counts VRAM in 2 MiB steps (VRAM_AVAILABLITY_ALIGN)
FRAGMENT_BLOCKS = 32


def mark_both_ends(queue, blocks: list[Buffer], first_mark: int) -> list[int]:
    """The GPU writes one mark into the first and the last dword of every block; returns the marks."""
    marks = [first_mark + index for index in range(len(blocks))]
    for block, mark in zip(blocks, marks, strict=True):
        queue.write(block, [mark]).write(block, [mark], offset=block.size - 4)
    queue.submit().wait()
    return marks


def assert_both_ends_hold(blocks: list[Buffer], marks: list[int]) -> None:
    for index, (block, mark) in enumerate(zip(blocks, marks, strict=True)):
        ends = [int(block.read(np.uint32, 1, offset=offset)[0]) for offset in (0, block.size - 4)]
        assert ends == [mark, mark], (
            f"block {index} ({block}) holds {ends[0]:#x} and {ends[1]:#x} at its ends, expected {mark:#x}"
        )


def test_vram_freed_in_a_checkerboard_is_refilled_by_blocks_twice_as_big(
    amdgpu_device: Device, sdma_queue
) -> None:
    """Fragmentation: all VRAM in blocks, every other block freed, the holes filled by blocks twice as big.

    The new blocks can only live in the holes, so one more block is refused; no block shares memory with
    another (each keeps the marks the GPU wrote at its ends). Per GPU, as it takes all of a GPU's VRAM:
    under xdist only the worker that owns the GPU may do that.
    """
    device = amdgpu_device
    if not has_dedicated_vram(device):
        pytest.skip(f"gpu{device.index} has no framebuffer heap: its VRAM is system memory")
    available_before = device.available_memory()
    block_bytes = available_before // FRAGMENT_BLOCKS // VRAM_ALIGN_BYTES * VRAM_ALIGN_BYTES
    if block_bytes < 2 * VRAM_ALIGN_BYTES:
        pytest.skip(f"gpu{device.index} has only {available_before} bytes of VRAM available")
    buffers_before = len(device.live_buffers)
    blocks: list[Buffer] = []
    try:
        blocks = [device.alloc(block_bytes, "vram") for _ in range(FRAGMENT_BLOCKS)]
        rest = device.available_memory()
        if rest:
            blocks.append(device.alloc(rest, "vram"))  # nothing is left outside the blocks
        assert device.available_memory() < block_bytes
        marks = mark_both_ends(sdma_queue, blocks, 0x1000)
        for hole in blocks[1:FRAGMENT_BLOCKS:2]:
            hole.free()
        assert device.available_memory() >= FRAGMENT_BLOCKS // 2 * block_bytes, "freed VRAM did not come back"
        kept = [(block, mark) for block, mark in zip(blocks, marks, strict=True) if not block.freed]
        doubles = [device.alloc(2 * block_bytes, "vram") for _ in range(FRAGMENT_BLOCKS // 4)]
        blocks += doubles
        with pytest.raises(KfdIoctlError) as refused:
            blocks.append(device.alloc(block_bytes, "vram"))
        assert refused.value.errno == errno.ENOMEM, "the blocks twice as big did not take the holes"
        double_marks = mark_both_ends(sdma_queue, doubles, 0x2000)
        assert_both_ends_hold([block for block, _ in kept], [mark for _, mark in kept])
        assert_both_ends_hold(doubles, double_marks)
    finally:
        for block in blocks:
            block.free()
    assert device.available_memory() == available_before
    assert len(device.live_buffers) == buffers_before


SYSTEM_BLOCK_BYTES = 4 << 30
SYSTEM_STRESS_CAP_BYTES = 256 << 30  # as kfdtest: at most 2048 blocks of 128 MiB per round
SYSTEM_STRESS_ROUNDS = 4


def test_big_gtt_blocks_allocated_until_refused_all_come_back_every_round(
    amdgpu_devices: DeviceSet, sdma_queue
) -> None:
    """BigSysBufferStressTest: 4 GiB GTT blocks, GPU-mapped and written, until ENOMEM or 256 GiB, four times.

    A round that gets fewer blocks than the first has lost memory to a leak of the round before.
    """
    device = amdgpu_devices[0]
    buffers_before = len(device.live_buffers)
    vram_before = device.available_memory()
    counts: list[int] = []
    for round_number in range(SYSTEM_STRESS_ROUNDS):
        blocks: list[Buffer] = []
        try:
            while len(blocks) < SYSTEM_STRESS_CAP_BYTES // SYSTEM_BLOCK_BYTES:
                try:
                    blocks.append(device.alloc(SYSTEM_BLOCK_BYTES, "gtt"))
                except KfdIoctlError as refusal:
                    assert refusal.errno == errno.ENOMEM, refusal
                    break
            assert blocks, "not one GTT block could be allocated"
            marks = mark_both_ends(sdma_queue, blocks, (round_number + 1) << 16)
            assert_both_ends_hold(blocks, marks)
        finally:
            for block in blocks:
                block.free()
        counts.append(len(blocks))
    assert counts == counts[:1] * SYSTEM_STRESS_ROUNDS, f"blocks per round: {counts}"
    assert len(device.live_buffers) == buffers_before
    assert device.available_memory() == vram_before


# -- HDP flush through the remapped MMIO page ---------------------------------------------------------------


@contextlib.contextmanager
def ended_on_failure(flag: Buffer, stop: int, done) -> Iterator[None]:
    """If the block fails, set a polling kernel's flag from the CPU and let its queue finish before the test
    ends, so that no kernel still reads buffers the test frees (the block must set the flag itself)."""
    try:
        yield
    except BaseException:
        flag.write(np.array([stop], dtype=np.uint32))
        with contextlib.suppress(Exception):
            done.wait()
        raise


def test_cpu_writes_to_vram_reach_a_shader_after_an_hdp_flush(
    amdgpu_devices: DeviceSet, compute_queue, kernel, gpu_buffer
) -> None:
    """HostHdpFlush: a shader polls a flag in VRAM while the CPU writes data to VRAM, flushes HDP through the
    remapped MMIO page and sets the flag; the shader ends its poll, and the copy after it reads the data.

    The simulator has no HDP cache, so there a missing flush goes unseen; the page, the store to its
    HDP_MEM_FLUSH_CNTL register, the polling and the data path are what this checks.
    """
    device = amdgpu_devices[0]
    if not has_dedicated_vram(device):
        pytest.skip(f"gpu{device.index} has no framebuffer heap: there is no HDP in front of its memory")
    n = 1024
    data = np.random.default_rng(n).integers(0, 2**32, n, dtype=np.uint32)
    local, flag = gpu_buffer(4 * n, "vram"), gpu_buffer(4, "vram")
    copied, polled = gpu_buffer(4 * (n + 1), "gtt"), gpu_buffer(4, "gtt")
    local.write(np.zeros(n, dtype=np.uint32))
    flag.write(np.array([0xDEAD], dtype=np.uint32))
    copied.write(np.full(n + 1, 0xDEAD_BEEF, dtype=np.uint32))
    with device.alloc_mmio_remap() as mmio:
        assert mmio.size == 4096 and device.gpu_id in mmio.mapped_gpu_ids
        compute_queue.dispatch(kernel("poll_until"), grid=1, block=1, args=[flag, np.uint32(0xCAFE), polled])
        compute_queue.wait_for_dispatches().barrier()  # the copy starts after the poll has ended
        compute_queue.dispatch(kernel("copy_dword"), grid=n // 256, block=256, args=[copied, local, n])
        done = compute_queue.submit()
        with ended_on_failure(flag, 0xCAFE, done):
            assert (copied.read(np.uint32) == 0xDEAD_BEEF).all(), "the copy ran before the flag"
            local.write(data)
            mmio.cpu.store_u32(KFD_MMIO_REMAP_HDP_MEM_FLUSH_CNTL, 1)
            flag.write(np.array([0xCAFE], dtype=np.uint32))
        done.wait()
    words = copied.read(np.uint32)
    np.testing.assert_array_equal(words[:n], data)
    assert words[n] == 0xDEAD_BEEF, "the shader copied past its end"


@pytest.mark.amdgpu(gpus=2)
def test_a_peer_writes_vram_flushes_its_owner_hdp_and_the_owner_reads_it(
    amdgpu_devices: DeviceSet, gpu_buffer, kernel
) -> None:
    """DeviceHdpFlush: the owner's shader polls a flag in its VRAM; a peer writes data to that VRAM, then the
    owner's HDP flush register (the owner's MMIO page mapped on the peer), then the flag; the owner's poll
    ends and the copy after it reads what the peer wrote."""
    owner, peer = amdgpu_devices[0], amdgpu_devices[1]
    if not has_dedicated_vram(owner):
        pytest.skip(f"gpu{owner.index} has no framebuffer heap: there is no HDP in front of its memory")
    n = 1024
    data = np.arange(n, dtype=np.uint32) * 0x0001_0001 + 0xBEEF
    shared, flag = gpu_buffer(4 * n, "vram", device=owner), gpu_buffer(4, "vram", device=owner)
    copied, polled = gpu_buffer(4 * n, "gtt", device=owner), gpu_buffer(4, "gtt", device=owner)
    shared.map_to(peer)
    flag.map_to(peer)
    shared.fill(0)
    flag.write(np.array([0xDEAD], dtype=np.uint32))
    copied.write(np.full(n, 0xDEAD_BEEF, dtype=np.uint32))
    with owner.alloc_mmio_remap() as mmio, owner.compute_queue() as reader, peer.compute_queue() as writer:
        mmio.map_to(peer)
        reader.dispatch(kernel("poll_until"), grid=1, block=1, args=[flag, np.uint32(0xCAFE), polled])
        reader.wait_for_dispatches().barrier()  # the copy starts after the poll has ended
        reader.dispatch(kernel("copy_dword"), grid=n // 256, block=256, args=[copied, shared, n])
        done = reader.submit()
        with ended_on_failure(flag, 0xCAFE, done):
            early = "the owner copied before the peer set the flag"
            assert (copied.read(np.uint32) == 0xDEAD_BEEF).all(), early
            writer.write(shared, data).write(mmio, [1], offset=KFD_MMIO_REMAP_HDP_MEM_FLUSH_CNTL)
            writer.write(flag, [0xCAFE]).submit().wait()
        done.wait()
    np.testing.assert_array_equal(copied.read(np.uint32), data)


def test_the_same_host_memory_registered_twice_is_one_registration(amdgpu_devices: DeviceSet) -> None:
    """MemoryRegisterSamePtr: registering a host range again shares it; each Buffer can be freed alone."""
    device = amdgpu_devices[0]
    data = np.zeros(3 * 4096 + 100, dtype=np.uint8)
    first = device.register_host(data)
    second = device.register_host(data)
    try:
        assert first.handle == second.handle and first.gpu_addr == second.gpu_addr == data.ctypes.data
        with device.sdma_queue() as queue:
            queue.fill(first, 0x0505_0505, 4096).submit().wait()
            first.free()
            queue.fill(second, 0x0606_0606, 4096, offset=4096).submit().wait()
        assert (data[:4096] == 5).all() and (data[4096:8192] == 6).all()
    finally:
        first.free()
        second.free()


def test_threads_registering_one_host_range_at_once_all_succeed(amdgpu_devices: DeviceSet) -> None:
    """MultiThreadRegisterUserptrTest: concurrent registrations of one range share a single registration."""
    device = amdgpu_devices[0]
    data = np.zeros(1 << 22, dtype=np.uint8)
    buffers: list[Buffer] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            buffers.append(device.register_host(data))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len({buffer.handle for buffer in buffers}) == 1
        with device.sdma_queue() as queue:
            queue.fill(buffers[-1], 0x0909_0909, 1 << 22).submit().wait()
        assert (data == 9).all()
    finally:
        for buffer in buffers:
            buffer.free()


def test_vram_shared_as_a_dmabuf_is_one_memory_for_exporter_and_importer(amdgpu_devices: DeviceSet) -> None:
    """ExportDMABufTest: VRAM exported as a dma-buf, imported (on a peer when there is one), written
    through the import after the exporter's handle and the fd are gone, read back by the exporter."""
    owner = amdgpu_devices[0]
    importer = amdgpu_devices[1] if len(amdgpu_devices) > 1 else owner
    size = 1 << 20
    with (
        owner.alloc(size, "vram") as local,
        owner.alloc(size, "gtt") as staging,
        importer.alloc(size, "gtt") as remote_staging,
        owner.sdma_queue() as owner_queue,
        importer.sdma_queue() as importer_queue,
    ):
        staging.view(np.uint32)[:] = 0xAAAA_AAAA
        owner_queue.copy(local, staging, size).submit().wait()
        with local.export_dmabuf() as dmabuf:
            info = importer.dmabuf_info(dmabuf)
            assert (info.size, info.gpu_id) == (size, owner.gpu_id)
            imported = importer.import_dmabuf(dmabuf)
        with imported:  # the fd is closed: the import alone holds the pages now
            assert imported.size == size and imported.domain == "vram"
            importer_queue.copy(remote_staging, imported, size).submit().wait()
            assert (remote_staging.view(np.uint32) == 0xAAAA_AAAA).all()
            importer_queue.fill(imported, 0xBBBB_BBBB, size).submit().wait()
        owner_queue.copy(staging, local, size).submit().wait()
        assert (staging.view(np.uint32) == 0xBBBB_BBBB).all()


def test_dmabuf_refusals_name_the_reason(amdgpu_device: Device) -> None:
    """Registered host memory cannot be exported (EPERM); an fd that is no dma-buf cannot be imported."""
    with amdgpu_device.alloc(4096, "host") as host:
        with pytest.raises(KfdIoctlError) as refused:
            host.export_dmabuf()
        assert refused.value.errno == errno.EPERM
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(KfdIoctlError) as refused:
            amdgpu_device.import_dmabuf(read_end)
        assert refused.value.errno == errno.EINVAL
    finally:
        os.close(read_end)
        os.close(write_end)


def test_overlapping_host_ranges_registered_side_by_side_at_their_own_gpu_addresses(
    amdgpu_devices: DeviceSet,
) -> None:
    """MMapLarge: one 64 MiB host range registered 16384 times (1 TiB in all), each time a byte shorter at
    the front, every registration at a GPU address of its own, until done or the kernel refuses (ENOMEM
    past what KFD lets a process pin); the GPU reads the same host words through a spread of them, and all
    of them are released."""
    device = amdgpu_devices[0]
    if not has_dedicated_vram(device):
        pytest.skip(f"gpu{device.index} shares system memory with the CPU: kfdtest skips APUs here")
    size, count = 64 << 20, 1 << 14
    host = np.arange(size // 4, dtype=np.uint32)
    registrations: list[Buffer] = []
    try:
        for index in range(count):
            try:
                registrations.append(
                    device.register_host((host.ctypes.data + index, host.nbytes - index), own_gpu_va=True)
                )
            except KfdIoctlError as refused:
                assert refused.errno == errno.ENOMEM, refused
                break
        assert len(registrations) >= 16, f"only {len(registrations)} registrations of 64 MiB"
        assert len({registration.gpu_addr for registration in registrations}) == len(registrations)
        # registration i starts i bytes into the range: probe dword-aligned ones spread over all of them
        spacing = max(len(registrations) // 16 // 4 * 4, 4)
        probes = list(range(0, len(registrations), spacing))
        with device.alloc(4096, "gtt") as out, device.sdma_queue() as sdma:
            for slot, index in enumerate(probes):
                sdma.copy(out, registrations[index], 16, dst_offset=16 * slot)
            sdma.submit().wait()
            seen = out.read(np.uint32, count=4 * len(probes)).reshape(len(probes), 4)
        expected = np.array([np.arange(4) + index // 4 for index in probes], dtype=np.uint32)
        np.testing.assert_array_equal(seen, expected)
    finally:
        for registration in registrations:
            registration.free()
    assert all(buffer.domain != "host" for buffer in device.live_buffers)
