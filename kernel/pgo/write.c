// SPDX-License-Identifier: GPL-2.0-only
/*
 * The raw profile writer. The file is the header, the binary IDs, then the
 * sections as the compiler laid them out (data records, counters, bitmap,
 * names; each padded to 8 bytes), then one value profile block per data
 * record with value sites. A block is its total size and number of value
 * kinds (u32 each), then per kind with sites: the kind and its number of
 * sites (u32 each), one count byte per site padded to 8, and a (value, count)
 * u64 pair per value.
 *
 * Counters are read one u64 at a time so that none is torn while the
 * workload runs; value lists are walked as they are, and nodes whose count a
 * reset zeroed are left out, as if they had never been taken.
 */
#include <linux/align.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "pgo.h"

#define PGO_MAX_SITE_VALUES	255	/* a site's count is one byte */

/*
 * The record and header layouts of each raw version, from InstrProfData.inc:
 *
 *   v8:  NameRef FuncHash CounterPtr FunctionPointer Values
 *        NumCounters:u32 NumValueSites:u16[2]               (48 bytes)
 *   v9:  NameRef FuncHash CounterPtr BitmapPtr FunctionPointer Values
 *        NumCounters:u32 NumValueSites:u16[2] NumBitmapBytes:u32  (64)
 *   v10: as v9 with NumValueSites:u16[3] (vtable targets)   (64)
 *
 * The header has 11 u64 words in v8; v9 adds the bitmap's size, padding and
 * delta (14), v10 the vtable count and vtable names size (16).
 */
static void pgo_check_layout(void)
{
	const unsigned int v = PGO_RAW_VERSION;

	BUILD_BUG_ON(sizeof(struct pgo_value_node) != 24);
	BUILD_BUG_ON(sizeof(struct pgo_data) != (v == 8 ? 48 : 64));
	BUILD_BUG_ON(offsetof(struct pgo_data, values) != (v == 8 ? 32 : 40));
	BUILD_BUG_ON(offsetof(struct pgo_data, num_counters) != (v == 8 ? 40 : 48));
	BUILD_BUG_ON(offsetof(struct pgo_data, num_value_sites) != (v == 8 ? 44 : 52));
	BUILD_BUG_ON(sizeof(struct pgo_raw_header) != 8 * (v == 8 ? 11 : v == 9 ? 14 : 16));
}

struct pgo_cursor {
	u8 *pos;
	u8 *end;
};

static bool pgo_room(const struct pgo_cursor *c, size_t bytes)
{
	return (size_t)(c->end - c->pos) >= bytes;
}

static void pgo_put_u64(struct pgo_cursor *c, u64 value)
{
	memcpy(c->pos, &value, sizeof(value));
	c->pos += sizeof(value);
}

static void pgo_put_bytes(struct pgo_cursor *c, const void *from, size_t size)
{
	memcpy(c->pos, from, size);
	c->pos += size;
	memset(c->pos, 0, PTR_ALIGN(c->pos, 8) - c->pos);
	c->pos = PTR_ALIGN(c->pos, 8);
}

static unsigned int pgo_sites(const struct pgo_data *record)
{
	unsigned int kind, sites = 0;

	for (kind = 0; kind < PGO_VALUE_KINDS; kind++)
		sites += record->num_value_sites[kind];
	return sites;
}

static size_t pgo_counter_size(void)
{
	return (__llvm_profile_raw_version & PGO_VARIANT_BYTE_COVERAGE) ? 1 : 8;
}

static size_t pgo_binary_ids_size(u32 build_id_size)
{
	return build_id_size ? sizeof(u64) + ALIGN(build_id_size, 8) : 0;
}

/* The fixed part of a record's value block: everything but the values. */
static size_t pgo_value_block_frame(const struct pgo_data *record)
{
	size_t size = 0;
	unsigned int kind;

	for (kind = 0; kind < PGO_VALUE_KINDS; kind++) {
		u16 sites = record->num_value_sites[kind];

		if (sites)
			size += ALIGN(2 * sizeof(u32) + sites, 8);
	}
	return size ? size + 2 * sizeof(u32) : 0;
}

