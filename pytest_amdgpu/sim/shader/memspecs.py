"""Memory instruction specs (SMEM, DS, FLAT/GLOBAL/SCRATCH, MUBUF) under both the GFX9/10 and GFX11+ names."""

from __future__ import annotations

from pytest_amdgpu.sim.shader.specs import DS, SMEM, VMEM, MemSpec, register

# --- SMEM ---------------------------------------------------------------------------------------------------
for dwords, old, new in (
    (1, "dword", "b32"),
    (2, "dwordx2", "b64"),
    (3, "dwordx3", "b96"),
    (4, "dwordx4", "b128"),
    (8, "dwordx8", "b256"),
    (16, "dwordx16", "b512"),
):
    register(SMEM, (f"s_load_{old}", f"s_load_{new}"), MemSpec("load", dwords, 4 * dwords))
    register(
        SMEM, (f"s_buffer_load_{old}", f"s_buffer_load_{new}"), MemSpec("buffer_load", dwords, 4 * dwords)
    )
for suffix, size, signed in (("u8", 1, False), ("i8", 1, True), ("u16", 2, False), ("i16", 2, True)):
    register(SMEM, f"s_load_{suffix}", MemSpec("load", 1, size, signed))
    register(SMEM, f"s_buffer_load_{suffix}", MemSpec("buffer_load", 1, size, signed))
for dwords, old in ((1, "dword"), (2, "dwordx2"), (4, "dwordx4")):
    register(SMEM, f"s_store_{old}", MemSpec("store", dwords, 4 * dwords))
register(SMEM, ("s_memtime", "s_memrealtime"), MemSpec("time", 2, 8))
register(
    SMEM, ("s_dcache_inv", "s_dcache_wb", "s_dcache_inv_vol", "s_dcache_wb_vol", "s_gl1_inv"), MemSpec("nop")
)

# --- DS -----------------------------------------------------------------------------------------------------
_DS_ATOMICS = {
    "add": "add",
    "sub": "sub",
    "rsub": "rsub",
    "inc": "inc",
    "dec": "dec",
    "min_i": "smin",
    "max_i": "smax",
    "min_u": "umin",
    "max_u": "umax",
    "and_b": "and",
    "or_b": "or",
    "xor_b": "xor",
    "min_f": "fmin",
    "max_f": "fmax",
}
for width, dwords in ((32, 1), (64, 2)):
    for stem, op in _DS_ATOMICS.items():
        if stem in ("add", "sub", "rsub", "inc", "dec"):
            base = f"ds_{stem}_u{width}"
            rtn = f"ds_{stem}_rtn_u{width}"
        else:
            kind, letter = stem.split("_")
            base = f"ds_{kind}_{letter}{width}"
            rtn = f"ds_{kind}_rtn_{letter}{width}"
        register(DS, base, MemSpec("atomic", dwords, 4 * dwords, atomic=op))
        register(DS, rtn, MemSpec("atomic", dwords, 4 * dwords, atomic=op, returns=True))
    register(DS, f"ds_add_f{width}", MemSpec("atomic", dwords, 4 * dwords, atomic="fadd"))
    register(DS, f"ds_add_rtn_f{width}", MemSpec("atomic", dwords, 4 * dwords, atomic="fadd", returns=True))
    suffix = f"b{width}"
    register(DS, (f"ds_write_{suffix}", f"ds_store_{suffix}"), MemSpec("store", dwords, 4 * dwords))
    register(DS, (f"ds_read_{suffix}", f"ds_load_{suffix}"), MemSpec("load", dwords, 4 * dwords))
    register(DS, (f"ds_write2_{suffix}", f"ds_store_2addr_{suffix}"), MemSpec("store2", dwords, 4 * dwords))
    register(DS, (f"ds_read2_{suffix}", f"ds_load_2addr_{suffix}"), MemSpec("load2", dwords, 4 * dwords))
    register(
        DS,
        (f"ds_write2st64_{suffix}", f"ds_store_2addr_stride64_{suffix}"),
        MemSpec("store2", dwords, 4 * dwords, stride64=True),
    )
    register(
        DS,
        (f"ds_read2st64_{suffix}", f"ds_load_2addr_stride64_{suffix}"),
        MemSpec("load2", dwords, 4 * dwords, stride64=True),
    )
    register(
        DS,
        (f"ds_wrxchg_rtn_{suffix}", f"ds_storexchg_rtn_{suffix}"),
        MemSpec("atomic", dwords, 4 * dwords, atomic="swap", returns=True),
    )
    # GFX9/10 ds_cmpst: data0 is the compare value, data1 the new value; GFX11 ds_cmpstore swaps them.
    register(
        DS,
        f"ds_cmpst_{suffix}",
        MemSpec("atomic", dwords, 4 * dwords, atomic="cmpswap", extra={"compare_first": 1}),
    )
    register(
        DS,
        f"ds_cmpst_rtn_{suffix}",
        MemSpec("atomic", dwords, 4 * dwords, atomic="cmpswap", returns=True, extra={"compare_first": 1}),
    )
    register(DS, f"ds_cmpstore_{suffix}", MemSpec("atomic", dwords, 4 * dwords, atomic="cmpswap"))
    register(
        DS, f"ds_cmpstore_rtn_{suffix}", MemSpec("atomic", dwords, 4 * dwords, atomic="cmpswap", returns=True)
    )
