"""Code objects and kernel arguments: load HSA code objects, find kernels, lay out kernarg segments."""

from __future__ import annotations

from pytest_amdgpu.program.code_object import (
    RELOCATION_NAMES,
    CodeObject,
    KernelInfo,
    LoadSegment,
    load_code_object,
)
from pytest_amdgpu.program.descriptor import KernelDescriptor
from pytest_amdgpu.program.errors import (
    CodeObjectError,
    KernargError,
    RelocationError,
    TargetMismatchError,
    UnknownKernelError,
)
from pytest_amdgpu.program.kernargs import Dispatch, hidden_argument_value, pack_kernargs
from pytest_amdgpu.program.metadata import CodeObjectMetadata, KernelArg, KernelMetadata, parse_metadata
from pytest_amdgpu.program.target_id import CodeObjectTarget, DeviceTargetId, check_runs_on

__all__ = [
    "RELOCATION_NAMES",
    "CodeObject",
    "CodeObjectError",
    "CodeObjectMetadata",
    "CodeObjectTarget",
    "DeviceTargetId",
    "Dispatch",
    "KernargError",
    "KernelArg",
    "KernelDescriptor",
    "KernelInfo",
    "KernelMetadata",
    "LoadSegment",
    "RelocationError",
    "TargetMismatchError",
    "UnknownKernelError",
    "check_runs_on",
    "hidden_argument_value",
    "load_code_object",
    "pack_kernargs",
    "parse_metadata",
]
