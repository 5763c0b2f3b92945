"""The driver opens devices and manages memory through the Transport seam, and never leaks."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.process import KfdProcess
from pytest_amdgpu.errors import (
    ConfigurationError,
    DeviceError,
    KfdIoctlError,
    LeakError,
    OutOfBoundsError,
    ResourceClosedError,
    TransportError,
)
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import PAGE_SIZE, MappedRegion
from pytest_amdgpu.sim.transport import SimTransport

MACHINES = ("mi300x", "rx7900xtx", "rx9070xt", "mi250x")


class InstrumentedTransport(SimTransport):
    """A simulated machine whose seam a test can watch and break: ioctls are logged, calls can fail."""

    def __init__(self, machine: str = "mi300x") -> None:
        super().__init__(machine)
        self.requests: list[str] = []
        self.fail_ioctl: dict[int, int] = {}
        self.fail_mmap_fd_kind: str | None = None
        self.after_ioctl = None

    def ioctl(self, fd: int, request: int, args: ctypes.Structure) -> None:
        self.requests.append(abi.ioctl_name(request))
        if request in self.fail_ioctl:
            raise KfdIoctlError(abi.ioctl_name(request), self.fail_ioctl[request], "injected by the test")
        super().ioctl(fd, request, args)
        if self.after_ioctl is not None:
            self.after_ioctl(request, args)

    def mmap(
        self, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0, addr: int = 0
    ) -> MappedRegion:
        if fd != -1 and self.kernel.files[fd].kind == self.fail_mmap_fd_kind:
            raise TransportError(errno.ENOMEM, "mmap failed (injected by the test)")
        return super().mmap(length, prot, flags, fd, offset, addr)


@pytest.fixture
def transport() -> Iterator[InstrumentedTransport]:
    sim = InstrumentedTransport()
    yield sim
    KfdProcess.shutdown_transport(sim)
    sim.close_transport()


def assert_nothing_left(transport: SimTransport) -> None:
    assert transport.kernel.live_objects() == []
    assert transport.kernel.process is None or all(
        len(p.vm) <= 1 for p in transport.kernel.process.pdds.values()
    )


@pytest.mark.parametrize("machine", MACHINES)
def test_every_domain_round_trips_and_close_releases_everything(machine: str) -> None:
    devices = driver.open_devices(backend="sim", machine=machine)
    sim = devices.transport
    assert isinstance(sim, SimTransport)
    for device in devices:
        for domain in ("vram", "gtt", "host"):
            data = np.arange(device.gpu_id, device.gpu_id + 3000, dtype=np.uint32)
            buffer = device.alloc(data.nbytes, domain=domain)
            buffer.write(data)
            np.testing.assert_array_equal(buffer.read(np.uint32), data)
            np.testing.assert_array_equal(buffer.view(np.uint32), data)
            assert device.gpu_id in buffer.mapped_gpu_ids
    assert len(sim.kernel.live_objects()) == 3 * len(devices)
    devices.close()
    assert sim.closed
    assert sim.kernel.files == {}
    assert sim.kernel.process is None


def test_free_releases_the_handle_and_mapping(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        buffer = device.alloc(12345, domain="vram")
        assert len(transport.kernel.live_objects()) == 1
        buffer.free()
        buffer.free()  # idempotent
        assert transport.kernel.live_objects() == []
        with pytest.raises(ResourceClosedError, match="freed"):
            buffer.read()
        assert buffer not in device.live_buffers
    assert transport.kernel.files  # render files stay open: the kernel binds each VM to one file
    KfdProcess.shutdown_transport(transport)
    assert transport.kernel.files == {}


def test_a_failed_cpu_mapping_raises_and_leaves_nothing(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        transport.fail_mmap_fd_kind = "render"
        with pytest.raises(TransportError, match="injected"):
            device.alloc(4096, domain="gtt")
        assert device.live_buffers == []
        assert transport.kernel.live_objects() == []
        assert transport.requests[-1] == "AMDKFD_IOC_FREE_MEMORY_OF_GPU"
        transport.fail_mmap_fd_kind = None
        assert device.alloc(4096, domain="gtt").read().tolist() == [0] * 4096


def test_a_failed_gpu_mapping_unwinds_the_allocation(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        transport.fail_ioctl[abi.AMDKFD_IOC_MAP_MEMORY_TO_GPU] = errno.ENOMEM
        for domain in ("vram", "host"):
            with pytest.raises(KfdIoctlError, match="MAP_MEMORY_TO_GPU failed: ENOMEM"):
                device.alloc(8192, domain=domain)
        assert device.live_buffers == [] and transport.kernel.live_objects() == []


def test_an_allocation_the_kernel_refuses_leaves_no_reservation(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        with pytest.raises(KfdIoctlError) as failure:
            device.alloc(device.available_memory() + (1 << 30))
        assert failure.value.errno == errno.ENOMEM
        assert "ALLOC_MEMORY_OF_GPU" in str(failure.value) and "insufficient VRAM" in str(failure.value)
        assert device.live_buffers == []


def test_device_close_frees_what_a_user_forgot_and_can_report_it(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        forgotten = device.alloc(4096, domain="gtt")
        leak = r"0 queue\(s\), 1 buffer\(s\) and 0 dma-buf fd\(s\) live: <Buffer gtt 4096"
        with pytest.raises(LeakError, match=leak):
            device.close(leak_check=True)
        assert forgotten.freed
        assert transport.kernel.live_objects() == []
        with pytest.raises(ResourceClosedError):
            device.alloc(4096)


def test_apertures_are_matched_by_gpu_id_not_position(transport: InstrumentedTransport) -> None:
    def reverse_apertures(request: int, args: ctypes.Structure) -> None:
        if request == abi.AMDKFD_IOC_GET_PROCESS_APERTURES_NEW and args.kfd_process_device_apertures_ptr:
            entries = (abi.kfd_process_device_apertures * args.num_of_nodes).from_address(
                args.kfd_process_device_apertures_ptr
            )
            copies = [abi.kfd_process_device_apertures.from_buffer_copy(entry) for entry in entries]
            for entry, copy in zip(entries, reversed(copies), strict=True):
                ctypes.memmove(ctypes.addressof(entry), ctypes.addressof(copy), ctypes.sizeof(copy))

    transport.after_ioctl = reverse_apertures
    with driver.open_devices(transport=transport) as devices:
        assert [device.apertures.gpu_id for device in devices] == [device.gpu_id for device in devices]


def test_an_unknown_major_version_is_refused(transport: InstrumentedTransport) -> None:
    def wrong_major(request: int, args: ctypes.Structure) -> None:
        if request == abi.AMDKFD_IOC_GET_VERSION:
            args.major_version = 2

    transport.after_ioctl = wrong_major
    with pytest.raises(DeviceError, match="major version 2 is not supported"):
        driver.open_devices(transport=transport)
    assert transport.kernel.live_objects() == []


def test_runtime_enable_only_where_the_interface_has_it(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        assert devices.kfd_version == (1, abi.KFD_IOCTL_MINOR_VERSION)
        assert "AMDKFD_IOC_RUNTIME_ENABLE" in transport.requests
    assert transport.kernel.process.runtime_state == 0  # disabled again on close

    def old_minor(request: int, args: ctypes.Structure) -> None:
        if request == abi.AMDKFD_IOC_GET_VERSION:
            args.minor_version = 11

    older = InstrumentedTransport("rx7900xtx")
    older.after_ioctl = old_minor
    try:
        with driver.open_devices(transport=older) as devices:
            assert devices.kfd_version == (1, 11)
        assert "AMDKFD_IOC_RUNTIME_ENABLE" not in older.requests
    finally:
        KfdProcess.shutdown_transport(older)
        older.close_transport()


def test_reacquiring_after_the_render_files_closed_is_explained(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport):
        pass
    KfdProcess.shutdown_transport(transport)  # render files closed, but the kernel keeps the binding
    with pytest.raises(DeviceError, match="EBUSY: this process already bound"):
        driver.open_devices(transport=transport)
    assert transport.kernel.live_objects() == []


def test_reopening_reuses_the_render_files_the_kernel_bound(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as first:
        first_fds = dict(first.process.render_fds)
        with driver.open_devices(transport=transport) as second:
            assert second.process is first.process
            second[0].alloc(4096).free()
        first[0].alloc(4096).free()  # still usable after the other set closed
    with driver.open_devices(transport=transport) as again:
        assert again.process.render_fds == first_fds
        again[1].alloc(4096).free()


def test_doorbells_and_mmio_remap_are_mapped_through_kfd(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        doorbells = device.alloc_doorbells()
        assert doorbells.size == 8192
        doorbells.cpu.store_u64(8 * 3, 0x40)
        pdd = transport.kernel.process.pdds[device.gpu_id]
        assert int(pdd.doorbells.bytes[24:32].view(np.uint64)[0]) == 0x40
        mmio = device.alloc_mmio_remap()
        assert mmio.size == 4096 and pdd.mmio is not None
        mmio.free()
        doorbells.free()
        assert transport.kernel.live_objects() == []


def test_peer_mapping_makes_a_buffer_visible_in_another_gpu_vm(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        owner, peer = devices[0], devices[1]
        buffer = owner.alloc(4096, domain="vram")
        buffer.map_to(peer)
        assert sorted(buffer.mapped_gpu_ids) == sorted([owner.gpu_id, peer.gpu_id])
        assert transport.kernel.process.pdds[peer.gpu_id].vm.lookup(buffer.gpu_addr) is not None
        buffer.unmap_from(peer)
        assert transport.kernel.process.pdds[peer.gpu_id].vm.lookup(buffer.gpu_addr) is None


def test_misuse_gets_clear_errors(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        with pytest.raises(ConfigurationError, match="got 0"):
            device.alloc(0)
        with pytest.raises(ConfigurationError, match="unknown memory domain 'lds'"):
            device.alloc(64, domain="lds")
        with device.alloc(100, domain="gtt") as buffer:
            with pytest.raises(OutOfBoundsError, match="write of 8 bytes at offset 96"):
                buffer.write(b"\x00" * 8, offset=96)
            with pytest.raises(OutOfBoundsError):
                buffer.read(np.uint32, count=26)
            with pytest.raises(ConfigurationError, match="not a whole number"):
                buffer.view(np.uint64)
            with pytest.raises(ConfigurationError, match="cannot write a list"):
                buffer.write([1, 2, 3])
        other = devices[1].alloc(64)
        with pytest.raises(ConfigurationError, match="was not allocated on"):
            device.map_buffer(other, [device])
        other.free()


def test_unknown_backend_and_machine_are_named() -> None:
    with pytest.raises(ConfigurationError, match="unknown backend 'cuda'"):
        driver.open_devices(backend="cuda")
    with pytest.raises(ConfigurationError, match="'mi999'"):
        driver.open_devices(backend="sim", machine="mi999")


def test_kfd_backend_without_a_gpu_fails_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PYTEST_AMDGPU_SYSFS_TOPOLOGY", str(tmp_path))
    import os

    from pytest_amdgpu.kfd.transport import KFD_DEVICE_PATH

    if os.path.exists(KFD_DEVICE_PATH):
        pytest.skip("this machine has /dev/kfd")
    with pytest.raises(DeviceError, match="backend 'kfd' needs a usable AMD GPU"):
        driver.open_devices(backend="kfd")
    with driver.open_devices(backend="auto", machine="rx7900xtx") as devices:
        assert "no usable AMD GPU" in devices.backend_description and len(devices) == 1


def test_list_machines_names_the_presets() -> None:
    assert {"mi300x", "mi250x", "rx7900xtx", "rx9070xt"} <= set(driver.list_machines())


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def test_untouched_vram_costs_no_host_memory(transport: InstrumentedTransport) -> None:
    with driver.open_devices(transport=transport) as devices:
        device = devices[0]
        before = _resident_bytes()
        huge = device.alloc(64 << 30, domain="vram")  # 64 GiB of a 192 GiB MI300X
        huge.write(b"\x01", offset=(64 << 30) - 1)
        assert huge.read(count=1, offset=(64 << 30) - 1)[0] == 1
        assert _resident_bytes() - before < (64 << 20)
        huge.free()
