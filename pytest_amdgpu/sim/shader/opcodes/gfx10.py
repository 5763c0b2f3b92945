"""GFX10.3 opcode tables (RDNA2, gfx1030 to gfx1036), as LLVM's disassembler names them."""

# Each format maps opcode numbers to LLVM mnemonics as "opcode:mnemonic" tokens. VOP3 lists only the
# VOP3-only opcodes: the VOP3 forms of VOP1/VOP2/VOPC opcodes sit at fixed offsets (VOP3_PROMOTED_BASE).

BASE: dict[str, str] = {
    "SOP2": """
    0:s_add_u32 1:s_sub_u32 2:s_add_i32 3:s_sub_i32 4:s_addc_u32 5:s_subb_u32 6:s_min_i32 7:s_min_u32
    8:s_max_i32 9:s_max_u32 10:s_cselect_b32 11:s_cselect_b64 14:s_and_b32 15:s_and_b64 16:s_or_b32
    17:s_or_b64 18:s_xor_b32 19:s_xor_b64 20:s_andn2_b32 21:s_andn2_b64 22:s_orn2_b32 23:s_orn2_b64
    24:s_nand_b32 25:s_nand_b64 26:s_nor_b32 27:s_nor_b64 28:s_xnor_b32 29:s_xnor_b64 30:s_lshl_b32
    31:s_lshl_b64 32:s_lshr_b32 33:s_lshr_b64 34:s_ashr_i32 35:s_ashr_i64 36:s_bfm_b32 37:s_bfm_b64
    38:s_mul_i32 39:s_bfe_u32 40:s_bfe_i32 41:s_bfe_u64 42:s_bfe_i64 44:s_absdiff_i32 46:s_lshl1_add_u32
    47:s_lshl2_add_u32 48:s_lshl3_add_u32 49:s_lshl4_add_u32 50:s_pack_ll_b32_b16 51:s_pack_lh_b32_b16
    52:s_pack_hh_b32_b16 53:s_mul_hi_u32 54:s_mul_hi_i32
""",
    "SOPK": """
    0:s_movk_i32 1:s_version 2:s_cmovk_i32 3:s_cmpk_eq_i32 4:s_cmpk_lg_i32 5:s_cmpk_gt_i32
    6:s_cmpk_ge_i32 7:s_cmpk_lt_i32 8:s_cmpk_le_i32 9:s_cmpk_eq_u32 10:s_cmpk_lg_u32 11:s_cmpk_gt_u32
    12:s_cmpk_ge_u32 13:s_cmpk_lt_u32 14:s_cmpk_le_u32 15:s_addk_i32 16:s_mulk_i32 18:s_getreg_b32
    19:s_setreg_b32 21:s_setreg_imm32_b32 22:s_call_b64 23:s_waitcnt_vscnt 24:s_waitcnt_vmcnt
    25:s_waitcnt_expcnt 26:s_waitcnt_lgkmcnt 27:s_subvector_loop_begin 28:s_subvector_loop_end
""",
    "SOP1": """
    3:s_mov_b32 4:s_mov_b64 5:s_cmov_b32 6:s_cmov_b64 7:s_not_b32 8:s_not_b64 9:s_wqm_b32 10:s_wqm_b64
    11:s_brev_b32 12:s_brev_b64 13:s_bcnt0_i32_b32 14:s_bcnt0_i32_b64 15:s_bcnt1_i32_b32
    16:s_bcnt1_i32_b64 17:s_ff0_i32_b32 18:s_ff0_i32_b64 19:s_ff1_i32_b32 20:s_ff1_i32_b64
    21:s_flbit_i32_b32 22:s_flbit_i32_b64 23:s_flbit_i32 24:s_flbit_i32_i64 25:s_sext_i32_i8
    26:s_sext_i32_i16 27:s_bitset0_b32 28:s_bitset0_b64 29:s_bitset1_b32 30:s_bitset1_b64 31:s_getpc_b64
    32:s_setpc_b64 33:s_swappc_b64 34:s_rfe_b64 36:s_and_saveexec_b64 37:s_or_saveexec_b64
    38:s_xor_saveexec_b64 39:s_andn2_saveexec_b64 40:s_orn2_saveexec_b64 41:s_nand_saveexec_b64
    42:s_nor_saveexec_b64 43:s_xnor_saveexec_b64 44:s_quadmask_b32 45:s_quadmask_b64 46:s_movrels_b32
    47:s_movrels_b64 48:s_movreld_b32 49:s_movreld_b64 52:s_abs_i32 55:s_andn1_saveexec_b64
    56:s_orn1_saveexec_b64 57:s_andn1_wrexec_b64 58:s_andn2_wrexec_b64 59:s_bitreplicate_b64_b32
    60:s_and_saveexec_b32 61:s_or_saveexec_b32 62:s_xor_saveexec_b32 63:s_andn2_saveexec_b32
    64:s_orn2_saveexec_b32 65:s_nand_saveexec_b32 66:s_nor_saveexec_b32 67:s_xnor_saveexec_b32
    68:s_andn1_saveexec_b32 69:s_orn1_saveexec_b32 70:s_andn1_wrexec_b32 71:s_andn2_wrexec_b32
    73:s_movrelsd_2_b32
""",
    "SOPC": """
    0:s_cmp_eq_i32 1:s_cmp_lg_i32 2:s_cmp_gt_i32 3:s_cmp_ge_i32 4:s_cmp_lt_i32 5:s_cmp_le_i32
    6:s_cmp_eq_u32 7:s_cmp_lg_u32 8:s_cmp_gt_u32 9:s_cmp_ge_u32 10:s_cmp_lt_u32 11:s_cmp_le_u32
    12:s_bitcmp0_b32 13:s_bitcmp1_b32 14:s_bitcmp0_b64 15:s_bitcmp1_b64 18:s_cmp_eq_u64 19:s_cmp_lg_u64
""",
    "SOPP": """
    0:s_nop 1:s_endpgm 2:s_branch 3:s_wakeup 4:s_cbranch_scc0 5:s_cbranch_scc1 6:s_cbranch_vccz
    7:s_cbranch_vccnz 8:s_cbranch_execz 9:s_cbranch_execnz 10:s_barrier 11:s_setkill 12:s_waitcnt
    13:s_sethalt 14:s_sleep 15:s_setprio 16:s_sendmsg 17:s_sendmsghalt 18:s_trap 19:s_icache_inv
    20:s_incperflevel 21:s_decperflevel 22:s_ttracedata 23:s_cbranch_cdbgsys 24:s_cbranch_cdbguser
    25:s_cbranch_cdbgsys_or_user 26:s_cbranch_cdbgsys_and_user 27:s_endpgm_saved
    30:s_endpgm_ordered_ps_done 31:s_code_end 32:s_inst_prefetch 33:s_clause 34:s_wait_idle
    35:s_waitcnt_depctr 36:s_round_mode 37:s_denorm_mode 40:s_ttracedata_imm
""",
    "SMEM": """
    0:s_load_dword 1:s_load_dwordx2 2:s_load_dwordx4 3:s_load_dwordx8 4:s_load_dwordx16
    8:s_buffer_load_dword 9:s_buffer_load_dwordx2 10:s_buffer_load_dwordx4 11:s_buffer_load_dwordx8
    12:s_buffer_load_dwordx16 31:s_gl1_inv 32:s_dcache_inv 36:s_memtime 37:s_memrealtime 38:s_atc_probe
    39:s_atc_probe_buffer
""",
    "VOP1": """
    0:v_nop 1:v_mov_b32 2:v_readfirstlane_b32 3:v_cvt_i32_f64 4:v_cvt_f64_i32 5:v_cvt_f32_i32
    6:v_cvt_f32_u32 7:v_cvt_u32_f32 8:v_cvt_i32_f32 10:v_cvt_f16_f32 11:v_cvt_f32_f16
    12:v_cvt_rpi_i32_f32 13:v_cvt_flr_i32_f32 14:v_cvt_off_f32_i4 15:v_cvt_f32_f64 16:v_cvt_f64_f32
    17:v_cvt_f32_ubyte0 18:v_cvt_f32_ubyte1 19:v_cvt_f32_ubyte2 20:v_cvt_f32_ubyte3 21:v_cvt_u32_f64
    22:v_cvt_f64_u32 23:v_trunc_f64 24:v_ceil_f64 25:v_rndne_f64 26:v_floor_f64 27:v_pipeflush
    32:v_fract_f32 33:v_trunc_f32 34:v_ceil_f32 35:v_rndne_f32 36:v_floor_f32 37:v_exp_f32 39:v_log_f32
    42:v_rcp_f32 43:v_rcp_iflag_f32 46:v_rsq_f32 47:v_rcp_f64 49:v_rsq_f64 51:v_sqrt_f32 52:v_sqrt_f64
    53:v_sin_f32 54:v_cos_f32 55:v_not_b32 56:v_bfrev_b32 57:v_ffbh_u32 58:v_ffbl_b32 59:v_ffbh_i32
    60:v_frexp_exp_i32_f64 61:v_frexp_mant_f64 62:v_fract_f64 63:v_frexp_exp_i32_f32 64:v_frexp_mant_f32
    65:v_clrexcp 66:v_movreld_b32 67:v_movrels_b32 68:v_movrelsd_b32 72:v_movrelsd_2_b32
    80:v_cvt_f16_u16 81:v_cvt_f16_i16 82:v_cvt_u16_f16 83:v_cvt_i16_f16 84:v_rcp_f16 85:v_sqrt_f16
    86:v_rsq_f16 87:v_log_f16 88:v_exp_f16 89:v_frexp_mant_f16 90:v_frexp_exp_i16_f16 91:v_floor_f16
    92:v_ceil_f16 93:v_trunc_f16 94:v_rndne_f16 95:v_fract_f16 96:v_sin_f16 97:v_cos_f16
    98:v_sat_pk_u8_i16 99:v_cvt_norm_i16_f16 100:v_cvt_norm_u16_f16 101:v_swap_b32 104:v_swaprel_b32
""",
    "VOP2": """
    1:v_cndmask_b32 2:v_dot2c_f32_f16 3:v_add_f32 4:v_sub_f32 5:v_subrev_f32 6:v_fmac_legacy_f32
    7:v_mul_legacy_f32 8:v_mul_f32 9:v_mul_i32_i24 10:v_mul_hi_i32_i24 11:v_mul_u32_u24
    12:v_mul_hi_u32_u24 13:v_dot4c_i32_i8 15:v_min_f32 16:v_max_f32 17:v_min_i32 18:v_max_i32
    19:v_min_u32 20:v_max_u32 22:v_lshrrev_b32 24:v_ashrrev_i32 26:v_lshlrev_b32 27:v_and_b32
    28:v_or_b32 29:v_xor_b32 30:v_xnor_b32 37:v_add_nc_u32 38:v_sub_nc_u32 39:v_subrev_nc_u32
    40:v_add_co_ci_u32 41:v_sub_co_ci_u32 42:v_subrev_co_ci_u32 43:v_fmac_f32 44:v_fmamk_f32
    45:v_fmaak_f32 47:v_cvt_pkrtz_f16_f32 50:v_add_f16 51:v_sub_f16 52:v_subrev_f16 53:v_mul_f16
    54:v_fmac_f16 55:v_fmamk_f16 56:v_fmaak_f16 57:v_max_f16 58:v_min_f16 59:v_ldexp_f16
    60:v_pk_fmac_f16
""",
    "VOPC": """
    0:v_cmp_f_f32 1:v_cmp_lt_f32 2:v_cmp_eq_f32 3:v_cmp_le_f32 4:v_cmp_gt_f32 5:v_cmp_lg_f32
    6:v_cmp_ge_f32 7:v_cmp_o_f32 8:v_cmp_u_f32 9:v_cmp_nge_f32 10:v_cmp_nlg_f32 11:v_cmp_ngt_f32
    12:v_cmp_nle_f32 13:v_cmp_neq_f32 14:v_cmp_nlt_f32 15:v_cmp_tru_f32 16:v_cmpx_f_f32 17:v_cmpx_lt_f32
    18:v_cmpx_eq_f32 19:v_cmpx_le_f32 20:v_cmpx_gt_f32 21:v_cmpx_lg_f32 22:v_cmpx_ge_f32 23:v_cmpx_o_f32
    24:v_cmpx_u_f32 25:v_cmpx_nge_f32 26:v_cmpx_nlg_f32 27:v_cmpx_ngt_f32 28:v_cmpx_nle_f32
    29:v_cmpx_neq_f32 30:v_cmpx_nlt_f32 31:v_cmpx_tru_f32 32:v_cmp_f_f64 33:v_cmp_lt_f64 34:v_cmp_eq_f64
    35:v_cmp_le_f64 36:v_cmp_gt_f64 37:v_cmp_lg_f64 38:v_cmp_ge_f64 39:v_cmp_o_f64 40:v_cmp_u_f64
    41:v_cmp_nge_f64 42:v_cmp_nlg_f64 43:v_cmp_ngt_f64 44:v_cmp_nle_f64 45:v_cmp_neq_f64
    46:v_cmp_nlt_f64 47:v_cmp_tru_f64 48:v_cmpx_f_f64 49:v_cmpx_lt_f64 50:v_cmpx_eq_f64 51:v_cmpx_le_f64
    52:v_cmpx_gt_f64 53:v_cmpx_lg_f64 54:v_cmpx_ge_f64 55:v_cmpx_o_f64 56:v_cmpx_u_f64 57:v_cmpx_nge_f64
    58:v_cmpx_nlg_f64 59:v_cmpx_ngt_f64 60:v_cmpx_nle_f64 61:v_cmpx_neq_f64 62:v_cmpx_nlt_f64
    63:v_cmpx_tru_f64 128:v_cmp_f_i32 129:v_cmp_lt_i32 130:v_cmp_eq_i32 131:v_cmp_le_i32
    132:v_cmp_gt_i32 133:v_cmp_ne_i32 134:v_cmp_ge_i32 135:v_cmp_t_i32 136:v_cmp_class_f32
    137:v_cmp_lt_i16 138:v_cmp_eq_i16 139:v_cmp_le_i16 140:v_cmp_gt_i16 141:v_cmp_ne_i16
    142:v_cmp_ge_i16 143:v_cmp_class_f16 144:v_cmpx_f_i32 145:v_cmpx_lt_i32 146:v_cmpx_eq_i32
    147:v_cmpx_le_i32 148:v_cmpx_gt_i32 149:v_cmpx_ne_i32 150:v_cmpx_ge_i32 151:v_cmpx_t_i32
    152:v_cmpx_class_f32 153:v_cmpx_lt_i16 154:v_cmpx_eq_i16 155:v_cmpx_le_i16 156:v_cmpx_gt_i16
    157:v_cmpx_ne_i16 158:v_cmpx_ge_i16 159:v_cmpx_class_f16 160:v_cmp_f_i64 161:v_cmp_lt_i64
    162:v_cmp_eq_i64 163:v_cmp_le_i64 164:v_cmp_gt_i64 165:v_cmp_ne_i64 166:v_cmp_ge_i64 167:v_cmp_t_i64
    168:v_cmp_class_f64 169:v_cmp_lt_u16 170:v_cmp_eq_u16 171:v_cmp_le_u16 172:v_cmp_gt_u16
    173:v_cmp_ne_u16 174:v_cmp_ge_u16 176:v_cmpx_f_i64 177:v_cmpx_lt_i64 178:v_cmpx_eq_i64
    179:v_cmpx_le_i64 180:v_cmpx_gt_i64 181:v_cmpx_ne_i64 182:v_cmpx_ge_i64 183:v_cmpx_t_i64
    184:v_cmpx_class_f64 185:v_cmpx_lt_u16 186:v_cmpx_eq_u16 187:v_cmpx_le_u16 188:v_cmpx_gt_u16
    189:v_cmpx_ne_u16 190:v_cmpx_ge_u16 192:v_cmp_f_u32 193:v_cmp_lt_u32 194:v_cmp_eq_u32
    195:v_cmp_le_u32 196:v_cmp_gt_u32 197:v_cmp_ne_u32 198:v_cmp_ge_u32 199:v_cmp_t_u32 200:v_cmp_f_f16
    201:v_cmp_lt_f16 202:v_cmp_eq_f16 203:v_cmp_le_f16 204:v_cmp_gt_f16 205:v_cmp_lg_f16
    206:v_cmp_ge_f16 207:v_cmp_o_f16 208:v_cmpx_f_u32 209:v_cmpx_lt_u32 210:v_cmpx_eq_u32
    211:v_cmpx_le_u32 212:v_cmpx_gt_u32 213:v_cmpx_ne_u32 214:v_cmpx_ge_u32 215:v_cmpx_t_u32
    216:v_cmpx_f_f16 217:v_cmpx_lt_f16 218:v_cmpx_eq_f16 219:v_cmpx_le_f16 220:v_cmpx_gt_f16
    221:v_cmpx_lg_f16 222:v_cmpx_ge_f16 223:v_cmpx_o_f16 224:v_cmp_f_u64 225:v_cmp_lt_u64
    226:v_cmp_eq_u64 227:v_cmp_le_u64 228:v_cmp_gt_u64 229:v_cmp_ne_u64 230:v_cmp_ge_u64 231:v_cmp_t_u64
    232:v_cmp_u_f16 233:v_cmp_nge_f16 234:v_cmp_nlg_f16 235:v_cmp_ngt_f16 236:v_cmp_nle_f16
    237:v_cmp_neq_f16 238:v_cmp_nlt_f16 239:v_cmp_tru_f16 240:v_cmpx_f_u64 241:v_cmpx_lt_u64
    242:v_cmpx_eq_u64 243:v_cmpx_le_u64 244:v_cmpx_gt_u64 245:v_cmpx_ne_u64 246:v_cmpx_ge_u64
    247:v_cmpx_t_u64 248:v_cmpx_u_f16 249:v_cmpx_nge_f16 250:v_cmpx_nlg_f16 251:v_cmpx_ngt_f16
    252:v_cmpx_nle_f16 253:v_cmpx_neq_f16 254:v_cmpx_nlt_f16 255:v_cmpx_tru_f16
""",
    "VOP3": """
    320:v_fma_legacy_f32 322:v_mad_i32_i24 323:v_mad_u32_u24 324:v_cubeid_f32 325:v_cubesc_f32
    326:v_cubetc_f32 327:v_cubema_f32 328:v_bfe_u32 329:v_bfe_i32 330:v_bfi_b32 331:v_fma_f32
    332:v_fma_f64 333:v_lerp_u8 334:v_alignbit_b32 335:v_alignbyte_b32 336:v_mullit_f32 337:v_min3_f32
    338:v_min3_i32 339:v_min3_u32 340:v_max3_f32 341:v_max3_i32 342:v_max3_u32 343:v_med3_f32
    344:v_med3_i32 345:v_med3_u32 346:v_sad_u8 347:v_sad_hi_u8 348:v_sad_u16 349:v_sad_u32
    350:v_cvt_pk_u8_f32 351:v_div_fixup_f32 352:v_div_fixup_f64 356:v_add_f64 357:v_mul_f64
    358:v_min_f64 359:v_max_f64 360:v_ldexp_f64 361:v_mul_lo_u32 362:v_mul_hi_u32 364:v_mul_hi_i32
    365:v_div_scale_f32 366:v_div_scale_f64 367:v_div_fmas_f32 368:v_div_fmas_f64 369:v_msad_u8
    370:v_qsad_pk_u16_u8 371:v_mqsad_pk_u16_u8 372:v_trig_preop_f64 373:v_mqsad_u32_u8 374:v_mad_u64_u32
    375:v_mad_i64_i32 376:v_xor3_b32 512:v_interp_p1_f32 513:v_interp_p2_f32 514:v_interp_mov_f32
    767:v_lshlrev_b64 768:v_lshrrev_b64 769:v_ashrrev_i64 771:v_add_nc_u16 772:v_sub_nc_u16
    773:v_mul_lo_u16 775:v_lshrrev_b16 776:v_ashrrev_i16 777:v_max_u16 778:v_max_i16 779:v_min_u16
    780:v_min_i16 781:v_add_nc_i16 782:v_sub_nc_i16 783:v_add_co_u32 784:v_sub_co_u32 785:v_pack_b32_f16
    786:v_cvt_pknorm_i16_f16 787:v_cvt_pknorm_u16_f16 788:v_lshlrev_b16 793:v_subrev_co_u32
    832:v_mad_u16 834:v_interp_p1ll_f16 835:v_interp_p1lv_f16 836:v_perm_b32 837:v_xad_u32
    838:v_lshl_add_u32 839:v_add_lshl_u32 843:v_fma_f16 849:v_min3_f16 850:v_min3_i16 851:v_min3_u16
    852:v_max3_f16 853:v_max3_i16 854:v_max3_u16 855:v_med3_f16 856:v_med3_i16 857:v_med3_u16
    858:v_interp_p2_f16 862:v_mad_i16 863:v_div_fixup_f16 864:v_readlane_b32 865:v_writelane_b32
    866:v_ldexp_f32 867:v_bfm_b32 868:v_bcnt_u32_b32 869:v_mbcnt_lo_u32_b32 870:v_mbcnt_hi_u32_b32
    872:v_cvt_pknorm_i16_f32 873:v_cvt_pknorm_u16_f32 874:v_cvt_pk_u16_u32 875:v_cvt_pk_i16_i32
    877:v_add3_u32 879:v_lshl_or_b32 881:v_and_or_b32 882:v_or3_b32 883:v_mad_u32_u16 885:v_mad_i32_i16
    886:v_sub_nc_i32 887:v_permlane16_b32 888:v_permlanex16_b32 895:v_add_nc_i32
""",
    "VOP3P": """
    0:v_pk_mad_i16 1:v_pk_mul_lo_u16 2:v_pk_add_i16 3:v_pk_sub_i16 4:v_pk_lshlrev_b16 5:v_pk_lshrrev_b16
    6:v_pk_ashrrev_i16 7:v_pk_max_i16 8:v_pk_min_i16 9:v_pk_mad_u16 10:v_pk_add_u16 11:v_pk_sub_u16
    12:v_pk_max_u16 13:v_pk_min_u16 14:v_pk_fma_f16 15:v_pk_add_f16 16:v_pk_mul_f16 17:v_pk_min_f16
    18:v_pk_max_f16 19:v_dot2_f32_f16 20:v_dot2_i32_i16 21:v_dot2_u32_u16 22:v_dot4_i32_i8
    23:v_dot4_u32_u8 24:v_dot8_i32_i4 25:v_dot8_u32_u4 32:v_fma_mix_f32 33:v_fma_mixlo_f16
    34:v_fma_mixhi_f16
""",
    "DS": """
    0:ds_add_u32 1:ds_sub_u32 2:ds_rsub_u32 3:ds_inc_u32 4:ds_dec_u32 5:ds_min_i32 6:ds_max_i32
    7:ds_min_u32 8:ds_max_u32 9:ds_and_b32 10:ds_or_b32 11:ds_xor_b32 12:ds_mskor_b32 13:ds_write_b32
    14:ds_write2_b32 15:ds_write2st64_b32 16:ds_cmpst_b32 17:ds_cmpst_f32 18:ds_min_f32 19:ds_max_f32
    20:ds_nop 21:ds_add_f32
    24:ds_gws_sema_release_all 25:ds_gws_init 26:ds_gws_sema_v 27:ds_gws_sema_br 28:ds_gws_sema_p
    29:ds_gws_barrier 30:ds_write_b8 31:ds_write_b16 32:ds_add_rtn_u32 33:ds_sub_rtn_u32
    34:ds_rsub_rtn_u32 35:ds_inc_rtn_u32 36:ds_dec_rtn_u32 37:ds_min_rtn_i32 38:ds_max_rtn_i32
    39:ds_min_rtn_u32 40:ds_max_rtn_u32 41:ds_and_rtn_b32 42:ds_or_rtn_b32 43:ds_xor_rtn_b32
    44:ds_mskor_rtn_b32 45:ds_wrxchg_rtn_b32 46:ds_wrxchg2_rtn_b32 47:ds_wrxchg2st64_rtn_b32
    48:ds_cmpst_rtn_b32 49:ds_cmpst_rtn_f32 50:ds_min_rtn_f32 51:ds_max_rtn_f32 52:ds_wrap_rtn_b32
    53:ds_swizzle_b32 54:ds_read_b32 55:ds_read2_b32 56:ds_read2st64_b32 57:ds_read_i8 58:ds_read_u8
    59:ds_read_i16 60:ds_read_u16 61:ds_consume 62:ds_append 64:ds_add_u64 65:ds_sub_u64 66:ds_rsub_u64
    67:ds_inc_u64 68:ds_dec_u64 69:ds_min_i64 70:ds_max_i64 71:ds_min_u64 72:ds_max_u64 73:ds_and_b64
    74:ds_or_b64 75:ds_xor_b64 76:ds_mskor_b64 77:ds_write_b64 78:ds_write2_b64 79:ds_write2st64_b64
    80:ds_cmpst_b64 81:ds_cmpst_f64 82:ds_min_f64 83:ds_max_f64 85:ds_add_rtn_f32 96:ds_add_rtn_u64
    97:ds_sub_rtn_u64 98:ds_rsub_rtn_u64 99:ds_inc_rtn_u64 100:ds_dec_rtn_u64 101:ds_min_rtn_i64
    102:ds_max_rtn_i64 103:ds_min_rtn_u64 104:ds_max_rtn_u64 105:ds_and_rtn_b64 106:ds_or_rtn_b64
    107:ds_xor_rtn_b64 108:ds_mskor_rtn_b64 109:ds_wrxchg_rtn_b64 110:ds_wrxchg2_rtn_b64
    111:ds_wrxchg2st64_rtn_b64 112:ds_cmpst_rtn_b64 113:ds_cmpst_rtn_f64 114:ds_min_rtn_f64
    115:ds_max_rtn_f64 118:ds_read_b64 119:ds_read2_b64 120:ds_read2st64_b64 126:ds_condxchg32_rtn_b64
    160:ds_write_b8_d16_hi 161:ds_write_b16_d16_hi 162:ds_read_u8_d16 163:ds_read_u8_d16_hi
    164:ds_read_i8_d16 165:ds_read_i8_d16_hi 166:ds_read_u16_d16 167:ds_read_u16_d16_hi
    176:ds_write_addtid_b32 177:ds_read_addtid_b32 178:ds_permute_b32 179:ds_bpermute_b32
    222:ds_write_b96 223:ds_write_b128 254:ds_read_b96 255:ds_read_b128
""",
    "FLAT": """
    8:flat_load_ubyte 9:flat_load_sbyte 10:flat_load_ushort 11:flat_load_sshort 12:flat_load_dword
    13:flat_load_dwordx2 14:flat_load_dwordx4 15:flat_load_dwordx3 24:flat_store_byte
    25:flat_store_byte_d16_hi 26:flat_store_short 27:flat_store_short_d16_hi 28:flat_store_dword
    29:flat_store_dwordx2 30:flat_store_dwordx4 31:flat_store_dwordx3 32:flat_load_ubyte_d16
    33:flat_load_ubyte_d16_hi 34:flat_load_sbyte_d16 35:flat_load_sbyte_d16_hi 36:flat_load_short_d16
    37:flat_load_short_d16_hi 48:flat_atomic_swap 49:flat_atomic_cmpswap 50:flat_atomic_add
    51:flat_atomic_sub 53:flat_atomic_smin 54:flat_atomic_umin 55:flat_atomic_smax 56:flat_atomic_umax
    57:flat_atomic_and 58:flat_atomic_or 59:flat_atomic_xor 60:flat_atomic_inc 61:flat_atomic_dec
    62:flat_atomic_fcmpswap 63:flat_atomic_fmin 64:flat_atomic_fmax 80:flat_atomic_swap_x2
    81:flat_atomic_cmpswap_x2 82:flat_atomic_add_x2 83:flat_atomic_sub_x2 85:flat_atomic_smin_x2
    86:flat_atomic_umin_x2 87:flat_atomic_smax_x2 88:flat_atomic_umax_x2 89:flat_atomic_and_x2
    90:flat_atomic_or_x2 91:flat_atomic_xor_x2 92:flat_atomic_inc_x2 93:flat_atomic_dec_x2
    94:flat_atomic_fcmpswap_x2 95:flat_atomic_fmin_x2 96:flat_atomic_fmax_x2
""",
    "GLOBAL": """
    8:global_load_ubyte 9:global_load_sbyte 10:global_load_ushort 11:global_load_sshort
    12:global_load_dword 13:global_load_dwordx2 14:global_load_dwordx4 15:global_load_dwordx3
    22:global_load_dword_addtid 23:global_store_dword_addtid 24:global_store_byte
    25:global_store_byte_d16_hi 26:global_store_short 27:global_store_short_d16_hi 28:global_store_dword
    29:global_store_dwordx2 30:global_store_dwordx4 31:global_store_dwordx3 32:global_load_ubyte_d16
    33:global_load_ubyte_d16_hi 34:global_load_sbyte_d16 35:global_load_sbyte_d16_hi
    36:global_load_short_d16 37:global_load_short_d16_hi 48:global_atomic_swap 49:global_atomic_cmpswap
    50:global_atomic_add 51:global_atomic_sub 52:global_atomic_csub 53:global_atomic_smin
    54:global_atomic_umin 55:global_atomic_smax 56:global_atomic_umax 57:global_atomic_and
    58:global_atomic_or 59:global_atomic_xor 60:global_atomic_inc 61:global_atomic_dec
    62:global_atomic_fcmpswap 63:global_atomic_fmin 64:global_atomic_fmax 80:global_atomic_swap_x2
    81:global_atomic_cmpswap_x2 82:global_atomic_add_x2 83:global_atomic_sub_x2 85:global_atomic_smin_x2
    86:global_atomic_umin_x2 87:global_atomic_smax_x2 88:global_atomic_umax_x2 89:global_atomic_and_x2
    90:global_atomic_or_x2 91:global_atomic_xor_x2 92:global_atomic_inc_x2 93:global_atomic_dec_x2
    94:global_atomic_fcmpswap_x2 95:global_atomic_fmin_x2 96:global_atomic_fmax_x2
""",
    "SCRATCH": """
    8:scratch_load_ubyte 9:scratch_load_sbyte 10:scratch_load_ushort 11:scratch_load_sshort
    12:scratch_load_dword 13:scratch_load_dwordx2 14:scratch_load_dwordx4 15:scratch_load_dwordx3
    24:scratch_store_byte 25:scratch_store_byte_d16_hi 26:scratch_store_short
    27:scratch_store_short_d16_hi 28:scratch_store_dword 29:scratch_store_dwordx2
    30:scratch_store_dwordx4 31:scratch_store_dwordx3 32:scratch_load_ubyte_d16
    33:scratch_load_ubyte_d16_hi 34:scratch_load_sbyte_d16 35:scratch_load_sbyte_d16_hi
    36:scratch_load_short_d16 37:scratch_load_short_d16_hi
""",
    "MUBUF": """
    0:buffer_load_format_x 1:buffer_load_format_xy 2:buffer_load_format_xyz 3:buffer_load_format_xyzw
    4:buffer_store_format_x 5:buffer_store_format_xy 6:buffer_store_format_xyz
    7:buffer_store_format_xyzw 8:buffer_load_ubyte 9:buffer_load_sbyte 10:buffer_load_ushort
    11:buffer_load_sshort 12:buffer_load_dword 13:buffer_load_dwordx2 14:buffer_load_dwordx4
    15:buffer_load_dwordx3 24:buffer_store_byte 25:buffer_store_byte_d16_hi 26:buffer_store_short
    27:buffer_store_short_d16_hi 28:buffer_store_dword 29:buffer_store_dwordx2 30:buffer_store_dwordx4
    31:buffer_store_dwordx3 32:buffer_load_ubyte_d16 33:buffer_load_ubyte_d16_hi
    34:buffer_load_sbyte_d16 35:buffer_load_sbyte_d16_hi 36:buffer_load_short_d16
    37:buffer_load_short_d16_hi 38:buffer_load_format_d16_hi_x 39:buffer_store_format_d16_hi_x
    48:buffer_atomic_swap 49:buffer_atomic_cmpswap 50:buffer_atomic_add 51:buffer_atomic_sub
    52:buffer_atomic_csub 53:buffer_atomic_smin 54:buffer_atomic_umin 55:buffer_atomic_smax
    56:buffer_atomic_umax 57:buffer_atomic_and 58:buffer_atomic_or 59:buffer_atomic_xor
    60:buffer_atomic_inc 61:buffer_atomic_dec 62:buffer_atomic_fcmpswap 63:buffer_atomic_fmin
    64:buffer_atomic_fmax 80:buffer_atomic_swap_x2 81:buffer_atomic_cmpswap_x2 82:buffer_atomic_add_x2
    83:buffer_atomic_sub_x2 85:buffer_atomic_smin_x2 86:buffer_atomic_umin_x2 87:buffer_atomic_smax_x2
    88:buffer_atomic_umax_x2 89:buffer_atomic_and_x2 90:buffer_atomic_or_x2 91:buffer_atomic_xor_x2
    92:buffer_atomic_inc_x2 93:buffer_atomic_dec_x2 94:buffer_atomic_fcmpswap_x2
    95:buffer_atomic_fmin_x2 96:buffer_atomic_fmax_x2 113:buffer_gl0_inv 114:buffer_gl1_inv
    128:buffer_load_format_d16_x 129:buffer_load_format_d16_xy 130:buffer_load_format_d16_xyz
    131:buffer_load_format_d16_xyzw 132:buffer_store_format_d16_x 133:buffer_store_format_d16_xy
    134:buffer_store_format_d16_xyz 135:buffer_store_format_d16_xyzw
""",
}
NO_E32_SUFFIX = {
    "VOP1": ["v_clrexcp", "v_nop", "v_pipeflush", "v_readfirstlane_b32", "v_swap_b32", "v_swaprel_b32"],
    "VOP2": [
        "v_dot2c_f32_f16",
        "v_dot4c_i32_i8",
        "v_fmaak_f16",
        "v_fmaak_f32",
        "v_fmamk_f16",
        "v_fmamk_f32",
        "v_pk_fmac_f16",
    ],
}

VOP3_PROMOTED_BASE = {"VOPC": 0x000, "VOP2": 0x100, "VOP1": 0x180}
VOPD_X: dict[int, str] = {}
VOPD_Y: dict[int, str] = {}
VARIANTS: dict[str, tuple[dict[str, str], dict[str, list[int]]]] = {}
TARGET_VARIANTS: dict[str, tuple[str, ...]] = {}
