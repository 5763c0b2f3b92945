"""An xdist scheduler giving each worker its own GPUs: a test bound to a GPU runs only on its worker."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest

PARAMS_PATTERN = re.compile(r"\[(.*)\]$")


def bound_gpu(nodeid: str, gpu_ids: Sequence[str]) -> str | None:
    """The GPU id ('gpu1-gfx942') a test instance is parametrised with, or None."""
    match = PARAMS_PATTERN.search(nodeid.rsplit("::", 1)[-1])
    if not match:
        return None
    params = f"-{match.group(1)}-"
    for gpu in gpu_ids:
        if f"-{gpu}-" in params:
            return gpu
    return None


def _worker_number(node: Any) -> tuple[int, str]:
    worker_id = node.gateway.id
    digits = re.sub(r"\D", "", worker_id)
    return (int(digits) if digits else 0, worker_id)


class GpuScheduling:
    """The xdist Scheduling protocol (xdist.scheduler.protocol) with a queue of tests per GPU.

    Ownership: with the workers ordered by number (gw0, gw1, ...) and the selected GPUs in selection
    order, the GPU at position p belongs to worker p % n_workers. With as many workers as GPUs each
    worker owns one GPU; with fewer, GPUs are dealt round robin; with more, the extra workers own no
    GPU and run only tests bound to no single GPU. Every worker collects the same items (all
    instances of all GPUs), so xdist's identical-collection rule holds; the scheduler reads a test's
    GPU from its id (``test_x[gpu1-gfx942]``). A worker is sent every test of its GPUs at once (only
    it may run them); tests bound to no GPU are shared out by load to workers running low.
    A worker that crashes loses only the test it was running: its other tests wait for the
    replacement worker xdist starts, which inherits the crashed worker's GPUs.
    """

    def __init__(self, config: pytest.Config, log: Any, gpu_ids: Sequence[str]) -> None:
        from xdist.workermanage import parse_tx_spec_config

        self.config = config
        self.log = log.gpusched if log is not None else (lambda *args: None)
        self.numnodes = len(parse_tx_spec_config(config))
        self.gpu_ids = tuple(gpu_ids)
        self.node2collection: dict[Any, list[str]] = {}
        self.node2pending: dict[Any, list[int]] = {}
        self.collection: list[str] | None = None
        self.gpu_of_test: list[str | None] = []
        self.gpu_queues: dict[str, deque[int]] = {gpu: deque() for gpu in self.gpu_ids}
        self.shared: deque[int] = deque()
        self.owner: dict[str, Any] = dict.fromkeys(self.gpu_ids)
        self._initial_nodes: set[Any] = set()

    # -- the protocol's state queries ----------------------------------------------------------

    @property
    def nodes(self) -> list[Any]:
        return list(self.node2pending)

    @property
    def collection_is_completed(self) -> bool:
        return len(self.node2collection) >= self.numnodes

    def _queued(self) -> bool:
        return bool(self.shared) or any(self.gpu_queues.values())

    @property
    def tests_finished(self) -> bool:
        if not self.collection_is_completed or self._queued():
            return False
        # A worker runs its last test only once it is told to shut down, so one pending test is "done".
        return all(len(pending) < 2 for pending in self.node2pending.values())

    @property
    def has_pending(self) -> bool:
        return self._queued() or any(self.node2pending.values())

    # -- nodes come and go ---------------------------------------------------------------------

    def add_node(self, node: Any) -> None:
        assert node not in self.node2pending
        self.node2pending[node] = []

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        assert node in self.node2pending
        if self.collection is not None and list(collection) != self.collection:
            from xdist.report import report_collection_diff

            first = next(iter(self.node2collection))
            self.log(report_collection_diff(self.collection, collection, first.gateway.id, node.gateway.id))
            node.shutdown()
            return
        self.node2collection[node] = list(collection)

    def remove_node(self, node: Any) -> str | None:
        """Forget a node; if it crashed, return the test it was running and queue its other tests again."""
        pending = self.node2pending.pop(node)
        for gpu, owner in self.owner.items():
            if owner is node:
                self.owner[gpu] = None  # the replacement worker inherits it
        if not pending:
            return None
        assert self.collection is not None
        crashed, rest = pending[0], pending[1:]
        for index in reversed(rest):
            self._queue_for(index).appendleft(index)
        for other in self.nodes:
            self._top_up(other)
        return self.collection[crashed]

    # -- scheduling ----------------------------------------------------------------------------

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is None:
            if not self._same_collections():
                return
            self.collection = next(iter(self.node2collection.values()))
            self.gpu_of_test = [bound_gpu(nodeid, self.gpu_ids) for nodeid in self.collection]
            for index in range(len(self.collection)):
                self._queue_for(index).append(index)
            workers = sorted(self.nodes, key=_worker_number)
            self._initial_nodes = set(workers)
            for position, gpu in enumerate(self.gpu_ids):
                self.owner[gpu] = workers[position % len(workers)]
            self._announce(workers)
        else:
            self._hand_orphans_to_newcomers()
        for node in sorted(self.nodes, key=_worker_number):
            self._top_up(node)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.node2pending[node].remove(item_index)
        self._top_up(node)

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        index = self.collection.index(item)
        gpu = self.gpu_of_test[index]
        if gpu is not None and (self.owner[gpu] is None or self.owner[gpu].shutting_down):
            live = [node for node in self.nodes if not node.shutting_down]
            if live:
                self.owner[gpu] = min(live, key=_worker_number)
        self._queue_for(index).appendleft(index)
        for node in self.nodes:
            self._top_up(node)

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        raise RuntimeError("GPU scheduling never asks to steal work: a GPU's tests stay with its worker")

    # -- internals -----------------------------------------------------------------------------

    def _queue_for(self, index: int) -> deque[int]:
        gpu = self.gpu_of_test[index]
        return self.shared if gpu is None else self.gpu_queues[gpu]

    def _owned(self, node: Any) -> list[str]:
        return [gpu for gpu in self.gpu_ids if self.owner[gpu] is node]

    def _top_up(self, node: Any) -> None:
        """Send a node all queued tests of its GPUs and, when it runs low, a share of the unbound tests."""
        if node.shutting_down or self.collection is None:
            return
        pending = self.node2pending[node]
        batch: list[int] = []
        for gpu in self._owned(node):
            batch.extend(self.gpu_queues[gpu])
            self.gpu_queues[gpu].clear()
        batch.sort()  # collection order, which pytest chose to share fixtures well
        if len(pending) + len(batch) < 2 and self.shared:
            share = max(
                2 - len(pending) - len(batch), len(self.shared) // (4 * max(len(self.node2pending), 1))
            )
            batch.extend(self.shared.popleft() for _ in range(min(share, len(self.shared))))
        if batch:
            pending.extend(batch)
            node.send_runtest_some(batch)
        if not self.shared and not any(self.gpu_queues[gpu] for gpu in self._owned(node)):
            node.shutdown()  # nothing more can come to it; it runs what it has and finishes

    def _hand_orphans_to_newcomers(self) -> None:
        newcomers = sorted(
            (
                node
                for node in self.node2collection
                if node in self.node2pending and node not in self._initial_nodes
            ),
            key=_worker_number,
        )
        newcomers = [node for node in newcomers if not self._owned(node) and not node.shutting_down]
        orphans = [gpu for gpu in self.gpu_ids if self.owner[gpu] is None]
        for position, gpu in enumerate(orphans):
            if newcomers:
                self.owner[gpu] = newcomers[position % len(newcomers)]

    def _same_collections(self) -> bool:
        from xdist.report import report_collection_diff

        (first, first_collection), *others = self.node2collection.items()
        same = True
        for node, collection in others:
            difference = report_collection_diff(
                first_collection, collection, first.gateway.id, node.gateway.id
            )
            if difference:
                same = False
                self.log(difference)
                report = pytest.CollectReport(node.gateway.id, "failed", longrepr=difference, result=[])
                self.config.hook.pytest_collectreport(report=report)
        return same

    def _announce(self, workers: list[Any]) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.option.verbose < 0:
            return
        for worker in workers:
            owned = ", ".join(self._owned(worker)) or "no GPU (runs the tests bound to no single GPU)"
            reporter.write_line(f"amdgpu: worker {worker.gateway.id} owns {owned}")
