"""Queues end to end on simulated machines of each SDMA generation: packets the engines execute for real."""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.errors import ConfigurationError, GpuFaultError, GpuTimeoutError, QueueTimeoutError
from pytest_amdgpu.packets import pm4, sdma

# One machine per SDMA generation: 4.4 (CDNA3), 5.2 (RDNA2), 6.0 (RDNA3), 7.0 (RDNA4).
MACHINES = {"mi300x": 4, "rx6900xt": 5, "rx7900xtx": 6, "rx9070xt": 7}


@pytest.fixture(params=sorted(MACHINES))
def device(request: pytest.FixtureRequest) -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine=request.param) as devices:
        yield devices[0]
        assert devices.transport.kernel.queue_errors == [] or request.node.get_closest_marker("queue_errors")


def test_machines_cover_every_sdma_generation(device: Device) -> None:
    assert device.target.sdma_generation == MACHINES[device.transport.machine.name]


@pytest.mark.parametrize(
    ("nbytes", "dst_offset", "src_offset"),
    [(1, 0, 0), (3, 1, 2), (4, 4, 0), (17, 3, 5), (4096, 0, 0), (65537, 7, 1), (1 << 20, 0, 4)],
)
def test_sdma_copies_match_numpy(device: Device, nbytes: int, dst_offset: int, src_offset: int) -> None:
    rng = np.random.default_rng(nbytes)
    source = rng.integers(0, 256, nbytes + src_offset, dtype=np.uint8)
    with device.alloc(source.size, "vram") as src, device.alloc(nbytes + dst_offset + 8, "gtt") as dst:
        src.write(source)
        dst.fill(0xAA)
        with device.sdma_queue() as queue:
            queue.copy(dst, src, nbytes, dst_offset=dst_offset, src_offset=src_offset).submit().wait()
        expected = np.full(dst.size, 0xAA, dtype=np.uint8)
        expected[dst_offset : dst_offset + nbytes] = source[src_offset:]
        np.testing.assert_array_equal(dst.read(), expected)


