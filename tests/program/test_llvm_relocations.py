"""Relocations as LLVM emits them: link a data table with ld.lld, check the loader against llvm-readelf."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from pytest_amdgpu.program import RELOCATION_NAMES, load_code_object
from pytest_amdgpu.toolchain import require_executable

LLVM_MAJOR = 19
PURPOSE = "the loader's relocations are checked against objects LLVM links (apt-get install llvm-19 lld-19)"

SOURCE = """
.amdhsa_code_object_version 5
.text
.globl k
.p2align 8
.type k,@function
k:
    s_endpgm
.size k, .-k

.rodata
.p2align 6
.amdhsa_kernel k
    .amdhsa_next_free_vgpr 1
    .amdhsa_next_free_sgpr 1
    .amdhsa_accum_offset 4
.end_amdhsa_kernel

.data
.p2align 3
.globl table
table:
    .quad .Llocal + 4        // a local symbol: ld.lld -shared emits R_AMDGPU_RELATIVE64
    .quad table + 16         // a preemptible global: R_AMDGPU_ABS64 against "table"
    .quad k.kd               // the kernel descriptor's address
.Llocal:
    .quad 0

.amdgpu_metadata
---
amdhsa.version: [ 1, 2 ]
amdhsa.kernels:
  - .name: k
    .symbol: k.kd
    .kernarg_segment_size: 0
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 0
    .vgpr_count: 0
    .max_flat_workgroup_size: 64
    .args: []
...
.end_amdgpu_metadata
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> Path:
    assembler = require_executable(f"llvm-mc-{LLVM_MAJOR}", PURPOSE)
    linker = require_executable(f"ld.lld-{LLVM_MAJOR}", PURPOSE)
    work = tmp_path_factory.mktemp("relocations")
    (work / "table.s").write_text(SOURCE)
    subprocess.run(
        [
            assembler,
            "-triple=amdgcn-amd-amdhsa",
            "-mcpu=gfx90a",
            "--filetype=obj",
            str(work / "table.s"),
            "-o",
            str(work / "table.o"),
        ],
        check=True,
    )
    subprocess.run([linker, "-shared", str(work / "table.o"), "-o", str(work / "table.hsaco")], check=True)
    return work / "table.hsaco"


def readelf(path: Path, *options: str) -> str:
    tool = require_executable(f"llvm-readelf-{LLVM_MAJOR}", PURPOSE)
    return subprocess.run([tool, *options, str(path)], check=True, capture_output=True, text=True).stdout


def test_the_loader_lists_the_relocations_readelf_lists(linked):
    listed = []
    for line in readelf(linked, "--dyn-relocations").splitlines():
        match = re.match(
            r"\s*([0-9a-f]{16})\s+[0-9a-f]{16}\s+(R_AMDGPU_\w+)\s+(?:[0-9a-f]{16}\s+(\S+)\s*\+\s*)?"
            r"([0-9a-f]+)\s*$",
            line,
        )
        if match:
            offset, name, symbol, addend = match.groups()
            listed.append((int(offset, 16), name, symbol, int(addend, 16)))
    code_object = load_code_object(linked, "gfx90a")
    dynamic = code_object.dynamic_symbols
    ours = [
        (r.r_offset, RELOCATION_NAMES[r.r_type], dynamic[r.r_sym].name if r.r_sym else None, r.r_addend)
        for r in code_object.relocations
    ]
    assert sorted(ours) == sorted(listed)
    assert {name for _, name, _, _ in ours} >= {"R_AMDGPU_RELATIVE64", "R_AMDGPU_ABS64"}


def test_loading_at_a_base_applies_them(linked):
    code_object = load_code_object(linked, "gfx90a")
    table = code_object.symbols["table"].st_value
    base = 0x7FFF_0000_0000
    image = code_object.load(base)
    local, global_entry, descriptor = struct.unpack_from("<3Q", image, table)
    assert local == base + table + 24 + 4
    assert global_entry == base + table + 16
    assert descriptor == base + code_object.kernel("k").descriptor_offset
