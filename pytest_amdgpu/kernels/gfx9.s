// Bundled kernels for the GFX9 ISA family (CDNA2 gfx90a, CDNA3 gfx942, CDNA4 gfx950), wave64.
//
// The contract of every kernel (arguments, grid, results) is in README.md beside this file; the other
// families' sources implement the same kernels with the same names and arguments.
//
// Launch state every kernel relies on (AMDGPUUsage, "Initial Kernel Execution State"):
//   s[0:1]  kernarg segment address (the only user SGPRs, except scratch_user on gfx90a)
//   s2      workgroup id x (s3, s4: y, z when enabled), right after the user SGPRs
//   v0      packed work-item ids: x in bits 9:0, y in 19:10, z in 29:20 (all three targets pack them)
// Hidden arguments start at the first 8-byte boundary after the explicit ones; this source reads
// hidden_block_count_x/y/z (+0, +4, +8) and hidden_group_size_x/y/z (u16 at +12, +14, +16).
//
// Scratch: gfx942 and gfx950 have architected flat scratch (the hardware sets FLAT_SCRATCH); gfx90a
// takes the queue's scratch base in the flat_scratch_init user SGPRs and adds the wave's offset itself.

.amdhsa_code_object_version 5

.set ARCHITECTED_FLAT_SCRATCH, .amdgcn.gfx_generation_minor >= 4
.set CACHE_SCOPE_BITS, .amdgcn.gfx_generation_minor >= 4  // gfx94x cache bits: sc0, sc1, nt (not glc/slc)

.text

// ---- empty() ----------------------------------------------------------------------------------------
.globl empty
.p2align 8
.type empty,@function
empty:
    s_endpgm
.size empty, .-empty

.rodata
.p2align 6
.amdhsa_kernel empty
    .amdhsa_kernarg_size 256
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- fill(u32* dst, u32 value, u32 n): dst[i] = value for i < n ------------------------------------
.text
.globl fill
.p2align 8
.type fill,@function
fill:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // dst
    s_load_dwordx2 s[6:7], s[0:1], 0x8         // value, n
    s_load_dword s8, s[0:1], 0x1c              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0                    // work-item id x
    s_waitcnt lgkmcnt(0)
    s_and_b32 s8, s8, 0xffff
    s_mul_i32 s8, s8, s2                       // first id of this workgroup
    v_add_u32 v1, s8, v0                       // global id
    v_cmp_gt_u32 vcc, s7, v1                   // id < n
    s_and_saveexec_b64 s[10:11], vcc
    s_cbranch_execz .Lfill_end
    v_lshlrev_b32 v2, 2, v1                    // byte offset
    v_mov_b32 v3, s6
    global_store_dword v2, v3, s[4:5]
.Lfill_end:
    s_endpgm
.size fill, .-fill

.rodata
.p2align 6
.amdhsa_kernel fill
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- copy_dword(u32* dst, const u32* src, u32 n): dst[i] = src[i] for i < n ------------------------
.text
.globl copy_dword
.p2align 8
.type copy_dword,@function
copy_dword:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // dst, src
    s_load_dword s8, s[0:1], 0x10              // n
    s_load_dword s9, s[0:1], 0x24              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s9, s9, 0xffff
    s_mul_i32 s9, s9, s2
    v_add_u32 v1, s9, v0
    v_cmp_gt_u32 vcc, s8, v1
    s_and_saveexec_b64 s[10:11], vcc
    s_cbranch_execz .Lcopy_dword_end
    v_lshlrev_b32 v2, 2, v1
    global_load_dword v3, v2, s[6:7]
    s_waitcnt vmcnt(0)
    global_store_dword v2, v3, s[4:5]
.Lcopy_dword_end:
    s_endpgm
.size copy_dword, .-copy_dword

.rodata
.p2align 6
.amdhsa_kernel copy_dword
    .amdhsa_kernarg_size 280
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- vector_add(const f32* a, const f32* b, f32* out, u32 n): out[i] = a[i] + b[i] for i < n -------
.text
.globl vector_add
.p2align 8
.type vector_add,@function
vector_add:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // a, b
    s_load_dwordx2 s[8:9], s[0:1], 0x10        // out
    s_load_dword s10, s[0:1], 0x18             // n
    s_load_dword s11, s[0:1], 0x2c             // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s11, s11, 0xffff
    s_mul_i32 s11, s11, s2
    v_add_u32 v1, s11, v0
    v_cmp_gt_u32 vcc, s10, v1
    s_and_saveexec_b64 s[12:13], vcc
    s_cbranch_execz .Lvector_add_end
    v_lshlrev_b32 v2, 2, v1
    global_load_dword v3, v2, s[4:5]
    global_load_dword v4, v2, s[6:7]
    s_waitcnt vmcnt(0)
    v_add_f32 v3, v3, v4
    global_store_dword v2, v3, s[8:9]
