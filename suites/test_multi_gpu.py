"""Multi-GPU conformance: peer mappings, P2P SDMA between all pairs, XGMI queues, cross-GPU semaphores."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest

from pytest_amdgpu.driver import Device
from pytest_amdgpu.driver.queues import Queue

pytestmark = pytest.mark.amdgpu(gpus=2)

POISON = 0xA5  # bytes a copy must not touch hold this


@pytest.fixture
def queue_on() -> Iterator[Callable[..., Queue]]:
    """Factory: queue_on(device, "sdma" | "compute", xgmi=False) -> a queue destroyed after the test."""
    made: list[Queue] = []

    def make(device: Device, kind: str = "sdma", *, xgmi: bool = False) -> Queue:
        queue = device.compute_queue() if kind == "compute" else device.sdma_queue(xgmi=xgmi)
        made.append(queue)
        return queue

    yield make
    for queue in reversed(made):
        queue.destroy()


def pattern(seed: int, nbytes: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8)


def xgmi_linked(source: Device, peer: Device) -> bool:
    return any(link.is_xgmi for link in source.node.links_to(peer.node.index))


# -- peer mappings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["vram", "gtt"])
def test_every_peer_copies_from_and_to_a_peer_mapped_buffer(
    amdgpu_devices: Sequence[Device], gpu_buffer, queue_on, domain: str
) -> None:
    owner, peers = amdgpu_devices[0], list(amdgpu_devices[1:])
    chunk = 4096
    shared = gpu_buffer(2 * chunk * len(peers), domain, device=owner)
    shared.write(pattern(0, shared.size))
    shared.map_to(*peers)
    assert set(shared.mapped_gpu_ids) == {device.gpu_id for device in amdgpu_devices}
    received = []
    for index, peer in enumerate(peers):
        local = gpu_buffer(2 * chunk, "vram", device=peer)
        local.write(pattern(index + 1, local.size))
        pull, push = 2 * chunk * index, 2 * chunk * index + chunk
        queue_on(peer).copy(local, shared, chunk, src_offset=pull).copy(
            shared, local, chunk, dst_offset=push, src_offset=chunk
        ).submit().wait()
        received.append(local.read(count=chunk))
    for index in range(len(peers)):
        pull, push = 2 * chunk * index, 2 * chunk * index + chunk
        np.testing.assert_array_equal(received[index], pattern(0, shared.size)[pull : pull + chunk])
        np.testing.assert_array_equal(
            shared.read(count=chunk, offset=push), pattern(index + 1, 2 * chunk)[chunk:]
        )


def test_unmapping_one_peer_leaves_the_others_mapped(
    amdgpu_devices: Sequence[Device], gpu_buffer, queue_on
) -> None:
    owner, peers = amdgpu_devices[0], list(amdgpu_devices[1:])
    shared = gpu_buffer(4096, "vram", device=owner)
    shared.write(pattern(5, 4096))
    shared.map_to(*peers)
    shared.unmap_from(peers[0])
    assert peers[0].gpu_id not in shared.mapped_gpu_ids
    for reader in [owner, *peers[1:]]:
        local = gpu_buffer(4096, "gtt", device=reader)
        queue_on(reader).copy(local, shared, 4096).submit().wait()
        np.testing.assert_array_equal(local.read(), pattern(5, 4096))


# -- P2P copies ------------------------------------------------------------------------------------------


def test_sdma_copies_both_ways_between_every_pair_of_gpus(
    amdgpu_devices: Sequence[Device], gpu_buffer, queue_on
) -> None:
    """For each ordered pair: the source GPU's SDMA pushes to the peer, the peer's SDMA pulls from it."""
    devices = list(amdgpu_devices)
    count, nbytes, slot = len(devices), 4099, 8192  # an odd size at odd offsets: byte-exact copies
    sources = [gpu_buffer(slot, "vram", device=device) for device in devices]
    inboxes = [gpu_buffer(2 * slot * count, "vram", device=device) for device in devices]
    for index, (source, inbox) in enumerate(zip(sources, inboxes, strict=True)):
        source.write(pattern(100 + index, slot))
        inbox.fill(POISON)
        source.map_to(*devices)
        inbox.map_to(*devices)
    queues = [queue_on(device) for device in devices]
    for src in range(count):
        for dst in range(count):
            if src == dst:
                continue
            for mode, engine in enumerate((queues[src], queues[dst])):  # 0: push, 1: pull
                offset = 2 * slot * src + slot * mode + 3
                engine.copy(inboxes[dst], sources[src], nbytes, dst_offset=offset, src_offset=1 + dst)
    completions = [queue.submit() for queue in queues]
    for completion in completions:
        completion.wait()
    for dst, inbox in enumerate(inboxes):
        expected = np.full(inbox.size, POISON, dtype=np.uint8)
        for src in range(count):
            if src != dst:
                data = pattern(100 + src, slot)[1 + dst : 1 + dst + nbytes]
                for mode in (0, 1):
                    offset = 2 * slot * src + slot * mode + 3
                    expected[offset : offset + nbytes] = data
        np.testing.assert_array_equal(inbox.read(), expected, err_msg=f"inbox of gpu{devices[dst].index}")


@pytest.mark.amdgpu(xgmi=True)
def test_xgmi_sdma_queues_copy_to_every_xgmi_peer(
    amdgpu_devices: Sequence[Device], gpu_buffer, queue_on
) -> None:
    devices, chunk, stride = list(amdgpu_devices), 1000, 1024
    pairs = [(src, dst) for src in range(len(devices)) for dst in range(len(devices)) if src != dst]
    pairs = [(src, dst) for src, dst in pairs if xgmi_linked(devices[src], devices[dst])]
    assert pairs, "the marker promised XGMI links"
    sources = [gpu_buffer(chunk, "vram", device=device) for device in devices]
    inboxes = [gpu_buffer(stride * len(devices), "vram", device=device) for device in devices]
    for position, (source, inbox) in enumerate(zip(sources, inboxes, strict=True)):
        source.write(pattern(200 + position, chunk))
        inbox.fill(POISON)
        inbox.map_to(*devices)
    queues = {src: queue_on(devices[src], xgmi=True) for src in sorted({src for src, _ in pairs})}
    for src, dst in pairs:
        queues[src].copy(inboxes[dst], sources[src], chunk, dst_offset=stride * src)
    for completion in [queue.submit() for queue in queues.values()]:
        completion.wait()
    for dst, inbox in enumerate(inboxes):
        expected = np.full(inbox.size, POISON, dtype=np.uint8)
        for src in [src for src, to in pairs if to == dst]:
            expected[stride * src : stride * src + chunk] = pattern(200 + src, chunk)
        np.testing.assert_array_equal(inbox.read(), expected, err_msg=f"inbox of gpu{devices[dst].index}")


# -- semaphores across GPUs ------------------------------------------------------------------------------


def test_a_semaphore_ring_passes_a_token_through_every_gpu_and_back(
    amdgpu_devices: Sequence[Device], gpu_buffer, timeline_semaphore, queue_on
) -> None:
    """Hop k waits for k+1, copies slot k to slot k+1 and signals k+2; only the first slot starts non-zero."""
    devices = list(amdgpu_devices)
    hops = len(devices) + 1  # the last hop is on the first GPU again
    sem = timeline_semaphore(device=devices[0])
    sem.map_to(*devices)
    token = gpu_buffer(4 * (hops + 1), "gtt", device=devices[0])
    token.write(np.array([0x70CE], dtype=np.uint32))
    token.map_to(*devices)
    queues = {device.gpu_id: queue_on(device) for device in devices}
    for hop in range(hops):  # nothing moves before the CPU's first signal
        queue = queues[devices[hop % len(devices)].gpu_id]
        queue.wait(sem, hop + 1).copy(token, token, 4, dst_offset=4 * (hop + 1), src_offset=4 * hop)
        queue.signal(sem, hop + 2).submit()
    assert sem.value == 0 and token.read(np.uint32)[1:].tolist() == [0] * hops
    sem.signal(1)
    sem.wait(hops + 1)
    assert token.read(np.uint32).tolist() == [0x70CE] * (hops + 1)


def test_one_gpu_broadcasts_to_all_through_a_semaphore(
    amdgpu_devices: Sequence[Device], gpu_buffer, timeline_semaphore, kernel, queue_on
) -> None:
    producer, consumers = amdgpu_devices[0], list(amdgpu_devices[1:])
    n = 4096
    payload = gpu_buffer(4 * n, "vram", device=producer)
    payload.map_to(*consumers)
    sem = timeline_semaphore(device=producer)
    sem.map_to(*consumers)
    copies, arrivals = [], []
    for consumer in consumers:
        copy = gpu_buffer(4 * n, "vram", device=consumer)
        arrivals.append(queue_on(consumer).wait(sem, 1).copy(copy, payload, 4 * n).submit())
        copies.append(copy)
    assert not any(copy.read(np.uint32).any() for copy in copies)
    writer = queue_on(producer, "compute")
    writer.dispatch(kernel("fill", device=producer), grid=n // 256, block=256, args=[payload, 0xB0A7, n])
    writer.signal(sem, 1).submit()
    for consumer, copy, arrival in zip(consumers, copies, arrivals, strict=True):
        arrival.wait()
        assert (copy.read(np.uint32) == 0xB0A7).all(), f"gpu{consumer.index} copied before the signal"


def test_all_gpus_gather_into_one_through_their_semaphores(
    amdgpu_devices: Sequence[Device], gpu_buffer, timeline_semaphore, kernel, queue_on
) -> None:
    """Each GPU fills its slot of a buffer on the first GPU and signals its own semaphore; the first waits."""
    gatherer, devices = amdgpu_devices[0], list(amdgpu_devices)
    slot = 1024
    gathered = gpu_buffer(4 * slot * len(devices), "vram", device=gatherer)
    gathered.map_to(*devices)
    result = gpu_buffer(gathered.size, "gtt", device=gatherer)
    semaphores = []
    for device in devices:
        sem = timeline_semaphore(device=device)
        sem.map_to(gatherer)
        semaphores.append(sem)
    collector = queue_on(gatherer, "compute")
    for sem in semaphores:
        collector.wait(sem, 1)
    collector.dispatch(
        kernel("copy_dword", device=gatherer),
        grid=len(devices) * slot // 256,
        block=256,
        args=[result, gathered, len(devices) * slot],
    )
    done = collector.submit()
    for index, (device, sem) in enumerate(zip(devices, semaphores, strict=True)):
        queue = queue_on(device, "compute")
        slot_addr = gathered.gpu_addr + 4 * slot * index
        queue.dispatch(
            kernel("fill", device=device), grid=slot // 256, block=256, args=[slot_addr, index + 1, slot]
        )
        queue.signal(sem, 1).submit()
    done.wait()
    np.testing.assert_array_equal(
        result.read(np.uint32), np.repeat(np.arange(1, len(devices) + 1, dtype=np.uint32), slot)
    )


# -- a buffer two GPUs share -----------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["vram", "gtt"])
@pytest.mark.parametrize("writer_owns", [True, False], ids=["owner-writes", "peer-writes"])
def test_a_shared_buffer_written_by_one_gpu_is_read_by_the_other(
    amdgpu_devices: Sequence[Device], gpu_buffer, timeline_semaphore, kernel, queue_on, domain, writer_owns
) -> None:
    owner, peer = amdgpu_devices[0], amdgpu_devices[1]
    writer, reader = (owner, peer) if writer_owns else (peer, owner)
    n = 10_000
    shared = gpu_buffer(4 * n, domain, device=owner)
    shared.map_to(peer)
    out = gpu_buffer(4 * n, "vram", device=reader)
    sem = timeline_semaphore(device=reader)
    sem.map_to(writer)
    read = queue_on(reader, "compute").wait(sem, 1)
    read.dispatch(kernel("copy_dword", device=reader), grid=-(-n // 256), block=256, args=[out, shared, n])
    done = read.submit()
    write = queue_on(writer, "compute")
    write.dispatch(kernel("fill", device=writer), grid=-(-n // 256), block=256, args=[shared, 0x5EED, n])
    write.signal(sem, 1).submit()
    done.wait()
    assert (out.read(np.uint32) == 0x5EED).all()
