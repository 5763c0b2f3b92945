"""Benchmark: the simulated shader core against numpy on vector add and an LDS reduction.

Run: python benchmarks/dispatch.py [--machine mi300x] [--elements 16777216] [--repeat 3]

1. vector_add over N f32 values (default 16M) dispatched on the simulator, against numpy's a + b.
   Target: within 30x of numpy.
2. lds_reduce (per-workgroup sums through LDS and s_barrier) over the same N u32 values, against numpy
   summing the same blocks. Target: within 30x of numpy.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_of  # benchmarks/timing.py: the script's own folder is on sys.path

from pytest_amdgpu import driver

BLOCK = 256


def verdict(ratio: float) -> str:
    return "PASS" if ratio <= 30 else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default="mi300x")
    parser.add_argument("--elements", type=int, default=16 << 20)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    n = options.elements
    groups = -(-n // BLOCK)
    rng = np.random.default_rng(0)
    with driver.open_devices(backend="sim", machine=options.machine) as devices:
        device = devices[0]
        with (
            device.alloc(4 * n) as a,
            device.alloc(4 * n) as b,
            device.alloc(4 * n) as out,
            device.alloc(4 * groups) as sums,
            device.compute_queue() as queue,
        ):
            x = rng.standard_normal(n).astype(np.float32)
            y = rng.standard_normal(n).astype(np.float32)
            a.write(x)
            b.write(y)
            vector_add = device.bundled_program("vector_add")

            def simulated_add() -> None:
                queue.dispatch(vector_add, grid=groups, block=BLOCK, args=[a, b, out, np.uint32(n)])
                queue.submit().wait(timeout=600)

            sim_s = best_of(options.repeat, simulated_add)
            numpy_s = best_of(options.repeat, lambda: x + y)
            assert np.array_equal(out.read(np.float32), x + y)
            ratio = sim_s / numpy_s
            print(
                f"vector_add of {n} f32 on {device.gfx}: simulator {sim_s * 1e3:.1f} ms, "
                f"numpy {numpy_s * 1e3:.1f} ms, {ratio:.1f}x (target <= 30x): {verdict(ratio)}"
            )

            values = rng.integers(0, 2**32, n, dtype=np.uint32)
            a.write(values)
            lds_reduce = device.bundled_program("lds_reduce")

            def simulated_reduce() -> None:
                queue.dispatch(lds_reduce, grid=groups, block=BLOCK, args=[a, sums, np.uint32(n)])
                queue.submit().wait(timeout=600)

            padded = np.zeros(groups * BLOCK, dtype=np.uint32)
            padded[:n] = values

            def numpy_reduce() -> np.ndarray:
                return padded.reshape(groups, BLOCK).sum(axis=1, dtype=np.uint32)

            sim_s = best_of(options.repeat, simulated_reduce)
            numpy_s = best_of(options.repeat, numpy_reduce)
            assert np.array_equal(sums.read(np.uint32), numpy_reduce())
            ratio = sim_s / numpy_s
            print(
                f"lds_reduce of {n} u32 on {device.gfx}: simulator {sim_s * 1e3:.1f} ms, "
                f"numpy {numpy_s * 1e3:.1f} ms, {ratio:.1f}x (target <= 30x): {verdict(ratio)}"
            )


if __name__ == "__main__":
    main()
