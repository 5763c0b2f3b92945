"""Loading HSA code objects: header and target checks, kernels, metadata, relocations at a load base."""

from __future__ import annotations

import struct

import pytest

from pytest_amdgpu.errors import AmdgpuError, ConfigurationError
from pytest_amdgpu.families import get_target
from pytest_amdgpu.program import (
    CodeObject,
    CodeObjectError,
    DeviceTargetId,
    RelocationError,
    TargetMismatchError,
    UnknownKernelError,
    load_code_object,
)

R_AMDGPU_NONE = 0
R_AMDGPU_ABS32_LO = 1
R_AMDGPU_ABS32_HI = 2
R_AMDGPU_ABS64 = 3
R_AMDGPU_REL32 = 4
R_AMDGPU_ABS32 = 6
R_AMDGPU_RELATIVE64 = 13

DATA_VADDR = 0x2000  # where the writer puts the data segment of a one-kernel object


def u64(image: bytes, offset: int) -> int:
    return struct.unpack_from("<Q", image, offset)[0]


def u32(image: bytes, offset: int) -> int:
    return struct.unpack_from("<I", image, offset)[0]


# --- header and target --------------------------------------------------------------------------------------


def test_a_valid_object_reports_its_target_version_and_kernel(elf):
    code_object = load_code_object(elf.build(elf.one_kernel("k")))
    assert code_object.target.processor == "gfx942"
    assert (code_object.target.xnack, code_object.target.sramecc) == ("any", "any")
    assert code_object.target.target_id == "gfx942"
    assert code_object.code_object_version == 5
    kernel = code_object.kernel("k")
    assert kernel.symbol == "k.kd"
    assert kernel.code_offset == 0x1000
    assert kernel.descriptor_offset + kernel.descriptor.kernel_code_entry_byte_offset == kernel.code_offset
    assert code_object.kernel("k.kd") is kernel


def test_an_object_for_another_gpu_is_an_error_naming_both_targets(elf):
    data = elf.build(elf.one_kernel())
    with pytest.raises(TargetMismatchError) as caught:
        load_code_object(data, "gfx1100")
    assert "gfx942" in str(caught.value) and "gfx1100" in str(caught.value)
    with pytest.raises(TargetMismatchError, match="gfx1100"):
        load_code_object(data).check_target(get_target("gfx1100"))
    load_code_object(data, get_target("gfx942"))  # the right target loads


@pytest.mark.parametrize(
    ("e_flags_features", "device", "runs"),
    [
        (0x300 | 0x400, "gfx942:xnack+", True),  # xnack on needs xnack on
        (0x300 | 0x400, "gfx942:xnack-", False),
        (0x200 | 0x400, "gfx942:xnack+", False),  # xnack off needs xnack off
        (0x100 | 0xC00, "gfx942:sramecc-", False),  # sramecc on
        (0x100 | 0x800, "gfx942:sramecc-:xnack+", True),  # sramecc off, xnack any
        (0x300 | 0xC00, "gfx942", True),  # a device whose features are not known is not checked
    ],
)
def test_xnack_and_sramecc_settings_must_match_the_device(elf, e_flags_features, device, runs):
    data = elf.build(elf.one_kernel(e_flags=0x04C | e_flags_features))
    if runs:
        load_code_object(data, device)
    else:
        with pytest.raises(TargetMismatchError, match=r"xnack|sramecc"):
            load_code_object(data, device)


def test_the_target_id_spells_features_set_on_or_off(elf):
    code_object = load_code_object(elf.build(elf.one_kernel(e_flags=0x03F | 0x300 | 0x800)))
    assert code_object.target.target_id == "gfx90a:sramecc-:xnack+"
    assert DeviceTargetId("gfx90a", xnack=True).target_id == "gfx90a:xnack+"


def test_a_generic_v6_object_runs_on_the_members_of_its_family(elf):
    spec = elf.one_kernel(e_flags=0x054 | (1 << 24), abi_version=4)  # gfx11-generic, generic version 1
    code_object = load_code_object(elf.build(spec), "gfx1151")
    assert code_object.target.is_generic and code_object.code_object_version == 6
    with pytest.raises(TargetMismatchError, match=r"gfx11-generic.*gfx1100"):
        code_object.check_target("gfx942")


