"""Per-dispatch shader-core context: compiled instructions cached by PC, and the dispatch constants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pytest_amdgpu.sim.memory import GpuMemory
from pytest_amdgpu.sim.shader.access import OperandContext
from pytest_amdgpu.sim.shader.decoder import Instruction, decode
from pytest_amdgpu.sim.shader.errors import ShaderError
from pytest_amdgpu.sim.shader.opcodes import OpcodeTables
from pytest_amdgpu.sim.shader.operands import ScalarLayout
from pytest_amdgpu.sim.shader.syntax import format_instruction
from pytest_amdgpu.sim.shader.targets import TargetProperties
from pytest_amdgpu.sim.shader.waves import WaveBatch

Run = Callable[[WaveBatch, np.ndarray, bool], int | None]


@dataclass
class Compiled:
    """An instruction ready to run on the waves of a batch that sit at its PC.

    `run(batch, active, all_active)` returns None, or, for a control instruction, the PC every active wave
    goes on at when they all went the same way and no wave's run state (ended, barrier, sleep, GWS) changed:
    the scheduler then keeps them as the running set instead of choosing it again.

    Before a control instruction runs, the scheduler stores the next PC (this one's + its size) for the
    active waves, unless `writes_pc`: then the instruction either returns that common PC without writing
    any (the scheduler stores it if it must) or writes every active wave's PC itself and returns None.
    """

    inst: Instruction
    run: Run
    cost_cycles: int  # issue cost per wave, for the deterministic cycle count
    ends_wave: bool = False
    control: bool = False  # reads or changes the PC, ends waves or touches barriers
    writes_pc: bool = False  # a control instruction that leaves the active waves' PCs to be exact itself


@dataclass
class ShaderContext:
    """Everything a compiled instruction may consult that is fixed for the whole dispatch."""

    memory: GpuMemory
    tables: OpcodeTables
    props: TargetProperties
    layout: ScalarLayout
    lanes: int
    n_vgprs: int
    lds_bytes: int
    mode_bits: int = 0
    gws: np.ndarray | None = None  # the process's GWS entries (uint32, kept across dispatches), None: none
    cycles: int = 0  # cycles issued so far in this dispatch (s_memtime reads it)
    cache: dict[int, Compiled] = field(default_factory=dict)

    @property
    def isa_family(self) -> str:
        return self.tables.isa_family

    def fetch(self, pc: int) -> Instruction:
        return decode(self.tables, lambda index: self.memory.read_u32(pc + 4 * index), pc)

    def operands(self, inst: Instruction) -> OperandContext:
        ctx = OperandContext(self.layout, self.n_vgprs, self.lanes, inst.pc, inst.words)
        ctx.literal = inst.literal
        return ctx

    def error(self, inst: Instruction, reason: str) -> ShaderError:
        try:
            text = format_instruction(inst, self.lanes)
        except Exception:
            text = inst.mnemonic or ""
        return ShaderError(reason, inst.pc, inst.words, text)

    def compiled(self, pc: int) -> Compiled:
        found = self.cache.get(pc)
        if found is None:
            from pytest_amdgpu.sim.shader.compile import compile_instruction  # compile imports this module

            found = compile_instruction(self, self.fetch(pc))
            self.cache[pc] = found
        return found
