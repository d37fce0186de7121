// SPDX-License-Identifier: GPL-2.0-only
/*
 * The profile sections, bounded by the symbols the linker script defines
 * around them (PGO_CLANG_DATA in include/asm-generic/vmlinux.lds.h).
 */
#include "pgo.h"

extern const u8 __llvm_prf_data_start[], __llvm_prf_data_end[];
extern u8 __llvm_prf_cnts_start[], __llvm_prf_cnts_end[];
extern u8 __llvm_prf_bits_start[], __llvm_prf_bits_end[];
extern const u8 __llvm_prf_names_start[], __llvm_prf_names_end[];
extern struct pgo_value_node __llvm_prf_vnds_start[], __llvm_prf_vnds_end[];
extern const u64 __llvm_profile_raw_version;

void pgo_kernel_sections(struct pgo_sections *s)
{
	s->data = __llvm_prf_data_start;
	s->data_end = __llvm_prf_data_end;
	s->counters = __llvm_prf_cnts_start;
	s->counters_end = __llvm_prf_cnts_end;
	s->bitmap = __llvm_prf_bits_start;
	s->bitmap_end = __llvm_prf_bits_end;
	s->names = __llvm_prf_names_start;
	s->names_end = __llvm_prf_names_end;
	s->nodes = __llvm_prf_vnds_start;
	s->nodes_end = __llvm_prf_vnds_end;
	s->raw_version = __llvm_profile_raw_version;
}