def test_a_generic_target_without_code_object_v6_is_rejected(elf):
    with pytest.raises(CodeObjectError, match="v6"):
        load_code_object(elf.build(elf.one_kernel(e_flags=0x054)))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"machine": 62}, "EM_AMDGPU"),
        ({"osabi": 0}, "ELFOSABI_AMDGPU_HSA"),
        ({"abi_version": 1}, "code object v3"),
        ({"abi_version": 9}, "unknown version"),
        ({"e_type": 1}, "ld.lld -shared"),
        ({"ei_class": 1}, "ELFCLASS64"),
        ({"e_flags": 0x0FE}, "EF_AMDGPU_MACH"),
    ],
)
def test_header_fields_outside_the_hsa_code_object_rules_are_errors(elf, override, message):
    with pytest.raises(CodeObjectError, match=message):
        load_code_object(elf.build(elf.one_kernel(**override)))


@pytest.mark.parametrize("data", [b"", b"MZ\x90\x00" * 32, b"\x7fELF\x02\x01\x01@\x03" + bytes(20)])
def test_what_is_not_an_elf_code_object_is_a_code_object_error(data):
    with pytest.raises(CodeObjectError):
        load_code_object(data)


def test_a_truncated_object_fails_cleanly_not_with_an_index_error(elf):
    data = elf.build(elf.one_kernel())
    for size in (64, 200, 0x400, len(data) - 100):
        with pytest.raises(CodeObjectError):
            load_code_object(data[:size])


def test_errors_belong_to_the_package_hierarchy():
    assert issubclass(CodeObjectError, AmdgpuError)
    assert issubclass(TargetMismatchError, CodeObjectError)
    assert issubclass(UnknownKernelError, ConfigurationError) and issubclass(UnknownKernelError, KeyError)


def test_from_file_names_an_unreadable_path(tmp_path):
    with pytest.raises(CodeObjectError, match=r"missing\.hsaco"):
        CodeObject.from_file(tmp_path / "missing.hsaco")


# --- kernels and metadata -----------------------------------------------------------------------------------


def test_an_unknown_kernel_name_lists_the_kernels_there_are(elf):
    spec = elf.one_kernel("alpha")
    spec.kernels.append(elf.Kernel("beta", elf.descriptor()))
    spec.metadata["amdhsa.kernels"].append(elf.kernel_metadata("beta"))
    code_object = load_code_object(elf.build(spec))
    with pytest.raises(UnknownKernelError) as caught:
        code_object.kernel("gamma")
    assert str(caught.value) == "code object for gfx942 has no kernel 'gamma'; its kernels are: alpha, beta"


def test_metadata_is_required(elf):
    with pytest.raises(CodeObjectError, match="NT_AMDGPU_METADATA"):
        load_code_object(elf.build(elf.one_kernel(metadata=None)))


def test_metadata_that_is_not_messagepack_is_an_error(elf):
    with pytest.raises(CodeObjectError, match="MessagePack"):
        load_code_object(elf.build(elf.one_kernel(metadata=b"\xc1\xc1")))


def test_a_kernel_whose_descriptor_symbol_is_missing_is_an_error(elf):
    spec = elf.one_kernel("k")
    spec.metadata["amdhsa.kernels"][0][".symbol"] = "other.kd"
    with pytest.raises(CodeObjectError, match=r"'other\.kd'.*k\.kd"):
        load_code_object(elf.build(spec))


def test_a_kernel_missing_a_required_metadata_key_is_named(elf):
    spec = elf.one_kernel("k")
    del spec.metadata["amdhsa.kernels"][0][".wavefront_size"]
    with pytest.raises(CodeObjectError, match=r"kernel 'k' has no valid \.wavefront_size"):
        load_code_object(elf.build(spec))


def test_an_argument_outside_the_kernarg_segment_is_an_error(elf):
    spec = elf.one_kernel("k")
    spec.metadata["amdhsa.kernels"][0][".args"] = [{".offset": 252, ".size": 8, ".value_kind": "by_value"}]
    with pytest.raises(CodeObjectError, match="does not fit the 256-byte kernarg segment"):
        load_code_object(elf.build(spec))


def test_the_metadata_map_is_decoded(elf):
    spec = elf.one_kernel("k")
    spec.metadata["amdhsa.target"] = "amdgcn-amd-amdhsa--gfx942"
    spec.metadata["amdhsa.kernels"][0][".args"] = [
        {
            ".name": "out",
            ".offset": 0,
            ".size": 8,
            ".value_kind": "global_buffer",
            ".address_space": "global",
            ".type_name": "uint*",
            ".is_const": True,
        },
        {".offset": 8, ".size": 4, ".value_kind": "hidden_block_count_x"},
    ]
    code_object = load_code_object(elf.build(spec))
    assert code_object.metadata.version == (1, 2)
    assert code_object.metadata.target == "amdgcn-amd-amdhsa--gfx942"
    metadata = code_object.kernel("k").metadata
    (out,) = metadata.explicit_args
    assert (out.name, out.offset, out.size, out.address_space, out.type_name, out.is_const) == (
        "out",
        0,
        8,
        "global",
        "uint*",
        True,
    )
    assert [arg.value_kind for arg in metadata.hidden_args] == ["hidden_block_count_x"]


