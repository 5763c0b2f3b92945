"""The decoder and printer agree with llvm-objdump: on every bundled code object and on random encodings."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from pytest_amdgpu.families import get_target
from pytest_amdgpu.kernels import INSTRUCTIONS_BY_ISA_FAMILY, available_targets, code_object_path
from pytest_amdgpu.sim.shader import decode_words, format_instruction, specs
from pytest_amdgpu.sim.shader.encodings import FAMILY_FORMATS
from pytest_amdgpu.sim.shader.opcodes import tables_for

OBJDUMP_LINE = re.compile(
    r"^\s+(?P<text>\S.*?)\s*//\s*(?P<address>[0-9A-F]+):\s*(?P<words>(?:[0-9A-F]{8}\s?)+)"
)
# Operand forms the printer does not spell like LLVM yet (never in the bundled kernels).
UNMODELLED_SYNTAX = {"s_sendmsg", "s_sendmsghalt", "s_delay_alu", "s_waitcnt_depctr", "s_wait_alu"}


def objdump(llvm, target: str, path: Path) -> list[tuple[int, list[int], str]]:
    output = subprocess.run(
        [llvm("llvm-objdump", target), "-d", f"--mcpu={target}", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in output.splitlines():
        match = OBJDUMP_LINE.match(line)
        if match:
            words = [int(word, 16) for word in match["words"].split()]
            rows.append((int(match["address"], 16), words, match["text"].strip()))
    return rows


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("target", available_targets())
def test_every_bundled_instruction_prints_as_llvm_objdump_prints_it(llvm, target):
    family = get_target(target).isa_family
    rows = objdump(llvm, target, code_object_path(target))
    assert len(rows) > 50
    mismatches = []
    for address, words, text in rows:
        mine = format_instruction(decode_words(family, target, words, address))
        if normalise(mine) != normalise(text):
            mismatches.append(f"{address:#x}: llvm {text!r} != ours {mine!r}")
    assert not mismatches, "\n".join(mismatches[:20])


@pytest.mark.parametrize("target", available_targets())
def test_the_instruction_list_of_the_kernels_readme_is_what_the_objects_contain(llvm, target):
    family = get_target(target).isa_family
    used = set()
    for address, words, _text in objdump(llvm, target, code_object_path(target)):
        inst = decode_words(family, target, words, address)
        used.add(inst.mnemonic)
    assert used <= INSTRUCTIONS_BY_ISA_FAMILY[family] | {"s_code_end"}


def _implemented(fmt: str, name: str) -> bool:
    if fmt in ("SOP1", "SOP2", "SOPC", "SOPK"):
        return name in specs.SALU
    if fmt == "SOPP":
        return name not in UNMODELLED_SYNTAX
    if fmt == "SMEM":
        return name in specs.SMEM
    if fmt in ("VOP1", "VOP2", "VOPC", "VOP3", "VOP3P"):
        return name in specs.VALU and ("16" not in name or name.startswith(("v_cmp_", "v_cmpx_")))
    if fmt == "DS":
        return name in specs.DS
    return name.split("_", 1)[1] in specs.VMEM


def _random_encodings(family: str, target: str, per_opcode: int, seed: int) -> list[list[int]]:
    """Random words for every implemented opcode: register fields biased to small, readable values."""
    rng = random.Random(seed)
    tables = tables_for(family, target)
    records = []
    sources = [*range(0, 104), 106, 126, *range(128, 209), *range(240, 249), 255, *range(256, 272)]
    for fmt in FAMILY_FORMATS[family]:
        if fmt.name == "VOPD":
            opcodes = [(x << 5 | y, "vopd") for x in tables.vopd_x for y in tables.vopd_y]
        else:
            opcodes = [
                (op, name)
                for op, name in tables.formats.get(fmt.name, {}).items()
                if _implemented(fmt.name, name)
            ]
        for opcode, _name in opcodes:
            for _ in range(per_opcode):
                words = [rng.getrandbits(32) for _ in range(fmt.dwords)]
                words[0] = (words[0] & ~fmt.match_mask) | fmt.match_value
                if fmt.name == "VOPD":
                    words[0] = (words[0] & ~(0x3FF << 17)) | (opcode >> 5) << 22 | (opcode & 31) << 17
                for field, (index, low, width) in fmt.fields.items():
                    mask = ((1 << width) - 1) << low
                    if field in ("op", "op_msb"):
                        value = opcode >> 7 if field == "op_msb" else opcode
                    elif field.startswith(("src", "ssrc")) and width >= 8:
                        value = rng.choice(sources)
                    elif field in ("vdst", "vsrc1", "addr", "data", "data0", "data1", "vaddr", "vdata"):
                        value = rng.randrange(16)
                    elif field in (
                        "abs",
                        "neg",
                        "opsel",
                        "clamp",
                        "omod",
                        "neg_hi",
                        "opsel_hi",
                        "opsel_hi2",
                        "th",
                    ):
                        value = 0 if rng.random() < 0.9 else rng.getrandbits(width)
                    else:
                        continue
                    words[index] = (words[index] & ~mask) | ((value << low) & mask)
                records.append([*words, rng.getrandbits(32)])
    return records


@pytest.mark.parametrize("target", ["gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1200"])
def test_random_encodings_of_implemented_opcodes_print_like_llvm(llvm, tmp_path, target):
    """A differential test: records padded to 20 bytes with s_nop; LLVM rejects some, the rest must match."""
    family = get_target(target).isa_family
    records = _random_encodings(family, target, per_opcode=2, seed=20241121)
    nop = 0xBF80_0000
    source = ".text\n" + "\n".join(
        ".long " + ",".join(hex(w) for w in [*r, *[nop] * (5 - len(r))]) for r in records
    )
    (tmp_path / "fuzz.s").write_text(source + "\n")
    subprocess.run(
        [llvm("llvm-mc", target), "-triple=amdgcn-amd-amdhsa", f"-mcpu={target}", "-filetype=obj",
         str(tmp_path / "fuzz.s"), "-o", str(tmp_path / "fuzz.o")],
        check=True,
    )  # fmt: skip
    compared, mismatches = 0, []
    for address, _words, text in objdump(llvm, target, tmp_path / "fuzz.o"):
        if address % 20 or text.startswith(".long") or "Invalid" in text or "<unknown>" in text:
            continue
        inst = decode_words(family, target, records[address // 20], address)
        if inst.mnemonic in UNMODELLED_SYNTAX:
            continue
        compared += 1
        mine = format_instruction(inst)
        if normalise(mine) != normalise(text):
            mismatches.append(f"{inst.hex_words}: llvm {text!r} != ours {mine!r}")
    assert compared > 500
    assert not mismatches, f"{len(mismatches)} of {compared} differ:\n" + "\n".join(mismatches[:20])
