"""The committed code objects: complete, consistent with their metadata and sources (no LLVM needed)."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from pytest_amdgpu import kernels
from pytest_amdgpu.families import all_targets, get_target
from pytest_amdgpu.program import Dispatch, TargetMismatchError, load_code_object, pack_kernargs

TARGETS = [target.name for target in all_targets()]
HIDDEN_V5 = [
    ("hidden_block_count_x", 0, 4),
    ("hidden_block_count_y", 4, 4),
    ("hidden_block_count_z", 8, 4),
    ("hidden_group_size_x", 12, 2),
    ("hidden_group_size_y", 14, 2),
    ("hidden_group_size_z", 16, 2),
    ("hidden_remainder_x", 18, 2),
    ("hidden_remainder_y", 20, 2),
    ("hidden_remainder_z", 22, 2),
    ("hidden_global_offset_x", 40, 8),
    ("hidden_global_offset_y", 48, 8),
    ("hidden_global_offset_z", 56, 8),
    ("hidden_grid_dims", 64, 2),
]


@pytest.fixture(scope="module", params=TARGETS)
def bundled(request):
    target = get_target(request.param)
    return target, kernels.load_bundled(target)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_registry_target_has_a_bundled_code_object():
    missing = sorted(set(TARGETS) - set(kernels.available_targets()))
    assert not missing, f"no bundled kernels for {missing}: run python scripts/build_kernels.py"
    for name in TARGETS:
        assert kernels.code_object_path(name).is_file()


def test_the_objects_are_the_ones_build_info_records():
    for name, entry in kernels.build_info()["targets"].items():
        assert sha256(kernels.code_object_path(name)) == entry["sha256"], name
        assert entry["source"] == f"{get_target(name).isa_family}.s"


def test_the_sources_are_the_ones_the_objects_were_built_from():
    for name, entry in kernels.build_info()["targets"].items():
        source = kernels.source_path(get_target(name).isa_family)
        assert sha256(source) == entry["source_sha256"], (
            f"{source.name} changed after {name}.hsaco was built: run python scripts/build_kernels.py"
        )


def test_every_kernel_of_the_contract_exists_with_its_arguments(bundled):
    target, code_object = bundled
    names = kernels.kernel_names_for(target.isa_family)
    assert set(code_object.kernels) == set(names)
    for name in names:
        expected = kernels.KERNEL_ARGUMENTS[name]
        explicit = code_object.kernel(name).metadata.explicit_args
        assert [(arg.name, arg.type_name) for arg in explicit] == list(expected), (target.name, name)


def test_the_object_is_code_object_v5_for_its_target(bundled):
    target, code_object = bundled
    assert code_object.target.processor == target.llvm_target
    assert code_object.code_object_version == 5
    assert code_object.metadata.version == (1, 2)
    other = "gfx1100" if target.isa_family != "gfx11" else "gfx942"
    with pytest.raises(TargetMismatchError, match=f"{target.name}.*{other}"):
        code_object.check_target(other)


def test_descriptors_agree_with_the_metadata(bundled):
    target, code_object = bundled
    for kernel in code_object.kernels.values():
        descriptor, metadata = kernel.descriptor, kernel.metadata
        where = f"{target.name} {kernel.name}"
        assert descriptor.kernarg_size == metadata.kernarg_segment_size, where
        assert descriptor.group_segment_fixed_size == metadata.group_segment_fixed_size, where
        assert descriptor.private_segment_fixed_size == metadata.private_segment_fixed_size, where
        assert descriptor.wavefront_size == metadata.wavefront_size == target.default_wave_size, where
        assert descriptor.enable_private_segment == (metadata.private_segment_fixed_size > 0), where
        assert not descriptor.uses_dynamic_stack and not metadata.uses_dynamic_stack, where
        assert not descriptor.reserved_nonzero, where
        assert descriptor.user_sgpr_count == sum(count for _, count in descriptor.enabled_user_sgprs), where
        assert ("enable_sgpr_kernarg_segment_ptr", 2) in descriptor.enabled_user_sgprs, where
        assert kernel.code_offset % 256 == 0 and kernel.descriptor_offset % 64 == 0, where
        assert code_object.symbols[kernel.name].st_value == kernel.code_offset, where


def test_hidden_arguments_follow_the_explicit_ones_as_llvm_lays_them_out(bundled):
    _, code_object = bundled
    for kernel in code_object.kernels.values():
        metadata = kernel.metadata
        explicit_end = max((arg.offset + arg.size for arg in metadata.explicit_args), default=0)
        base = -(-explicit_end // 8) * 8
        assert [(a.value_kind, a.offset - base, a.size) for a in metadata.hidden_args] == HIDDEN_V5, (
            kernel.name
        )
        assert metadata.kernarg_segment_size == base + 256
        assert metadata.kernarg_segment_align == 8


def test_the_special_kernels_ask_for_what_they_use(bundled):
    target, code_object = bundled
    lds = code_object.kernel("lds_reduce").descriptor
    assert lds.group_segment_fixed_size == kernels.LDS_REDUCE_MAX_BLOCK * 4
    scratch = code_object.kernel("scratch_user")
    assert scratch.private_segment_fixed_size == kernels.SCRATCH_USER_PRIVATE_BYTES
    properties = scratch.descriptor.kernel_code_properties_fields(target.isa_family)
    # Targets without architected flat scratch take the scratch base in the flat_scratch_init user SGPRs.
    assert properties["enable_sgpr_flat_scratch_init"] == (
        target.name == "gfx90a" or target.isa_family == "gfx10"
    )
    ids = code_object.kernel("store_ids").descriptor.compute_pgm_rsrc2_fields(target.isa_family)
    assert [ids[f"enable_sgpr_workgroup_id_{axis}"] for axis in "xyz"] == [1, 1, 1]
    assert ids["enable_vgpr_workitem_id"] == 2
    for name in set(kernels.kernel_names_for(target.isa_family)) - {"store_ids"}:
        fields = code_object.kernel(name).descriptor.compute_pgm_rsrc2_fields(target.isa_family)
        assert (fields["enable_sgpr_workgroup_id_y"], fields["enable_vgpr_workitem_id"]) == (0, 0), name


def test_metadata_register_counts_fit_what_the_descriptor_allocates(bundled):
    target, code_object = bundled
    for kernel in code_object.kernels.values():
        fields = kernel.descriptor.compute_pgm_rsrc1_fields(target.isa_family)
        # The VGPR granule is at most 16 registers on every target here, so this bounds what rsrc1 allocates.
        assert kernel.metadata.vgpr_count <= (fields["granulated_workitem_vgpr_count"] + 1) * 16, kernel.name
        if target.isa_family == "gfx9":
            accum_offset = (kernel.descriptor.compute_pgm_rsrc3_fields("gfx9")["accum_offset"] + 1) * 4
            assert kernel.metadata.vgpr_count <= accum_offset, kernel.name  # no AGPRs: VGPRs end below them


def test_the_bundled_objects_need_no_relocation(bundled):
    _, code_object = bundled
    assert code_object.relocations == ()
    assert code_object.load(0x7F00_0000_0000) == code_object.image


def test_mixed_args_packs_with_zero_padding(bundled):
    _, code_object = bundled
    packed = pack_kernargs(
        code_object.kernel("mixed_args"), [np.uint8(0xAB), 0x1000, 0xBEEF, -0.5], Dispatch(1, 1)
    )
    assert packed[:32] == (
        bytes([0xAB])
        + bytes(7)
        + (0x1000).to_bytes(8, "little")
        + b"\xef\xbe"
        + bytes(6)
        + struct.pack("<d", -0.5)
    )
    assert len(packed) == 288


def test_bundled_paths_refuse_targets_the_registry_does_not_know():
    with pytest.raises(Exception, match="gfx9999"):
        kernels.code_object_path("gfx9999")
    assert load_code_object(kernels.code_object_path("gfx942")).target.processor == "gfx942"
