"""Private memory: per-wave slots from COMPUTE_TMPRING_SIZE, dword-interleaved across the lanes of a wave."""

from __future__ import annotations

import numpy as np
import pytest


def private_segment_descriptor(base: int) -> list[int]:
    """A swizzled scratch V# (GFX9 layout): 4-byte elements, 64-lane index stride, lane index added."""
    return [base & 0xFFFF_FFFF, (base >> 32) | 1 << 31, 0xFFFF_FFFF, 3 << 21 | 1 << 23 | 1 << 19]


def test_buffer_scratch_through_the_private_segment_descriptor(gpu, asm, launch):
    source = """
        v_mul_u32_u24 v1, 3, v0
        buffer_store_dword v0, off, s[0:3], s6 offset:4
        buffer_store_dword v1, off, s[0:3], s6 offset:8
        buffer_load_dword v2, off, s[0:3], s6 offset:4
        buffer_load_dword v3, off, s[0:3], s6 offset:8
        s_waitcnt vmcnt(0)
        v_add_u32 v4, v2, v3
        v_lshlrev_b32 v5, 2, v0
        global_store_dword v5, v4, s[4:5]
        s_endpgm
    """
    wave_bytes = 1024 * 2
    scratch = gpu.alloc(4 * wave_bytes)
    out = gpu.alloc(4 * 128)
    user = [*private_segment_descriptor(scratch), out, out >> 32]
    launch("gfx90a", asm(source, "gfx90a"), grid=(2, 1, 1), block=(64, 1, 1), user_data=user, scratch=True,
           tgid=(False, False, False), tmpring_size=4 | 2 << 12).run()  # fmt: skip
    assert gpu.array(out, np.uint32, 64).tolist() == [4 * lane for lane in range(64)]  # both workgroups
    # wave w's private byte 4 of lane l sits at w * 2 KiB + (4 // 4) * 64 lanes * 4 + 4 * l
    raw = gpu.array(scratch, np.uint32, 2 * wave_bytes // 4).reshape(2, -1)
    assert raw[1, 64 : 64 + 64].tolist() == list(range(64))
    assert raw[1, 128 : 128 + 64].tolist() == [3 * lane for lane in range(64)]


@pytest.mark.parametrize(("target", "names"), [("gfx942", ("dword", "global_store_dword")),
                                               ("gfx1100", ("b32", "global_store_b32"))])  # fmt: skip
def test_flat_scratch_instructions_interleave_dwords_across_lanes(gpu, asm, launch, target, names):
    width, store = names
    lanes = 64 if target == "gfx942" else 32
    source = f"""
        v_lshlrev_b32 v1, 3, v0
        v_mov_b32 v2, 0x55
        scratch_store_{width} off, v0, off offset:12
        v_mov_b32 v3, 8
        scratch_store_{width} v3, v2, off
        scratch_load_{width} v4, off, off offset:12
        s_waitcnt vmcnt(0)
        v_lshlrev_b32 v5, 2, v0
        {store} v5, v4, s[0:1]
        s_endpgm
    """
    scratch = gpu.alloc(8192)
    out = gpu.alloc(4 * lanes)
    launch(target, asm(source, target), block=(lanes, 1, 1), user_data=[out, out >> 32], scratch=True,
           tmpring_size=2 | 4 << 12, scratch_base=scratch).run()  # fmt: skip
    assert gpu.array(out, np.uint32, lanes).tolist() == list(range(lanes))
    raw = gpu.array(scratch, np.uint32, 8 * lanes)
    assert raw[3 * lanes : 4 * lanes].tolist() == list(
        range(lanes)
    )  # private offset 12 = dword 3 of each lane
    assert (raw[2 * lanes : 3 * lanes] == 0x55).all()  # private offset 8 (from v3) = dword 2
