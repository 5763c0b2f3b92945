"""dma-buf export and import: pages shared across handles and GPUs, kernel lifetimes, refusals."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator

import numpy as np
import pytest

from pytest_amdgpu import driver
from pytest_amdgpu.driver.device import Device
from pytest_amdgpu.driver.process import KfdProcess
from pytest_amdgpu.errors import (
    ConfigurationError,
    KfdIoctlError,
    LeakError,
    ResourceClosedError,
    TransportError,
)
from pytest_amdgpu.kfd import abi
from pytest_amdgpu.kfd.transport import MappedRegion
from pytest_amdgpu.sim.transport import SimTransport


class FailingDmaBufMmap(SimTransport):
    """mmap of anything that is not a simulated device file (that is, a dma-buf fd) fails."""

    def mmap(
        self, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0, addr: int = 0
    ) -> MappedRegion:
        if fd != -1 and fd not in self.kernel.files:
            raise TransportError(errno.ENOMEM, "mmap failed (injected by the test)")
        return super().mmap(length, prot, flags, fd, offset, addr)


@pytest.fixture
def devices() -> Iterator[list[Device]]:
    with driver.open_devices(backend="sim", machine="mi300x") as opened:
        yield opened
        assert opened.transport.kernel.queue_errors == []


def test_an_import_shares_pages_with_the_export_on_the_same_and_a_peer_gpu(devices: list[Device]) -> None:
    exporter, peer = devices[0], devices[1]
    data = np.arange(4096, dtype=np.uint32)
    with exporter.alloc(data.nbytes, "vram") as original, original.export_dmabuf() as dmabuf:
        original.write(data)
        with exporter.import_dmabuf(dmabuf) as same, peer.import_dmabuf(dmabuf) as remote:
            assert same.handle != original.handle and same.gpu_addr != original.gpu_addr
            assert remote.device is peer and remote.exporter_gpu_id == exporter.gpu_id
            np.testing.assert_array_equal(remote.read(np.uint32), data)
            # The peer's SDMA engine writes through its own VM mapping; the exporter sees it.
            with peer.alloc(256, "gtt") as src, peer.sdma_queue() as queue:
                src.write(np.full(64, 0xC0FFEE, dtype=np.uint32))
                queue.copy(remote, src, 256, dst_offset=1024).submit().wait()
            expected = data.copy()
            expected[256:320] = 0xC0FFEE
            np.testing.assert_array_equal(original.read(np.uint32), expected)
            np.testing.assert_array_equal(same.read(np.uint32), expected)


def test_info_names_size_exporter_and_placement(devices: list[Device]) -> None:
    device = devices[0]
    vram, gtt = device.alloc(5000, "vram"), device.alloc(100, "gtt")
    with vram, gtt, vram.export_dmabuf() as vram_fd, gtt.export_dmabuf() as gtt_fd:
        vram_info = devices[1].dmabuf_info(vram_fd)
        assert (vram_info.size, vram_info.gpu_id) == (8192, device.gpu_id)
        assert vram_info.flags == abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC
        assert device.dmabuf_info(gtt_fd.fileno()).flags == abi.KFD_IOC_ALLOC_MEM_FLAGS_GTT
        with devices[1].import_dmabuf(gtt_fd) as imported:
            assert imported.domain == "gtt" and imported.size == 4096


def test_the_pages_outlive_the_handle_and_the_fd_as_in_the_kernel(devices: list[Device]) -> None:
    device, peer = devices[0], devices[1]
    with peer.compute_queue():  # what a first queue leaves behind on the device (its event page)
        pass
    before = device.transport.kernel.live_objects()
    original = device.alloc(4096, "vram")
    original.write(b"kept")
    dmabuf = original.export_dmabuf()
    assert not os.get_inheritable(dmabuf.fd)  # exported with O_CLOEXEC
    original.free()  # the dma-buf still holds the pages
    imported = peer.import_dmabuf(dmabuf)
    dmabuf.close()  # and now the import holds them
    assert imported.read(count=4).tobytes() == b"kept"
    with peer.compute_queue() as queue:
        queue.write(imported, [0x11223344]).submit().wait()
        assert imported.read(np.uint32, count=1)[0] == 0x11223344
    imported.free()
    assert device.transport.kernel.live_objects() == before


def test_a_second_export_is_another_fd_on_the_same_pages(devices: list[Device]) -> None:
    device = devices[0]
    with device.alloc(4096, "gtt") as original, original.export_dmabuf() as a, original.export_dmabuf() as b:
        assert a.fd != b.fd
        with device.import_dmabuf(a) as via_a, device.import_dmabuf(b) as via_b:
            via_a.write(b"\x5a" * 16)
            assert via_b.read(count=16).tobytes() == b"\x5a" * 16


def test_refusals_name_the_reason_and_leave_nothing(devices: list[Device]) -> None:
    device = devices[0]
    kernel = device.transport.kernel
    doorbell_handle = device.doorbells().handle  # the process's doorbell slice, kept until close
    before = kernel.live_objects()
    with device.alloc(4096, "host") as host:
        with pytest.raises(KfdIoctlError, match="userptr") as refused:
            host.export_dmabuf()
        assert refused.value.errno == errno.EPERM
    plain = os.open(os.devnull, os.O_RDONLY)
    try:
        with pytest.raises(KfdIoctlError, match="not a dma-buf") as refused:
            device.import_dmabuf(plain)
        assert refused.value.errno == errno.EINVAL
    finally:
        os.close(plain)
    with pytest.raises(KfdIoctlError, match="not open") as refused:
        device.import_dmabuf(plain)
    assert refused.value.errno == errno.EBADF
    with pytest.raises(ConfigurationError, match="got -1"):
        device.import_dmabuf(-1)
    export = abi.kfd_ioctl_export_dmabuf_args(handle=doorbell_handle, flags=os.O_CLOEXEC)
    doorbells = device.process.ioctl(abi.AMDKFD_IOC_EXPORT_DMABUF, export).dmabuf_fd
    try:
        with pytest.raises(KfdIoctlError, match="only VRAM and GTT") as refused:
            devices[1].import_dmabuf(doorbells)
        assert refused.value.errno == errno.EINVAL
    finally:
        os.close(doorbells)
    freed = device.alloc(64)
    freed.free()
    with pytest.raises(ResourceClosedError):
        freed.export_dmabuf()
    with device.alloc(64) as buffer:
        dmabuf = buffer.export_dmabuf()
        dmabuf.close()
        with pytest.raises(ResourceClosedError):
            device.import_dmabuf(dmabuf)
    assert kernel.live_objects() == before
    assert device.live_buffers == [] or all(b.owner is not None for b in device.live_buffers)


def test_the_kernel_rules_hold_for_raw_ioctls(devices: list[Device]) -> None:
    device = devices[0]
    process = device.process
    with pytest.raises(KfdIoctlError) as refused:  # a handle naming no GPU
        process.ioctl(abi.AMDKFD_IOC_EXPORT_DMABUF, abi.kfd_ioctl_export_dmabuf_args(handle=0x1234 << 32))
    assert refused.value.errno == errno.EINVAL
    with pytest.raises(KfdIoctlError) as refused:  # a handle of no allocation
        args = abi.kfd_ioctl_export_dmabuf_args(handle=(device.gpu_id << 32) | 0xFFFF)
        process.ioctl(abi.AMDKFD_IOC_EXPORT_DMABUF, args)
    assert refused.value.errno == errno.EINVAL
    with device.alloc(4096) as buffer, buffer.export_dmabuf() as dmabuf:
        with pytest.raises(KfdIoctlError) as refused:  # gpu_id 0 is no GPU
            process.ioctl(
                abi.AMDKFD_IOC_IMPORT_DMABUF,
                abi.kfd_ioctl_import_dmabuf_args(va_addr=0x1000_0000, gpu_id=0, dmabuf_fd=dmabuf.fd),
            )
        assert refused.value.errno == errno.EINVAL


def test_a_failed_cpu_mapping_unwinds_the_import() -> None:
    transport = FailingDmaBufMmap("mi300x")
    try:
        with driver.open_devices(transport=transport) as devices:
            device = devices[0]
            with device.alloc(4096) as buffer, buffer.export_dmabuf() as dmabuf:
                before = transport.kernel.live_objects()
                with pytest.raises(TransportError, match="injected"):
                    device.import_dmabuf(dmabuf)
                assert transport.kernel.live_objects() == before
                assert len(device.live_buffers) == 1
    finally:
        KfdProcess.shutdown_transport(transport)
        transport.close_transport()


def test_device_close_closes_a_forgotten_dmabuf_and_reports_it() -> None:
    with driver.open_devices(backend="sim", machine="rx7900xtx") as devices:
        device = devices[0]
        buffer = device.alloc(4096)
        dmabuf = buffer.export_dmabuf()
        with pytest.raises(LeakError, match="1 dma-buf fd"):
            device.close(leak_check=True)
        assert dmabuf.closed
        with pytest.raises(OSError):
            os.fstat(dmabuf.fd)


def test_the_memory_charge_returns_when_the_last_reference_goes(devices: list[Device]) -> None:
    """amdgpu_amdkfd_release_notify: the exporter's VRAM is charged until no handle, fd or import holds it."""
    device, peer = devices[0], devices[1]
    size = 64 << 20
    free_before = device.available_memory()
    original = device.alloc(size, "vram")
    dmabuf = original.export_dmabuf()
    original.free()
    assert device.available_memory() == free_before - size  # the fd holds the pages
    peer_free = peer.available_memory()
    imported = peer.import_dmabuf(dmabuf)
    assert peer.available_memory() == peer_free  # an import charges nothing more
    dmabuf.close()
    assert device.available_memory() == free_before - size  # the import holds them
    imported.free()
    assert device.available_memory() == free_before
    assert device.transport.kernel._dmabufs == {}  # nothing left to remember of it


def test_read_only_memory_exports_a_read_only_dmabuf(devices: list[Device]) -> None:
    device = devices[0]
    with device.alloc(4096, "gtt", writable=False) as readonly, readonly.export_dmabuf() as dmabuf:
        assert fcntl.fcntl(dmabuf.fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        readonly.write(b"seen")
        with devices[1].import_dmabuf(dmabuf) as imported:
            assert imported.read(count=4).tobytes() == b"seen"
            with pytest.raises(TransportError, match="read-only"):
                imported.write(b"no")
            with pytest.raises(TransportError, match="read-only"):
                imported.fill(0)
            assert not imported.view().flags.writeable


def test_the_simulators_own_descriptors_are_not_dmabufs(devices: list[Device]) -> None:
    device = devices[0]
    with device.alloc(4096, "vram") as buffer, buffer.export_dmabuf():
        kernel = device.transport.kernel
        internal = kernel.process.pdds[device.gpu_id].objects[buffer.handle & 0xFFFF_FFFF].backing.fd
        with pytest.raises(KfdIoctlError, match="not a dma-buf") as refused:
            device.import_dmabuf(internal)
        assert refused.value.errno == errno.EINVAL
