"""Benchmark: simulated SDMA copy throughput and the host cost of building and submitting packets.

Run: python benchmarks/submission.py [--machine mi300x] [--repeat 5]

1. Simulated SDMA copy of 64 MiB (VRAM to VRAM) against numpy copying the same bytes.
   Target: the simulator reaches at least half of numpy's throughput.
2. Host time to build and submit a copy + semaphore signal with the queue API, against writing the
   same packet dwords into the ring memory and ringing the doorbell by hand.
   Target: the API costs at most 3x the hand-written path.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_of  # benchmarks/timing.py: the script's own folder is on sys.path

from pytest_amdgpu import driver

COPY_BYTES = 64 << 20


def copy_throughput(device: driver.Device, repeat: int) -> tuple[float, float]:
    with (
        device.alloc(COPY_BYTES, "vram") as src,
        device.alloc(COPY_BYTES, "vram") as dst,
        device.sdma_queue() as queue,
    ):
        src.view(np.uint8)[:] = np.random.default_rng(0).integers(0, 256, COPY_BYTES, dtype=np.uint8)
        queue.copy(dst, src, COPY_BYTES).submit().wait()  # first touch of the destination pages

        def simulated() -> None:
            queue.copy(dst, src, COPY_BYTES).submit().wait()

        host_src = np.random.default_rng(1).integers(0, 256, COPY_BYTES, dtype=np.uint8)
        host_dst = np.empty_like(host_src)
        np.copyto(host_dst, host_src)

        def numpy_copy() -> None:
            np.copyto(host_dst, host_src)

        sim_s = best_of(repeat, simulated)
        numpy_s = best_of(repeat, numpy_copy)
        assert np.array_equal(dst.view(np.uint8), src.view(np.uint8))
    return COPY_BYTES / sim_s / 1e9, COPY_BYTES / numpy_s / 1e9


def submit_cost(device: driver.Device, repeat: int, count: int = 2000) -> tuple[float, float]:
    """Seconds per copy+signal submission: through the queue API, and as the same dwords written by hand.

    The queue is paused so the engine does not run: only host work is measured. After every submission
    the read pointer is moved up to the write pointer, as an engine that keeps up would, in both paths.
    """
    with (
        device.alloc(4096, "gtt") as src,
        device.alloc(4096, "gtt") as dst,
        device.timeline_semaphore() as sem,
        device.sdma_queue(ring_bytes=1 << 20) as queue,
    ):
        queue.pause()
        pointers = queue.pointers.cpu
        values = iter(range(1, 10**9))

        def through_api() -> None:
            for _ in range(count):
                queue.copy(dst, src, 256).signal(sem, next(values)).submit()
                pointers.store_u64(0, queue.ring.write_units)

        words = np.asarray(
            queue.copy(dst, src, 256).signal(sem, 1).pending_dwords + queue._fence_packets(1), dtype=np.uint32
        )
        queue._pending = []
        ring = queue.ring_buffer.view(np.uint32)
        doorbell = queue.ring.doorbells
        doorbell_offset = queue.ring.doorbell_offset

        def by_hand() -> None:
            position = 0
            for _ in range(count):
                if position + words.size > ring.size:
                    position = 0
                ring[position : position + words.size] = words
                position += words.size
                pointers.store_u64(8, position * 4)
                doorbell.store_u64(doorbell_offset, position * 4)
                pointers.store_u64(0, position * 4)

        api_s = best_of(repeat, through_api) / count
        hand_s = best_of(repeat, by_hand) / count
        queue.ring.write_units = queue.ring.read_units
    return api_s, hand_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default="mi300x")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with driver.open_devices(backend="sim", machine=options.machine) as devices:
        device = devices[0]
        sim_gbs, numpy_gbs = copy_throughput(device, options.repeat)
        ratio = sim_gbs / numpy_gbs
        print(
            f"SDMA copy of 64 MiB on {device.gfx}: simulator {sim_gbs:.2f} GB/s, numpy {numpy_gbs:.2f} GB/s, "
            f"ratio {ratio:.2f} (target >= 0.5): {'PASS' if ratio >= 0.5 else 'FAIL'}"
        )
        api_s, hand_s = submit_cost(device, options.repeat)
        factor = api_s / hand_s
        print(
            f"copy+signal submission: API {api_s * 1e6:.1f} us, by hand {hand_s * 1e6:.1f} us, "
            f"factor {factor:.2f} (target <= 3): {'PASS' if factor <= 3 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