/* The size of everything but the values themselves, which only grow. */
static size_t pgo_fixed_size(const struct pgo_sections *s, u32 build_id_size)
{
	const struct pgo_data *record;
	size_t size;

	size = sizeof(struct pgo_raw_header) + pgo_binary_ids_size(build_id_size);
	size += (s->data_end - s->data) * sizeof(*record);
	size += ALIGN(s->counters_end - s->counters, 8);
	size += ALIGN(s->bitmap_end - s->bitmap, 8);
	size += ALIGN(s->names_end - s->names, 8);
	for (record = s->data; record < s->data_end; record++)
		size += pgo_value_block_frame(record);
	return size;
}

size_t pgo_profile_size_bound(struct pgo_binary *binary, u32 build_id_size)
{
	pgo_check_layout();
	/* Each node is in at most one list, so it is written at most once. */
	return pgo_fixed_size(&binary->s, build_id_size) +
	       pgo_nodes_in_use(binary) * 2 * sizeof(u64);
}

static void pgo_write_header(struct pgo_cursor *c, const struct pgo_sections *s,
			     u32 build_id_size)
{
	size_t counters_size = s->counters_end - s->counters;
	size_t bitmap_size __maybe_unused = s->bitmap_end - s->bitmap;
	struct pgo_raw_header h = {
		.magic = PGO_RAW_MAGIC_64,
		.version = __llvm_profile_raw_version,
		.binary_ids_size = pgo_binary_ids_size(build_id_size),
		.num_data = s->data_end - s->data,
		.padding_before_counters = 0,	/* data is 8-aligned */
		.num_counters = counters_size / pgo_counter_size(),
		.padding_after_counters = ALIGN(counters_size, 8) - counters_size,
#if PGO_RAW_VERSION >= 9
		.num_bitmap_bytes = bitmap_size,
		.padding_after_bitmap = ALIGN(bitmap_size, 8) - bitmap_size,
#endif
		.names_size = s->names_end - s->names,
		/*
		 * Data records point to their counters (and bitmap) relative
		 * to themselves; the deltas let the reader turn that into an
		 * offset.
		 */
		.counters_delta = (uintptr_t)s->counters - (uintptr_t)s->data,
#if PGO_RAW_VERSION >= 9
		.bitmap_delta = (uintptr_t)s->bitmap - (uintptr_t)s->data,
#endif
		.names_delta = (uintptr_t)s->names,
		.value_kind_last = PGO_VALUE_KINDS - 1,
	};

	memcpy(c->pos, &h, sizeof(h));
	c->pos += sizeof(h);
}

static void pgo_write_counters(struct pgo_cursor *c, const struct pgo_sections *s)
{
	size_t size = s->counters_end - s->counters;

	if (pgo_counter_size() == 8) {
		const u64 *counter = (const u64 *)s->counters;
		size_t i;

		for (i = 0; i < size / 8; i++)
			pgo_put_u64(c, READ_ONCE(counter[i]));
	} else {
		pgo_put_bytes(c, s->counters, size);
	}
}

/* Writes the values of one site; returns how many. */
static u8 pgo_write_site(struct pgo_cursor *c, struct pgo_value_node *node)
{
	u8 written = 0;

	for (; node && written < PGO_MAX_SITE_VALUES; node = READ_ONCE(node->next)) {
		u64 value = READ_ONCE(node->value);
		u64 count = READ_ONCE(node->count);

		if (!count)
			continue;
		if (!pgo_room(c, 2 * sizeof(u64)))
			break;
		pgo_put_u64(c, value);
		pgo_put_u64(c, count);
		written++;
	}
	return written;
}

