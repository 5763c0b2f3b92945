"""Under pytest-xdist each worker owns its GPUs: their tests run on it, and a crash loses nothing else."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from pytest_amdgpu.scheduling import GpuScheduling, bound_gpu

RunAmdgpu = Callable[..., pytest.RunResult]
GPUS = ("gpu0-gfx942", "gpu1-gfx942", "gpu2-gfx942")


@pytest.mark.parametrize(
    ("nodeid", "gpu"),
    [
        ("t.py::test_a[gpu1-gfx942]", "gpu1-gfx942"),
        ("t.py::TestX::test_a[gpu2-gfx942-4096-vram]", "gpu2-gfx942"),
        ("t.py::test_a[vram-gpu0-gfx942]", "gpu0-gfx942"),
        ("t.py::test_a[64-gpu1-gfx942-x]", "gpu1-gfx942"),
        ("t.py::test_a", None),
        ("t.py::test_a[xgpu1-gfx942]", None),
        ("t.py::test_a[gpu1-gfx9420]", None),
        ("t.py::test_a[gpu7-gfx942]", None),  # not a selected GPU
        ("t.py[gpu1-gfx942]::test_a", None),
    ],
)
def test_a_tests_gpu_is_read_from_its_parameter_id(nodeid: str, gpu: str | None) -> None:
    assert bound_gpu(nodeid, GPUS) == gpu


class FakeWorker:
    """What the scheduler uses of xdist's WorkerController."""

    def __init__(self, worker_id: str) -> None:
        self.gateway = SimpleNamespace(id=worker_id)
        self.shutting_down = False
        self.received: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.received.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.gateway.id


COLLECTION = [
    "t.py::test_a[gpu0-gfx942]",
    "t.py::test_a[gpu1-gfx942]",
    "t.py::test_a[gpu2-gfx942]",
    "t.py::test_b[gpu0-gfx942]",
    "t.py::test_b[gpu1-gfx942]",
    "t.py::test_b[gpu2-gfx942]",
    "t.py::test_shared_1",
    "t.py::test_shared_2",
]


def scheduler(workers: int) -> GpuScheduling:
    config = SimpleNamespace(
        getvalue=lambda name: [f"{workers}*popen"],
        option=SimpleNamespace(verbose=0),
        pluginmanager=SimpleNamespace(get_plugin=lambda name: None),
        hook=SimpleNamespace(pytest_collectreport=lambda report: None),
    )
    return GpuScheduling(config, None, GPUS)  # type: ignore[arg-type]


def start(sched: GpuScheduling, *worker_ids: str) -> list[FakeWorker]:
    workers = [FakeWorker(worker_id) for worker_id in worker_ids]
    for worker in workers:
        sched.add_node(worker)
    for worker in workers:
        sched.add_node_collection(worker, COLLECTION)
    sched.schedule()
    return workers


def names(indices: list[int]) -> list[str]:
    return [COLLECTION[index].split("::")[1] for index in indices]


def run_all(sched: GpuScheduling, worker: FakeWorker) -> None:
    while sched.node2pending[worker]:
        sched.mark_test_complete(worker, sched.node2pending[worker][0])


def test_gpus_are_dealt_round_robin_by_worker_number() -> None:
    sched = scheduler(2)
    gw1, gw0 = start(sched, "gw1", "gw0")  # ready in any order; ownership follows the number
    assert names(gw0.received)[:4] == [
        "test_a[gpu0-gfx942]", "test_a[gpu2-gfx942]", "test_b[gpu0-gfx942]", "test_b[gpu2-gfx942]",
    ]  # fmt: skip
    assert names(gw1.received)[:2] == ["test_a[gpu1-gfx942]", "test_b[gpu1-gfx942]"]
    run_all(sched, gw1)
    run_all(sched, gw0)
    everything = names(gw0.received + gw1.received)
    assert sorted(everything) == sorted(names(list(range(len(COLLECTION)))))  # each test exactly once
    assert not any("gpu1" in name for name in names(gw0.received))
    assert not any("gpu0" in name or "gpu2" in name for name in names(gw1.received))
    assert sched.tests_finished and gw0.shutting_down and gw1.shutting_down


