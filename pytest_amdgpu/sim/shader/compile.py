"""Turn a decoded instruction into a Compiled batch operation, by encoding format."""

from __future__ import annotations

from typing import TYPE_CHECKING

# Importing these modules registers every implemented mnemonic in the spec tables.
from pytest_amdgpu.sim.shader import memspecs, salu, valu  # noqa: F401
from pytest_amdgpu.sim.shader.exec_lds import compile_ds
from pytest_amdgpu.sim.shader.exec_scalar import compile_scalar
from pytest_amdgpu.sim.shader.exec_vector import compile_vector
from pytest_amdgpu.sim.shader.exec_vmem import compile_flat, compile_mubuf

if TYPE_CHECKING:
    from pytest_amdgpu.sim.shader.context import Compiled, ShaderContext
    from pytest_amdgpu.sim.shader.decoder import Instruction

_BY_FORMAT = {
    "SOP1": compile_scalar,
    "SOP2": compile_scalar,
    "SOPC": compile_scalar,
    "SOPK": compile_scalar,
    "SOPP": compile_scalar,
    "SMEM": compile_scalar,
    "VOP1": compile_vector,
    "VOP2": compile_vector,
    "VOPC": compile_vector,
    "VOP3": compile_vector,
    "VOP3P": compile_vector,
    "VOPD": compile_vector,
    "DS": compile_ds,
    "FLAT": compile_flat,
    "GLOBAL": compile_flat,
    "SCRATCH": compile_flat,
    "MUBUF": compile_mubuf,
}


def compile_instruction(ctx: ShaderContext, inst: Instruction) -> Compiled:
    if inst.format is None:
        raise ctx.error(inst, f"unknown instruction encoding for ISA family {inst.isa_family}")
    if inst.mnemonic is None:
        raise ctx.error(inst, f"unknown {inst.format} opcode {inst.opcode} for {inst.target}")
    return _BY_FORMAT[inst.format](ctx, inst)
