"""LLVM as the independent oracle for the committed objects: llvm-objdump's view of every kernel descriptor,
llvm-readelf's view of the metadata, and the instructions each ISA family's kernels use."""

from __future__ import annotations

import re
import subprocess
from functools import cache

import pytest

from pytest_amdgpu import kernels
from pytest_amdgpu.families import all_targets, get_target
from pytest_amdgpu.toolchain import require_executable

TARGETS = [target.name for target in all_targets()]

# llvm-objdump's .amdhsa_* directive (or "; FIELD" comment) -> (our descriptor field, how objdump shows it).
_IDENTITY = lambda value: value  # noqa: E731
DIRECTIVE_FIELDS = {
    "group_segment_fixed_size": ("group_segment_fixed_size", _IDENTITY),
    "private_segment_fixed_size": ("private_segment_fixed_size", _IDENTITY),
    "kernarg_size": ("kernarg_size", _IDENTITY),
    "accum_offset": ("accum_offset", lambda value: (value + 1) * 4),
    "tg_split": ("tg_split", _IDENTITY),
    "float_round_mode_32": ("float_round_mode_32", _IDENTITY),
    "float_round_mode_16_64": ("float_round_mode_16_64", _IDENTITY),
    "float_denorm_mode_32": ("float_denorm_mode_32", _IDENTITY),
    "float_denorm_mode_16_64": ("float_denorm_mode_16_64", _IDENTITY),
    "dx10_clamp": ("enable_dx10_clamp", _IDENTITY),
    "ieee_mode": ("enable_ieee_mode", _IDENTITY),
    "fp16_overflow": ("fp16_ovfl", _IDENTITY),
    "workgroup_processor_mode": ("wgp_mode", _IDENTITY),
    "memory_ordered": ("mem_ordered", _IDENTITY),
    "forward_progress": ("fwd_progress", _IDENTITY),
    "round_robin_scheduling": ("enable_wg_rr_en", _IDENTITY),
    "shared_vgpr_count": ("shared_vgpr_count", _IDENTITY),
    "inst_pref_size": ("inst_pref_size", _IDENTITY),
    "trap_on_start": ("trap_on_start", _IDENTITY),
    "trap_on_end": ("trap_on_end", _IDENTITY),
    "image_op": ("image_op", _IDENTITY),
    "glg_en": ("glg_en", _IDENTITY),
    "enable_private_segment": ("enable_private_segment", _IDENTITY),
    "system_sgpr_private_segment_wavefront_offset": ("enable_private_segment", _IDENTITY),
    "system_sgpr_workgroup_id_x": ("enable_sgpr_workgroup_id_x", _IDENTITY),
    "system_sgpr_workgroup_id_y": ("enable_sgpr_workgroup_id_y", _IDENTITY),
    "system_sgpr_workgroup_id_z": ("enable_sgpr_workgroup_id_z", _IDENTITY),
    "system_sgpr_workgroup_info": ("enable_sgpr_workgroup_info", _IDENTITY),
    "system_vgpr_workitem_id": ("enable_vgpr_workitem_id", _IDENTITY),
    "exception_fp_ieee_invalid_op": ("enable_exception_ieee_754_fp_invalid_operation", _IDENTITY),
    "exception_fp_denorm_src": ("enable_exception_fp_denormal_source", _IDENTITY),
    "exception_fp_ieee_div_zero": ("enable_exception_ieee_754_fp_division_by_zero", _IDENTITY),
    "exception_fp_ieee_overflow": ("enable_exception_ieee_754_fp_overflow", _IDENTITY),
    "exception_fp_ieee_underflow": ("enable_exception_ieee_754_fp_underflow", _IDENTITY),
    "exception_fp_ieee_inexact": ("enable_exception_ieee_754_fp_inexact", _IDENTITY),
    "exception_int_div_zero": ("enable_exception_int_divide_by_zero", _IDENTITY),
    "user_sgpr_count": ("user_sgpr_count", _IDENTITY),
    "user_sgpr_private_segment_buffer": ("enable_sgpr_private_segment_buffer", _IDENTITY),
    "user_sgpr_dispatch_ptr": ("enable_sgpr_dispatch_ptr", _IDENTITY),
    "user_sgpr_queue_ptr": ("enable_sgpr_queue_ptr", _IDENTITY),
    "user_sgpr_kernarg_segment_ptr": ("enable_sgpr_kernarg_segment_ptr", _IDENTITY),
    "user_sgpr_dispatch_id": ("enable_sgpr_dispatch_id", _IDENTITY),
    "user_sgpr_flat_scratch_init": ("enable_sgpr_flat_scratch_init", _IDENTITY),
    "user_sgpr_private_segment_size": ("enable_sgpr_private_segment_size", _IDENTITY),
    "user_sgpr_kernarg_preload_length": ("kernarg_preload_spec_length", _IDENTITY),
    "user_sgpr_kernarg_preload_offset": ("kernarg_preload_spec_offset", _IDENTITY),
    "wavefront_size32": ("enable_wavefront_size32", _IDENTITY),
    "uses_dynamic_stack": ("uses_dynamic_stack", _IDENTITY),
}
# Reconstructed by objdump from granulated counts, or assembler-only settings: checked apart, or not at all.
DERIVED_DIRECTIVES = {
    "next_free_vgpr",
    "next_free_sgpr",
    "reserve_vcc",
    "reserve_flat_scratch",
    "reserve_xnack_mask",
}