static void pgo_write_value_block(struct pgo_cursor *c, const struct pgo_data *record)
{
	struct pgo_value_node **heads = record->values;
	u8 *block = c->pos;
	u32 kinds = 0, kind, site, index = 0;
	u32 total;

	c->pos += 2 * sizeof(u32);
	for (kind = 0; kind < PGO_VALUE_KINDS; kind++) {
		u32 sites = record->num_value_sites[kind];
		size_t frame = ALIGN(2 * sizeof(u32) + sites, 8);
		u8 *site_counts;

		if (!sites)
			continue;
		kinds++;
		memcpy(c->pos, &kind, sizeof(kind));
		memcpy(c->pos + sizeof(u32), &sites, sizeof(sites));
		site_counts = c->pos + 2 * sizeof(u32);
		memset(site_counts, 0, frame - 2 * sizeof(u32));
		c->pos += frame;
		for (site = 0; site < sites; site++, index++)
			site_counts[site] = heads ? pgo_write_site(c, READ_ONCE(heads[index])) : 0;
	}
	total = c->pos - block;
	memcpy(block, &total, sizeof(total));
	memcpy(block + sizeof(u32), &kinds, sizeof(kinds));
}

size_t pgo_write_profile(const struct pgo_binary *binary, const u8 *build_id,
			 u32 build_id_size, void *buf, size_t size)
{
	const struct pgo_sections *s = &binary->s;
	struct pgo_cursor c = { .pos = buf, .end = (u8 *)buf + size };
	const struct pgo_data *record;

	/* Everything but the values must fit; values that do not are left out. */
	if (!pgo_room(&c, pgo_fixed_size(s, build_id_size)))
		return 0;

	pgo_write_header(&c, s, build_id_size);
	if (build_id_size) {
		pgo_put_u64(&c, build_id_size);
		pgo_put_bytes(&c, build_id, build_id_size);
	}
	pgo_put_bytes(&c, s->data, (s->data_end - s->data) * sizeof(*record));
	pgo_write_counters(&c, s);
	pgo_put_bytes(&c, s->bitmap, s->bitmap_end - s->bitmap);
	pgo_put_bytes(&c, s->names, s->names_end - s->names);
	for (record = s->data; record < s->data_end; record++) {
		if (pgo_value_block_frame(record))
			pgo_write_value_block(&c, record);
	}
	return c.pos - (u8 *)buf;
}

void pgo_reset_counts(const struct pgo_binary *binary)
{
	const struct pgo_sections *s = &binary->s;
	const struct pgo_data *record;

	if (pgo_counter_size() == 8) {
		u64 *counter = (u64 *)s->counters;
		size_t i;

		for (i = 0; i < (size_t)(s->counters_end - s->counters) / 8; i++)
			WRITE_ONCE(counter[i], 0);
	} else {
		/* Single-byte coverage counters mark "not run" with 0xff. */
		memset(s->counters, 0xff, s->counters_end - s->counters);
	}
	memset(s->bitmap, 0, s->bitmap_end - s->bitmap);
	for (record = s->data; record < s->data_end; record++) {
		struct pgo_value_node **heads = record->values;
		unsigned int i, sites = pgo_sites(record);

		for (i = 0; heads && i < sites; i++) {
			struct pgo_value_node *node;

			for (node = READ_ONCE(heads[i]); node; node = READ_ONCE(node->next))
				WRITE_ONCE(node->count, 0);
		}
	}
}

bool pgo_restore_counters(const struct pgo_binary *binary, const void *profile,
			  size_t size)
{
	const struct pgo_sections *s = &binary->s;
	size_t counters_size = s->counters_end - s->counters;
	const struct pgo_raw_header *h = profile;
	const u8 *from;
	u64 *counter = (u64 *)s->counters;
	size_t i;

	if (size < sizeof(*h) || pgo_counter_size() != 8 ||
	    h->num_data != (u64)(s->data_end - s->data) ||
	    h->num_counters != counters_size / 8)
		return false;
	from = (const u8 *)profile + sizeof(*h) + h->binary_ids_size +
	       h->num_data * sizeof(struct pgo_data);
	if (from + counters_size > (const u8 *)profile + size)
		return false;
	for (i = 0; i < counters_size / 8; i++) {
		u64 count;

		memcpy(&count, from + 8 * i, sizeof(count));
		WRITE_ONCE(counter[i], READ_ONCE(counter[i]) + count);
	}
	return true;
}
