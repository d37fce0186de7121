// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmlinux's profile sections, bounded by the symbols the linker script
 * defines around them (PGO_CLANG_DATA in include/asm-generic/vmlinux.lds.h).
 * Initialized statically: instrumented code runs from the first instruction
 * of start_kernel, long before any initcall.
 */
#include "pgo.h"

struct pgo_binary pgo_vmlinux = {
	.s = {
		.data = __llvm_prf_data_start,
		.data_end = __llvm_prf_data_end,
		.counters = __llvm_prf_cnts_start,
		.counters_end = __llvm_prf_cnts_end,
		.bitmap = __llvm_prf_bits_start,
		.bitmap_end = __llvm_prf_bits_end,
		.names = __llvm_prf_names_start,
		.names_end = __llvm_prf_names_end,
		.nodes = __llvm_prf_vnds_start,
		.nodes_end = __llvm_prf_vnds_end,
	},
};
