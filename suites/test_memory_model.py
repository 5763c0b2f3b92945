"""The memory model across agents: release on one, acquire on another (kfdtest's CDNA coherence tests).

A releaser writes five values on five cache lines of a shared buffer, releases at system scope and sets a
flag; an acquirer polls the flag, acquires and copies the five values out. A missing write-back or
invalidate, or a buffer mapped with the wrong caching, shows on a GPU as stale values (the 0x77 each line
holds before). The simulator's memory has no caches: there, these tests check the protocol around the
caches (the kernels, the mappings, polling while another agent writes), not the caches themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.topology import IOLINK_TYPE_XGMI

LINES = [16, 32, 48, 64, 80]  # dwords 0x40, 0x80, 0xc0, 0x100, 0x140: five 64-byte cache lines
STALE = 0x77  # what each line holds before the releaser writes
UNWRITTEN = 0x99  # what the acquirer's output holds where it never wrote
FIRST = {"vector": 0x1, "scalar": 0x6}  # the five values are FIRST .. FIRST + 4, as in kfdtest
MEMORY_MODEL_FAMILIES = ("cdna3", "cdna4")  # sc0/sc1 scopes: kfdtest runs these on Aqua Vanjaram (gfx94x)


def require_memory_model(device: Device) -> None:
    if device.family not in MEMORY_MODEL_FAMILIES:
        pytest.skip(
            f"{device} is {device.family}: kfdtest checks the cross-agent memory model on CDNA3 parts"
        )


def reset(shared) -> None:
    """The flag down and the five lines stale, as kfdtest's flush kernel leaves them."""
    words = np.zeros(shared.size // 4, dtype=np.uint32)
    words[LINES] = STALE
    shared.write(words)


def acquire_out(device: Device, gpu_buffer):
    out = gpu_buffer(4096, "gtt", device=device)
    out.write(np.full(1024, UNWRITTEN, dtype=np.uint32))
    return out


def check(out, kind: str) -> None:
    words = out.read(np.uint32)
    assert words[LINES].tolist() == [FIRST[kind] + k for k in range(5)], "stale or missing values"
    others = np.delete(words, LINES)
    assert (others == UNWRITTEN).all(), "the acquirer wrote outside its five lines"


@pytest.fixture
def compute_queues() -> Iterator:
    """Factory: compute_queues(device) -> a compute queue; all are destroyed after the test, every one of
    them even when destroying another fails."""
    with contextlib.ExitStack() as stack:
        yield lambda device: stack.enter_context(device.compute_queue())


def acquire(device: Device, kernel, compute_queues, shared, out, kind: str):
    name = "read_acquire" if kind == "vector" else "read_acquire_scalar"
    return compute_queues(device).dispatch(kernel(name, device=device), 1, 1, args=[shared, out]).submit()


def release(device: Device, kernel, compute_queues, shared, kind: str) -> None:
    name = "write_release" if kind == "vector" else "write_release_scalar"
    program = kernel(name, device=device)
    compute_queues(device).dispatch(program, 1, 1, args=[shared, np.uint32(FIRST[kind])]).submit().wait()


@pytest.mark.parametrize("kind", ["vector", "scalar"])
def test_what_the_cpu_writes_before_its_flag_is_what_a_gpu_acquires(
    amdgpu_device: Device, kernel, gpu_buffer, compute_queues, kind: str
) -> None:
    """AcquireReleaseCPU: the GPU polls the flag of a buffer in system memory; the CPU writes the five
    lines, then the flag; after its acquire the GPU copies the CPU's values, not stale ones."""
    require_memory_model(amdgpu_device)
    shared = gpu_buffer(4096, "gtt")
    reset(shared)
    out = acquire_out(amdgpu_device, gpu_buffer)
    acquired = acquire(amdgpu_device, kernel, compute_queues, shared, out, kind)
    words = np.zeros(1, dtype=np.uint32)
    for k, line in enumerate(LINES):
        words[0] = FIRST[kind] + k
        shared.write(words, offset=4 * line)
    shared.write(np.array([1], dtype=np.uint32))
    acquired.wait()
    check(out, kind)


def physical_gpu(device: Device) -> tuple[int, int]:
    """What the KFD nodes of one GPU share: the PCI domain and bus/device. A partitioned GPU has a node (and
    a render node) per partition; kfd_topology puts the partition's node id into location_id (in the low
    bits on GC 9.4.3, in bits 31:28 on other kernels), so both are masked off."""
    properties = device.node.properties
    return properties.get("domain", 0), properties.get("location_id", 0) & 0x0FFF_FFF8


def pairs(devices: Sequence[Device], same_gpu: bool) -> list[tuple[Device, Device]]:
    """(acquirer, releaser) pairs: partitions of one GPU, or two different GPUs."""
    return [
        (acquirer, releaser)
        for acquirer in devices
        for releaser in devices
        if acquirer is not releaser and (physical_gpu(acquirer) == physical_gpu(releaser)) == same_gpu
    ]


@pytest.mark.parametrize("kind", ["vector", "scalar"])
@pytest.mark.parametrize("local", ["acquirer", "releaser"])
@pytest.mark.parametrize("distance", ["far", "close"])
def test_what_one_gpu_releases_another_acquires(
    amdgpu_devices: DeviceSet, kernel, gpu_buffer, compute_queues, kind: str, local: str, distance: str
) -> None:
    """AcquireRelease{Far,Close}{Local,Remote}{Vector,Scalar}: a buffer in the VRAM of the acquirer (Local)
    or of the releaser (Remote), mapped to both; the acquirer polls, the releaser writes and releases; far:
    two GPUs, close: two partitions (nodes) of one GPU. Every ordered pair with the first selected GPU."""
    devices = [device for device in amdgpu_devices if device.family in MEMORY_MODEL_FAMILIES]
    found = [pair for pair in pairs(devices, same_gpu=distance == "close") if amdgpu_devices[0] in pair]
    if not found:
        what = "two CDNA3 GPUs" if distance == "far" else "two partitions (KFD nodes) of one CDNA3 GPU"
        pytest.skip(f"needs {what}; the selected GPUs are {[d.gfx for d in amdgpu_devices]}")
    for acquirer, releaser in found:
        owner = acquirer if local == "acquirer" else releaser
        shared = gpu_buffer(4096, "vram", device=owner)
        shared.map_to(releaser if owner is acquirer else acquirer)
        reset(shared)
        out = acquire_out(acquirer, gpu_buffer)
        acquired = acquire(acquirer, kernel, compute_queues, shared, out, kind)
        release(releaser, kernel, compute_queues, shared, kind)
        acquired.wait()
        check(out, kind)


def xgmi_to_cpu(device: Device, devices: DeviceSet) -> bool:
    """Whether the GPU reaches a CPU node over XGMI (a GPU whose memory is coherent with the CPU's caches)."""
    cpus = {node.index for node in devices.process.topology.nodes if node.is_cpu}
    return any(
        link.properties.get("type") == IOLINK_TYPE_XGMI and link.properties.get("node_to") in cpus
        for link in device.node.io_links
    )


@pytest.mark.parametrize("domain", ["vram", "gtt"])
def test_a_gpu_linked_to_the_cpu_by_xgmi_sees_what_the_cpu_writes(
    amdgpu_device: Device, amdgpu_devices: DeviceSet, kernel, gpu_buffer, compute_queues, domain: str
) -> None:
    """VramCacheCoherenceWithCPU (vram) and SramCacheCoherenceWithGPU (gtt): on a GPU whose link to the CPU
    is XGMI, the CPU writes a fine-grained buffer in VRAM or system memory the GPU is polling, and the GPU
    copies what the CPU wrote; the CPU reads what the GPU wrote back."""
    if amdgpu_device.family not in ("cdna2", *MEMORY_MODEL_FAMILIES):
        pytest.skip(
            f"{amdgpu_device} is {amdgpu_device.family}: kfdtest checks this on CDNA2 and CDNA3 parts"
        )
    if not xgmi_to_cpu(amdgpu_device, amdgpu_devices):
        pytest.skip(f"{amdgpu_device} has no XGMI link to a CPU (its CPU link is PCIe)")
    shared = gpu_buffer(4096, domain, uncached=True)
    reset(shared)
    out = acquire_out(amdgpu_device, gpu_buffer)
    acquired = acquire(amdgpu_device, kernel, compute_queues, shared, out, "vector")
    for k, line in enumerate(LINES):
        shared.write(np.array([FIRST["vector"] + k], dtype=np.uint32), offset=4 * line)
    shared.write(np.array([1], dtype=np.uint32))
    acquired.wait()
    check(out, "vector")


def test_a_gpu_polling_its_vram_sees_what_a_remote_gpu_writes_there(
    amdgpu_devices: DeviceSet, kernel, gpu_buffer, compute_queues
) -> None:
    """VramCacheCoherenceWithRemoteGPU: the first GPU polls a flag in its own VRAM (and so holds the lines in
    its caches); a second GPU writes a value and the flag there, releasing at system scope; the polling GPU
    acquires and copies the remote GPU's value, not the one its cache held."""
    local, remote = amdgpu_devices[0], next(iter(amdgpu_devices[1:]), None)
    if remote is None:
        pytest.skip("needs two GPUs")
    if local.family not in ("cdna2", *MEMORY_MODEL_FAMILIES) or remote.family != local.family:
        pytest.skip(f"kfdtest checks this between two CDNA2 or CDNA3 GPUs, not {local.gfx} and {remote.gfx}")
    shared = gpu_buffer(4096, "vram", device=local)
    shared.map_to(remote)
    reset(shared)
    out = acquire_out(local, gpu_buffer)
    acquired = acquire(local, kernel, compute_queues, shared, out, "vector")
    release(remote, kernel, compute_queues, shared, "vector")
    acquired.wait()
    check(out, "vector")
