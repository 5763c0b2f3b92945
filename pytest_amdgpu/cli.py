"""amdgpu-info: list the GPUs a backend sees (real or simulated), like a short rocminfo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from pytest_amdgpu import driver
from pytest_amdgpu.driver import Device, DeviceSet
from pytest_amdgpu.driver.backends import DEFAULT_MACHINE, backend_names
from pytest_amdgpu.errors import AmdgpuError
from pytest_amdgpu.markers import format_size
from pytest_amdgpu.selection import xgmi_peers

PROGRAM = "amdgpu-info"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="List the AMD GPUs that pytest-amdgpu sees through KFD, or those of a simulated machine.",
    )
    parser.add_argument(
        "--backend",
        default="auto",
        metavar="NAME",
        help=f"one of {', '.join(backend_names())} "
        "(default: auto: real GPUs when /dev/kfd is usable, else the simulator)",
    )
    parser.add_argument(
        "--machine", default=None, metavar="NAME", help=f"simulated machine (default: {DEFAULT_MACHINE})"
    )
    parser.add_argument("--list-machines", action="store_true", help="list the simulated machines and exit")
    return parser


def describe_device(device: Device, devices: Sequence[Device]) -> list[str]:
    """The lines of one GPU: identity, compute units, VRAM, SDMA engines, XGMI peers."""
    props = device.properties
    sdma = str(props.get("num_sdma_engines", 0))
    if props.get("num_sdma_xgmi_engines", 0):
        sdma += f" (+{props['num_sdma_xgmi_engines']} xgmi)"
    peers = ", ".join(f"gpu{peer.index}" for peer in xgmi_peers(device, devices)) or "none"
    rows = [
        ("name", device.name),
        ("gfx target", f"{device.gfx} ({device.family})"),
        ("compute units", str(device.node.compute_units)),
        ("VRAM", format_size(device.node.vram_bytes)),
        ("SDMA engines", sdma),
        ("XGMI peers", peers),
    ]
    return [f"gpu{device.index}  node {device.node_index}  gpu_id {device.gpu_id}"] + [
        f"  {label:<14}{value}" for label, value in rows
    ]


def report(devices: DeviceSet, out: TextIO) -> None:
    major, minor = devices.kfd_version
    print(devices.backend_description, file=out)
    print(f"KFD interface {major}.{minor}, {len(devices)} GPU(s)", file=out)
    for device in devices:
        print(file=out)
        for line in describe_device(device, list(devices)):
            print(line, file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run amdgpu-info; the exit status is 0, or 1 with a message on stderr when GPUs cannot be listed."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    if args.list_machines:
        print("\n".join(driver.list_machines()), file=out)
        return 0
    try:
        with driver.open_devices(backend=args.backend, machine=args.machine) as devices:
            report(devices, out)
    except AmdgpuError as exc:
        print(f"{PROGRAM}: error: {exc}", file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
