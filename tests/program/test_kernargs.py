"""pack_kernargs: explicit arguments at their metadata offsets, zero padding, hidden ones from a Dispatch."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.program import Dispatch, KernargError, KernelArg, KernelMetadata, pack_kernargs


class FakeBuffer:
    def __init__(self, gpu_addr: int) -> None:
        self.gpu_addr = gpu_addr


def arg(name, offset, size, kind="by_value", type_name="", **extra):
    return KernelArg(offset=offset, size=size, value_kind=kind, name=name, type_name=type_name, **extra)


def hidden(kind, offset, size):
    return KernelArg(offset=offset, size=size, value_kind=kind)


def v5_hidden(base):
    """The hidden arguments LLVM lists for a v5 kernel, from `base` (as the bundled kernels list them)."""
    layout = [
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
    return tuple(hidden(kind, base + offset, size) for kind, offset, size in layout)


def kernel(name, args, kernarg_segment_size, max_flat_workgroup_size=1024):
    return KernelMetadata(
        name=name,
        symbol=f"{name}.kd",
        args=tuple(args),
        kernarg_segment_size=kernarg_segment_size,
        kernarg_segment_align=8,
        group_segment_fixed_size=0,
        private_segment_fixed_size=0,
        wavefront_size=64,
        sgpr_count=8,
        vgpr_count=8,
        max_flat_workgroup_size=max_flat_workgroup_size,
    )


VECTOR_ADD = kernel(
    "vector_add",
    [
        arg("a", 0, 8, "global_buffer", "float*", address_space="global"),
        arg("b", 8, 8, "global_buffer", "float*", address_space="global"),
        arg("out", 16, 8, "global_buffer", "float*", address_space="global"),
        arg("n", 24, 4, type_name="uint"),
        *v5_hidden(32),
    ],
    288,
)

MIXED_ARGS = kernel(
    "mixed_args",
    [
        arg("a", 0, 1, type_name="uchar"),
        arg("out", 8, 8, "global_buffer", "ulong*", address_space="global"),
        arg("b", 16, 2, type_name="ushort"),
        arg("c", 24, 8, type_name="double"),
        *v5_hidden(32),
    ],
    288,
)


def test_vector_add_bytes_match_the_hand_computed_layout():
    packed = pack_kernargs(
        VECTOR_ADD,
        [
            FakeBuffer(0x7F00_0000_1000),
            FakeBuffer(0x7F00_0000_2000),
            FakeBuffer(0x7F00_0000_3000),
            np.uint32(1000),
        ],
        Dispatch(grid=(4, 1, 1), block=(256, 1, 1)),
    )
    expected = bytearray(288)
    expected[0:8] = bytes.fromhex("0010000000 7f0000".replace(" ", ""))
    expected[8:16] = (0x7F00_0000_2000).to_bytes(8, "little")
    expected[16:24] = (0x7F00_0000_3000).to_bytes(8, "little")
    expected[24:28] = bytes.fromhex("e8030000")  # 1000
    expected[32:44] = bytes.fromhex("04000000 01000000 01000000".replace(" ", ""))  # block counts 4, 1, 1
    expected[44:50] = bytes.fromhex("0001 0100 0100".replace(" ", ""))  # group sizes 256, 1, 1
    expected[96:98] = bytes.fromhex("0300")  # grid dims: 3 values given
    assert packed == bytes(expected)


def test_mixed_args_pads_with_zeros_and_converts_each_scalar_to_its_type():
    packed = pack_kernargs(MIXED_ARGS, [5, 0x1234_5678_9ABC_DEF0, np.uint16(7), 1.5], Dispatch(1, 64))
    assert packed[:32].hex() == (
        "05"
        + "00" * 7  # a, then padding up to the pointer's 8-byte alignment
        + "f0debc9a78563412"  # out
        + "0700"
        + "00" * 6  # b, then padding up to c
        + "000000000000f83f"  # c = 1.5 as IEEE double
    )
    assert packed[32:36] == b"\x01\x00\x00\x00" and packed[44:46] == b"\x40\x00"  # grid 1, block 64
    assert packed[96:98] == b"\x01\x00"  # grid dims 1: one value given
    assert len(packed) == 288 and packed[98:] == bytes(190)


def test_python_floats_become_ieee_of_the_argument_size():
    metadata = kernel(
        "floats",
        [
            arg("h", 0, 2, type_name="half"),
            arg("f", 4, 4, type_name="float"),
            arg("d", 8, 8, type_name="double"),
            arg("i", 16, 4, type_name="float"),
        ],
        24,
    )
    packed = pack_kernargs(metadata, [1.0, 0.1, -2.5, 3], Dispatch(1, 1))
    assert packed[0:2] == struct.pack("<e", 1.0)
    assert packed[4:8] == struct.pack("<f", 0.1)
    assert packed[8:16] == struct.pack("<d", -2.5)
    assert packed[16:20] == struct.pack(
        "<f", 3.0
    )  # an int for a float argument is converted, not reinterpreted


def test_numpy_scalars_keep_their_own_bytes():
    metadata = kernel("k", [arg("x", 0, 4, type_name="uint"), arg("y", 8, 8, type_name="long")], 16)
    packed = pack_kernargs(metadata, [np.float32(1.0), np.int64(-2)], Dispatch(1, 1))
    assert packed[0:4] == np.float32(1.0).tobytes()
    assert packed[8:16] == (-2).to_bytes(8, "little", signed=True)


def test_signed_integers_are_twos_complement_and_range_checked():
    metadata = kernel("k", [arg("x", 0, 4, type_name="int"), arg("y", 4, 2, type_name="short")], 8)
    assert pack_kernargs(metadata, [-1, -32768], Dispatch(1, 1)) == bytes.fromhex("ffffffff0080") + bytes(2)
    with pytest.raises(KernargError, match=r"'x' \(int, 4 bytes at offset 0\) cannot hold 2147483648"):
        pack_kernargs(metadata, [1 << 31, 0], Dispatch(1, 1))


def test_hidden_arguments_follow_the_dispatch():
    metadata = kernel(
        "k",
        [
            *v5_hidden(0),
            hidden("hidden_dynamic_lds_size", 120, 4),
            hidden("hidden_private_base", 192, 4),
            hidden("hidden_shared_base", 196, 4),
            hidden("hidden_hostcall_buffer", 80, 8),
            hidden("hidden_queue_ptr", 200, 8),
        ],
        256,
    )
    dispatch = Dispatch(
        grid=(3, 5),
        block=(8, 4),
        dynamic_lds_bytes=512,
        global_offset=(10, 20, 30),
        private_base=0x1000_0000,
        shared_base=0x2000_0000,
    )
    packed = pack_kernargs(metadata, [], dispatch)
    words = struct.unpack_from("<3I3H3H", packed, 0)
    assert words == (3, 5, 1, 8, 4, 1, 0, 0, 0)  # block counts, group sizes, no partial workgroups
    assert struct.unpack_from("<3Q", packed, 40) == (10, 20, 30)
    assert struct.unpack_from("<H", packed, 64) == (2,)
    assert struct.unpack_from("<I", packed, 120) == (512,)
    assert struct.unpack_from("<2I", packed, 192) == (0x1000_0000, 0x2000_0000)
    assert packed[80:88] == bytes(8) and packed[200:208] == bytes(8)  # left to the runtime: zero


def test_a_kernel_info_can_stand_for_its_metadata(elf):
    from pytest_amdgpu.program import load_code_object

    spec = elf.one_kernel("k")
    spec.metadata["amdhsa.kernels"][0][".args"] = [
        {".name": "n", ".offset": 0, ".size": 4, ".value_kind": "by_value", ".type_name": "uint"}
    ]
    kernel_info = load_code_object(elf.build(spec)).kernel("k")
    assert pack_kernargs(kernel_info, [7], Dispatch(1, 1))[:4] == b"\x07\x00\x00\x00"


# --- errors -------------------------------------------------------------------------------------------------


def test_the_wrong_number_of_arguments_names_the_expected_ones():
    with pytest.raises(KernargError) as caught:
        pack_kernargs(VECTOR_ADD, [FakeBuffer(0), FakeBuffer(0), FakeBuffer(0)], Dispatch(1, 64))
    assert str(caught.value) == "kernel 'vector_add' takes 4 argument(s) (a, b, out, n), got 3"
    assert isinstance(caught.value, ConfigurationError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [FakeBuffer(0), FakeBuffer(0), FakeBuffer(0), 2.5],
            r"'n' \(uint, 4 bytes at offset 24\) is an integer",
        ),
        (
            [FakeBuffer(0), FakeBuffer(0), FakeBuffer(0), -1],
            r"'n' .*cannot hold -1: the range is \[0, 4294967295\]",
        ),
        ([FakeBuffer(0), FakeBuffer(0), FakeBuffer(0), 1 << 32], r"'n' .*cannot hold 4294967296"),
        ([FakeBuffer(0), FakeBuffer(0), FakeBuffer(0), np.int64(3)], r"'n' .*got numpy.int64 of 8 bytes"),
        ([FakeBuffer(0), FakeBuffer(0), FakeBuffer(0), "3"], r"'n' .*not str"),
        ([FakeBuffer(0), 1.5, FakeBuffer(0), 3], r"'b' \(float\*.*pass a Buffer.*not float"),
        ([FakeBuffer(0), FakeBuffer(-8), FakeBuffer(0), 3], r"'b' .*cannot hold -8"),
    ],
)
def test_an_argument_that_does_not_convert_is_named(args, message):
    with pytest.raises(KernargError, match=message):
        pack_kernargs(VECTOR_ADD, args, Dispatch(1, 64))


def test_raw_bytes_must_have_the_argument_size():
    metadata = kernel("k", [arg("s", 0, 8, type_name="struct pair")], 8)
    assert pack_kernargs(metadata, [b"12345678"], Dispatch(1, 1)) == b"12345678"
    with pytest.raises(KernargError, match="got 3 raw bytes"):
        pack_kernargs(metadata, [b"123"], Dispatch(1, 1))


def test_unsupported_value_kinds_are_named():
    metadata = kernel("k", [arg("img", 0, 8, "image")], 8)
    with pytest.raises(KernargError, match="value kind 'image'"):
        pack_kernargs(metadata, [0], Dispatch(1, 1))


def test_a_block_larger_than_the_kernel_allows_is_refused():
    metadata = kernel("small", [], 0, max_flat_workgroup_size=256)
    with pytest.raises(KernargError, match="max_flat_workgroup_size 256"):
        pack_kernargs(metadata, [], Dispatch(1, (512, 1, 1)))


@pytest.mark.parametrize(
    ("grid", "block", "message"),
    [
        ((0, 1, 1), (64, 1, 1), "grid must be 1 to 3 integers >= 1"),
        ((1, 1, 1, 1), (64,), "grid must be"),
        ((1,), (64, 32), "2048 work-items; a workgroup holds 1024"),
        ((1 << 24,), (1024,), "exceed the 32-bit grid size"),
        ((1.0,), (1,), "grid must be"),
    ],
)
def test_a_dispatch_shape_out_of_range_is_refused(grid, block, message):
    with pytest.raises(KernargError, match=message):
        Dispatch(grid, block)


def test_dispatch_normalises_to_three_dimensions():
    dispatch = Dispatch(8, (64, 2))
    assert (dispatch.grid, dispatch.block, dispatch.grid_dims) == ((8, 1, 1), (64, 2, 1), 2)
    assert dispatch.workgroup_size == 128 and dispatch.grid_size == (512, 2, 1)
    assert Dispatch((np.int32(2), 1, 1), (64, 1, 1), grid_dims=1).grid_dims == 1