def llvm_tool(tool: str, target_name: str) -> str:
    major = kernels.build_info()["targets"][target_name]["llvm_major"]
    return require_executable(
        f"{tool}-{major}",
        f"LLVM {major} is the oracle for the bundled {target_name} kernels (apt-get install llvm-{major})",
    )


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@cache
def objdump_descriptors(target_name: str) -> dict[str, dict[str, int]]:
    """Per kernel, the descriptor directives llvm-objdump prints for its .kd symbol."""
    path = kernels.code_object_path(target_name)
    names = kernels.kernel_names_for(get_target(target_name).isa_family)
    symbols = ",".join(f"{name}.kd" for name in names)
    output = run(llvm_tool("llvm-objdump", target_name), "-D", f"--disassemble-symbols={symbols}", str(path))
    blocks: dict[str, dict[str, int]] = {}
    for name, body in re.findall(r"\.amdhsa_kernel (\w+)\n(.*?)\.end_amdhsa_kernel", output, re.S):
        fields = {}
        for line in body.splitlines():
            match = re.match(r"\s*(?:\.amdhsa_(\w+)|; ([A-Z0-9_]+))\s+(-?\d+)\s*$", line)
            if match:
                fields[(match.group(1) or match.group(2)).lower()] = int(match.group(3))
        blocks[name] = fields
    return blocks


@pytest.mark.parametrize("target_name", TARGETS)
def test_descriptor_decode_agrees_with_llvm_objdump(target_name):
    target = get_target(target_name)
    code_object = kernels.load_bundled(target)
    printed = objdump_descriptors(target_name)
    assert set(printed) == set(kernels.kernel_names_for(target.isa_family))
    for name, directives in printed.items():
        kernel = code_object.kernel(name)
        ours = kernel.descriptor_fields()
        unknown = set(directives) - DIRECTIVE_FIELDS.keys() - DERIVED_DIRECTIVES
        assert not unknown, f"{target_name} {name}: objdump prints fields this test does not map: {unknown}"
        for directive, value in directives.items():
            if directive in DERIVED_DIRECTIVES:
                continue
            field, shown = DIRECTIVE_FIELDS[directive]
            assert field in ours, f"{target_name} {name}: we do not decode {field} (.amdhsa_{directive})"
            assert shown(ours[field]) == value, f"{target_name} {name}: .amdhsa_{directive}"
        # next_free_* are whole allocation granules: the metadata's counts must fit in them.
        assert kernel.metadata.vgpr_count <= directives["next_free_vgpr"], (target_name, name)
        if target.isa_family == "gfx9":  # GFX10+ allocate SGPRs per wave, not per kernel
            assert kernel.metadata.sgpr_count <= directives["next_free_sgpr"], (target_name, name)


@pytest.mark.parametrize("target_name", TARGETS)
def test_metadata_agrees_with_llvm_readelf(target_name):
    path = kernels.code_object_path(target_name)
    output = run(llvm_tool("llvm-readelf", target_name), "--notes", str(path))
    code_object = kernels.load_bundled(target_name)
    for kernel_yaml in re.split(r"\n  - \.", output.split("amdhsa.kernels:", 1)[1])[1:]:
        name = re.search(r"\n    \.name:\s+(\w+)", kernel_yaml).group(1)
        metadata = code_object.kernel(name).metadata
        for key in (
            "kernarg_segment_size",
            "group_segment_fixed_size",
            "private_segment_fixed_size",
            "wavefront_size",
            "vgpr_count",
            "sgpr_count",
            "max_flat_workgroup_size",
        ):
            value = int(re.search(rf"\n    \.{key}:\s+(\d+)", kernel_yaml).group(1))
            assert getattr(metadata, key) == value, (target_name, name, key)
        offsets = [int(v) for v in re.findall(r"\.offset:\s+(\d+)", kernel_yaml)]
        kinds = re.findall(r"\.value_kind:\s+(\w+)", kernel_yaml)
        assert [(a.offset, a.value_kind) for a in metadata.args] == list(zip(offsets, kinds, strict=True)), (
            target_name,
            name,
        )


def _mnemonics(target_name: str) -> set[str]:
    path = kernels.code_object_path(target_name)
    output = run(
        llvm_tool("llvm-objdump", target_name), "-d", "--no-show-raw-insn", "--no-leading-addr", str(path)
    )
    names = set()
    for line in output.splitlines():
        match = re.match(r"\s+([a-z][a-z0-9_]+)", line)
        if match:
            names.add(re.sub(r"_e(32|64)$", "", match.group(1)))
    return names


@pytest.mark.parametrize("isa_family", sorted(kernels.INSTRUCTIONS_BY_ISA_FAMILY))
def test_the_documented_instruction_set_is_exactly_what_the_kernels_use(isa_family):
    used: set[str] = set()
    for target in all_targets():
        if target.isa_family == isa_family:
            target_used = _mnemonics(target.name)
            extra = target_used - kernels.INSTRUCTIONS_BY_ISA_FAMILY[isa_family]
            assert not extra, (
                f"{target.name} uses instructions INSTRUCTIONS_BY_ISA_FAMILY lacks: {sorted(extra)}"
            )
            used |= target_used
    unused = kernels.INSTRUCTIONS_BY_ISA_FAMILY[isa_family] - used
    assert not unused, (
        f"INSTRUCTIONS_BY_ISA_FAMILY[{isa_family!r}] lists instructions no kernel uses: {unused}"
    )
