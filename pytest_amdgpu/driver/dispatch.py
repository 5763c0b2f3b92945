"""Kernel dispatch on a PM4 queue: kernarg ring, user SGPRs, scratch, LDS, SET_SH_REG and DISPATCH_DIRECT."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from pytest_amdgpu.driver.buffer import Buffer
from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.packets import pm4, registers
from pytest_amdgpu.program import Dispatch, pack_kernargs

if TYPE_CHECKING:
    from pytest_amdgpu.driver.program import Program
    from pytest_amdgpu.driver.queues import ComputeQueue

KERNARG_RING_BYTES = 256 * 1024
KERNARG_ALIGN = 64
DISPATCH_PACKET_BYTES = 64  # hsa_kernel_dispatch_packet_t, for kernels that ask for the dispatch pointer
QUEUE_DESCRIPTOR_BYTES = 256  # amd_queue_t, zero-filled, for kernels that ask for the queue pointer
MAX_WORKGROUP_SIZE = 1024
MAX_GRID_DIM = 0xFFFF_FFFF
MAX_SCRATCH_WAVES = 0xFFF  # COMPUTE_TMPRING_SIZE.WAVES is 12 bits


def _dims(value: int | Sequence[int], what: str, limit: int) -> tuple[int, int, int]:
    values = [value] if isinstance(value, int) else list(value)
    if not 1 <= len(values) <= 3 or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise ConfigurationError(f"{what} must be 1 to 3 positive integers, got {value!r}")
    values += [1] * (3 - len(values))
    if any(not 1 <= v <= limit for v in values):
        raise ConfigurationError(f"{what} {tuple(values)} has a dimension outside 1..{limit}")
    return values[0], values[1], values[2]


class KernargRing:
    """Kernel-argument memory used round-robin: a slot is rewritten only once its submission finished."""

    def __init__(self, queue: ComputeQueue, size: int = KERNARG_RING_BYTES) -> None:
        self.queue = queue
        self.buffer = queue._own(queue.device.alloc(size, "gtt"))
        self.cursor = 0
        self.in_use: list[tuple[int, int, int]] = []  # (start, end, fence value of the submission using it)

    def allocate(self, size: int, align: int) -> int:
        """A GPU address of `size` bytes for the next submission's kernel arguments."""
        if size > self.buffer.size:
            raise ConfigurationError(
                f"{size} bytes of kernel arguments exceed the {self.buffer.size}-byte ring"
            )
        start = -(-self.cursor // align) * align
        if start + size > self.buffer.size:
            start = 0
        end = start + size
        next_value = self.queue.submitted_value + 1
        for used_start, used_end, value in list(self.in_use):
            if used_start < end and start < used_end:
                if value >= next_value:
                    raise ConfigurationError(
                        f"{self.queue.name}: the kernarg ring filled up within one submission; "
                        "submit() more often"
                    )
                self.queue.wait_for_fence(value, self.queue.default_timeout)
                self.in_use.remove((used_start, used_end, value))
        self.in_use.append((start, end, next_value))
        self.cursor = end
        return self.buffer.gpu_addr + start

    def write(self, addr: int, data: bytes) -> None:
        self.buffer.write(np.frombuffer(data, dtype=np.uint8), offset=addr - self.buffer.gpu_addr)


def _dispatch_packet(
    program: Program, grid: tuple[int, int, int], block: tuple[int, int, int], kernarg_va: int, lds_bytes: int
) -> bytes:
    """An hsa_kernel_dispatch_packet_t describing the launch, for kernels that read the dispatch pointer."""
    dims = sum(1 for extent in (grid[1], grid[2]) if extent > 1) + 1
    return struct.pack(
        "<HHHHHHIIIIIQQQQ",
        0,  # header: not an AQL queue, so no packet type
        dims,  # setup: dimensions
        block[0], block[1], block[2], 0,
        grid[0] * block[0], grid[1] * block[1], grid[2] * block[2],
        program.kernel.private_segment_fixed_size,
        program.kernel.group_segment_fixed_size + lds_bytes,
        program.descriptor_va,
        kernarg_va,
        0,
        0,
    )  # fmt: skip


def build_dispatch(
    queue: ComputeQueue,
    program: Program,
    grid: int | Sequence[int],
    block: int | Sequence[int],
    args: Sequence[object],
    lds_bytes: int = 0,
) -> list[int]:
    """The packets of one dispatch; kernel arguments are written into the queue's kernarg ring."""
    device = queue.device
    if program.device is not device:
        raise ConfigurationError(f"{program!r} was loaded on another device than {queue.name}")
    grid3 = _dims(grid, "grid", MAX_GRID_DIM)
    limits = device.target.max_grid_workgroups
    if any(extent > limit for extent, limit in zip(grid3, limits, strict=True)):
        raise ConfigurationError(
            f"grid {grid3} exceeds what {device.gfx} can number: at most {limits} workgroups per dimension"
        )
    block3 = _dims(block, "block", MAX_WORKGROUP_SIZE)
    if math.prod(block3) > MAX_WORKGROUP_SIZE:
        raise ConfigurationError(
            f"block {block3} has {math.prod(block3)} work-items; a workgroup holds at most 1024"
        )
    if isinstance(lds_bytes, bool) or not isinstance(lds_bytes, int) or lds_bytes < 0:
        raise ConfigurationError(f"lds_bytes must be a non-negative integer, got {lds_bytes!r}")
    kernel = program.kernel
    descriptor = kernel.descriptor
    lds_total = kernel.group_segment_fixed_size + lds_bytes
    lds_limit = device.properties.get("lds_size_in_kb", 64) * 1024
    if lds_total > lds_limit:
        raise ConfigurationError(
            f"{program.name} needs {lds_total} bytes of LDS ({kernel.group_segment_fixed_size} static + "
            f"{lds_bytes} dynamic); a workgroup on {device.gfx} has at most {lds_limit}"
        )
    regs = registers.compute_registers(device.target)
    wave_size = descriptor.wavefront_size
    if wave_size not in device.target.supported_wave_sizes:
        raise ConfigurationError(
            f"{program.name} is built for wave{wave_size}, which {device.gfx} cannot run"
        )

    kernargs = pack_kernargs(
        kernel, list(args), Dispatch(grid=grid, block=block, dynamic_lds_bytes=lds_bytes)
    )
    ring = queue.kernarg_ring()
    kernarg_va = ring.allocate(max(len(kernargs), 1), max(kernel.kernarg_segment_align, KERNARG_ALIGN))
    ring.write(kernarg_va, kernargs)

    scratch_va, tmpring = 0, 0
    if descriptor.enable_private_segment and kernel.private_segment_fixed_size:
        granule = regs.tmpring_wavesize_granularity_bytes
        wave_bytes = -(-kernel.private_segment_fixed_size * wave_size // granule) * granule
        waves_per_group = -(-math.prod(block3) // wave_size)
        waves = min(math.prod(grid3) * waves_per_group, MAX_SCRATCH_WAVES)
        scratch_va = device.scratch(waves * wave_bytes).gpu_addr
        tmpring = regs.COMPUTE_TMPRING_SIZE.encode(WAVES=waves, WAVESIZE=wave_bytes // granule)

    user_data: list[int] = []
    for name, count in descriptor.enabled_user_sgprs:
        if name == "enable_sgpr_kernarg_segment_ptr":
            values = [kernarg_va & 0xFFFF_FFFF, kernarg_va >> 32]
        elif name == "enable_sgpr_dispatch_ptr":
            packet_va = ring.allocate(DISPATCH_PACKET_BYTES, KERNARG_ALIGN)
            ring.write(packet_va, _dispatch_packet(program, grid3, block3, kernarg_va, lds_bytes))
            values = [packet_va & 0xFFFF_FFFF, packet_va >> 32]
        elif name == "enable_sgpr_queue_ptr":
            queue_va = ring.allocate(QUEUE_DESCRIPTOR_BYTES, KERNARG_ALIGN)
            ring.write(queue_va, bytes(QUEUE_DESCRIPTOR_BYTES))
            values = [queue_va & 0xFFFF_FFFF, queue_va >> 32]
        elif name == "enable_sgpr_dispatch_id":
            queue.dispatch_count += 1
            values = [queue.dispatch_count & 0xFFFF_FFFF, queue.dispatch_count >> 32]
        elif name == "enable_sgpr_flat_scratch_init":
            values = [scratch_va & 0xFFFF_FFFF, scratch_va >> 32]
        elif name == "enable_sgpr_private_segment_size":
            values = [kernel.private_segment_fixed_size]
        else:
            raise ConfigurationError(
                f"{program.name} asks for the {name[len('enable_sgpr_') :]} user SGPRs, which this driver "
                "does not provide (a buffer resource for MUBUF scratch)"
            )
        assert len(values) == count
        user_data += values
    if len(user_data) > 16:
        raise ConfigurationError(f"{program.name} needs {len(user_data)} user SGPRs; the hardware loads 16")

    dialect = queue.dialect
    entry = program.entry_va
    if entry % 256:
        raise ConfigurationError(f"{program.name} starts at {entry:#x}, which is not 256-byte aligned")
    initiator_fields = {"COMPUTE_SHADER_EN": 1, "FORCE_START_AT_000": 1}
    if wave_size == 32:
        initiator_fields["CS_W32_EN"] = 1
    rsrc2 = descriptor.compute_pgm_rsrc2
    granules = -(-lds_total // device.target.lds_granule_bytes)
    rsrc2 = (rsrc2 & ~(0x1FF << 15)) | (granules << 15)  # LDS_SIZE covers static and dynamic LDS

    def set_sh(register_name: str, values: list[int]) -> list[int]:
        return pm4.build(dialect, "SET_SH_REG", reg_offset=regs[register_name].sh_offset, values=values)

    words = set_sh("COMPUTE_PGM_LO", [(entry >> 8) & 0xFFFF_FFFF, entry >> 40])
    words += set_sh("COMPUTE_PGM_RSRC1", [descriptor.compute_pgm_rsrc1, rsrc2])
    words += set_sh("COMPUTE_PGM_RSRC3", [descriptor.compute_pgm_rsrc3])
    words += set_sh("COMPUTE_START_X", [0, 0, 0, block3[0], block3[1], block3[2]])
    words += set_sh("COMPUTE_TMPRING_SIZE", [tmpring])
    words += set_sh("COMPUTE_RESOURCE_LIMITS", [0])
    if user_data:
        words += set_sh("COMPUTE_USER_DATA_0", user_data)
    words += pm4.build(
        dialect,
        "DISPATCH_DIRECT",
        dim_x=grid3[0],
        dim_y=grid3[1],
        dim_z=grid3[2],
        dispatch_initiator=regs.COMPUTE_DISPATCH_INITIATOR.encode(**initiator_fields),
    )
    return words


__all__ = ["Buffer", "KernargRing", "build_dispatch"]
