"""SDMA conformance: copies and fills of any size, alignment and domain match numpy; engines run together."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pytest_amdgpu.driver import Buffer, Device, DeviceSet
from pytest_amdgpu.driver.queues import SdmaQueue

DOMAINS = ("vram", "gtt", "host")
# (bytes, destination offset, source offset): single bytes, dword edges, page edges, odd megabytes.
COPY_CASES = (
    (1, 0, 0),
    (3, 1, 2),
    (4, 0, 0),
    (7, 3, 1),
    (64, 4, 12),
    (4095, 1, 0),
    (4096, 0, 0),
    (4097, 2, 4095),
    (65537, 7, 1),
    ((1 << 20) + 3, 2, 5),
)
# (bytes, offset, 32-bit pattern): every start and end alignment, patterns with every byte distinct.
FILL_CASES = (
    (1, 0, 0x1234_5678),
    (1, 3, 0x1234_5678),
    (2, 1, 0xA1B2_C3D4),
    (3, 1, 0xFFFF_FFFF),
    (4, 0, 0x8000_0001),
    (5, 3, 0x0102_0304),
    (29, 2, 0xDEAD_BEEF),
    (4096, 0, 0),
    (100_003, 3, 0x7F80_01FE),
    ((1 << 20) + 1, 1, 0xC001_D00D),
)
GUARD = 0xA5  # what the bytes around a copy or fill must still hold afterwards


def assert_same_bytes(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Compare large arrays quickly; on a difference, name the first differing index and both values."""
    if actual.shape == expected.shape and np.array_equal(actual, expected):
        return
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    first = int(np.flatnonzero(actual != expected)[0])
    count = int(np.count_nonzero(actual != expected))
    raise AssertionError(
        f"{what}: {count} items differ, the first at index {first}: "
        f"{actual[first]:#x}, expected {expected[first]:#x}"
    )


