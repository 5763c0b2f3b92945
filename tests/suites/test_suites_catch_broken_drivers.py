"""The bundled suites can fail: each driver broken on purpose makes the suite tests that cover it fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUITES = Path(__file__).resolve().parents[2] / "suites"
MACHINE = "mi300x"
DEVICES = "0,1,2"  # three GPUs: enough for rings and peers, a fraction of the eight GPUs' run time
QUIET_PLUGINS = "-p no:cacheprovider -p no:hypothesispytest -p no:benchmark"

# A pytest plugin loaded with -p in the inner run: it breaks the driver at import time, the way AMDGPU_BREAK
# says, and writes the failed tests to failures.json.
BROKEN_DRIVER = '''
"""Breaks the pure-Python driver on purpose (AMDGPU_BREAK) and records which tests fail."""

import json
import os

from pytest_amdgpu.driver import device, dispatch, queues
from pytest_amdgpu.packets import pm4, registers, sdma

BREAK = os.environ["AMDGPU_BREAK"]
FAILED = []

if BREAK == "sdma-copy-count":  # COPY_LINEAR's count field without its minus one: one byte too many
    build_copy = sdma.build_copy

    def copy_one_byte_too_many(target, src_addr, dst_addr, byte_count, **fields):
        words = build_copy(target, src_addr, dst_addr, byte_count, **fields)
        for packet in sdma.decode_stream(words, target):
            if packet.name == "COPY_LINEAR":
                words[packet.offset + 1] += 1
        return words

    sdma.build_copy = copy_one_byte_too_many

elif BREAK == "no-semaphore-signal":  # signals that emit no packet at all

    def signal_nothing(self, semaphore, value):
        return self

    queues.ComputeQueue.signal = signal_nothing
    queues.SdmaQueue.signal = signal_nothing

elif BREAK == "kernarg-offset":  # the last explicit kernel argument packed four bytes late
    pack_kernargs = dispatch.pack_kernargs

    def pack_last_argument_late(kernel, args, launch):
        segment = bytearray(pack_kernargs(kernel, args, launch))
        explicit = kernel.metadata.explicit_args
        if explicit:
            last = explicit[-1]
            value = bytes(segment[last.offset : last.offset + last.size])
            segment[last.offset : last.offset + last.size] = bytes(last.size)
            segment[last.offset + 4 : last.offset + 4 + last.size] = value
        return bytes(segment)

    dispatch.pack_kernargs = pack_last_argument_late

elif BREAK == "user-sgpr":  # the kernarg segment pointer in s[0:1] off by a page
    build_dispatch = dispatch.build_dispatch

    def kernarg_pointer_a_page_off(queue, program, *args, **options):
        words = build_dispatch(queue, program, *args, **options)
        user_data = registers.compute_registers(queue.device.target).COMPUTE_USER_DATA_0.sh_offset
        for packet in pm4.decode_stream(words, queue.dialect):
            if packet.name == "SET_SH_REG" and packet.fields["reg_offset"] == user_data:
                words[packet.offset + 2] = (words[packet.offset + 2] + 4096) & 0xFFFF_FFFF
        return words

    queues.build_dispatch = kernarg_pointer_a_page_off

elif BREAK == "peer-mapping":  # map_to maps every buffer to the GPU after the one asked for
    OPENED = []
    device_init, map_buffer = device.Device.__init__, device.Device.map_buffer

    def remember(self, *args, **options):
        device_init(self, *args, **options)
        OPENED.append(self)

    def map_to_the_next_gpu(self, buffer, devices):
        wrong = [OPENED[(OPENED.index(asked) + 1) % len(OPENED)] for asked in devices]
        map_buffer(self, buffer, wrong)

    device.Device.__init__ = remember
    device.Device.map_buffer = map_to_the_next_gpu

elif BREAK == "read-only-ignored":  # every allocation mapped writable, whatever the caller asked
    domain_flags = device.domain_flags

    def always_writable(domain, *, writable, executable, uncached):
        return domain_flags(domain, writable=True, executable=executable, uncached=uncached)

    device.domain_flags = always_writable

elif BREAK == "cu-mask-not-sent":  # set_cu_mask records the mask but never tells the kernel

    def remember_the_mask_only(self, cus):
        self.cu_mask = cus

    queues.ComputeQueue.set_cu_mask = remember_the_mask_only

elif BREAK == "gws-not-allocated":  # allocate_gws reports the GPU's GWS without asking the kernel for it

    def claim_without_asking(self):
        self.gws = self.device.node.properties.get("num_gws", 0)
        return 0

    queues.ComputeQueue.allocate_gws = claim_without_asking

elif BREAK == "resume-not-sent":  # resume() forgets UPDATE_QUEUE: a preempted queue stays off the GPU

    def stay_preempted(self):
        self._check()

    queues.Queue.resume = stay_preempted

elif BREAK == "no-partial-flush":  # wait_for_dispatches emits nothing: dependent dispatches overlap

    def wait_for_nothing(self):
        return self

    queues.ComputeQueue.wait_for_dispatches = wait_for_nothing

elif BREAK != "none":
    raise ValueError(f"unknown AMDGPU_BREAK {BREAK!r}")


def pytest_runtest_logreport(report):
    if report.failed:
        FAILED.append(report.nodeid.split("::")[-1].split("[")[0])


def pytest_sessionfinish(session):
    with open("failures.json", "w") as handle:
        json.dump(sorted(set(FAILED)), handle)
'''


def run_suites(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, *files: str):
    """The suite files on the simulated machine with the driver broken `how`: (exit code, failed tests)."""
    pytester.makepyfile(broken_driver=BROKEN_DRIVER)
    monkeypatch.setenv("AMDGPU_BREAK", how)
    monkeypatch.setenv("PYTEST_ADDOPTS", QUIET_PLUGINS)
    result = pytester.runpytest_subprocess(
        "-p",
        "broken_driver",
        "-q",
        "--amdgpu",
        "--amdgpu-backend=sim",
        f"--amdgpu-machine={MACHINE}",
        f"--amdgpu-devices={DEVICES}",
        "--amdgpu-timeout=5",
        *(str(SUITES / name) for name in files),
    )
    failed = set(json.loads((pytester.path / "failures.json").read_text()))
    return result, failed


def test_the_suites_pass_on_an_unbroken_driver(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    result, failed = run_suites(
        pytester,
        monkeypatch,
        "none",
        "test_dispatch.py",
        "test_multi_gpu.py",
        "test_faults.py",
        "test_preemption.py",
    )
    assert failed == set(), result.stdout.str()
    assert result.ret == 0
    assert result.parseoutcomes()["passed"] > 100


@pytest.mark.parametrize(
    ("how", "files", "must_fail"),
    [
        pytest.param(
            "sdma-copy-count",
            ["test_multi_gpu.py"],
            {
                "test_sdma_copies_both_ways_between_every_pair_of_gpus",
                "test_every_peer_copies_from_and_to_a_peer_mapped_buffer",
                "test_xgmi_sdma_queues_copy_to_every_xgmi_peer",
            },
            id="a-wrong-packet-field",
        ),
        pytest.param(
            "no-semaphore-signal",
            ["test_multi_gpu.py"],
            {
                "test_a_semaphore_ring_passes_a_token_through_every_gpu_and_back",
                "test_one_gpu_broadcasts_to_all_through_a_semaphore",
                "test_all_gpus_gather_into_one_through_their_semaphores",
                "test_a_shared_buffer_written_by_one_gpu_is_read_by_the_other",
            },
            id="a-missing-signal",
        ),
        pytest.param(
            "kernarg-offset",
            ["test_dispatch.py"],
            {
                "test_a_dispatch_writes_memory_on_every_gpu",
                "test_fill_writes_exactly_n_items",
                "test_vector_add_is_ieee_single_precision",
                "test_lds_reduce_sums_each_workgroup",
                "test_mixed_args_are_laid_out_by_the_metadata",
                "test_scratch_memory_is_private_to_each_work_item",
            },
            id="a-wrong-kernel-argument-offset",
        ),
        pytest.param(
            "gws-not-allocated",
            ["test_dispatch.py"],
            {"test_a_gws_semaphore_makes_a_plain_increment_exact"},
            id="gws-never-allocated",
        ),
        pytest.param(
            "resume-not-sent",
            ["test_preemption.py"],
            {"test_a_running_dispatch_is_preempted_and_resumed_again_and_again"},
            id="a-preempted-queue-never-resumed",
        ),
        pytest.param(
            "no-partial-flush",
            ["test_dispatch.py", "test_memory.py"],
            {
                "test_dependent_dispatches_separated_by_a_partial_flush",
                "test_cpu_writes_to_vram_reach_a_shader_after_an_hdp_flush",
            },
            id="a-missing-wait-between-dispatches",
        ),
        pytest.param(
            "cu-mask-not-sent",
            ["test_dispatch.py"],
            {"test_a_dispatch_takes_time_inversely_to_the_cus_its_mask_enables"},
            id="a-cu-mask-never-sent",
        ),
        pytest.param(
            "user-sgpr",
            ["test_dispatch.py"],
            {
                "test_a_dispatch_writes_memory_on_every_gpu",
                "test_fill_writes_exactly_n_items",
                "test_copy_dword_between_domains",
                "test_store_ids_in_one_two_and_three_dimensions",
                "test_two_hundred_dispatches_in_one_submission",
                "test_a_dispatch_recorded_in_an_indirect_buffer_runs_each_time_it_is_called",
            },
            id="a-wrong-user-sgpr",
        ),
        pytest.param(
            "peer-mapping",
            ["test_multi_gpu.py", "test_faults.py", "test_memory_model.py"],
            {
                "test_every_peer_copies_from_and_to_a_peer_mapped_buffer",
                "test_a_shared_buffer_written_by_one_gpu_is_read_by_the_other",
                "test_a_gpu_cannot_reach_a_peer_buffer_it_has_no_mapping_for",
                "test_what_one_gpu_releases_another_acquires",
                "test_a_gpu_polling_its_vram_sees_what_a_remote_gpu_writes_there",
            },
            id="a-wrong-peer-mapping",
        ),
        pytest.param(
            "read-only-ignored",
            ["test_faults.py"],
            {"test_a_gpu_write_to_a_read_only_buffer_faults"},
            id="read-only-memory-mapped-writable",
        ),
    ],
)
def test_a_broken_driver_fails_the_suite_tests_that_cover_it(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    files: list[str],
    must_fail: set[str],
) -> None:
    result, failed = run_suites(pytester, monkeypatch, how, *files)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    assert must_fail <= failed, f"still passing: {sorted(must_fail - failed)}\n{result.stdout.str()}"
