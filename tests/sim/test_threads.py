"""The simulated kernel serialises threads as a kernel does: concurrent allocations never share a handle."""

from __future__ import annotations

import sys
import threading

import numpy as np

from pytest_amdgpu import driver


def test_threads_allocating_and_freeing_at_once_keep_every_buffer_apart() -> None:
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # make the threads interleave as often as possible
    errors: list[BaseException] = []
    try:
        with driver.open_devices(backend="sim", machine="rx7900xtx") as devices:
            device = devices[0]

            def work(seed: int) -> None:
                try:
                    for round_ in range(20):
                        buffers = [device.alloc(4096, domain) for domain in ("vram", "gtt", "host")]
                        for index, buffer in enumerate(buffers):
                            buffer.write(np.full(1024, seed * 100 + round_ * 3 + index, dtype=np.uint32))
                        for index, buffer in enumerate(buffers):
                            assert (buffer.read(np.uint32) == seed * 100 + round_ * 3 + index).all()
                            buffer.free()
                except BaseException as exc:  # reported below, with the thread's failure
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert device.transport.kernel.live_objects() == []
    finally:
        sys.setswitchinterval(switch)
    assert errors == []


def test_a_cpu_signal_from_another_thread_wakes_a_sleeping_wait() -> None:
    with driver.open_devices(backend="sim", machine="rx9070xt") as devices:
        event = devices.process.events.create("signal", device=devices[0])
        timer = threading.Timer(0.05, event.set)
        timer.start()
        try:
            assert event.wait(5.0)
        finally:
            timer.join()
            event.destroy()
