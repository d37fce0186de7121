// SPDX-License-Identifier: GPL-2.0-only
/*
 * Value profiling: clang calls these from instrumented code with the target
 * of an indirect call, or the size of a memory operation, and the site's
 * index in its function's list heads.
 *
 * They run in any context the instrumented code runs in, NMI included, so
 * they take no locks. Nodes come from the compiler's pool in __llvm_prf_vnds
 * through an atomic bump index and are published with cmpxchg once filled
 * in; nodes are never freed, so the profile writer can walk lists while they
 * grow. Counts follow CONFIG_PGO_CLANG_ATOMIC like the compiler's counters.
 */
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/log2.h>
#include <linux/minmax.h>

#include "pgo.h"

extern const u64 __llvm_profile_raw_version;
extern struct pgo_value_node __llvm_prf_vnds_start[];
extern struct pgo_value_node __llvm_prf_vnds_end[];

static atomic_long_t pgo_nodes_taken = ATOMIC_LONG_INIT(0);
static atomic_long_t pgo_nodes_missed = ATOMIC_LONG_INIT(0);

unsigned long pgo_dropped_values(void)
{
	return atomic_long_read(&pgo_nodes_missed);
}

unsigned long pgo_values_in_use(void)
{
	long pool = __llvm_prf_vnds_end - __llvm_prf_vnds_start;

	return min(atomic_long_read(&pgo_nodes_taken), pool);
}

static struct pgo_value_node *pgo_new_node(u64 value)
{
	long pool = __llvm_prf_vnds_end - __llvm_prf_vnds_start;
	long index;
	struct pgo_value_node *node;

	/* Reading first keeps the index from running on once the pool is empty. */
	if (atomic_long_read(&pgo_nodes_taken) >= pool)
		goto missed;
	index = atomic_long_inc_return(&pgo_nodes_taken) - 1;
	if (index >= pool)
		goto missed;
	node = &__llvm_prf_vnds_start[index];
	node->value = value;
	node->count = 1;
	node->next = NULL;
	return node;
missed:
	atomic_long_inc(&pgo_nodes_missed);
	return NULL;
}

static void pgo_count_value(struct pgo_value_node *node)
{
	if (IS_ENABLED(CONFIG_PGO_CLANG_ATOMIC)) {
		u64 old = READ_ONCE(node->count);

		while (!try_cmpxchg64(&node->count, &old, old + 1))
			;
	} else {
		WRITE_ONCE(node->count, READ_ONCE(node->count) + 1);
	}
}

static struct pgo_value_node **pgo_site_heads(void *data)
{
	const struct pgo_layout *layout = pgo_layout_for(__llvm_profile_raw_version);

	if (!layout)
		return NULL;
	return *(struct pgo_value_node ***)((u8 *)data + layout->values_offset);
}

void notrace __llvm_profile_instrument_target(u64 target, void *data, u32 index)
{
	struct pgo_value_node **heads = pgo_site_heads(data);
	struct pgo_value_node **link, *node, *least = NULL;
	unsigned int seen = 0;

	if (!heads)
		return;
	link = &heads[index];
	for (node = READ_ONCE(*link); node; node = READ_ONCE(*link)) {
		if (READ_ONCE(node->value) == target) {
			pgo_count_value(node);
			return;
		}
		if (!least || READ_ONCE(node->count) < READ_ONCE(least->count))
			least = node;
		seen++;
		link = &node->next;
	}

	if (seen >= PGO_MAX_VALUES_PER_SITE) {
		/*
		 * The site is full: the least frequent value ages by one, and
		 * once it has nothing left to lose the new value takes its place.
		 */
		u64 count = READ_ONCE(least->count);

		if (count <= 1) {
			WRITE_ONCE(least->value, target);
			WRITE_ONCE(least->count, 1);
		} else {
			WRITE_ONCE(least->count, count - 1);
		}
		return;
	}

	node = pgo_new_node(target);
	if (!node)
		return;
	/*
	 * Another CPU may have appended first: then this node stays unused and
	 * the value is not counted this once, which a profile can afford.
	 */
	if (cmpxchg(link, NULL, node) != NULL)
		atomic_long_inc(&pgo_nodes_missed);
}

/*
 * Sizes are kept in ranges: 0 to 8 and powers of two each alone, others with
 * the range that starts after the power of two below them, 513 and above as
 * one. The representative is the range's first value (InstrProfData.inc).
 */
static u64 pgo_size_range(u64 size)
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
