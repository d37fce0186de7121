/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Clang PGO support for stock kernels, from kpgo.
 *
 * clang's -fprofile-generate places each function's profile metadata in four
 * sections: __llvm_prf_data (one record per function), __llvm_prf_cnts (the
 * counters the instrumented code increments), __llvm_prf_names (compressed
 * function names) and, for value profiling, __llvm_prf_vals (per function, one
 * list head per value site) with a pool of list nodes in __llvm_prf_vnds.
 * vmlinux's linker script gathers them between __llvm_prf_*_start and _end
 * symbols; a module's linker script makes one section of each, which the
 * module loader finds.
 *
 * The kernel hands them out in LLVM's raw profile format ("profraw"), whose
 * layout changes with the LLVM major. The kernel and its modules are built by
 * one compiler, so the layout is fixed when the runtime is compiled.
 */
#ifndef _KERNEL_PGO_PGO_H
#define _KERNEL_PGO_PGO_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/types.h>

/*
 * The raw format version each clang writes (InstrProfData.inc of each
 * release). A clang newer than this list may have changed the layout, so it
 * is refused rather than guessed at.
 */
#if !defined(CONFIG_CLANG_VERSION) || CONFIG_CLANG_VERSION < 140000
#error "clang PGO needs clang 14 or later"
#elif CONFIG_CLANG_VERSION < 180000
#define PGO_RAW_VERSION		8
#elif CONFIG_CLANG_VERSION < 190000
#define PGO_RAW_VERSION		9
#elif CONFIG_CLANG_VERSION < 230000
#define PGO_RAW_VERSION		10
#else
#error "clang PGO: this clang's raw profile version is not known to kernel/pgo"
#endif

/* Indirect call targets and memory op sizes; vtables since version 10. */
#define PGO_VALUE_KINDS		(PGO_RAW_VERSION >= 10 ? 3 : 2)

#define PGO_RAW_MAGIC_64	0xff6c70726f667281ULL	/* "\x81rforpl\xff" */
#define PGO_VERSION_MASK	0x00000000ffffffffULL
#define PGO_VARIANT_BYTE_COVERAGE BIT_ULL(60)

/* At most this many values are kept per value site (LLVM's default). */
#define PGO_MAX_VALUES_PER_SITE	24

/* Room for a GNU build ID (20 bytes for sha1, as kbuild links). */
#define PGO_BUILD_ID_MAX	64

/* A value profiling list node, as the compiler lays out __llvm_prf_vnds. */
struct pgo_value_node {
	u64 value;
	u64 count;
	struct pgo_value_node *next;
};

/*
 * One __llvm_prf_data record. The fields follow PGO_RAW_VERSION; write.c
 * checks size and offsets against each version's definition at build time.
 * The counter and bitmap pointers are relative to the record itself.
 */
struct pgo_data {
	u64 name_ref;
	u64 func_hash;
	s64 counter_ptr;
#if PGO_RAW_VERSION >= 9
	s64 bitmap_ptr;
#endif
	u64 function_ptr;
	struct pgo_value_node **values;	/* one list head per value site */
	u32 num_counters;
	u16 num_value_sites[PGO_VALUE_KINDS];
#if PGO_RAW_VERSION >= 9
	u32 num_bitmap_bytes;
#endif
} __aligned(8);

/* The raw file header, version by version. */
struct pgo_raw_header {
	u64 magic;
	u64 version;
	u64 binary_ids_size;
	u64 num_data;
	u64 padding_before_counters;
	u64 num_counters;
	u64 padding_after_counters;
#if PGO_RAW_VERSION >= 9
	u64 num_bitmap_bytes;
	u64 padding_after_bitmap;
#endif
	u64 names_size;
	u64 counters_delta;
#if PGO_RAW_VERSION >= 9
	u64 bitmap_delta;
#endif
	u64 names_delta;
#if PGO_RAW_VERSION >= 10
	u64 num_vtables;
	u64 vtable_names_size;
#endif
	u64 value_kind_last;
};

