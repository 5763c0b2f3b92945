"""The simulated shader core: decode and execute AMDGPU machine code for a dispatch, vectorised over waves."""

from __future__ import annotations

from pytest_amdgpu.sim.shader.decoder import Instruction, decode_words
from pytest_amdgpu.sim.shader.disassemble import disassemble
from pytest_amdgpu.sim.shader.dispatch import (
    DEFAULT_BATCH_LANES,
    DEFAULT_MAX_WAVE_INSTRUCTIONS,
    DispatchRun,
    DispatchState,
    DispatchStats,
    run_dispatch,
)
from pytest_amdgpu.sim.shader.errors import ShaderError
from pytest_amdgpu.sim.shader.syntax import format_instruction

__all__ = [
    "DEFAULT_BATCH_LANES",
    "DEFAULT_MAX_WAVE_INSTRUCTIONS",
    "DispatchRun",
    "DispatchState",
    "DispatchStats",
    "Instruction",
    "ShaderError",
    "decode_words",
    "disassemble",
    "format_instruction",
    "run_dispatch",
]
