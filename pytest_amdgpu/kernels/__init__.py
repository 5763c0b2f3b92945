"""The bundled kernels: an assembly source per ISA family, a code object per gfx target (see README.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.families import GpuTarget, get_target
from pytest_amdgpu.program import CodeObject

# The kernels every bundled code object defines, with the same names and arguments on every target.
KERNEL_NAMES = (
    "empty",
    "fill",
    "copy_dword",
    "vector_add",
    "vector_add_i32",
    "busy_loop",
    "lds_reduce",
    "atomic_add",
    "scratch_user",
    "store_ids",
    "mixed_args",
    "poll_until",
)
GWS_KERNEL_NAMES = ("gws_init", "gws_increment")  # every family but gfx12, which has no GWS
# The memory model across agents: CDNA (gfx9) only, where kfdtest checks it
MEMORY_MODEL_KERNEL_NAMES = ("write_release", "write_release_scalar", "read_acquire", "read_acquire_scalar")

# Explicit arguments of each kernel, as (name, .type_name), in order: the contract README.md describes.
KERNEL_ARGUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "empty": (),
    "fill": (("dst", "uint*"), ("value", "uint"), ("n", "uint")),
    "copy_dword": (("dst", "uint*"), ("src", "uint*"), ("n", "uint")),
    "vector_add": (("a", "float*"), ("b", "float*"), ("out", "float*"), ("n", "uint")),
    "vector_add_i32": (("a", "int*"), ("b", "int*"), ("out", "int*"), ("n", "uint")),
    "busy_loop": (("out", "uint*"), ("iterations", "uint")),
    "lds_reduce": (("in", "uint*"), ("out_per_workgroup", "uint*"), ("n", "uint")),
    "atomic_add": (("counter", "uint*"), ("n", "uint")),
    "scratch_user": (("out", "uint*"), ("n", "uint")),
    "store_ids": (("out", "uint*"),),
    "mixed_args": (("a", "uchar"), ("out", "ulong*"), ("b", "ushort"), ("c", "double")),
    "poll_until": (("flag", "uint*"), ("stop", "uint"), ("out", "uint*")),
    "gws_init": (("value", "uint"), ("entry", "uint")),
    "gws_increment": (("counter", "uint*"), ("entry", "uint")),
    "write_release": (("shared", "uint*"), ("first", "uint")),
    "write_release_scalar": (("shared", "uint*"), ("first", "uint")),
    "read_acquire": (("shared", "uint*"), ("out", "uint*")),
    "read_acquire_scalar": (("shared", "uint*"), ("out", "uint*")),
}


def kernel_names_for(isa_family: str) -> tuple[str, ...]:
    """The kernels the bundle builds for an ISA family."""
    names = KERNEL_NAMES + (() if isa_family == "gfx12" else GWS_KERNEL_NAMES)
    return names + (MEMORY_MODEL_KERNEL_NAMES if isa_family == "gfx9" else ())


_COMMON_INSTRUCTIONS = frozenset(
    {
        "s_and_b32",
        "s_lshl_b32",
        "s_lshr_b32",
        "s_mov_b32",
        "s_mul_i32",
        "s_cmp_eq_u32",
        "s_cmp_ge_u32",
        "s_branch",
        "s_cbranch_scc1",
        "s_cbranch_execz",
        "s_endpgm",
        "s_sleep",
        "s_nop",  # s_nop: padding between kernels
        "v_mov_b32",
        "v_lshlrev_b32",
        "v_add_f32",
        "v_mul_u32_u24",
        "v_cmp_gt_u32",
        "v_cmp_eq_u32",
    }
)
_GFX9_MEMORY = frozenset(
    {
        "s_load_dword",
        "s_load_dwordx2",
        "s_load_dwordx4",
        "global_load_dword",
        "global_store_dword",
        "global_store_dwordx2",
        "global_atomic_add",
        "scratch_store_dword",
        "scratch_load_dword",
        "ds_write_b32",
        "ds_read_b32",
    }
)
_GFX11_MEMORY = frozenset(
    {
        "s_load_b32",
        "s_load_b64",
        "s_load_b128",
        "global_load_b32",
        "global_store_b32",
        "global_store_b64",
        "global_atomic_add_u32",
        "scratch_store_b32",
        "scratch_load_b32",
        "ds_store_b32",
        "ds_load_b32",
    }
)

# Every instruction the bundled kernels of an ISA family use, as llvm-objdump spells them without the
# encoding suffix (_e32/_e64): what the simulator must decode and execute. tests/kernels checks it against
# the disassembly of every bundled object.
_GWS = {"ds_gws_init", "ds_gws_sema_p", "ds_gws_sema_v"}  # gfx9 to gfx11: GFX12 has no GWS
INSTRUCTIONS_BY_ISA_FAMILY: dict[str, frozenset[str]] = {
    "gfx9": _COMMON_INSTRUCTIONS
    | _GFX9_MEMORY
    | _GWS
    | {  # the memory-model kernels: scalar stores and cache maintenance
        "s_store_dword",
        "s_dcache_wb",
        "s_dcache_inv",
        "buffer_wbl2",
        "buffer_inv",  # gfx94x
        "buffer_invl2",  # gfx90a
    }
    | {
        "s_add_u32",
        "s_addc_u32",
        "s_mov_b64",
        "s_and_saveexec_b64",
        "s_waitcnt",
        "s_barrier",
        "v_and_b32",
        "v_bfe_u32",
        "v_add_u32",
    },
    "gfx10": _COMMON_INSTRUCTIONS
    | _GFX9_MEMORY
    | _GWS
    | {
        "s_add_u32",
        "s_addc_u32",
        "s_setreg_b32",
        "s_and_saveexec_b32",
        "s_waitcnt",
        "s_waitcnt_vscnt",
        "s_barrier",
        "v_add_nc_u32",
    },
    "gfx11": _COMMON_INSTRUCTIONS
    | _GFX11_MEMORY
    | _GWS
    | {
        "s_add_u32",
        "s_and_saveexec_b32",
        "s_waitcnt",
        "s_waitcnt_vscnt",
        "s_barrier",
        "v_and_b32",
        "v_bfe_u32",
        "v_add_nc_u32",
    },
    "gfx12": _COMMON_INSTRUCTIONS
    | _GFX11_MEMORY
    | {
        "s_add_co_u32",
        "s_and_saveexec_b32",
        "s_wait_kmcnt",
        "s_wait_loadcnt",
        "s_wait_storecnt",
        "s_wait_dscnt",
        "s_barrier_signal",
        "s_barrier_wait",
        "v_and_b32",
        "v_bfe_u32",
        "v_add_nc_u32",
    },
}

STORE_IDS_RECORD_DWORDS = 8  # store_ids writes one record of 8 u32 per work-item
LDS_REDUCE_MAX_BLOCK = 1024  # lds_reduce's LDS holds one u32 per work-item of a workgroup
SCRATCH_USER_PRIVATE_BYTES = 16

BUILD_INFO_NAME = "BUILD_INFO"


class BundledKernelError(ConfigurationError):
    """No bundled code object exists for a target (its LLVM was not available when the objects were built)."""


def _package_files() -> Any:
    return resources.files(__name__)


def source_path(isa_family: str) -> Path:
    """The assembly source of an ISA family ("gfx9", "gfx10", "gfx11", "gfx12")."""
    return Path(str(_package_files() / f"{isa_family}.s"))


def bin_dir() -> Path:
    return Path(str(_package_files() / "bin"))


@cache
def build_info() -> dict[str, Any]:
    """bin/BUILD_INFO: per target the source and its SHA-256, the LLVM version, the object's SHA-256."""
    return json.loads((_package_files() / "bin" / BUILD_INFO_NAME).read_text())


def available_targets() -> tuple[str, ...]:
    """The gfx targets that have a bundled code object."""
    return tuple(sorted(build_info().get("targets", {})))


def code_object_path(target: str | GpuTarget) -> Path:
    """The bundled code object of `target` ("gfx942", "gfx90a:xnack+", a GpuTarget)."""
    row = target if isinstance(target, GpuTarget) else get_target(target)
    path = bin_dir() / f"{row.name}.hsaco"
    if not path.is_file():
        raise BundledKernelError(
            f"no bundled kernels for {row.name}: bundled targets are {', '.join(available_targets())}; "
            "rebuild with python scripts/build_kernels.py and the LLVM it names"
        )
    return path


def load_bundled(target: str | GpuTarget) -> CodeObject:
    """The bundled code object of `target`, parsed and checked to run on it."""
    return CodeObject.from_file(code_object_path(target), target)