.Lvector_add_end:
    s_endpgm
.size vector_add, .-vector_add

.rodata
.p2align 6
.amdhsa_kernel vector_add
    .amdhsa_kernarg_size 288
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 8
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- vector_add_i32(const i32* a, const i32* b, i32* out, u32 n): out[i] = a[i] + b[i] (wrapping) ---
.text
.globl vector_add_i32
.p2align 8
.type vector_add_i32,@function
vector_add_i32:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // a, b
    s_load_dwordx2 s[8:9], s[0:1], 0x10        // out
    s_load_dword s10, s[0:1], 0x18             // n
    s_load_dword s11, s[0:1], 0x2c             // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s11, s11, 0xffff
    s_mul_i32 s11, s11, s2
    v_add_u32 v1, s11, v0
    v_cmp_gt_u32 vcc, s10, v1
    s_and_saveexec_b64 s[12:13], vcc
    s_cbranch_execz .Lvector_add_i32_end
    v_lshlrev_b32 v2, 2, v1
    global_load_dword v3, v2, s[4:5]
    global_load_dword v4, v2, s[6:7]
    s_waitcnt vmcnt(0)
    v_add_u32 v3, v3, v4
    global_store_dword v2, v3, s[8:9]
.Lvector_add_i32_end:
    s_endpgm
.size vector_add_i32, .-vector_add_i32

.rodata
.p2align 6
.amdhsa_kernel vector_add_i32
    .amdhsa_kernarg_size 288
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 8
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- busy_loop(u32* out, u32 iterations): a scalar loop; out[workgroup id x] = iterations -----------
.text
.globl busy_loop
.p2align 8
.type busy_loop,@function
busy_loop:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // out
    s_load_dword s6, s[0:1], 0x8               // iterations
    s_mov_b32 s7, 0                            // count
    s_waitcnt lgkmcnt(0)
.Lbusy_loop_top:
    s_cmp_ge_u32 s7, s6
    s_cbranch_scc1 .Lbusy_loop_done
    s_add_u32 s7, s7, 1
    s_branch .Lbusy_loop_top
.Lbusy_loop_done:
    s_lshl_b32 s8, s2, 2
    v_mov_b32 v0, s8
    v_mov_b32 v1, s7
    global_store_dword v0, v1, s[4:5]
    s_endpgm
.size busy_loop, .-busy_loop

.rodata
.p2align 6
.amdhsa_kernel busy_loop
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- lds_reduce(const u32* in, u32* out_per_workgroup, u32 n) -----------------------------------------
// out_per_workgroup[g] = sum of in[g*B .. min((g+1)*B, n)) mod 2**32, B = block x (a power of two <= 1024).
.text
.globl lds_reduce
.p2align 8
.type lds_reduce,@function
lds_reduce:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // in, out_per_workgroup
    s_load_dword s8, s[0:1], 0x10              // n
    s_load_dword s9, s[0:1], 0x24              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0                    // work-item id x
    s_waitcnt lgkmcnt(0)
    s_and_b32 s9, s9, 0xffff                   // B
    s_mul_i32 s10, s9, s2
    v_add_u32 v1, s10, v0                      // global id
    v_lshlrev_b32 v2, 2, v1                    // byte offset in `in`
    v_lshlrev_b32 v3, 2, v0                    // this work-item's LDS slot
    v_mov_b32 v4, 0                            // value: 0 past the end of `in`
    v_cmp_gt_u32 vcc, s8, v1
    s_and_saveexec_b64 s[12:13], vcc
    s_cbranch_execz .Llds_reduce_stored
    global_load_dword v4, v2, s[4:5]
    s_waitcnt vmcnt(0)
.Llds_reduce_stored:
    s_mov_b64 exec, s[12:13]
    ds_write_b32 v3, v4
    s_waitcnt lgkmcnt(0)
    s_barrier
    s_lshr_b32 s11, s9, 1                      // stride, in work-items
.Llds_reduce_step:
    s_cmp_eq_u32 s11, 0
    s_cbranch_scc1 .Llds_reduce_done
    s_lshl_b32 s14, s11, 2                     // stride, in bytes
    v_cmp_gt_u32 vcc, s11, v0                  // id < stride
    s_and_saveexec_b64 s[12:13], vcc
    s_cbranch_execz .Llds_reduce_next
    v_add_u32 v5, s14, v3
    ds_read_b32 v6, v3
    ds_read_b32 v7, v5
    s_waitcnt lgkmcnt(0)
    v_add_u32 v6, v6, v7
    ds_write_b32 v3, v6
    s_waitcnt lgkmcnt(0)