def test_workers_beyond_the_gpu_count_run_only_unbound_tests() -> None:
    sched = scheduler(4)
    gw0, gw1, gw2, gw3 = start(sched, "gw0", "gw1", "gw2", "gw3")
    assert names(gw3.received) == ["test_shared_1", "test_shared_2"]
    assert all("gpu" not in name for name in names(gw3.received))
    for number, worker in enumerate((gw0, gw1, gw2)):
        assert names(worker.received) == [f"test_a[gpu{number}-gfx942]", f"test_b[gpu{number}-gfx942]"]
        sched.mark_test_complete(worker, worker.received[0])
        assert worker.shutting_down  # nothing more can come its way: it runs its last test and ends


def test_a_crashed_workers_gpus_pass_to_its_replacement() -> None:
    sched = scheduler(2)
    gw0, gw1 = start(sched, "gw0", "gw1")
    pending_gpu1 = list(sched.node2pending[gw1])
    crashed = sched.remove_node(gw1)
    assert crashed == COLLECTION[pending_gpu1[0]] == "t.py::test_a[gpu1-gfx942]"
    run_all(sched, gw0)
    assert not sched.tests_finished  # gpu1's other tests wait for the replacement
    assert not any("gpu1" in name for name in names(gw0.received))
    gw2 = FakeWorker("gw2")
    sched.add_node(gw2)
    sched.add_node_collection(gw2, COLLECTION)
    sched.schedule()
    assert names(gw2.received)[0] == "test_b[gpu1-gfx942]"
    run_all(sched, gw2)
    assert sched.tests_finished and not sched.has_pending


def test_a_worker_that_collected_something_else_gets_nothing() -> None:
    sched = scheduler(1)
    start(sched, "gw0")
    late = FakeWorker("gw1")
    sched.add_node(late)
    sched.add_node_collection(late, COLLECTION[:-1])
    assert late.shutting_down and late.received == []


WORKER_TESTS = """
import os
import pytest

@pytest.mark.parametrize("step", range(3))
def test_on_gpu(amdgpu_device, record_property, step):
    record_property("worker", os.environ["PYTEST_XDIST_WORKER"])

def test_shared(amdgpu_devices):
    assert len(amdgpu_devices) == 2
"""


def test_two_workers_run_two_gpus_apart(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WORKER_TESTS)
    result = run_amdgpu(
        "-n", "2", "--amdgpu-devices=0,1", "--amdgpu-report=reports", ".", machine="mi250x", subprocess=True
    )
    result.stdout.fnmatch_lines(
        ["amdgpu: worker gw0 owns gpu0-gfx90a", "amdgpu: worker gw1 owns gpu1-gfx90a"]
    )
    result.assert_outcomes(passed=7)
    workers = {}
    for gpu in ("gpu0-gfx90a", "gpu1-gfx90a"):
        cases = list(ET.parse(pytester.path / "reports" / f"{gpu}.xml").iter("testcase"))
        assert len(cases) == 3
        workers[gpu] = {
            prop.get("value")
            for case in cases
            for prop in case.iter("property")
            if prop.get("name") == "worker"
        }
    assert workers == {"gpu0-gfx90a": {"gw0"}, "gpu1-gfx90a": {"gw1"}}


def test_a_crashed_worker_loses_only_its_running_test(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import os

        def test_crash_once(amdgpu_device):
            if amdgpu_device.index == 1 and not os.path.exists("crashed"):
                open("crashed", "w").close()
                os._exit(3)

        def test_after(amdgpu_device):
            pass
        """
    )
    result = run_amdgpu("-n", "2", "--amdgpu-devices=0,1", "-v", ".", machine="mi250x", subprocess=True)
    result.stdout.fnmatch_lines_random(
        [
            "*replacing crashed worker gw1*",
            "*worker 'gw1' crashed while running '*test_crash_once[[]gpu1-gfx90a[]]'*",
            "[[]gw0[]] * PASSED *test_crash_once[[]gpu0-gfx90a[]]*",
            "[[]gw0[]] * PASSED *test_after[[]gpu0-gfx90a[]]*",
            "[[]gw2[]] * PASSED *test_after[[]gpu1-gfx90a[]]*",  # the replacement inherited gpu1
            "gpu1  gfx90a       1       1        0       0",
        ]
    )
    result.assert_outcomes(passed=3, failed=1)