for dwords in (3, 4):
    suffix = f"b{32 * dwords}"
    register(DS, (f"ds_write_{suffix}", f"ds_store_{suffix}"), MemSpec("store", dwords, 4 * dwords))
    register(DS, (f"ds_read_{suffix}", f"ds_load_{suffix}"), MemSpec("load", dwords, 4 * dwords))
register(DS, ("ds_write_b8", "ds_store_b8"), MemSpec("store", 1, 1))
register(DS, ("ds_write_b16", "ds_store_b16"), MemSpec("store", 1, 2))
for suffix, size, signed in (("u8", 1, False), ("i8", 1, True), ("u16", 2, False), ("i16", 2, True)):
    register(DS, (f"ds_read_{suffix}", f"ds_load_{suffix}"), MemSpec("load", 1, size, signed))
register(DS, ("ds_permute_b32",), MemSpec("permute", extra={"backward": 0}))
register(DS, ("ds_bpermute_b32",), MemSpec("permute", extra={"backward": 1}))
register(DS, "ds_swizzle_b32", MemSpec("swizzle"))
register(DS, "ds_nop", MemSpec("nop"))
# GWS (global wave sync): wave-level operations on the process's GWS entries, selected by offset + M0[21:16]
register(DS, "ds_gws_init", MemSpec("gws", extra={"data": 1}))
register(DS, "ds_gws_sema_v", MemSpec("gws"))
register(DS, "ds_gws_sema_br", MemSpec("gws", extra={"data": 1}))
register(DS, "ds_gws_sema_p", MemSpec("gws"))
register(DS, "ds_gws_sema_release_all", MemSpec("gws"))
register(DS, "ds_gws_barrier", MemSpec("gws", extra={"data": 1}))

# --- FLAT / GLOBAL / SCRATCH / MUBUF (names after the "flat_", "global_", "scratch_", "buffer_" prefix) -----
for dwords, old, new in (
    (1, "dword", "b32"),
    (2, "dwordx2", "b64"),
    (3, "dwordx3", "b96"),
    (4, "dwordx4", "b128"),
):
    register(VMEM, (f"load_{old}", f"load_{new}"), MemSpec("load", dwords, 4 * dwords))
    register(VMEM, (f"store_{old}", f"store_{new}"), MemSpec("store", dwords, 4 * dwords))
for old, new, size, signed in (
    ("ubyte", "u8", 1, False),
    ("sbyte", "i8", 1, True),
    ("ushort", "u16", 2, False),
    ("sshort", "i16", 2, True),
):
    register(VMEM, (f"load_{old}", f"load_{new}"), MemSpec("load", 1, size, signed))
register(VMEM, ("store_byte", "store_b8"), MemSpec("store", 1, 1))
register(VMEM, ("store_short", "store_b16"), MemSpec("store", 1, 2))
_VMEM_ATOMICS = (  # (GFX9/10 stem, GFX11+ 32-bit name, GFX11+ 64-bit name, operation)
    ("swap", "swap_b32", "swap_b64", "swap"),
    ("cmpswap", "cmpswap_b32", "cmpswap_b64", "cmpswap"),
    ("add", "add_u32", "add_u64", "add"),
    ("sub", "sub_u32", "sub_u64", "sub"),
    ("smin", "min_i32", "min_i64", "smin"),
    ("umin", "min_u32", "min_u64", "umin"),
    ("smax", "max_i32", "max_i64", "smax"),
    ("umax", "max_u32", "max_u64", "umax"),
    ("and", "and_b32", "and_b64", "and"),
    ("or", "or_b32", "or_b64", "or"),
    ("xor", "xor_b32", "xor_b64", "xor"),
    ("inc", "inc_u32", "inc_u64", "inc"),
    ("dec", "dec_u32", "dec_u64", "dec"),
)
for old, new32, new64, op in _VMEM_ATOMICS:
    register(VMEM, (f"atomic_{old}", f"atomic_{new32}"), MemSpec("atomic", 1, 4, atomic=op))
    register(VMEM, (f"atomic_{old}_x2", f"atomic_{new64}"), MemSpec("atomic", 2, 8, atomic=op))
# Cache maintenance (buffer_wbl2 writes L2 back, buffer_invl2 / buffer_inv invalidate): the simulator has no
# caches, so they order nothing there; decoded, disassembled and accepted as the memory model needs them.
register(VMEM, ("wbl2", "invl2", "inv"), MemSpec("cache"))
register(VMEM, "atomic_add_f32", MemSpec("atomic", 1, 4, atomic="fadd"))
register(VMEM, "atomic_add_f64", MemSpec("atomic", 2, 8, atomic="fadd"))