.Llds_reduce_next:
    s_mov_b64 exec, s[12:13]
    s_barrier
    s_lshr_b32 s11, s11, 1
    s_branch .Llds_reduce_step
.Llds_reduce_done:
    v_cmp_eq_u32 vcc, 0, v0
    s_and_saveexec_b64 s[12:13], vcc
    s_cbranch_execz .Llds_reduce_end
    s_lshl_b32 s14, s2, 2
    v_mov_b32 v8, s14
    ds_read_b32 v6, v3
    s_waitcnt lgkmcnt(0)
    global_store_dword v8, v6, s[6:7]
.Llds_reduce_end:
    s_endpgm
.size lds_reduce, .-lds_reduce

.rodata
.p2align 6
.amdhsa_kernel lds_reduce
    .amdhsa_group_segment_fixed_size 4096
    .amdhsa_kernarg_size 280
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 12
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- atomic_add(u32* counter, u32 n): each work-item i < n adds 1 to counter[0] ---------------------
.text
.globl atomic_add
.p2align 8
.type atomic_add,@function
atomic_add:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // counter
    s_load_dword s6, s[0:1], 0x8               // n
    s_load_dword s7, s[0:1], 0x1c              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s7, s7, 0xffff
    s_mul_i32 s7, s7, s2
    v_add_u32 v1, s7, v0
    v_cmp_gt_u32 vcc, s6, v1
    s_and_saveexec_b64 s[8:9], vcc
    s_cbranch_execz .Latomic_add_end
    v_mov_b32 v2, 0
    v_mov_b32 v3, 1
    global_atomic_add v2, v3, s[4:5]
.Latomic_add_end:
    s_endpgm
.size atomic_add, .-atomic_add

.rodata
.p2align 6
.amdhsa_kernel atomic_add
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- scratch_user(u32* out, u32 n): private p[k] = i + k (k < 4), out[i] = p[3]+p[2]+p[1]+p[0] ------
// gfx90a: s[2:3] flat_scratch_init, s4 workgroup id x, s5 private segment wavefront offset.
// gfx942/gfx950: s2 workgroup id x; FLAT_SCRATCH is set by the hardware.
.text
.globl scratch_user
.p2align 8
.type scratch_user,@function
scratch_user:
.if ARCHITECTED_FLAT_SCRATCH
    s_mov_b32 s12, s2                          // workgroup id x
.else
    s_add_u32 flat_scratch_lo, s2, s5
    s_addc_u32 flat_scratch_hi, s3, 0
    s_mov_b32 s12, s4                          // workgroup id x
.endif
    s_load_dwordx2 s[6:7], s[0:1], 0x0         // out
    s_load_dword s8, s[0:1], 0x8               // n
    s_load_dword s9, s[0:1], 0x1c              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s9, s9, 0xffff
    s_mul_i32 s9, s9, s12
    v_add_u32 v1, s9, v0                       // global id
    v_cmp_gt_u32 vcc, s8, v1
    s_and_saveexec_b64 s[10:11], vcc
    s_cbranch_execz .Lscratch_user_end
    v_mov_b32 v2, 0                            // private address of p[0]
    v_add_u32 v3, 1, v1
    v_add_u32 v4, 2, v1
    v_add_u32 v5, 3, v1
    scratch_store_dword v2, v1, off
    scratch_store_dword v2, v3, off offset:4
    scratch_store_dword v2, v4, off offset:8
    scratch_store_dword v2, v5, off offset:12
    s_waitcnt vmcnt(0)
    scratch_load_dword v6, v2, off offset:12
    scratch_load_dword v7, v2, off offset:8
    scratch_load_dword v8, v2, off offset:4
    scratch_load_dword v9, v2, off
    s_waitcnt vmcnt(0)
    v_add_u32 v6, v6, v7
    v_add_u32 v6, v6, v8
    v_add_u32 v6, v6, v9
    v_lshlrev_b32 v10, 2, v1
    global_store_dword v10, v6, s[6:7]
.Lscratch_user_end:
    s_endpgm
.size scratch_user, .-scratch_user

.rodata
.p2align 6
.if ARCHITECTED_FLAT_SCRATCH
.amdhsa_kernel scratch_user
    .amdhsa_private_segment_fixed_size 16
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_enable_private_segment 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 12
.end_amdhsa_kernel
.else
.amdhsa_kernel scratch_user
    .amdhsa_private_segment_fixed_size 16
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_user_sgpr_flat_scratch_init 1
    .amdhsa_system_sgpr_private_segment_wavefront_offset 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 12