def expected_fill(size: int, offset: int, nbytes: int, value: int) -> np.ndarray:
    """GUARD bytes, and `value` where memset32 puts it: byte (offset + i) % 4 of the pattern at offset + i."""
    pattern = np.tile(np.array([value], dtype=np.uint32), size // 4 + 1).view(np.uint8)
    expected = np.full(size, GUARD, dtype=np.uint8)
    expected[offset : offset + nbytes] = pattern[offset : offset + nbytes]
    return expected


@pytest.mark.parametrize(("src_domain", "dst_domain"), list(itertools.product(DOMAINS, DOMAINS)))
def test_copies_match_numpy_between_every_pair_of_domains(
    gpu_buffer, sdma_queue: SdmaQueue, src_domain: str, dst_domain: str
) -> None:
    largest = max(nbytes + max(dst, src) for nbytes, dst, src in COPY_CASES)
    src = gpu_buffer(largest, src_domain)
    dst = gpu_buffer(largest, dst_domain)
    source = np.random.default_rng(7).integers(0, 256, largest, dtype=np.uint8)
    src.write(source)
    for nbytes, dst_offset, src_offset in COPY_CASES:
        dst.fill(GUARD)
        sdma_queue.copy(dst, src, nbytes, dst_offset=dst_offset, src_offset=src_offset).submit().wait()
        expected = np.full(largest, GUARD, dtype=np.uint8)
        expected[dst_offset : dst_offset + nbytes] = source[src_offset : src_offset + nbytes]
        assert_same_bytes(dst.view(), expected, f"copy of {nbytes} bytes, dst+{dst_offset} src+{src_offset}")


def test_every_gpu_copies_with_its_own_sdma_engine(amdgpu_device: Device, gpu_buffer, sdma_queue) -> None:
    data = np.arange(4099, dtype=np.uint8)
    src, middle, dst = (gpu_buffer(data.size, domain) for domain in ("gtt", "vram", "gtt"))
    src.write(data)
    sdma_queue.copy(middle, src, data.size).copy(dst, middle, data.size).submit().wait()
    np.testing.assert_array_equal(dst.read(), data)


@pytest.mark.amdgpu(min_vram="256 MiB")
def test_a_copy_of_tens_of_megabytes_is_exact(gpu_buffer, sdma_queue: SdmaQueue) -> None:
    """Large copies span many packets (and on SDMA 4 many 4 MiB chunks): every byte must arrive."""
    nbytes = (40 << 20) + 13
    src, mid, dst = gpu_buffer(nbytes + 3, "vram"), gpu_buffer(nbytes + 1, "vram"), gpu_buffer(nbytes, "gtt")
    source = np.random.default_rng(40).integers(0, 1 << 32, (nbytes + 3) // 4 + 1, dtype=np.uint32)
    src.view()[:] = source.view(np.uint8)[: src.size]
    sdma_queue.copy(mid, src, nbytes, dst_offset=1, src_offset=3).copy(dst, mid, nbytes, src_offset=1)
    sdma_queue.submit().wait()
    assert_same_bytes(dst.view(), src.view()[3 : 3 + nbytes], f"copy of {nbytes} bytes through VRAM")


@pytest.mark.parametrize("domain", DOMAINS)
def test_fills_match_numpy_in_every_domain(gpu_buffer, sdma_queue: SdmaQueue, domain: str) -> None:
    largest = max(nbytes + offset for nbytes, offset, _ in FILL_CASES) + 8
    target = gpu_buffer(largest, domain)
    for nbytes, offset, value in FILL_CASES:
        target.fill(GUARD)
        sdma_queue.fill(target, value, nbytes, offset=offset).submit().wait()
        assert_same_bytes(
            target.view(),
            expected_fill(largest, offset, nbytes, value),
            f"fill of {nbytes} bytes of {value:#010x} at offset {offset}",
        )


def test_copies_and_fills_in_one_submission_run_in_order(gpu_buffer, sdma_queue: SdmaQueue) -> None:
    """Later packets see what earlier ones wrote: fill, copy the fill, overwrite part, copy again."""
    first, second = gpu_buffer(8192, "vram"), gpu_buffer(8192, "gtt")
    first.fill(0)
    second.fill(0)
    sdma_queue.fill(first, 0x1111_1111, 8192).copy(second, first, 8192)
    sdma_queue.fill(first, 0x2222_2222, 100, offset=50).copy(second, first, 4096, dst_offset=4096)
    sdma_queue.submit().wait()
    expected = np.full(8192, 0x11, dtype=np.uint8)
    expected[4096 + 50 : 4096 + 150] = 0x22
    np.testing.assert_array_equal(second.view(), expected)


def test_back_to_back_copies_while_the_cpu_keeps_submitting(gpu_buffer, sdma_queue: SdmaQueue) -> None:
    """SdmaConcurrentCopies: hundreds of submissions racing the engine, then a write proves it still runs."""
    size = 64 << 10
    src, dst, flag = gpu_buffer(size, "gtt"), gpu_buffer(size, "vram"), gpu_buffer(4, "gtt")
    src.write(np.random.default_rng(64).integers(0, 256, size, dtype=np.uint8))
    for index in range(400):
        sdma_queue.copy(dst, src, size).submit()
        if index % 8 == 0:
            sdma_queue.wait_idle()
    sdma_queue.write(flag, [0x0202_0202]).submit().wait()
    assert flag.read(np.uint32, 1)[0] == 0x0202_0202
    assert_same_bytes(dst.view(), src.view(), "the last of 400 copies")


def test_every_sdma_engine_copies_at_the_same_time(amdgpu_devices: DeviceSet) -> None:
    """One queue per engine the topology lists (PCIe and XGMI), each copying its own buffer, all in flight."""
    device = amdgpu_devices[0]
    engines = device.properties["num_sdma_engines"] + device.properties.get("num_sdma_xgmi_engines", 0)
    size = 256 << 10
    queues: list[SdmaQueue] = []
    buffers: list[tuple[Buffer, Buffer]] = []
    try:
        for engine in range(engines):
            queues.append(device.sdma_queue(sdma_engine=engine))
            buffers.append((device.alloc(size, "vram"), device.alloc(size, "gtt")))
        for engine, (queue, (src, dst)) in enumerate(zip(queues, buffers, strict=True)):
            src.view(np.uint32)[:] = np.arange(size // 4, dtype=np.uint32) * (engine + 1)
            queue.copy(dst, src, size).submit()
        for queue in queues:
            queue.wait_idle()
        for engine, (src, dst) in enumerate(buffers):
            assert_same_bytes(dst.view(), src.view(), f"copy on SDMA engine {engine}")
    finally:
        for queue in queues:
            queue.destroy()
        for pair in buffers:
            for buffer in pair:
                buffer.free()


def test_timestamps_of_one_engine_only_grow(gpu_buffer, sdma_queue: SdmaQueue, compute_queue) -> None:
    """A timestamp after work is later than the one before it, on SDMA and on the compute engine."""
    stamps = gpu_buffer(8 * 16, "gtt")
    work_src, work_dst = gpu_buffer(1 << 20, "vram"), gpu_buffer(1 << 20, "vram")
    for index in range(8):
        sdma_queue.timestamp(stamps, 8 * index).copy(work_dst, work_src, 1 << 20)
    sdma_queue.submit().wait()
    for index in range(8, 16):
        compute_queue.timestamp(stamps, 8 * index).write(work_dst, np.arange(64, dtype=np.uint32))
        compute_queue.submit().wait()  # one submission each: later submissions never go back in time
    values = stamps.read(np.uint64).astype(np.int64)
    assert (values > 0).all(), values
    assert (np.diff(values[:8]) > 0).all(), f"SDMA timestamps went back or stood still: {values[:8]}"
    assert (np.diff(values[8:]) > 0).all(), f"compute timestamps went back or stood still: {values[8:]}"
