"""The Linux side of the Transport seam: real system calls, errors that name what failed."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from pytest_amdgpu.errors import KfdIoctlError, TransportError
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    LinuxTransport,
)


@pytest.fixture
def linux(tmp_path: Path) -> LinuxTransport:
    return LinuxTransport(tmp_path)


def test_open_failure_names_the_path(linux: LinuxTransport, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-device"
    with pytest.raises(TransportError, match=f"cannot open {missing}: No such file") as failure:
        linux.open(str(missing))
    assert failure.value.errno == errno.ENOENT


def test_a_failed_ioctl_names_the_request_and_errno(linux: LinuxTransport) -> None:
    fd = linux.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(KfdIoctlError, match=r"^AMDKFD_IOC_GET_VERSION failed: ENOTTY") as failure:
            linux.ioctl(fd, abi.AMDKFD_IOC_GET_VERSION, abi.kfd_ioctl_get_version_args())
        assert failure.value.errno == errno.ENOTTY
    finally:
        linux.close(fd)
    with pytest.raises(TransportError, match=f"close\\(fd {fd}\\) failed"):
        linux.close(fd)


def test_reserve_then_map_fixed_at_the_same_address(linux: LinuxTransport) -> None:
    reservation = linux.mmap(4 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS)
    region = linux.mmap(
        4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, addr=reservation.addr
    )
    assert region.addr == reservation.addr
    region.write(PAGE_SIZE, np.arange(4, dtype=np.uint32))
    assert region.load_u32(PAGE_SIZE + 8) == 2
    region.store_u64(0, 2**64 - 1)
    assert region.read(0, 8) == b"\xff" * 8
    with pytest.raises(TransportError, match="outside the 16384-byte mapping"):
        region.read(4 * PAGE_SIZE - 4, 8)
    linux.munmap(region)
    with pytest.raises(TransportError, match="was unmapped"):
        region.load_u32(0)
    linux.munmap(region)  # unmapping twice is harmless


def test_a_failed_mmap_names_its_arguments(linux: LinuxTransport) -> None:
    with pytest.raises(TransportError, match=r"mmap\(addr=0x0, length=0x1000, .*fd=-1.*EBADF|EINVAL"):
        linux.mmap(PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd=-1)


def test_usable_explains_why_not(tmp_path: Path) -> None:
    usable, reason = LinuxTransport(tmp_path).usable()
    assert not usable
    if not os.path.exists("/dev/kfd"):
        assert reason.startswith("/dev/kfd does not exist")