.end_amdhsa_kernel
.endif
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- store_ids(u32* out): one 8-dword record per work-item, see README.md ---------------------------
.text
.globl store_ids
.p2align 8
.type store_ids,@function
store_ids:
    s_load_dwordx2 s[6:7], s[0:1], 0x0         // out
    s_load_dwordx4 s[8:11], s[0:1], 0x8        // hidden_block_count_x/y/z, hidden_group_size_x|y
    s_load_dword s12, s[0:1], 0x18             // hidden_group_size_z (low half)
    v_and_b32 v1, 0x3ff, v0                    // work-item id x
    v_bfe_u32 v2, v0, 10, 10                   // work-item id y
    v_bfe_u32 v3, v0, 20, 10                   // work-item id z
    s_waitcnt lgkmcnt(0)
    s_and_b32 s13, s11, 0xffff                 // block x
    s_lshr_b32 s14, s11, 16                    // block y
    s_and_b32 s15, s12, 0xffff                 // block z
    s_mul_i32 s16, s9, s4                      // flat workgroup index = x + gx * (y + gy * z)
    s_add_u32 s16, s16, s3
    s_mul_i32 s16, s16, s8
    s_add_u32 s16, s16, s2
    s_mul_i32 s17, s13, s14                    // work-items per workgroup
    s_mul_i32 s17, s17, s15
    s_mul_i32 s18, s16, s17                    // first record of this workgroup
    v_mul_u32_u24 v4, s14, v3                  // flat local id = x + bx * (y + by * z)
    v_add_u32 v4, v4, v2
    v_mul_u32_u24 v4, s13, v4
    v_add_u32 v4, v4, v1
    v_add_u32 v5, s18, v4                      // record index
    v_lshlrev_b32 v5, 5, v5                    // 32 bytes a record
    v_mov_b32 v6, s2
    v_mov_b32 v7, s3
    v_mov_b32 v8, s4
    v_mov_b32 v9, s16
    global_store_dword v5, v6, s[6:7]
    global_store_dword v5, v7, s[6:7] offset:4
    global_store_dword v5, v8, s[6:7] offset:8
    global_store_dword v5, v1, s[6:7] offset:12
    global_store_dword v5, v2, s[6:7] offset:16
    global_store_dword v5, v3, s[6:7] offset:20
    global_store_dword v5, v9, s[6:7] offset:24
    global_store_dword v5, v4, s[6:7] offset:28
    s_endpgm
.size store_ids, .-store_ids

.rodata
.p2align 6
.amdhsa_kernel store_ids
    .amdhsa_kernarg_size 264
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_system_sgpr_workgroup_id_y 1
    .amdhsa_system_sgpr_workgroup_id_z 1
    .amdhsa_system_vgpr_workitem_id 2
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 12
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- mixed_args(u8 a, u64* out, u16 b, f64 c): out[0] = a, out[1] = b, out[2] = bits of c, ----------
// out[3] = kernarg bytes 0..3 | kernarg bytes 16..19 << 32 (a and b with their padding, unmasked).
.text
.globl mixed_args
.p2align 8
.type mixed_args,@function
mixed_args:
    s_load_dword s4, s[0:1], 0x0               // a and 3 padding bytes
    s_load_dwordx2 s[6:7], s[0:1], 0x8         // out
    s_load_dword s5, s[0:1], 0x10              // b and 2 bytes of padding
    s_load_dwordx2 s[8:9], s[0:1], 0x18        // c
    s_waitcnt lgkmcnt(0)
    s_and_b32 s10, s4, 0xff
    s_and_b32 s11, s5, 0xffff
    v_mov_b32 v0, 0
    v_mov_b32 v2, s10
    v_mov_b32 v3, 0
    v_mov_b32 v4, s11
    v_mov_b32 v5, 0
    v_mov_b32 v6, s8
    v_mov_b32 v7, s9
    v_mov_b32 v8, s4
    v_mov_b32 v9, s5
    global_store_dwordx2 v0, v[2:3], s[6:7]
    global_store_dwordx2 v0, v[4:5], s[6:7] offset:8
    global_store_dwordx2 v0, v[6:7], s[6:7] offset:16
    global_store_dwordx2 v0, v[8:9], s[6:7] offset:24
    s_endpgm
.size mixed_args, .-mixed_args

.rodata
.p2align 6
.amdhsa_kernel mixed_args
    .amdhsa_kernarg_size 288
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 12
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- code object metadata (AMDGPUUsage, "Code Object V5 Metadata") ---------------------------------
// Hidden arguments as LLVM lists them for a v5 kernel; argument names carry !str because YAML would read
// a bare n as the boolean false.

