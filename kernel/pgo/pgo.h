/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Clang PGO support for stock kernels, from kpgo.
 *
 * clang's -fprofile-generate places each function's profile metadata in four
 * sections: __llvm_prf_data (one record per function), __llvm_prf_cnts (the
 * counters the instrumented code increments), __llvm_prf_names (compressed
 * function names) and, for value profiling, __llvm_prf_vals (per function, one
 * list head per value site) with a pool of list nodes in __llvm_prf_vnds. The
 * linker script gathers them between __llvm_prf_*_start and _end symbols.
 *
 * The kernel hands them out in LLVM's raw profile format ("profraw"), whose
 * layout changes with the LLVM major: version 8 (LLVM 14-17), 9 (18), 10 (19).
 * The version the compiler used is in __llvm_profile_raw_version, so the
 * writer picks the layout at run time and one runtime serves every clang.
 */
#ifndef _KERNEL_PGO_PGO_H
#define _KERNEL_PGO_PGO_H

#include <linux/types.h>

#define PGO_RAW_MAGIC_64	0xff6c70726f667281ULL	/* "\x81rforpl\xff" */
#define PGO_VERSION_MASK	0x00000000ffffffffULL
#define PGO_VARIANT_BYTE_COVERAGE (1ULL << 60)

/* At most this many values are kept per value site (LLVM's default). */
#define PGO_MAX_VALUES_PER_SITE	24

/* A value profiling list node, as the compiler lays out __llvm_prf_vnds. */
struct pgo_value_node {
	u64 value;
	u64 count;
	struct pgo_value_node *next;
};

/* Where the fields of one raw version's header and data records are. */
struct pgo_layout {
	u32 version;
	u32 header_words;		/* u64 words in the file header */
	u32 record_size;		/* sizeof one __llvm_prf_data record */
	u32 values_offset;		/* record: pointer to the site list heads */
	u32 num_counters_offset;	/* record: u32 number of counters */
	u32 value_sites_offset;		/* record: u16 sites per value kind */
	u32 value_kinds;		/* IPVK_Last + 1 */
};

/* The layout of the raw version the kernel was compiled for, or NULL. */
const struct pgo_layout *pgo_layout_for(u64 raw_version);

struct pgo_sections {
	const u8 *data, *data_end;
	u8 *counters, *counters_end;
	u8 *bitmap, *bitmap_end;
	const u8 *names, *names_end;
	struct pgo_value_node *nodes, *nodes_end;
	u64 raw_version;		/* with variant flags */
};

/* The sections of the running kernel (or of a user-space test program). */
void pgo_kernel_sections(struct pgo_sections *s);

/*
 * An upper bound on the size of a profile written now. Value lists only grow
 * between this call and pgo_write_profile(); the writer never exceeds the
 * bound it is given and drops values that do not fit.
 */
size_t pgo_profile_size_bound(const struct pgo_sections *s, u32 build_id_size);

/*
 * Writes the raw profile into buf (of size bytes, 8-byte aligned) and returns
 * the bytes written, or 0 when the compiler's raw version is not supported.
 */
size_t pgo_write_profile(const struct pgo_sections *s, const u8 *build_id,
			 u32 build_id_size, void *buf, size_t size);

/* Zeroes every counter and value count, keeping value nodes where they are. */
void pgo_reset_counts(const struct pgo_sections *s);

/* Value nodes taken from the pool so far. */
unsigned long pgo_values_in_use(void);

/* Value nodes the instrumented code wanted but the pool had no more of. */
unsigned long pgo_dropped_values(void);

/* Called by clang-instrumented code; see value.c. */
void __llvm_profile_instrument_target(u64 target, void *data, u32 index);
void __llvm_profile_instrument_memop(u64 size, void *data, u32 index);

#endif /* _KERNEL_PGO_PGO_H */
