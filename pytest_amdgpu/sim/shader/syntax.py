"""Print decoded instructions in LLVM's AMDGPU assembly syntax, as llvm-objdump does."""

from __future__ import annotations

from pytest_amdgpu.sim.shader.decoder import Instruction
from pytest_amdgpu.sim.shader.syntax_base import Printer
from pytest_amdgpu.sim.shader.syntax_scalar import format_smem, format_sop
from pytest_amdgpu.sim.shader.syntax_vector import format_vector


def format_instruction(inst: Instruction, wave_size: int | None = None) -> str:
    """LLVM assembly text for `inst`, as `llvm-objdump -d --mcpu=<target>` prints it (wave32 on GFX10+)."""
    if wave_size is None:
        wave_size = 64 if inst.isa_family == "gfx9" else 32
    if inst.format is None or (inst.mnemonic is None and inst.format != "VOPD"):
        return f".long {inst.words[0]:#010x}"
    printer = Printer(inst, wave_size)
    fmt, name = inst.format, inst.mnemonic or ""
    if fmt in ("SOP1", "SOP2", "SOPC", "SOPK", "SOPP"):
        return format_sop(printer, fmt, name)
    if fmt == "SMEM":
        return format_smem(printer, name)
    return format_vector(printer, fmt, name)
