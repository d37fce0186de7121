// SPDX-License-Identifier: GPL-2.0-only
/*
 * Value profiling: clang calls these from instrumented code with the target
 * of an indirect call, or the size of a memory operation, and the site's
 * index in its function's list heads.
 *
 * They run in any context the instrumented code runs in, NMI included, and
 * with user access enabled, so they take no locks and call no function.
 * Nodes come from the pool of the binary (vmlinux or a module) the data
 * record belongs to, through an atomic bump index, and are published with
 * cmpxchg once filled in; a CPU that loses the append retries from the node
 * that won. Nodes are never freed while the binary is loaded, so the profile
 * writer can walk lists while they grow. Counts follow
 * CONFIG_PGO_CLANG_ATOMIC like the compiler's counters.
 */
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/export.h>
#include <linux/log2.h>
#include <linux/minmax.h>

#include "pgo.h"

/* Where the value of a module without a slot is counted as dropped. */
static struct pgo_binary pgo_no_pool;

long pgo_unslotted_values_dropped(void)
{
	return atomic_long_read(&pgo_no_pool.values_dropped);
}

#ifdef CONFIG_MODULES
static struct pgo_binary pgo_modules[PGO_MODULE_SLOTS];

/* Called under fs.c's lock, before the module's code first runs. */
struct pgo_binary *pgo_claim_module_binary(const struct pgo_sections *s)
{
	struct pgo_binary *binary;

	for (binary = pgo_modules; binary < pgo_modules + PGO_MODULE_SLOTS; binary++) {
		if (READ_ONCE(binary->s.data))
			continue;
		binary->s.counters = s->counters;
		binary->s.counters_end = s->counters_end;
		binary->s.bitmap = s->bitmap;
		binary->s.bitmap_end = s->bitmap_end;
		binary->s.names = s->names;
		binary->s.names_end = s->names_end;
		binary->s.nodes = s->nodes;
		binary->s.nodes_end = s->nodes_end;
		atomic_long_set(&binary->nodes_taken, 0);
		atomic_long_set(&binary->values_dropped, 0);
		atomic_long_set(&binary->append_races, 0);
		WRITE_ONCE(binary->s.data, s->data);
		/*
		 * Orders data before data_end for CPUs searching the slots
		 * (pgo_has_record): with data_end still NULL the range
		 * matches no record.
		 */
		smp_wmb();
		WRITE_ONCE(binary->s.data_end, s->data_end);
		return binary;
	}
	return NULL;
}

/* Called under fs.c's lock, once the module's last code has run. */
void pgo_release_module_binary(struct pgo_binary *binary)
{
	WRITE_ONCE(binary->s.data_end, NULL);
	/* The reverse of the claim: data_end first, so no range is ever too wide. */
	smp_wmb();
	WRITE_ONCE(binary->s.data, NULL);
}
#endif

static __always_inline bool pgo_has_record(const struct pgo_binary *binary,
					   const struct pgo_data *record)
{
	return record >= READ_ONCE(binary->s.data) &&
	       record < READ_ONCE(binary->s.data_end);
}

static __always_inline struct pgo_binary *pgo_binary_of(const struct pgo_data *record)
{
#ifdef CONFIG_MODULES
	struct pgo_binary *binary;
#endif

	if (pgo_has_record(&pgo_vmlinux, record))
		return &pgo_vmlinux;
#ifdef CONFIG_MODULES
	for (binary = pgo_modules; binary < pgo_modules + PGO_MODULE_SLOTS; binary++)
		if (pgo_has_record(binary, record))
			return binary;
#endif
	return &pgo_no_pool;
}

unsigned long pgo_nodes_in_use(struct pgo_binary *binary)
{
	return min(atomic_long_read(&binary->nodes_taken),
		   (long)(binary->s.nodes_end - binary->s.nodes));
}

static __always_inline struct pgo_value_node *pgo_new_node(struct pgo_binary *binary, u64 value)
{
	long pool = binary->s.nodes_end - binary->s.nodes;
	long index;
	struct pgo_value_node *node;

	/* Reading first keeps the index from running on once the pool is empty. */
	if (atomic_long_read(&binary->nodes_taken) >= pool)
		goto dropped;
	index = atomic_long_inc_return(&binary->nodes_taken) - 1;
	if (index >= pool)
		goto dropped;
	node = &binary->s.nodes[index];
	node->value = value;
	node->count = 1;
	node->next = NULL;
	return node;
dropped:
	atomic_long_inc(&binary->values_dropped);
	return NULL;
}

static __always_inline void pgo_count_value(struct pgo_value_node *node)
{
	if (IS_ENABLED(CONFIG_PGO_CLANG_ATOMIC)) {
		u64 old = READ_ONCE(node->count);

		while (!try_cmpxchg64(&node->count, &old, old + 1))
			;
	} else {
		WRITE_ONCE(node->count, READ_ONCE(node->count) + 1);
	}
}

/*
 * The site is full: the least frequent value ages by one, and once it has
 * nothing left to lose the new value takes its place (LLVM's policy).
 */
static __always_inline void pgo_age_least(struct pgo_value_node *least, u64 target)
{
	u64 count = READ_ONCE(least->count);

	if (count <= 1) {
		WRITE_ONCE(least->value, target);
		WRITE_ONCE(least->count, 1);
	} else {
		WRITE_ONCE(least->count, count - 1);
	}
}

void notrace __llvm_profile_instrument_target(u64 target, void *data, u32 index)
{
	struct pgo_data *record = data;
	struct pgo_value_node **link, *node, *least = NULL, *fresh = NULL;
	struct pgo_binary *binary = NULL;
	unsigned int seen = 0;

	if (!record->values)
		return;
	link = &record->values[index];
	for (;;) {
		for (node = READ_ONCE(*link); node; node = READ_ONCE(*link)) {
			if (READ_ONCE(node->value) == target) {
				/* A node taken for a lost race stays unused. */
				pgo_count_value(node);
				return;
			}
			if (!least || READ_ONCE(node->count) < READ_ONCE(least->count))
				least = node;
			seen++;
			link = &node->next;
		}
		if (seen >= PGO_MAX_VALUES_PER_SITE) {
			pgo_age_least(least, target);
			return;
		}
		if (!fresh) {
			binary = pgo_binary_of(record);
			fresh = pgo_new_node(binary, target);
			if (!fresh)
				return;
		}
		if (!cmpxchg(link, NULL, fresh))
			return;
		/* Another CPU appended first: walk on from its node. */
		atomic_long_inc(&binary->append_races);
	}
}
EXPORT_SYMBOL(__llvm_profile_instrument_target);

/*
 * Sizes are kept in ranges: 0 to 8 and powers of two each alone, others with
 * the range that starts after the power of two below them, 513 and above as
 * one. The representative is the range's first value (InstrProfData.inc).
 */
static __always_inline u64 pgo_size_range(u64 size)
{
	if (size <= 8)
		return size;
	if (size >= 513)
		return 513;
	if (is_power_of_2(size))
		return size;
	return (1ULL << ilog2(size)) + 1;
}

void notrace __llvm_profile_instrument_memop(u64 size, void *data, u32 index)
{
	__llvm_profile_instrument_target(pgo_size_range(size), data, index);
}
EXPORT_SYMBOL(__llvm_profile_instrument_memop);
