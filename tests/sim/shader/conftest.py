"""Test harness for the shader core: a GPU VM with buffers, an assembler front end, and a tiny dispatcher."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pytest_amdgpu.families import get_target
from pytest_amdgpu.sim.memory import Backing, GpuMemory, GpuVm
from pytest_amdgpu.sim.shader import DispatchState, DispatchStats, run_dispatch
from pytest_amdgpu.sim.shader.targets import properties
from pytest_amdgpu.toolchain import missing_tool

# One target per ISA family (gfx942 and gfx90a both for gfx9: their scratch and id setup differ).
FAMILY_TARGETS = {"gfx9": "gfx942", "gfx10": "gfx1030", "gfx11": "gfx1100", "gfx12": "gfx1200"}


def llvm_tool(name: str, target: str) -> str:
    """llvm-mc / llvm-objdump / llvm-objcopy able to handle `target` (LLVM 22 for gfx950), or skip."""
    versions = ("22",) if target == "gfx950" else ("19", "22")
    for version in versions:
        path = shutil.which(f"{name}-{version}")
        if path:
            return path
    missing_tool(
        f"{name} (LLVM {'/'.join(versions)}) is not installed; it assembles the shader-core test code"
    )
    return ""


def assemble(source: str, target: str, tmp_path: Path, attributes: str = "") -> bytes:
    """Machine code of `source` (an instruction list) for `target`, via llvm-mc and llvm-objcopy."""
    asm = tmp_path / "code.s"
    obj = tmp_path / "code.o"
    raw = tmp_path / "code.bin"
    asm.write_text(".text\n" + source + "\n")
    command = [llvm_tool("llvm-mc", target), "-triple=amdgcn-amd-amdhsa", f"-mcpu={target}", "-filetype=obj"]
    if attributes:
        command.append(f"-mattr={attributes}")
    result = subprocess.run([*command, str(asm), "-o", str(obj)], capture_output=True, text=True)
    if result.returncode:
        raise AssertionError(f"llvm-mc failed:\n{result.stderr}")
    subprocess.run(
        [llvm_tool("llvm-objcopy", target), "-O", "binary", "--only-section=.text", str(obj), str(raw)],
        check=True,
    )
    return raw.read_bytes()


@dataclass
class SimGpu:
    """A GPU VM with plain buffers: what the shader core sees of a device."""

    gpu_id: int = 7
    vm: GpuVm = field(init=False)
    memory: GpuMemory = field(init=False)
    next_va: int = 0x7_0000_0000
    backings: list[Backing] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.vm = GpuVm(self.gpu_id)
        self.memory = GpuMemory(self.vm)

    def alloc(
        self, size: int, data: bytes | np.ndarray | None = None, writable: bool = True, align: int = 4096
    ) -> int:
        size = max(4096, -(-int(size) // 4096) * 4096)
        backing = Backing(size, "shader-test")
        self.backings.append(backing)
        va = -(-self.next_va // align) * align
        self.next_va = va + size + 0x10000  # leave an unmapped hole after every buffer
        self.vm.map(va, size, SimpleNamespace(backing=backing), writable)
        if data is not None:
            raw = (
                np.frombuffer(bytes(data), np.uint8)
                if isinstance(data, bytes | bytearray)
                else data.view(np.uint8)
            )
            backing.bytes[: raw.size] = raw.reshape(-1)
        return va

    def array(self, va: int, dtype, count: int) -> np.ndarray:
        return self.memory.read(va, np.dtype(dtype).itemsize * count).view(dtype)

    def close(self) -> None:
        for backing in self.backings:
            backing.close()


def rsrc1(target: str, vgprs: int, wave_size: int) -> int:
    """COMPUTE_PGM_RSRC1 with enough VGPR blocks for `vgprs` (and IEEE mode, as LLVM sets it)."""
    probe = properties(target, get_target(target).isa_family)
    granule = probe.vgpr_count(0, wave_size)
    return max(0, math.ceil(vgprs / granule) - 1) | 1 << 23


def rsrc2(
    user_sgprs: int,
    tgid: Sequence[bool] = (True, False, False),
    tidig: int = 0,
    scratch: bool = False,
    tg_size: bool = False,
    lds_granules: int = 0,
) -> int:
    value = int(scratch) | user_sgprs << 1 | int(tg_size) << 10 | tidig << 11 | lds_granules << 15
    for axis, enabled in enumerate(tgid):
        value |= int(enabled) << (7 + axis)
    return value


@dataclass
class Launch:
    """A dispatch of raw machine code: everything DispatchState needs, with test-friendly defaults."""

    gpu: SimGpu
    target: str
    code: bytes
    grid: tuple[int, int, int] = (1, 1, 1)
    block: tuple[int, int, int] = (64, 1, 1)
    user_data: Sequence[int] = ()
    vgprs: int = 16
    wave_size: int | None = None
    tgid: Sequence[bool] = (True, False, False)
    tidig: int = 0
    tg_size: bool = False
    lds_bytes: int = 0
    scratch_base: int = 0
    tmpring_size: int = 0
    scratch: bool = False
    lds_limit_bytes: int = 65536
    extra_rsrc2: int = 0
    gws: np.ndarray | None = None  # the process's GWS entries, None: the process holds no GWS
    kwargs: dict = field(default_factory=dict)

    def state(self) -> DispatchState:
        family = get_target(self.target).isa_family
        wave_size = self.wave_size or (64 if family == "gfx9" else 32)
        props = properties(self.target, family)
        code_va = self.gpu.alloc(len(self.code) + 256, self.code, writable=False)
        user = [int(v) & 0xFFFF_FFFF for v in self.user_data]
        return DispatchState(
            gfx_target=self.target,
            isa_family=family,
            pgm_addr=code_va,
            rsrc1=rsrc1(self.target, self.vgprs, wave_size),
            rsrc2=rsrc2(
                len(user),
                self.tgid,
                self.tidig,
                self.scratch,
                self.tg_size,
                -(-self.lds_bytes // props.lds_granule_bytes),
            )
            | self.extra_rsrc2,
            rsrc3=0,
            user_data=user + [0] * (16 - len(user)),
            grid_workgroups=self.grid,
            workgroup_size=self.block,
            wave_size=wave_size,
            dispatch_initiator=1 | (int(wave_size == 32) << 15),
            scratch_base=self.scratch_base,
            tmpring_size=self.tmpring_size,
            lds_limit_bytes=self.lds_limit_bytes,
            gws=self.gws,
        )

    def run(self) -> DispatchStats:
        return run_dispatch(self.state(), self.gpu.memory, **self.kwargs)


def split64(value: int) -> list[int]:
    return [value & 0xFFFF_FFFF, value >> 32]


@pytest.fixture
def gpu() -> Iterator[SimGpu]:
    device = SimGpu()
    yield device
    device.close()


@pytest.fixture
def asm(tmp_path: Path):
    """assemble(source, target) -> machine code bytes."""
    return lambda source, target, attributes="": assemble(source, target, tmp_path, attributes)


# --- bundled code objects: a minimal dispatcher doing what the driver does ----------------------------------
def _private_segment_descriptor(isa_family: str, base: int) -> list[int]:
    """A swizzled scratch buffer resource (V#): 4-byte elements interleaved across 64 lanes."""
    word3 = 3 << 21 | 1 << 23 | (1 << 19 if isa_family == "gfx9" else 0)
    return [base & 0xFFFF_FFFF, (base >> 32) & 0xFFFF | 1 << 31, 0xFFFF_FFFF, word3]


def run_bundled(
    gpu: SimGpu,
    target: str,
    kernel: str,
    grid: Sequence[int],
    block: Sequence[int],
    args: Sequence[object],
    scratch_slots: int = 64,
    **kwargs,
) -> DispatchStats:
    """Load `target`'s bundled code object into `gpu`, lay out the kernargs and run `kernel`."""
    from pytest_amdgpu.kernels import load_bundled
    from pytest_amdgpu.program import Dispatch, pack_kernargs

    code_object = load_bundled(target)
    info = code_object.kernel(kernel)
    family = get_target(target).isa_family
    props = properties(target, family)
    base = gpu.alloc(
        code_object.image_size + code_object.image_align, align=max(code_object.image_align, 4096)
    )
    gpu.memory.write(base, code_object.load(base))
    grid3 = tuple(grid) + (1,) * (3 - len(grid))
    block3 = tuple(block) + (1,) * (3 - len(block))
    kernargs = pack_kernargs(info, args, Dispatch(grid, block))
    kernarg_va = gpu.alloc(len(kernargs), kernargs)
    descriptor = info.descriptor
    wave_size = descriptor.wavefront_size
    lanes_bytes = info.private_segment_fixed_size * wave_size
    granule = props.tmpring.wavesize_granule_bytes
    wave_bytes = -(-lanes_bytes // granule) * granule
    scratch_va = gpu.alloc(scratch_slots * wave_bytes) if descriptor.enable_private_segment else 0
    user: list[int] = []
    for name, _count in descriptor.enabled_user_sgprs:
        if name == "enable_sgpr_kernarg_segment_ptr":
            user += split64(kernarg_va)
        elif name == "enable_sgpr_flat_scratch_init":
            user += split64(scratch_va)
        elif name == "enable_sgpr_private_segment_buffer":
            user += _private_segment_descriptor(family, scratch_va)
        elif name == "enable_sgpr_private_segment_size":
            user += [info.private_segment_fixed_size]
        else:
            user += [0, 0]
    lds = info.group_segment_fixed_size
    state = DispatchState(
        gfx_target=target,
        isa_family=family,
        pgm_addr=base + info.code_offset,
        rsrc1=descriptor.compute_pgm_rsrc1,
        rsrc2=descriptor.compute_pgm_rsrc2 | (-(-lds // props.lds_granule_bytes)) << 15,
        rsrc3=descriptor.compute_pgm_rsrc3,
        user_data=user[:16] + [0] * (16 - min(len(user), 16)),
        grid_workgroups=grid3,
        workgroup_size=block3,
        wave_size=wave_size,
        dispatch_initiator=1 | (int(wave_size == 32) << 15),
        scratch_base=scratch_va,
        tmpring_size=scratch_slots | (wave_bytes // granule) << 12 if scratch_va else 0,
        lds_limit_bytes=get_target(target).lds_size_kib_default * 1024,
    )
    runner = kwargs.pop("runner", None)  # runner(state, memory) instead of run_dispatch
    if runner is not None:
        return runner(state, gpu.memory)
    return run_dispatch(state, gpu.memory, **kwargs)


# --- snippets: a few instructions whose results are stored lane by lane ---------------------------------
STORE_DWORD = {"gfx9": "global_store_dword", "gfx10": "global_store_dword", "gfx11": "global_store_b32",
               "gfx12": "global_store_b32"}  # fmt: skip
ADDRESS_VGPR = 60  # the snippets keep v60..v63 and s[90:91] for the epilogue
SNIPPET_VGPRS = 64


def snippet_source(family: str, body: str, results: Sequence[str], lanes: int) -> str:
    """`body`, then each of `results` (a VGPR or SGPR) stored to out[slot * lanes + lane]; out is s[0:1]."""
    lines = [body, f"v_lshlrev_b32 v{ADDRESS_VGPR}, 2, v0"]
    for slot, register in enumerate(results):
        source = register
        if not register.startswith("v"):
            lines.append(f"v_mov_b32 v{ADDRESS_VGPR + 1}, {register}")
            source = f"v{ADDRESS_VGPR + 1}"
        lines.append(f"{STORE_DWORD[family]} v{ADDRESS_VGPR}, {source}, s[0:1] offset:{slot * lanes * 4}")
    lines.append("s_endpgm")
    return "\n".join(lines)


def run_snippet(
    gpu: SimGpu,
    asm,
    target: str,
    body: str,
    results: Sequence[str],
    wave_size: int | None = None,
    **launch,
) -> np.ndarray:
    """Run `body` on one wave (lane l has v0 = l) and return (len(results), lanes) uint32 of the results."""
    family = get_target(target).isa_family
    lanes = wave_size or (64 if family == "gfx9" else 32)
    attributes = "+wavefrontsize64" if lanes == 64 and family != "gfx9" else ""
    code = asm(snippet_source(family, body, results, lanes), target, attributes)
    out = gpu.alloc(4 * lanes * max(len(results), 1))
    user = split64(out) + list(launch.pop("extra_user", ()))
    Launch(gpu, target, code, block=(lanes, 1, 1), user_data=user, vgprs=SNIPPET_VGPRS, wave_size=lanes,
           **launch).run()  # fmt: skip
    return gpu.array(out, np.uint32, lanes * len(results)).reshape(len(results), lanes)


@pytest.fixture
def snippet(gpu: SimGpu, asm):
    """snippet(target, body, results, wave_size=None, **launch) -> (len(results), lanes) uint32."""
    return lambda target, body, results, **kwargs: run_snippet(gpu, asm, target, body, results, **kwargs)


@pytest.fixture
def bundled(gpu: SimGpu):
    """bundled(target, kernel, grid, block, args, **kwargs) -> DispatchStats, on the `gpu` fixture."""
    return lambda target, kernel, grid, block, args, **kwargs: run_bundled(
        gpu, target, kernel, grid, block, args, **kwargs
    )


@pytest.fixture
def launch(gpu: SimGpu):
    """launch(target, code, **fields) -> Launch of raw machine code on the `gpu` fixture."""
    return lambda target, code, **fields: Launch(gpu, target, code, **fields)


@pytest.fixture
def llvm():
    """llvm(tool, target) -> path of llvm-mc / llvm-objdump / llvm-objcopy for `target`, or skip."""
    return llvm_tool
