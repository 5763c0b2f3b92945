"""e_flags and target IDs: the EF_AMDGPU_MACH table covers the registry, features decode, targets compare."""

from __future__ import annotations

import pytest

from pytest_amdgpu.families import all_targets
from pytest_amdgpu.program import CodeObjectError, TargetMismatchError
from pytest_amdgpu.program.target_id import (
    EF_AMDGPU_MACH_BY_PROCESSOR,
    GENERIC_MEMBERS,
    check_runs_on,
    code_object_version,
    decode_e_flags,
    isa_family_of,
    parse_device_target,
)


def test_every_registry_target_has_an_ef_amdgpu_mach_value():
    for target in all_targets():
        assert target.llvm_target in EF_AMDGPU_MACH_BY_PROCESSOR, target.name
    values = list(EF_AMDGPU_MACH_BY_PROCESSOR.values())
    assert len(values) == len(set(values))


@pytest.mark.parametrize(
    ("processor", "mach"),
    [
        ("gfx90a", 0x03F),
        ("gfx942", 0x04C),
        ("gfx950", 0x04F),
        ("gfx1030", 0x036),
        ("gfx1036", 0x045),
        ("gfx1100", 0x041),
        ("gfx1103", 0x044),
        ("gfx1151", 0x04A),
        ("gfx1200", 0x048),
        ("gfx1201", 0x04E),
    ],
)
def test_mach_values_of_the_supported_targets(processor, mach):
    assert EF_AMDGPU_MACH_BY_PROCESSOR[processor] == mach
    assert decode_e_flags(mach, 3).processor == processor


def test_feature_fields_decode():
    target = decode_e_flags(0x04C | 0x200 | 0xC00, 3)
    assert (target.xnack, target.sramecc) == ("off", "on")
    assert target.target_id == "gfx942:sramecc+:xnack-"
    assert decode_e_flags(0x041, 3).target_id == "gfx1100"  # unsupported features are not spelled


def test_abi_versions():
    assert [code_object_version(v) for v in (2, 3, 4)] == [4, 5, 6]
    with pytest.raises(CodeObjectError, match="code object v2"):
        code_object_version(0)


def test_isa_family_of_agrees_with_the_registry():
    for target in all_targets():
        assert isa_family_of(target.llvm_target) == target.isa_family, target.name
    assert [isa_family_of(g) for g in sorted(GENERIC_MEMBERS)] == [
        "gfx10",
        "gfx10",
        "gfx11",
        "gfx12",
        "gfx9",
        "gfx9",
    ]


def test_generic_members_are_registry_targets_of_the_same_family():
    known = {target.llvm_target: target for target in all_targets()}
    for generic, members in GENERIC_MEMBERS.items():
        for member in members & known.keys():
            assert known[member].isa_family == isa_family_of(generic)


def test_device_target_strings_parse_and_reject_nonsense():
    device = parse_device_target("GFX90A:sramecc+:xnack-")
    assert (device.processor, device.sramecc, device.xnack) == ("gfx90a", True, False)
    with pytest.raises(TargetMismatchError, match="'wave64'"):
        parse_device_target("gfx90a:wave64")
    with pytest.raises(TargetMismatchError):
        check_runs_on(decode_e_flags(0x04C, 3), 942)  # type: ignore[arg-type]
