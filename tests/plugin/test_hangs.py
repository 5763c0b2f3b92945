"""Hangs, faults and unfinished work fail the test that caused them, with a dump; the next one runs."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import RunAmdgpu


def test_a_hung_wait_fails_with_a_decoded_dump_and_the_next_test_runs(
    pytester: pytest.Pytester, run_amdgpu: RunAmdgpu
) -> None:
    pytester.makepyfile(
        """
        def test_hangs(compute_queue, timeline_semaphore):
            sem = timeline_semaphore()
            compute_queue.wait(sem, 5).signal(sem, 6).submit().wait()

        def test_after(sdma_queue, gpu_buffer):
            buffer = gpu_buffer(64, "gtt")
            sdma_queue.fill(buffer, 3, 64).submit().wait()
            assert (buffer.read() == 3).sum() == 16
        """
    )
    result = run_amdgpu("--amdgpu-timeout=0.5", "-p", "no:randomly", ".", machine="rx7900xtx")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    text = result.stdout.str()
    assert "WAIT_REG_MEM64 waits for" in text  # the stall report says what the queue waits on
    assert (
        ">>" in text and "WAIT_REG_MEM64" in text and "function=" in text
    )  # the decoded ring, pointer marked
    assert "left compute queue" in text and "unfinished work" in text  # the fixture's teardown says so too
    assert "TimelineSemaphore" in text  # the last semaphore values


def test_a_memory_fault_fails_the_test_with_the_address(
    pytester: pytest.Pytester, run_amdgpu: RunAmdgpu
) -> None:
    pytester.makepyfile(
        """
        def test_waits_on_a_fault(sdma_queue, gpu_buffer):
            src = gpu_buffer(4096, "gtt")
            sdma_queue.copy(0x7000_0BAD_0000, src, 64).submit().wait()

        def test_never_waits(amdgpu_device, gpu_buffer):
            src = gpu_buffer(4096, "gtt")
            queue = amdgpu_device.sdma_queue()
            queue.copy(0x7000_0BAD_0000, src, 64).submit()
            queue.destroy()
        """
    )
    result = run_amdgpu(".", machine="rx9070xt")
    result.assert_outcomes(failed=1, passed=1, errors=1)
    text = result.stdout.str()
    assert "GpuFaultError: sdma queue 0 on gpu0 (gfx1201): GPU memory fault on gpu_id" in text
    assert "at 0x70000bad0000 (page not present)" in text
    assert "1 GPU memory fault(s) during" in text and "test_never_waits" in text


def test_leaked_queues_and_semaphores_are_named(pytester: pytest.Pytester, run_amdgpu: RunAmdgpu) -> None:
    pytester.makepyfile(
        """
        def test_leaks(amdgpu_device):
            amdgpu_device.sdma_queue()
            amdgpu_device.timeline_semaphore()
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*leaked 1 queue: <SdmaQueue*; leaked 1 semaphore: <TimelineSemaphore*"])
    assert "leaked 1 buffer" not in result.stdout.str()


def test_timeout_must_be_positive(pytester: pytest.Pytester, run_amdgpu: RunAmdgpu) -> None:
    pytester.makepyfile("def test_q(compute_queue): pass")
    result = run_amdgpu("--amdgpu-timeout=0", ".", machine="rx7900xtx")
    assert "must be a positive number of seconds" in result.stdout.str() + result.stderr.str()