# --- image and relocations ----------------------------------------------------------------------------------


def test_the_image_holds_every_load_segment_at_its_address(elf):
    code_object = load_code_object(elf.build(elf.one_kernel("k", data=b"\x11" * 16)))
    assert [(s.vaddr, s.executable) for s in code_object.segments] == [
        (0, False),
        (0x1000, True),
        (0x2000, False),
    ]
    assert code_object.image[0x1000:0x1004] == b"\x00\x00\x81\xbf"
    assert code_object.image[DATA_VADDR : DATA_VADDR + 16] == b"\x11" * 16
    assert code_object.image_align == 0x1000


def test_relative64_relocations_add_the_load_base(elf):
    spec = elf.one_kernel(
        "k",
        data=bytes(16),
        relocations=[(0, R_AMDGPU_RELATIVE64, None, 0x1000), (8, R_AMDGPU_NONE, None, 0x55)],
    )
    code_object = load_code_object(elf.build(spec))
    image = code_object.load(0x7F00_0000_0000)
    assert u64(image, DATA_VADDR) == 0x7F00_0000_1000
    assert u64(image, DATA_VADDR + 8) == 0  # R_AMDGPU_NONE changes nothing
    assert u64(code_object.image, DATA_VADDR) == 0  # the unrelocated image stays as it was
    assert len(image) == code_object.image_size


def test_symbol_relocations_use_the_symbol_address_plus_addend(elf):
    spec = elf.one_kernel(
        "k",
        data=bytes(32),
        extra_symbols=[("table", 24)],
        relocations=[
            (0, R_AMDGPU_ABS64, "table", 4),
            (8, R_AMDGPU_ABS32_LO, "table", 0),
            (12, R_AMDGPU_ABS32_HI, "table", 0),
        ],
    )
    base = 0x1_2345_0000
    image = load_code_object(elf.build(spec)).load(base)
    table = base + DATA_VADDR + 24
    assert u64(image, DATA_VADDR) == table + 4
    assert u32(image, DATA_VADDR + 8) == table & 0xFFFFFFFF
    assert u32(image, DATA_VADDR + 12) == table >> 32


def test_abs32_holds_the_address_when_the_image_is_below_four_gib(elf):
    spec = elf.one_kernel(
        "k", data=bytes(8), extra_symbols=[("x", 4)], relocations=[(0, R_AMDGPU_ABS32, "x", 1)]
    )
    image = load_code_object(elf.build(spec)).load(0x10000)
    assert u32(image, DATA_VADDR) == 0x10000 + DATA_VADDR + 4 + 1


def test_abs32_past_four_gib_is_an_error(elf):
    spec = elf.one_kernel(
        "k", data=bytes(8), extra_symbols=[("x", 0)], relocations=[(0, R_AMDGPU_ABS32, "x", 0)]
    )
    with pytest.raises(RelocationError, match="does not fit 32 bits"):
        load_code_object(elf.build(spec)).load(1 << 40)


def test_an_unsupported_relocation_type_is_an_error_naming_it(elf):
    spec = elf.one_kernel("k", data=bytes(8), relocations=[(0, R_AMDGPU_REL32, None, 0)])
    with pytest.raises(RelocationError, match=r"R_AMDGPU_REL32 \(4\) at image offset 0x2000"):
        load_code_object(elf.build(spec)).load(0x10000)
    spec = elf.one_kernel("k", data=bytes(8), relocations=[(0, 99, None, 0)])
    with pytest.raises(RelocationError, match=r"unknown relocation type \(99\)"):
        load_code_object(elf.build(spec)).load(0x10000)


def test_a_relocation_against_an_undefined_symbol_is_an_error_naming_it(elf):
    spec = elf.one_kernel(
        "k",
        data=bytes(8),
        extra_symbols=[("missing_global", None)],
        relocations=[(0, R_AMDGPU_ABS64, "missing_global", 0)],
    )
    with pytest.raises(RelocationError, match="'missing_global'"):
        load_code_object(elf.build(spec)).load(0x10000)


def test_the_load_base_must_keep_the_segment_alignment(elf):
    code_object = load_code_object(elf.build(elf.one_kernel()))
    with pytest.raises(RelocationError, match="not aligned"):
        code_object.load(0x10100)
    with pytest.raises(RelocationError):
        code_object.load(-0x1000)