/* Where one binary's (vmlinux's or a module's) profile sections are. */
struct pgo_sections {
	const struct pgo_data *data, *data_end;
	u8 *counters, *counters_end;
	u8 *bitmap, *bitmap_end;
	const char *names, *names_end;
	struct pgo_value_node *nodes, *nodes_end;
};

/*
 * A binary's sections and the use of its value node pool. Instrumented code
 * finds the pool of a data record by the record's address, with no lock: the
 * ranges are published (data first, data_end last) before the binary's code
 * runs and withdrawn (data_end first) after its last code has run.
 */
struct pgo_binary {
	struct pgo_sections s;
	atomic_long_t nodes_taken;	/* handed out, may run past the pool */
	atomic_long_t values_dropped;	/* not recorded: the pool was empty */
	atomic_long_t append_races;	/* appends retried after another CPU's */
};

extern struct pgo_binary pgo_vmlinux;

/* What the compiler emits once per binary: its raw version with variants. */
extern const u64 __llvm_profile_raw_version;

/* vmlinux's ELF notes, its build ID among them. */
extern const char __start_notes[], __stop_notes[];

/* The linker script's bounds of vmlinux's sections. */
extern const struct pgo_data __llvm_prf_data_start[], __llvm_prf_data_end[];
extern u8 __llvm_prf_cnts_start[], __llvm_prf_cnts_end[];
extern u8 __llvm_prf_bits_start[], __llvm_prf_bits_end[];
extern const char __llvm_prf_names_start[], __llvm_prf_names_end[];
extern struct pgo_value_node __llvm_prf_vnds_start[], __llvm_prf_vnds_end[];

/*
 * Module binaries: static slots the instrumented code can search without a
 * lock, taken at load and given back at unload (value.c).
 */
#define PGO_MODULE_SLOTS	512
struct pgo_binary *pgo_claim_module_binary(const struct pgo_sections *s);
void pgo_release_module_binary(struct pgo_binary *binary);

/*
 * Values that found no pool: a module without a slot is not profiled, but its
 * code may still call the hooks.
 */
long pgo_unslotted_values_dropped(void);

/* A GNU build ID from ELF notes; returns its size, 0 if there is none. */
u32 pgo_find_build_id(const void *notes, size_t size, u8 *build_id);

/* A module's profile file (fs.c), kept from load to reset. */
void pgo_module_coming(const char *name, const struct pgo_sections *s,
		       const u8 *build_id, u32 build_id_size);
void pgo_module_going(const char *name);

#ifdef CONFIG_MODULES
int pgo_register_module_notifier(void);
#else
static inline int pgo_register_module_notifier(void)
{
	return 0;
}
#endif

/* Value nodes of the binary's pool in use. */
unsigned long pgo_nodes_in_use(struct pgo_binary *binary);

/*
 * An upper bound on the size of a profile written now. Value lists only grow
 * between this call and pgo_write_profile(); the writer never exceeds the
 * bound it is given and drops values that do not fit.
 */
size_t pgo_profile_size_bound(struct pgo_binary *binary, u32 build_id_size);

/*
 * Writes the raw profile into buf (of size bytes, 8-byte aligned) and returns
 * the bytes written, or 0 when even the fixed part does not fit.
 */
size_t pgo_write_profile(const struct pgo_binary *binary, const u8 *build_id,
			 u32 build_id_size, void *buf, size_t size);

/* Zeroes every counter and value count, keeping value nodes where they are. */
void pgo_reset_counts(const struct pgo_binary *binary);

/*
 * Adds the counters of a profile this runtime wrote for an earlier load of
 * the same module into the binary's. Returns false, adding nothing, when the
 * profile's records and counters are not the binary's.
 */
bool pgo_restore_counters(const struct pgo_binary *binary, const void *profile,
			  size_t size);

/* Called by clang-instrumented code; see value.c. */
void __llvm_profile_instrument_target(u64 target, void *data, u32 index);
void __llvm_profile_instrument_memop(u64 size, void *data, u32 index);

#endif /* _KERNEL_PGO_PGO_H */