// ---- gws_init(u32 value, u32 entry): GWS entry `entry` of the process = value ---------------------------
// GWS instructions name offset + M0[21:16]. Launch one wave; the queue's process must hold GWS
// (ALLOC_QUEUE_GWS).
.text
.globl gws_init
.p2align 8
.type gws_init,@function
gws_init:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // value, entry
    s_waitcnt lgkmcnt(0)
    s_lshl_b32 m0, s5, 16                      // M0[21:16]: the entry
    v_mov_b32 v0, s4
    ds_gws_init v0 gds
    s_waitcnt lgkmcnt(0)
    s_endpgm
.size gws_init, .-gws_init

.rodata
.p2align 6
.amdhsa_kernel gws_init
    .amdhsa_kernarg_size 264
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- gws_increment(u32* counter, u32 entry): every wave adds 1 to counter[0] under GWS semaphore `entry` --
// The add is a plain load and store from one lane: only the semaphore (initialised to 1 with gws_init)
// keeps the waves of different workgroups from losing each other's increments.
.text
.globl gws_increment
.p2align 8
.type gws_increment,@function
gws_increment:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // counter
    s_load_dword s6, s[0:1], 0x8               // entry
    s_waitcnt lgkmcnt(0)
    s_lshl_b32 m0, s6, 16                      // M0[21:16]: the entry
    s_mov_b64 exec, 1                          // one lane does the wave's increment
    v_mov_b32 v0, 0
    ds_gws_sema_p gds                          // wait for the semaphore and take it
    s_waitcnt lgkmcnt(0)
.if CACHE_SCOPE_BITS                           // gfx942, gfx950: sc0 sc1 go past every non-coherent cache
    global_load_dword v1, v0, s[4:5] sc0 sc1
    s_waitcnt vmcnt(0)
    v_add_u32 v1, 1, v1
    global_store_dword v0, v1, s[4:5] sc0 sc1
.else                                          // gfx90a: glc reads past the CU's cache
    global_load_dword v1, v0, s[4:5] glc
    s_waitcnt vmcnt(0)
    v_add_u32 v1, 1, v1
    global_store_dword v0, v1, s[4:5]
.endif
    s_waitcnt vmcnt(0)
    ds_gws_sema_v gds                          // give it back
    s_waitcnt lgkmcnt(0)
    s_endpgm
.size gws_increment, .-gws_increment

.rodata
.p2align 6
.amdhsa_kernel gws_increment
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- poll_until(const u32* flag, u32 stop, u32* out): a persistent kernel ------------------------------
// Every work-item i (global id) puts 3*i + 1 in a register, then polls flag[0] (sleeping between reads)
// until it holds `stop`, and only then writes out[i] = that register. It runs until the CPU (or another
// queue) writes the flag: long enough to be preempted and resumed (CWSR), and a restore that mangles
// registers shows in `out`.
.text
.globl poll_until
.p2align 8
.type poll_until,@function
poll_until:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // flag
    s_load_dword s6, s[0:1], 0x8               // stop
    s_load_dwordx2 s[8:9], s[0:1], 0x10        // out
    s_load_dword s7, s[0:1], 0x24              // hidden_group_size_x (low half)
    v_and_b32 v0, 0x3ff, v0
    s_waitcnt lgkmcnt(0)
    s_and_b32 s7, s7, 0xffff
    s_mul_i32 s7, s7, s2
    v_add_u32 v1, s7, v0                      // global id
    v_mul_u32_u24 v2, 3, v1
    v_add_u32 v2, 1, v2                       // 3*i + 1, kept in v2 while polling
.Lpoll_until_poll:
    s_load_dword s10, s[4:5], 0x0 glc          // past the scalar cache
    s_waitcnt lgkmcnt(0)
    s_cmp_eq_u32 s10, s6
    s_cbranch_scc1 .Lpoll_until_done
    s_sleep 1
    s_branch .Lpoll_until_poll
.Lpoll_until_done:
    v_lshlrev_b32 v3, 2, v1
    global_store_dword v3, v2, s[8:9]
    s_endpgm
.size poll_until, .-poll_until

.rodata
.p2align 6
.amdhsa_kernel poll_until
    .amdhsa_kernarg_size 280
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- The memory model across agents (gfx9 only: kfdtest runs these on CDNA) -----------------------------
// A releaser writes five values on five cache lines (dwords 16, 32, 48, 64, 80 of `shared`), releases at
// system scope (writes L2 back) and sets the flag shared[0] = 1; an acquirer polls the flag, acquires
// (invalidates its caches) and copies the five dwords to the same places in `out`. Launch one work-item.
// gfx94x spells the scopes sc0 sc1 and invalidates with buffer_inv; gfx90a writes L2 back with
// buffer_wbl2 and invalidates it with buffer_invl2.

