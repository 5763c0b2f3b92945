"""Which GPUs a run tests: --amdgpu-devices parsing, the selected-devices view, and XGMI peers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.driver.process import KfdProcess
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.kfd.transport import Transport


def device_id(device: Device) -> str:
    """The test id of a GPU, as in test_x[gpu0-gfx942]."""
    return f"gpu{device.index}-{device.gfx}"


def parse_device_list(text: str) -> list[str]:
    """Entries of a comma-separated --amdgpu-devices value, lower-cased, empty entries dropped."""
    return [entry.strip().lower() for entry in text.split(",") if entry.strip()]


def _matches(device: Device, entry: str) -> bool:
    if entry.isdigit():
        return device.index == int(entry)
    target = entry.split(":", 1)[0]  # "gfx90a:xnack+" selects gfx90a
    return device.gfx == target or device.family == entry


def describe_devices(devices: Iterable[Device]) -> str:
    """'gfx942 (cdna3): gpu0, gpu1; gfx1100 (rdna3): gpu2' — what a machine has, grouped by target."""
    groups: dict[str, list[str]] = {}
    for device in devices:
        groups.setdefault(f"{device.gfx} ({device.family})", []).append(f"gpu{device.index}")
    return "; ".join(f"{target}: {', '.join(names)}" for target, names in groups.items()) or "no GPU"


def select_devices(devices: Sequence[Device], entries: Sequence[str]) -> list[Device]:
    """The devices matching any entry (an index, a gfx target or a family), in index order.

    An entry that matches nothing is a ConfigurationError naming what exists.
    """
    chosen: set[int] = set()
    for entry in entries:
        matching = [device.index for device in devices if _matches(device, entry)]
        if not matching:
            raise ConfigurationError(
                f"{entry!r} matches no GPU; this machine has {describe_devices(devices)}. "
                "Select GPUs by index (0,2), gfx target (gfx942) or family (cdna3), comma-separated"
            )
        chosen.update(matching)
    return [device for device in devices if device.index in chosen]


def xgmi_peers(device: Device, among: Iterable[Device]) -> list[Device]:
    """The devices of `among` that `device` reaches over an XGMI link."""
    linked_nodes = {
        link.properties.get("node_to")
        for link in device.node.io_links + device.node.p2p_links
        if link.is_xgmi
    }
    return [peer for peer in among if peer is not device and peer.node.index in linked_nodes]


class DeviceSelection(Sequence[Device]):
    """The GPUs a session tests: a read-only view of the opened DeviceSet (closing belongs to the session)."""

    def __init__(self, device_set: DeviceSet, selected: Sequence[Device]) -> None:
        self.device_set = device_set
        self._selected = tuple(selected)

    @property
    def process(self) -> KfdProcess:
        return self.device_set.process

    @property
    def transport(self) -> Transport:
        return self.device_set.transport

    @property
    def kfd_version(self) -> tuple[int, int]:
        return self.device_set.kfd_version

    @property
    def backend_description(self) -> str:
        return self.device_set.backend_description

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(device_id(device) for device in self._selected)

    def by_index(self, index: int) -> Device:
        """The selected GPU whose topology index is `index` (gpu2 is by_index(2), whatever is selected)."""
        for device in self._selected:
            if device.index == index:
                return device
        raise ConfigurationError(f"gpu{index} is not selected; selected: {', '.join(self.ids) or 'none'}")

    def __getitem__(self, index):
        return self._selected[index]

    def __len__(self) -> int:
        return len(self._selected)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._selected)

    def __repr__(self) -> str:
        return f"<DeviceSelection {', '.join(self.ids)} of {len(self.device_set)} via {self.transport.name}>"
