"""Whatever a test allocates and does not free is freed for it, and the test is reported as an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from pytest_amdgpu import leaks
from pytest_amdgpu.errors import AmdgpuError

RunAmdgpu = Callable[..., pytest.RunResult]


def test_a_leaked_buffer_is_a_teardown_error_naming_it(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        def test_leaks(amdgpu_device):
            amdgpu_device.alloc(4096, domain="gtt")

        def test_next_starts_clean(amdgpu_device):
            assert amdgpu_device.live_buffers == []
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks[[]gpu0-gfx1100[]]*",
            "leaked 1 buffer: <Buffer gtt 4096 bytes at 0x* on gpu *>",
        ]
    )
    assert " freed>" not in result.stdout.str()  # described as it was when it leaked
    result.assert_outcomes(passed=2, errors=1)


def test_a_dmabuf_fd_left_open_is_a_leak_and_is_closed(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        LEAKED = []

        def test_leaks(amdgpu_device):
            with amdgpu_device.alloc(4096) as buffer:
                LEAKED.append(buffer.export_dmabuf())

        def test_next_starts_clean(amdgpu_device):
            assert amdgpu_device.live_dmabufs == [] and LEAKED[0].closed
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    result.stdout.fnmatch_lines(["leaked 1 dma-buf fd: <DmaBuf fd * of <Buffer vram 4096 bytes at 0x*>>"])
    result.assert_outcomes(passed=2, errors=1)


def test_several_leaks_are_counted_and_listed(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_leaks(amdgpu_devices):
            amdgpu_devices[0].alloc(64, domain="vram")
            amdgpu_devices[1].alloc(8192, domain="host")
        """
    )
    result = run_amdgpu(".", machine="mi250x")
    result.stdout.fnmatch_lines(
        ["leaked 2 buffers: <Buffer vram 64 bytes at *>, <Buffer host 8192 bytes at *>"]
    )
    result.assert_outcomes(passed=1, errors=1)


def test_freed_buffers_and_the_buffer_factory_leak_nothing(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import numpy as np

        def test_with(amdgpu_device):
            with amdgpu_device.alloc(4096) as buffer:
                buffer.write(np.arange(16, dtype=np.uint32))

        def test_factory(gpu_buffer, amdgpu_device):
            buffer = gpu_buffer(100, domain="gtt")
            assert buffer.device is amdgpu_device and buffer.domain == "gtt"
            gpu_buffer(1 << 20).fill(7)

        def test_factory_on_another_gpu(gpu_buffer, amdgpu_devices):
            assert gpu_buffer(64, device=amdgpu_devices[1]).device is amdgpu_devices[1]

        def test_everything_was_freed(amdgpu_devices):
            assert all(device.live_buffers == [] for device in amdgpu_devices)
        """
    )
    run_amdgpu(".", machine="mi250x").assert_outcomes(passed=18)


def test_wider_fixtures_own_what_they_allocate(run_amdgpu: RunAmdgpu, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def tidy(amdgpu_devices):
            buffer = amdgpu_devices[0].alloc(4096)
            yield buffer
            buffer.free()

        @pytest.fixture(scope="module")
        def sloppy(amdgpu_devices):
            return amdgpu_devices[0].alloc(8192, domain="host")

        def test_uses_tidy(tidy):
            pass

        def test_uses_both(tidy, sloppy):
            pass
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    # A module fixture's buffers are not its tests' leaks; what `sloppy` never freed is reported as it ends.
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses_both*",
            "fixture 'sloppy' (module scope) leaked 1 buffer: <Buffer host 8192 bytes at *>",
        ]
    )
    result.assert_outcomes(passed=2, errors=1)


def test_a_failing_teardown_is_reported_and_leaks_are_still_freed(
    run_amdgpu: RunAmdgpu, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken(amdgpu_device):
            yield
            amdgpu_device.alloc(64)
            raise RuntimeError("teardown broke")

        def test_broken(broken):
            pass

        def test_after(amdgpu_device):
            assert amdgpu_device.live_buffers == []
        """
    )
    result = run_amdgpu(".", machine="rx7900xtx")
    result.stdout.fnmatch_lines(["*RuntimeError: teardown broke*"])
    result.assert_outcomes(passed=2, errors=1)


# -- the registry other resource kinds (queues, events) join ------------------------------------------


@dataclass
class FakeDevice:
    widgets: list[object] = field(default_factory=list)
    closed: bool = False
    live_buffers: list[object] = field(default_factory=list)
    live_queues: list[object] = field(default_factory=list)
    live_semaphores: list[object] = field(default_factory=list)
    live_dmabufs: list[object] = field(default_factory=list)


@dataclass
class Widget:
    device: FakeDevice
    name: str
    broken: bool = False

    def destroy(self) -> None:
        self.device.widgets.remove(self)
        if self.broken:
            raise AmdgpuError(f"cannot destroy {self.name}")

    def __repr__(self) -> str:
        return f"<Widget {self.name}>"


@pytest.fixture
def widget_kind() -> Iterator[leaks.ResourceKind]:
    kind = leaks.ResourceKind(
        "widget",
        "widgets",
        live=lambda device: list(device.widgets),
        release=Widget.destroy,
        release_order=10,
    )
    leaks.register_resource_kind(kind)
    yield kind
    leaks.unregister_resource_kind("widget")


def test_registered_kinds_are_checked_first_and_released(widget_kind: leaks.ResourceKind) -> None:
    device = FakeDevice()
    kept = Widget(device, "kept")
    device.widgets.append(kept)
    before = leaks.snapshot([device])
    device.widgets += [Widget(device, "a"), Widget(device, "b", broken=True)]
    found, errors = leaks.collect_leaks(before, [device], exempt={})
    assert [str(leak) for leak in found] == ["leaked 2 widgets: <Widget a>, <Widget b>"]
    assert [str(error) for error in errors] == ["cannot destroy b"]
    assert device.widgets == [kept]
    order = leaks.resource_kinds()
    assert order.index(widget_kind) < [kind.singular for kind in order].index("buffer")  # 10 before 100
    assert (
        leaks.describe(found, errors)
        == "leaked 2 widgets: <Widget a>, <Widget b>; releasing them failed: cannot destroy b"
    )


def test_exempt_resources_are_not_leaks(widget_kind: leaks.ResourceKind) -> None:
    device = FakeDevice()
    before = leaks.snapshot([device])
    owned = Widget(device, "fixture's")
    device.widgets.append(owned)
    exempt = leaks.snapshot([device])
    found, _ = leaks.collect_leaks(before, [device], exempt)
    assert found == [] and device.widgets == [owned]


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(AmdgpuError, match="already registered"):
        leaks.register_resource_kind(leaks.resource_kinds()[-1])