// ---- write_release(u32* shared, u32 first): the five dwords = first .. first + 4, then release, flag = 1
.text
.globl write_release
.p2align 8
.type write_release,@function
write_release:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // shared
    s_load_dword s6, s[0:1], 0x8               // first
    s_waitcnt lgkmcnt(0)
    v_mov_b32 v1, s6
    v_mov_b32 v0, 0x40
    global_store_dword v0, v1, s[4:5]
    v_add_u32 v1, 1, v1
    v_mov_b32 v0, 0x80
    global_store_dword v0, v1, s[4:5]
    v_add_u32 v1, 1, v1
    v_mov_b32 v0, 0xc0
    global_store_dword v0, v1, s[4:5]
    v_add_u32 v1, 1, v1
    v_mov_b32 v0, 0x100
    global_store_dword v0, v1, s[4:5]
    v_add_u32 v1, 1, v1
    v_mov_b32 v0, 0x140
    global_store_dword v0, v1, s[4:5]
    v_add_u32 v1, 1, v1
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    buffer_wbl2 sc0 sc1                        // release at system scope
    s_waitcnt vmcnt(0)
    v_mov_b32 v0, 0
    v_mov_b32 v1, 1
    global_store_dword v0, v1, s[4:5] sc0 sc1  // the flag
.else
    buffer_wbl2
    s_waitcnt vmcnt(0)
    v_mov_b32 v0, 0
    v_mov_b32 v1, 1
    global_store_dword v0, v1, s[4:5] glc
.endif
    s_waitcnt vmcnt(0)
    s_endpgm
.size write_release, .-write_release

.rodata
.p2align 6
.amdhsa_kernel write_release
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- write_release_scalar(u32* shared, u32 first): as write_release, with scalar stores -----------------
.text
.globl write_release_scalar
.p2align 8
.type write_release_scalar,@function
write_release_scalar:
    s_load_dwordx2 s[4:5], s[0:1], 0x0         // shared
    s_load_dword s6, s[0:1], 0x8               // first
    s_waitcnt lgkmcnt(0)
    s_add_u32 s11, s6, 0
    s_add_u32 s12, s6, 1
    s_add_u32 s13, s6, 2
    s_add_u32 s14, s6, 3
    s_add_u32 s15, s6, 4
    s_store_dword s11, s[4:5], 0x40
    s_store_dword s12, s[4:5], 0x80
    s_store_dword s13, s[4:5], 0xc0
    s_store_dword s14, s[4:5], 0x100
    s_store_dword s15, s[4:5], 0x140
    s_waitcnt lgkmcnt(0)
    s_dcache_wb                                // the scalar cache's dirty lines to L2
    s_waitcnt lgkmcnt(0)
.if CACHE_SCOPE_BITS
    buffer_wbl2 sc0 sc1                        // release at system scope
.else
    buffer_wbl2
.endif
    s_waitcnt vmcnt(0)
    s_mov_b32 s10, 1
    s_store_dword s10, s[4:5], 0x0 glc         // the flag
    s_waitcnt lgkmcnt(0)
    s_dcache_wb
    s_waitcnt lgkmcnt(0)
    s_endpgm
.size write_release_scalar, .-write_release_scalar

.rodata
.p2align 6
.amdhsa_kernel write_release_scalar
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- read_acquire(u32* shared, u32* out): poll the flag, acquire, copy the five dwords with vector loads
.text
.globl read_acquire
.p2align 8
.type read_acquire,@function
read_acquire:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // shared, out
    s_waitcnt lgkmcnt(0)
.Lread_acquire_poll:
    s_load_dword s8, s[4:5], 0x0 glc           // past the scalar cache
    s_waitcnt lgkmcnt(0)
    s_cmp_eq_u32 s8, 1
    s_cbranch_scc1 .Lread_acquire_set
    s_sleep 1
    s_branch .Lread_acquire_poll
.Lread_acquire_set:
.if CACHE_SCOPE_BITS
    buffer_inv sc0 sc1                         // acquire at system scope
.else
    buffer_invl2
.endif
    s_waitcnt vmcnt(0)
    v_mov_b32 v0, 0x40
    global_load_dword v1, v0, s[4:5]
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    global_store_dword v0, v1, s[6:7] sc0 sc1
.else
    global_store_dword v0, v1, s[6:7] glc
.endif
    v_mov_b32 v0, 0x80
    global_load_dword v1, v0, s[4:5]
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    global_store_dword v0, v1, s[6:7] sc0 sc1
.else
    global_store_dword v0, v1, s[6:7] glc
.endif
    v_mov_b32 v0, 0xc0
    global_load_dword v1, v0, s[4:5]
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    global_store_dword v0, v1, s[6:7] sc0 sc1
.else
    global_store_dword v0, v1, s[6:7] glc
.endif
    v_mov_b32 v0, 0x100
    global_load_dword v1, v0, s[4:5]
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    global_store_dword v0, v1, s[6:7] sc0 sc1
.else
    global_store_dword v0, v1, s[6:7] glc