def test_a_copy_beyond_one_packet_is_split(device: Device) -> None:
    limit = sdma.limits(device.target).copy_chunk_bytes
    if limit > 64 << 20 and device.transport.machine.name != "rx7900xtx":
        pytest.skip(
            f"SDMA {device.target.sdma_generation} packets copy up to {limit} bytes; rx7900xtx covers that"
        )
    nbytes = limit + 8192 if limit > 64 << 20 else 2 * limit + 12344  # dword multiples: whole packets only
    with device.alloc(nbytes, "vram") as src, device.alloc(nbytes, "vram") as dst, device.sdma_queue() as q:
        view = src.view(np.uint8)
        edges = np.random.default_rng(1).integers(0, 256, 3 << 20, dtype=np.uint8)
        view[: 1 << 20] = edges[: 1 << 20]
        view[limit - (1 << 20) : limit + (1 << 20)] = edges[1 << 20 :][
            : min(2 << 20, nbytes - limit + (1 << 20))
        ]
        q.copy(dst, src, nbytes)
        assert len(sdma.decode_stream(q.pending_dwords, device.target)) == -(-nbytes // limit)
        q.submit().wait()
        assert np.array_equal(dst.view(np.uint8), view)


@pytest.mark.parametrize(("nbytes", "offset"), [(1, 0), (1, 3), (6, 1), (4, 4), (29, 2), (100003, 3)])
def test_sdma_fills_match_numpy(device: Device, nbytes: int, offset: int) -> None:
    value = 0x1234_5678
    with device.alloc(nbytes + offset + 16, "gtt") as buffer, device.sdma_queue() as queue:
        buffer.fill(0)
        queue.fill(buffer, value, nbytes, offset=offset).submit().wait()
        pattern = np.resize(np.array([value], dtype=np.uint32).view(np.uint8), buffer.size)
        expected = np.zeros(buffer.size, dtype=np.uint8)
        expected[offset : offset + nbytes] = pattern[offset : offset + nbytes]
        np.testing.assert_array_equal(buffer.read(), expected)


@pytest.mark.parametrize("kind", ["compute", "sdma"])
def test_rings_wrap_around(device: Device, kind: str) -> None:
    make = device.compute_queue if kind == "compute" else device.sdma_queue
    with device.alloc(4096, "gtt") as buffer, make(ring_bytes=4096) as queue:
        for index in range(300):  # about 30 times round a 4 KiB ring
            queue.write(buffer, [index, index * 3], offset=8 * (index % 512)).submit()
        queue.wait_idle()
        assert queue.ring.write_bytes > 5 * 4096
        values = buffer.read(np.uint32).reshape(-1, 2)
        np.testing.assert_array_equal(values[:300, 0], np.arange(300))
        np.testing.assert_array_equal(values[:300, 1], np.arange(300) * 3)


def test_a_thousand_back_to_back_submissions(device: Device) -> None:
    with device.alloc(8, "gtt") as counter, device.compute_queue() as queue:
        completions = [queue.write(counter, [n]).submit() for n in range(1, 1001)]
        completions[-1].wait()
        assert all(c.done for c in completions)
        assert counter.read(np.uint32, 1)[0] == 1000


def test_cross_queue_semaphore_chain_sdma_compute_sdma(device: Device) -> None:
    data = np.arange(4096, dtype=np.uint32)
    with (
        device.alloc(data.nbytes, "vram") as a,
        device.alloc(data.nbytes, "vram") as b,
        device.alloc(data.nbytes, "gtt") as c,
        device.timeline_semaphore() as sem,
        device.sdma_queue() as copy_in,
        device.compute_queue() as compute,
        device.sdma_queue() as copy_out,
    ):
        a.write(data)
        # Built in reverse so every later stage is queued before the stage it waits for exists.
        copy_out.wait(sem, 2).copy(c, b, data.nbytes).signal(sem, 3).submit()
        compute.wait(sem, 1).write(b, [0xFFFF_FFFF], offset=0).signal(sem, 2).submit()
        assert sem.value == 0 and not c.read(np.uint32).any()
        copy_in.wait(sem, 0).copy(b, a, data.nbytes).signal(sem, 1).submit()
        sem.wait(3, timeout=5.0)
        expected = data.copy()
        expected[0] = 0xFFFF_FFFF
        np.testing.assert_array_equal(c.read(np.uint32), expected)


@pytest.mark.parametrize("kind", ["compute", "sdma"])
def test_semaphores_cross_two_to_the_32(device: Device, kind: str) -> None:
    start = (1 << 32) - 2
    make = device.compute_queue if kind == "compute" else device.sdma_queue
    with (
        device.timeline_semaphore(start) as sem,
        make() as signaller,
        device.alloc(8, "gtt") as marker,
        device.sdma_queue() as waiter,
    ):
        waiter.wait(sem, 1 << 32).write(marker, [1]).submit()
        for value in range(start + 1, start + 4):
            signaller.signal(sem, value).submit().wait()
            assert sem.value == value
            assert marker.read(np.uint32, 1)[0] == (1 if value >= 1 << 32 else 0)
        sem.wait((1 << 32) + 1, timeout=1.0)


def test_the_low_half_alone_never_releases_a_waiter_early(device: Device) -> None:
    """A waiter for 2^32 + 5 must not pass when the value is 5 (the low halves agree, the high do not)."""
    with device.timeline_semaphore(5) as sem, device.alloc(8, "gtt") as marker, device.sdma_queue() as waiter:
        waiter.wait(sem, (1 << 32) + 5).write(marker, [1]).submit()
        assert marker.read(np.uint32, 1)[0] == 0
        sem.signal(1 << 32)
        assert marker.read(np.uint32, 1)[0] == 0
        sem.signal((1 << 32) + 5)
        waiter.wait_idle()
        assert marker.read(np.uint32, 1)[0] == 1


def test_cpu_waits_are_woken_by_gpu_interrupts(device: Device) -> None:
    with device.timeline_semaphore() as sem, device.compute_queue() as queue:
        queue.signal(sem, 7).submit()
        sem.wait(7, timeout=1.0)
        kernel = device.transport.kernel
        assert (sem.event.event_id, 32) in kernel.process.events.interrupts_seen


def test_an_interrupt_naming_the_wrong_event_does_not_wake(device: Device) -> None:
    events = device.process.events
    target = events.create("signal", device=device)
    bystander = events.create("signal", device=device)
    with device.compute_queue() as queue:
        dialect = pm4.dialect(device.target)
        wrong = pm4.build(
            dialect,
            "RELEASE_MEM",
            event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
            event_index=5,
            data_sel=pm4.EOP_DATA_SEL_VALUE_32BIT,
            addr=bystander.mailbox_va + 0,
            data=0,
            int_sel=pm4.EOP_INT_SEL_SEND_INT_ON_CONFIRM,
            int_ctxid=bystander.event_id,
        )
        # The packet interrupts with the bystander's id but writes nobody's mailbox but... its own slot
        # address with the value 0: the kernel sees a pending mailbox only for the bystander.
        queue.emit(wrong).submit().wait()
        assert not target.wait(0)
        assert bystander.wait(0)
        named_target_no_mailbox = pm4.build(
            dialect,
            "RELEASE_MEM",
            event_type=pm4.CACHE_FLUSH_AND_INV_TS_EVENT,
            event_index=5,
            data_sel=pm4.EOP_DATA_SEL_DISCARD,
            int_sel=pm4.EOP_INT_SEL_SEND_INT,
            int_ctxid=target.event_id,
        )
        queue.emit(named_target_no_mailbox).submit().wait()
        assert not target.wait(0)
    target.destroy()
    bystander.destroy()


def test_a_copy_to_an_unmapped_address_is_a_memory_fault(device: Device) -> None:
    bad = 0x7000_0DEA_D000
    with device.alloc(4096, "gtt") as src, device.sdma_queue() as queue:
        completion = queue.copy(bad, src, 256).submit()
        with pytest.raises(GpuFaultError, match=f"{bad:#x}"):
            completion.wait(timeout=1.0)
        assert device.fault_log[-1].va == bad and device.fault_log[-1].not_present
        kernel = device.transport.kernel
        assert kernel.queue_errors and "COPY_LINEAR" in kernel.queue_errors[-1][1]
        kernel.queue_errors.clear()
    with device.sdma_queue() as healthy, device.alloc(64, "gtt") as dst:
        healthy.fill(dst, 5, 64).submit().wait()  # the device keeps working
        assert (dst.read(np.uint32) == 5).all()


def test_a_write_to_a_read_only_buffer_faults(device: Device) -> None:
    with device.alloc(4096, "gtt", writable=False) as readonly, device.compute_queue() as queue:
        with pytest.raises(GpuFaultError, match="read-only"):
            queue.write(readonly, [1]).submit().wait(timeout=1.0)
        device.transport.kernel.queue_errors.clear()


def test_garbage_in_the_ring_stops_the_queue_with_a_decoded_report(device: Device) -> None:
    with device.compute_queue() as queue:
        completion = queue.emit([0xC0FF_EE00, 1, 2, 3]).submit()
        with pytest.raises(QueueTimeoutError) as failure:
            completion.wait(timeout=1.0)
        report = str(failure.value)
        assert "stopped" in report and "unknown PM4 opcode 0xee" in report
        device.transport.kernel.queue_errors.clear()


def test_pause_holds_work_and_resume_runs_it(device: Device) -> None:
    with device.alloc(8, "gtt") as target, device.sdma_queue() as queue:
        queue.pause()
        completion = queue.write(target, [42]).submit()
        assert target.read(np.uint32, 1)[0] == 0
        with pytest.raises(GpuTimeoutError, match="paused"):
            completion.wait(timeout=0.5)
        queue.resume()
        completion.wait()
        assert target.read(np.uint32, 1)[0] == 42


def test_a_queue_priority_is_updated_and_a_bad_one_refused(device: Device) -> None:
    with device.alloc(4, "gtt") as target, device.compute_queue(priority=7) as queue:
        queue.set_priority(15)
        assert queue.priority == 15
        with pytest.raises(ConfigurationError, match=r"priority 16 is outside 0\.\.15"):
            queue.set_priority(16)
        assert queue.priority == 15  # unchanged by the refusal
        queue.write(target, [9]).submit().wait()
        assert target.read(np.uint32, 1)[0] == 9


def test_timestamps_are_monotonic_and_deterministic(device: Device) -> None:
    with device.alloc(8 * 6, "gtt") as stamps, device.sdma_queue() as copy, device.compute_queue() as compute:
        for index, queue in zip(range(6), itertools.cycle([copy, compute]), strict=False):
            queue.timestamp(stamps, 8 * index).submit().wait()
        values = stamps.read(np.uint64)
        assert (np.diff(values.astype(np.int64)) > 0).all()


def test_close_releases_every_queue_and_buffer() -> None:
    devices = driver.open_devices(backend="sim", machine="rx7900xtx")
    device = devices[0]
    device.compute_queue().submit()
    device.sdma_queue()
    device.timeline_semaphore()
    kernel = devices.transport.kernel
    assert len(kernel.process.queues) == 2
    devices.close()
    assert kernel.process is None and kernel.files == {}


def test_queue_misuse_is_refused_with_the_reason(device: Device) -> None:
    with pytest.raises(ConfigurationError, match="power of two"):
        device.compute_queue(ring_bytes=5000)
    with pytest.raises(ConfigurationError, match="priority 16"):
        device.sdma_queue(priority=16)
    with device.sdma_queue() as queue, device.alloc(16, "gtt") as small:
        with pytest.raises(ConfigurationError, match="does not fit"):
            queue.copy(small, small, 32)
        with pytest.raises(ConfigurationError, match="dword-aligned"):
            queue.write(small, [1], offset=2)
    assert device.live_queues == []


def test_raw_argument_struct_is_what_the_kernel_read(device: Device) -> None:
    with device.compute_queue() as queue:
        queue_record = device.transport.kernel.process.queues[queue.queue_id]
        assert queue_record.ring_va == queue.ring_buffer.gpu_addr
        assert queue_record.wptr_va == queue.pointers.gpu_addr + 8
        assert ctypes.sizeof(ctypes.c_uint64) == 8


def test_a_full_ring_waits_for_the_engine_then_says_why(device: Device) -> None:
    with device.alloc(8, "gtt") as target, device.sdma_queue(ring_bytes=4096) as queue:
        queue.pause()
        with pytest.raises(QueueTimeoutError, match=r"did not free \d+ bytes of ring"):
            for _ in range(1000):
                queue.write(target, [1]).submit(timeout=0.2)
        queue.resume()
        queue.wait_idle()


def test_xgmi_sdma_queues_use_the_xgmi_engines() -> None:
    with driver.open_devices(backend="sim", machine="mi300x") as devices:
        device = devices[0]
        pcie_engines = device.properties["num_sdma_engines"]
        with device.sdma_queue(xgmi=True) as queue, device.alloc(64, "gtt") as target:
            record = device.transport.kernel.process.queues[queue.queue_id]
            assert record.kind == "sdma_xgmi" and record.sdma_engine >= pcie_engines
            queue.fill(target, 9, 64).submit().wait()
            assert (target.read(np.uint32) == 9).all()


def test_every_device_arms_memory_and_hw_exception_events() -> None:
    with driver.open_devices(backend="sim", machine="rx9070xt") as devices:
        kinds = sorted(e.event_type for e in devices.transport.kernel.process.events.events.values())
        assert kinds == [3, 8]  # KFD_IOC_EVENT_HW_EXCEPTION, KFD_IOC_EVENT_MEMORY


@pytest.mark.parametrize(("awaited", "reached"), [((1 << 32) - 1, 1 << 32), ((1 << 32) + 5, 1 << 33)])
def test_an_sdma_wait_passes_when_the_value_jumps_past_it(device: Device, awaited: int, reached: int) -> None:
    """The value jumps into a higher high half with a smaller low half: a 32-bit poll pair would stick."""
    with device.timeline_semaphore() as sem, device.alloc(8, "gtt") as marker, device.sdma_queue() as waiter:
        waiter.wait(sem, awaited).write(marker, [1]).submit()
        sem.signal(awaited - 1)
        assert marker.read(np.uint32, 1)[0] == 0
        sem.signal(reached)
        waiter.wait_idle()
        assert marker.read(np.uint32, 1)[0] == 1
