"""Every bundled kernel dispatched on a simulated machine of each ISA generation, checked against numpy."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.errors import ConfigurationError, GpuFaultError, GpuTimeoutError
from pytest_amdgpu.program import KernargError, TargetMismatchError, UnknownKernelError

# gfx90a, gfx942 and gfx950 (gfx9), gfx1030 (gfx10), gfx1100 and gfx1151 (gfx11), gfx1201 (gfx12).
MACHINES = ["mi250x", "mi300x", "mi355x", "rx6900xt", "rx7900xtx", "strix-halo", "rx9070xt"]


@pytest.fixture(scope="module", params=MACHINES)
def device(request: pytest.FixtureRequest) -> Iterator[Device]:
    with driver.open_devices(backend="sim", machine=request.param) as devices:
        yield devices[0]


@pytest.fixture
def queue(device: Device) -> Iterator[driver.Device]:
    with device.compute_queue() as compute:
        yield compute


def run(queue, name: str, grid, block, args, lds_bytes: int = 0) -> None:
    program = queue.device.bundled_program(name)
    queue.dispatch(program, grid=grid, block=block, args=args, lds_bytes=lds_bytes).submit().wait(timeout=60)


def test_empty(queue) -> None:
    run(queue, "empty", grid=4, block=64, args=[])


@pytest.mark.parametrize("n", [1, 255, 1000])
def test_fill_covers_exactly_n_items(queue, n: int) -> None:
    with queue.device.alloc(4 * (n + 64), "gtt") as out:
        out.fill(0xEE)
        run(queue, "fill", grid=-(-n // 64), block=64, args=[out, np.uint32(0x1234_5678), np.uint32(n)])
        words = out.read(np.uint32)
        assert (words[:n] == 0x1234_5678).all()
        assert (words[n:] == 0xEEEE_EEEE).all()


def test_copy_dword(queue) -> None:
    n = 777
    data = np.arange(n, dtype=np.uint32) * 7
    with queue.device.alloc(4 * n, "vram") as src, queue.device.alloc(4 * n, "gtt") as dst:
        src.write(data)
        run(queue, "copy_dword", grid=4, block=256, args=[dst, src, np.uint32(n)])
        np.testing.assert_array_equal(dst.read(np.uint32), data)


@pytest.mark.parametrize("n", [256, 1000, 4097])
def test_vector_add_f32_and_i32(queue, n: int) -> None:
    rng = np.random.default_rng(n)
    device = queue.device
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    i, j = rng.integers(-(2**31), 2**31, n, dtype=np.int32), rng.integers(-(2**31), 2**31, n, dtype=np.int32)
    with device.alloc(4 * n) as a, device.alloc(4 * n) as b, device.alloc(4 * n, "gtt") as out:
        a.write(x)
        b.write(y)
        run(queue, "vector_add", grid=-(-n // 128), block=128, args=[a, b, out, np.uint32(n)])
        np.testing.assert_array_equal(out.read(np.float32), x + y)
        a.write(i)
        b.write(j)
        run(queue, "vector_add_i32", grid=-(-n // 128), block=128, args=[a, b, out, n])
        np.testing.assert_array_equal(out.read(np.int32), (i.astype(np.int64) + j).astype(np.int32))


def test_busy_loop(queue) -> None:
    with queue.device.alloc(4 * 8, "gtt") as out:
        run(queue, "busy_loop", grid=8, block=64, args=[out, np.uint32(300)])
        assert (out.read(np.uint32) == 300).all()


@pytest.mark.parametrize(("n", "block"), [(1024, 256), (1000, 64), (5, 8)])
def test_lds_reduce(queue, n: int, block: int) -> None:
    data = np.random.default_rng(n).integers(0, 2**32, n, dtype=np.uint32)
    groups = -(-n // block)
    with queue.device.alloc(4 * n) as src, queue.device.alloc(4 * groups, "gtt") as out:
        src.write(data)
        run(queue, "lds_reduce", grid=groups, block=block, args=[src, out, np.uint32(n)])
        expected = [
            int(data[g * block : (g + 1) * block].astype(np.uint64).sum() % 2**32) for g in range(groups)
        ]
        assert out.read(np.uint32).tolist() == expected


def test_atomic_add(queue) -> None:
    with queue.device.alloc(4, "gtt") as counter:
        counter.write(np.array([5], dtype=np.uint32))
        run(queue, "atomic_add", grid=10, block=100, args=[counter, np.uint32(999)])
        assert counter.read(np.uint32)[0] == 5 + 999


def test_scratch_user(queue) -> None:
    n = 300
    with queue.device.alloc(4 * n, "gtt") as out:
        run(queue, "scratch_user", grid=5, block=64, args=[out, np.uint32(n)])
        np.testing.assert_array_equal(
            out.read(np.uint32), (4 * np.arange(n, dtype=np.uint64) + 6).astype(np.uint32)
        )


@pytest.mark.parametrize(
    ("grid", "block"), [((3, 1, 1), (5, 1, 1)), ((2, 3, 2), (4, 2, 3)), ((1, 2, 1), (7, 1, 1))]
)
def test_store_ids_in_one_two_and_three_dimensions(queue, grid, block) -> None:
    gx, gy, gz = grid
    bx, by, bz = block
    count = gx * gy * gz * bx * by * bz
    with queue.device.alloc(32 * count, "gtt") as out:
        run(queue, "store_ids", grid=grid, block=block, args=[out])
        records = out.read(np.uint32).reshape(-1, 8)
    expected = []
    for wz in range(gz):
        for wy in range(gy):
            for wx in range(gx):
                for tz in range(bz):
                    for ty in range(by):
                        for tx in range(bx):
                            flat_wg = wx + gx * (wy + gy * wz)
                            flat_local = tx + bx * (ty + by * tz)
                            expected.append(
                                (
                                    flat_wg * bx * by * bz + flat_local,
                                    [wx, wy, wz, tx, ty, tz, flat_wg, flat_local],
                                )
                            )
    for index, record in expected:
        assert records[index].tolist() == record


def test_mixed_args_need_alignment_padding(queue) -> None:
    with queue.device.alloc(32, "gtt") as out:
        run(queue, "mixed_args", grid=1, block=1, args=[np.uint8(0xAB), out, np.uint16(0xBEEF), 2.5])
        words = out.read(np.uint64)
    assert words[0] == 0xAB and words[1] == 0xBEEF
    assert words[2] == struct.unpack("<Q", struct.pack("<d", 2.5))[0]
    assert words[3] == 0xAB | 0xBEEF << 32  # the padding bytes are zero


def test_a_kernel_for_another_target_is_refused(queue) -> None:
    device = queue.device
    other = "gfx1100" if device.gfx != "gfx1100" else "gfx942"
    from pytest_amdgpu.kernels import code_object_path

    with pytest.raises(TargetMismatchError, match=f"{other}.*{device.gfx}|{device.gfx}.*{other}"):
        device.load_program(code_object_path(other), "empty")


def test_misuse_is_refused_with_names(queue) -> None:
    device = queue.device
    with pytest.raises(UnknownKernelError, match="vector_add"):
        device.bundled_program("vector_sub")
    program = device.bundled_program("vector_add")
    with device.alloc(64) as buffer:
        with pytest.raises(KernargError):
            queue.dispatch(program, grid=1, block=64, args=[buffer, buffer])
        with pytest.raises(KernargError):
            queue.dispatch(program, grid=1, block=64, args=[buffer, buffer, buffer, "sixteen"])
    with pytest.raises(ConfigurationError, match="at most 1024"):
        queue.dispatch(program, grid=1, block=(64, 32, 1), args=[])
    lds = device.bundled_program("lds_reduce")
    limit = device.properties["lds_size_in_kb"] * 1024
    with pytest.raises(ConfigurationError, match=f"at most {limit}"):
        queue.dispatch(lds, grid=1, block=64, args=[0, 0, 0], lds_bytes=limit)
    assert queue.pending_dwords == []


def test_a_store_to_an_unmapped_address_faults(queue) -> None:
    program = queue.device.bundled_program("fill")
    completion = queue.dispatch(
        program, grid=1, block=64, args=[0x7000_0BAD_0000, np.uint32(1), np.uint32(64)]
    ).submit()
    with pytest.raises(GpuFaultError, match="0x70000bad0000") as fault:
        completion.wait(timeout=10)
    queue.device.transport.kernel.queue_errors.clear()
    reports = [line for line in queue.device.transport.stall_report() or [] if "stopped" in line]
    assert reports and all("while executing DISPATCH_DIRECT" in line for line in reports), (
        reports,
        fault.value,
    )


def test_the_kernel_reads_the_arguments_the_user_sgprs_point_to(device: Device) -> None:
    """Repoint the kernarg-pointer user SGPRs at other arguments: the kernel follows them, as on hardware."""
    from pytest_amdgpu.packets import pm4
    from pytest_amdgpu.program import Dispatch, pack_kernargs

    program = device.bundled_program("fill")
    with (
        device.compute_queue() as compute,
        device.alloc(256, "gtt") as out,
        device.alloc(4096, "gtt") as decoy,
    ):
        out.fill(0)
        decoy.write(
            pack_kernargs(program.kernel, [out, np.uint32(9), np.uint32(64)], Dispatch(grid=1, block=64))
        )
        compute.dispatch(program, grid=1, block=64, args=[out, np.uint32(7), np.uint32(64)])
        words = compute.pending_dwords
        user_data = [p for p in pm4.decode_stream(words, compute.dialect) if p.name == "SET_SH_REG"][-1]
        assert user_data.fields["values"][:2] != (decoy.gpu_addr & 0xFFFF_FFFF, decoy.gpu_addr >> 32)
        words[user_data.offset + 2 : user_data.offset + 4] = [
            decoy.gpu_addr & 0xFFFF_FFFF,
            decoy.gpu_addr >> 32,
        ]
        compute._pending = words
        compute.submit().wait(timeout=10)
        assert (out.read(np.uint32)[:64] == 9).all()


def test_gws_semaphores_work_while_a_queue_of_the_process_holds_gws(device: Device) -> None:
    """GWS belongs to the process while its GWS queue is mapped: a dispatch on another queue of the process
    uses it too; before ALLOC_QUEUE_GWS and after the GWS is given back, GWS instructions stop the queue."""
    if not device.node.properties.get("num_gws"):
        with pytest.raises(UnknownKernelError, match="gws_init"):
            device.bundled_program("gws_init")
        return
    init, increment = device.bundled_program("gws_init"), device.bundled_program("gws_increment")
    wave = increment.kernel.descriptor.wavefront_size
    with device.alloc(4, "gtt") as counter:
        counter.write(np.array([0], dtype=np.uint32))
        with device.compute_queue() as worker:
            refused = worker.dispatch(init, grid=1, block=wave, args=[np.uint32(1), np.uint32(0)]).submit()
            with pytest.raises(GpuTimeoutError, match=r"no GWS on this GPU .*ALLOC_QUEUE_GWS"):
                refused.wait(timeout=10)
        with device.compute_queue() as holder, device.compute_queue() as worker:
            holder.allocate_gws()
            worker.dispatch(init, grid=1, block=wave, args=[np.uint32(1), np.uint32(9)])
            worker.dispatch(increment, grid=50, block=wave, args=[counter, np.uint32(9)]).submit().wait(
                timeout=30
            )
            assert counter.read(np.uint32)[0] == 50
            holder.release_gws()
            refused = worker.dispatch(increment, grid=1, block=wave, args=[counter, np.uint32(9)]).submit()
            with pytest.raises(GpuTimeoutError, match="no GWS on this GPU"):
                refused.wait(timeout=10)
    device.transport.kernel.queue_errors.clear()


def test_a_dispatch_that_never_ends_keeps_the_gpu_busy_until_the_wait_gives_up() -> None:
    """A persistent kernel nobody stops is a hang a waiter finds by its timeout (the GPU stays busy, so the
    simulator cannot call it stuck early); paused, its queue is reported as holding work it cannot run."""
    with driver.open_devices(backend="sim", machine="rx7900xtx") as devices:
        device = devices[0]
        with (
            device.compute_queue() as queue,
            device.alloc(4, "gtt") as flag,
            device.alloc(4 * 64, "gtt") as out,
        ):
            flag.write(np.array([0], dtype=np.uint32))
            program = device.bundled_program("poll_until")
            running = queue.dispatch(program, grid=2, block=32, args=[flag, np.uint32(1), out]).submit()
            assert device.transport.stall_report() is None  # busy, not stalled
            with pytest.raises(GpuTimeoutError, match=r"not complete within 0.3 s"):
                running.wait(timeout=0.3)
            queue.pause()
            assert any("paused with work pending" in line for line in device.transport.stall_report())
            queue.resume()
            flag.write(np.array([1], dtype=np.uint32))
            running.wait(timeout=10)
            assert out.read(np.uint32).tolist() == [3 * i + 1 for i in range(64)]


def test_dispatches_overlap_what_follows_them_until_a_partial_flush() -> None:
    """The CP does not wait for a dispatch before the next packet: a dependent dispatch issued without
    CS_PARTIAL_FLUSH (wait_for_dispatches) may run first, and in the simulator it does; with the flush it
    sees the work before it. A polling dispatch may wait for an earlier one in the same submission."""
    with driver.open_devices(backend="sim", machine="mi300x") as devices:
        device = devices[0]
        fill, copy, poll = (device.bundled_program(name) for name in ("fill", "copy_dword", "poll_until"))
        n = 256
        with (
            device.compute_queue() as queue,
            device.alloc(4 * n, "gtt") as a,
            device.alloc(4 * n, "gtt") as b,
        ):
            with device.alloc(8, "gtt") as stamp:
                for between, expected in (("nothing", 0), ("a timestamp", 0), ("a partial flush", 7)):
                    a.write(np.zeros(n, dtype=np.uint32))
                    b.write(np.zeros(n, dtype=np.uint32))
                    queue.dispatch(fill, grid=1, block=n, args=[a, np.uint32(7), np.uint32(n)])
                    if (
                        between == "a timestamp"
                    ):  # RELEASE_MEM is end of pipe, but the CP does not wait for it
                        queue.timestamp(stamp)
                    elif between == "a partial flush":
                        queue.wait_for_dispatches()
                    queue.dispatch(copy, grid=1, block=n, args=[b, a, np.uint32(n)]).submit().wait()
                    assert (a.read(np.uint32) == 7).all()  # the fence came after both
                    assert (b.read(np.uint32) == expected).all(), f"with {between} between"
            # a consumer polling for what an earlier dispatch of the same submission writes still ends
            with device.alloc(4, "gtt") as flag, device.alloc(4 * 64, "gtt") as out:
                flag.write(np.array([0], dtype=np.uint32))
                queue.dispatch(fill, grid=1, block=1, args=[flag, np.uint32(5), np.uint32(1)])
                queue.dispatch(poll, grid=1, block=64, args=[flag, np.uint32(5), out]).submit().wait(
                    timeout=10
                )
                assert out.read(np.uint32).tolist() == [3 * i + 1 for i in range(64)]