.endif
    v_mov_b32 v0, 0x140
    global_load_dword v1, v0, s[4:5]
    s_waitcnt vmcnt(0)
.if CACHE_SCOPE_BITS
    global_store_dword v0, v1, s[6:7] sc0 sc1
.else
    global_store_dword v0, v1, s[6:7] glc
.endif
    s_waitcnt vmcnt(0)
    s_endpgm
.size read_acquire, .-read_acquire

.rodata
.p2align 6
.amdhsa_kernel read_acquire
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

// ---- read_acquire_scalar(u32* shared, u32* out): as read_acquire, with scalar loads and stores ---------
.text
.globl read_acquire_scalar
.p2align 8
.type read_acquire_scalar,@function
read_acquire_scalar:
    s_load_dwordx4 s[4:7], s[0:1], 0x0         // shared, out
    s_waitcnt lgkmcnt(0)
.Lread_acquire_scalar_poll:
    s_load_dword s8, s[4:5], 0x0 glc
    s_waitcnt lgkmcnt(0)
    s_cmp_eq_u32 s8, 1
    s_cbranch_scc1 .Lread_acquire_scalar_set
    s_sleep 1
    s_branch .Lread_acquire_scalar_poll
.Lread_acquire_scalar_set:
.if CACHE_SCOPE_BITS
    buffer_inv sc0 sc1
.else
    buffer_invl2
.endif
    s_waitcnt vmcnt(0)
    s_dcache_inv                               // and the scalar cache
    s_load_dword s11, s[4:5], 0x40
    s_load_dword s12, s[4:5], 0x80
    s_load_dword s13, s[4:5], 0xc0
    s_load_dword s14, s[4:5], 0x100
    s_load_dword s15, s[4:5], 0x140
    s_waitcnt lgkmcnt(0)
    s_store_dword s11, s[6:7], 0x40 glc
    s_store_dword s12, s[6:7], 0x80 glc
    s_store_dword s13, s[6:7], 0xc0 glc
    s_store_dword s14, s[6:7], 0x100 glc
    s_store_dword s15, s[6:7], 0x140 glc
    s_waitcnt lgkmcnt(0)
    s_dcache_wb
    s_waitcnt lgkmcnt(0)
    s_endpgm
.size read_acquire_scalar, .-read_acquire_scalar

.rodata
.p2align 6
.amdhsa_kernel read_acquire_scalar
    .amdhsa_kernarg_size 272
    .amdhsa_user_sgpr_kernarg_segment_ptr 1
    .amdhsa_next_free_vgpr .amdgcn.next_free_vgpr
    .amdhsa_next_free_sgpr .amdgcn.next_free_sgpr
    .amdhsa_accum_offset 4
.end_amdhsa_kernel
.set .amdgcn.next_free_vgpr, 0
.set .amdgcn.next_free_sgpr, 0

