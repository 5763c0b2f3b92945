"""Memory conformance: allocate, CPU-map, write, read and free in every domain, and reject bad requests."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from pytest_amdgpu.driver import Device
from pytest_amdgpu.errors import ConfigurationError, KfdIoctlError, OutOfBoundsError

DOMAINS = ("vram", "gtt", "host")
SIZES = (1, 4095, 4096, 65536 + 3, 1 << 21)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("size", SIZES)
def test_write_then_read_back(amdgpu_device: Device, domain: str, size: int) -> None:
    pattern = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
    with amdgpu_device.alloc(size, domain=domain) as buffer:
        buffer.write(pattern)
        np.testing.assert_array_equal(buffer.read(), pattern)
        assert buffer.size == size
        assert buffer.gpu_addr % 4096 == 0


@pytest.mark.parametrize("domain", DOMAINS)
def test_out_of_bounds_write_is_refused_and_changes_nothing(amdgpu_device: Device, domain: str) -> None:
    with amdgpu_device.alloc(64, domain=domain) as buffer:
        buffer.write(np.full(64, 7, dtype=np.uint8))
        with pytest.raises(OutOfBoundsError, match="offset 60"):
            buffer.write(np.zeros(8, dtype=np.uint8), offset=60)
        assert (buffer.read() == 7).all()


def test_vram_allocation_is_accounted(amdgpu_device: Device) -> None:
    before = amdgpu_device.available_memory()
    with amdgpu_device.alloc(8 << 20, domain="vram"):
        assert amdgpu_device.available_memory() <= before - (8 << 20)
    assert amdgpu_device.available_memory() == before


def test_allocation_beyond_free_vram_fails_with_enomem_and_leaks_nothing(amdgpu_device: Device) -> None:
    available = amdgpu_device.available_memory()
    if available == 0:
        pytest.skip(f"{amdgpu_device} reports no dedicated VRAM")
    buffers_before = len(amdgpu_device.live_buffers)
    with pytest.raises(KfdIoctlError) as failure:
        amdgpu_device.alloc(available + (1 << 30), domain="vram")
    assert failure.value.errno == errno.ENOMEM
    assert len(amdgpu_device.live_buffers) == buffers_before
    assert amdgpu_device.available_memory() == available


@pytest.mark.parametrize("size", (0, -1, 1.5, True))
def test_bad_sizes_are_rejected_before_the_kernel(amdgpu_device: Device, size: object) -> None:
    with pytest.raises(ConfigurationError, match="positive integer"):
        amdgpu_device.alloc(size, domain="gtt")  # type: ignore[arg-type]


def test_unknown_domain_names_the_choices(amdgpu_device: Device) -> None:
    with pytest.raises(ConfigurationError, match="expected one of vram, gtt, host"):
        amdgpu_device.alloc(4096, domain="lds")
