"""Per-test leak checking: a registry of GPU resource kinds, snapshots of what is alive, release of leaks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pytest_amdgpu.driver import Device
from pytest_amdgpu.driver.buffer import DOMAINS
from pytest_amdgpu.errors import AmdgpuError, ConfigurationError, release_each


@dataclass(frozen=True)
class ResourceKind:
    """A kind of per-device resource a test can leak, and how to find and release the live ones.

    `live(device)` returns the objects a test is responsible for (driver-internal objects such as a
    device's doorbell page must not be listed). Kinds are checked and released in ascending
    `release_order`, so a queue (which owns ring buffers) goes before the buffers.
    """

    singular: str
    plural: str
    live: Callable[[Device], Iterable[object]]
    release: Callable[[object], None]
    release_order: int = 100


_kinds: dict[str, ResourceKind] = {}


def register_resource_kind(kind: ResourceKind, *, replace: bool = False) -> None:
    """Make the leak checker watch another kind of resource (queues, events, semaphores...)."""
    if kind.singular in _kinds and not replace:
        raise ConfigurationError(f"resource kind {kind.singular!r} is already registered")
    _kinds[kind.singular] = kind


def unregister_resource_kind(singular: str) -> None:
    _kinds.pop(singular, None)


def resource_kinds() -> list[ResourceKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.release_order)


def _release_buffer(buffer: object) -> None:
    buffer.free()  # type: ignore[attr-defined]


register_resource_kind(
    ResourceKind(
        "buffer",
        "buffers",
        # A queue's ring or a semaphore's value is theirs to free; a leak of them is reported as theirs.
        live=lambda device: [b for b in device.live_buffers if b.domain in DOMAINS and b.owner is None],
        release=_release_buffer,
    )
)
register_resource_kind(
    ResourceKind(
        "queue",
        "queues",
        live=lambda device: device.live_queues,
        release=lambda q: q.destroy(),
        release_order=10,
    )
)
register_resource_kind(
    ResourceKind(
        "dma-buf fd",
        "dma-buf fds",
        live=lambda device: device.live_dmabufs,
        release=lambda dmabuf: dmabuf.close(),
        release_order=30,
    )
)
register_resource_kind(
    ResourceKind(
        "semaphore",
        "semaphores",
        live=lambda device: device.live_semaphores,
        release=lambda semaphore: semaphore.close(),
        release_order=20,
    )
)

# What is alive, per kind: {kind name: {id(object): object}}.
Snapshot = dict[str, dict[int, object]]


def snapshot(devices: Iterable[Device], kinds: Sequence[ResourceKind] | None = None) -> Snapshot:
    """Every live resource of every registered kind on `devices`."""
    devices = [device for device in devices if not device.closed]
    return {
        kind.singular: {id(obj): obj for device in devices for obj in kind.live(device)}
        for kind in (resource_kinds() if kinds is None else kinds)
    }


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    merged: Snapshot = {}
    for taken in snapshots:
        for kind, objects in taken.items():
            merged.setdefault(kind, {}).update(objects)
    return merged


def difference(after: Snapshot, before: Snapshot) -> Snapshot:
    """What is in `after` and was not (the same object) in `before`."""
    return {
        kind: {key: obj for key, obj in objects.items() if before.get(kind, {}).get(key) is not obj}
        for kind, objects in after.items()
    }


def intersection(first: Snapshot, second: Snapshot) -> Snapshot:
    """What is (as the same object) in both snapshots."""
    return {
        kind: {key: obj for key, obj in objects.items() if second.get(kind, {}).get(key) is obj}
        for kind, objects in first.items()
    }


@dataclass(frozen=True)
class Leak:
    """Resources of one kind left alive, described as they were before being released."""

    kind: ResourceKind
    descriptions: tuple[str, ...]

    def __str__(self) -> str:
        count = len(self.descriptions)
        noun = self.kind.singular if count == 1 else self.kind.plural
        return f"leaked {count} {noun}: {', '.join(self.descriptions)}"


def release(kind: ResourceKind, resources: Iterable[object]) -> tuple[Leak, list[AmdgpuError]]:
    """Describe then release leaked resources of one kind; errors releasing them are returned, not raised."""
    resources = list(resources)
    leak = Leak(kind, tuple(map(repr, resources)))
    return leak, release_each(resources, kind.release)


def collect_leaks(
    before: Snapshot, devices: Sequence[Device], exempt: Snapshot
) -> tuple[list[Leak], list[AmdgpuError]]:
    """Find what appeared since `before` (outside `exempt`) and release it, kind by kind in release order.

    Each kind is looked at after the kinds before it were released, so a leaked queue's own buffers
    are freed with the queue and not reported again. Returns the leaks and any errors releasing them.
    """
    leaks: list[Leak] = []
    errors: list[AmdgpuError] = []
    for kind in resource_kinds():
        now = snapshot(devices, [kind])
        new = difference(difference(now, before), exempt).get(kind.singular, {})
        if new:
            leak, release_errors = release(kind, new.values())
            leaks.append(leak)
            errors.extend(release_errors)
    return leaks, errors


def release_all(resources: Snapshot) -> tuple[list[Leak], list[AmdgpuError]]:
    """Release every resource of a snapshot, kind by kind in release order."""
    leaks: list[Leak] = []
    errors: list[AmdgpuError] = []
    for kind in resource_kinds():
        objects = resources.get(kind.singular)
        if objects:
            leak, release_errors = release(kind, objects.values())
            leaks.append(leak)
            errors.extend(release_errors)
    return leaks, errors


def describe(leaks: Sequence[Leak], errors: Sequence[AmdgpuError] = (), owner: str = "") -> str:
    """'leaked 1 buffer: <Buffer gtt 4096 bytes at 0x... on gpu 1234>', one clause per kind, and failures."""
    text = "; ".join(f"{owner}{leak}" for leak in leaks)
    if errors:
        text += "; releasing them failed: " + "; ".join(map(str, errors))
    return text