.amdgpu_metadata
---
amdhsa.version: [ 1, 2 ]
amdhsa.kernels:
  - .name: empty
    .symbol: empty.kd
    .kernarg_segment_size: 256
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 6
    .vgpr_count: 0
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .offset: 0, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 4, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 8, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 12, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 14, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 16, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 18, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 20, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 22, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 40, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 48, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 64, .size: 2, .value_kind: hidden_grid_dims }
  - .name: fill
    .symbol: fill.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 18
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str dst, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str value, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .name: !str n, .offset: 12, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: copy_dword
    .symbol: copy_dword.kd
    .kernarg_segment_size: 280
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 18
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str dst, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str src, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*', .is_const: true }
      - { .name: !str n, .offset: 16, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 28, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 36, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 38, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 40, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 42, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 44, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 46, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 88, .size: 2, .value_kind: hidden_grid_dims }
  - .name: vector_add
    .symbol: vector_add.kd
    .kernarg_segment_size: 288
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 20
    .vgpr_count: 5
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str a, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'float*', .is_const: true }
      - { .name: !str b, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'float*', .is_const: true }
      - { .name: !str out, .offset: 16, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'float*' }
      - { .name: !str n, .offset: 24, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 36, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 40, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 44, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 46, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 48, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 50, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 52, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 54, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 88, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 96, .size: 2, .value_kind: hidden_grid_dims }
  - .name: vector_add_i32
    .symbol: vector_add_i32.kd
    .kernarg_segment_size: 288
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 20
    .vgpr_count: 5
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str a, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'int*', .is_const: true }
      - { .name: !str b, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'int*', .is_const: true }
      - { .name: !str out, .offset: 16, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'int*' }
      - { .name: !str n, .offset: 24, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 36, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 40, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 44, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 46, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 48, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 50, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 52, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 54, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 88, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 96, .size: 2, .value_kind: hidden_grid_dims }
  - .name: busy_loop
    .symbol: busy_loop.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 15
    .vgpr_count: 2
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str out, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str iterations, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: lds_reduce
    .symbol: lds_reduce.kd
    .kernarg_segment_size: 280
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 4096
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 21
    .vgpr_count: 9
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str in, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*', .is_const: true }
      - { .name: !str out_per_workgroup, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str n, .offset: 16, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 28, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 36, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 38, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 40, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 42, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 44, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 46, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 88, .size: 2, .value_kind: hidden_grid_dims }
  - .name: atomic_add
    .symbol: atomic_add.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str counter, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str n, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: scratch_user
    .symbol: scratch_user.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 16
    .wavefront_size: 64
    .sgpr_count: 19
    .vgpr_count: 11
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str out, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str n, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: store_ids
    .symbol: store_ids.kd
    .kernarg_segment_size: 264
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 25
    .vgpr_count: 10
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str out, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .offset: 8, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 12, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 20, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 22, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 24, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 26, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 28, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 30, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 48, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 72, .size: 2, .value_kind: hidden_grid_dims }
  - .name: mixed_args
    .symbol: mixed_args.kd
    .kernarg_segment_size: 288
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 18
    .vgpr_count: 10
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str a, .offset: 0, .size: 1, .value_kind: by_value, .type_name: 'uchar' }
      - { .name: !str out, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'ulong*' }
      - { .name: !str b, .offset: 16, .size: 2, .value_kind: by_value, .type_name: 'ushort' }
      - { .name: !str c, .offset: 24, .size: 8, .value_kind: by_value, .type_name: 'double' }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 36, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 40, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 44, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 46, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 48, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 50, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 52, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 54, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 88, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 96, .size: 2, .value_kind: hidden_grid_dims }
  - .name: gws_init
    .symbol: gws_init.kd
    .kernarg_segment_size: 264
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str value, .offset: 0, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .name: !str entry, .offset: 4, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 8, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 12, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 20, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 22, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 24, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 26, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 28, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 30, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 48, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 72, .size: 2, .value_kind: hidden_grid_dims }
  - .name: gws_increment
    .symbol: gws_increment.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str counter, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str entry, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: poll_until
    .symbol: poll_until.kd
    .kernarg_segment_size: 280
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 4
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str flag, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*', .is_const: true }
      - { .name: !str stop, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .name: !str out, .offset: 16, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 28, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 32, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 36, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 38, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 40, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 42, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 44, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 46, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 80, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 88, .size: 2, .value_kind: hidden_grid_dims }
  - .name: write_release
    .symbol: write_release.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 2
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str shared, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str first, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: write_release_scalar
    .symbol: write_release_scalar.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 2
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str shared, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str first, .offset: 8, .size: 4, .value_kind: by_value, .type_name: 'uint' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: read_acquire
    .symbol: read_acquire.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 2
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str shared, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str out, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
  - .name: read_acquire_scalar
    .symbol: read_acquire_scalar.kd
    .kernarg_segment_size: 272
    .kernarg_segment_align: 8
    .group_segment_fixed_size: 0
    .private_segment_fixed_size: 0
    .wavefront_size: 64
    .sgpr_count: 16
    .vgpr_count: 2
    .agpr_count: 0
    .max_flat_workgroup_size: 1024
    .uses_dynamic_stack: false
    .args:
      - { .name: !str shared, .offset: 0, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .name: !str out, .offset: 8, .size: 8, .value_kind: global_buffer, .address_space: global, .type_name: 'uint*' }
      - { .offset: 16, .size: 4, .value_kind: hidden_block_count_x }
      - { .offset: 20, .size: 4, .value_kind: hidden_block_count_y }
      - { .offset: 24, .size: 4, .value_kind: hidden_block_count_z }
      - { .offset: 28, .size: 2, .value_kind: hidden_group_size_x }
      - { .offset: 30, .size: 2, .value_kind: hidden_group_size_y }
      - { .offset: 32, .size: 2, .value_kind: hidden_group_size_z }
      - { .offset: 34, .size: 2, .value_kind: hidden_remainder_x }
      - { .offset: 36, .size: 2, .value_kind: hidden_remainder_y }
      - { .offset: 38, .size: 2, .value_kind: hidden_remainder_z }
      - { .offset: 56, .size: 8, .value_kind: hidden_global_offset_x }
      - { .offset: 64, .size: 8, .value_kind: hidden_global_offset_y }
      - { .offset: 72, .size: 8, .value_kind: hidden_global_offset_z }
      - { .offset: 80, .size: 2, .value_kind: hidden_grid_dims }
...
.end_amdgpu_metadata

