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
#include <linux/compiler.h>
#include <linux/string.h>

#include "pgo.h"

#define PGO_MAX_SITE_VALUES	255	/* a site's count is one byte */

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

static u16 pgo_value_sites(const u8 *record, const struct pgo_layout *layout,
			   u32 kind)
{
	u16 sites;

	memcpy(&sites, record + layout->value_sites_offset + 2 * kind, sizeof(sites));
	return sites;
}

static struct pgo_value_node **pgo_record_heads(const u8 *record,
						const struct pgo_layout *layout)
{
	struct pgo_value_node **heads;

	memcpy(&heads, record + layout->values_offset, sizeof(heads));
	return heads;
}

static size_t pgo_counter_size(const struct pgo_sections *s)
{
	return (s->raw_version & PGO_VARIANT_BYTE_COVERAGE) ? 1 : 8;
}

static size_t pgo_binary_ids_size(u32 build_id_size)
{
	return build_id_size ? sizeof(u64) + ALIGN(build_id_size, 8) : 0;
}

/* The fixed part of a record's value block: everything but the values. */
static size_t pgo_value_block_frame(const u8 *record, const struct pgo_layout *layout)
{
	size_t size = 0;
	u32 kind;

	for (kind = 0; kind < layout->value_kinds; kind++) {
		u16 sites = pgo_value_sites(record, layout, kind);

		if (sites)
			size += ALIGN(2 * sizeof(u32) + sites, 8);
	}
	return size ? size + 2 * sizeof(u32) : 0;
}

/* The size of everything but the values themselves, which only grow. */
static size_t pgo_fixed_size(const struct pgo_sections *s,
			     const struct pgo_layout *layout, u32 build_id_size)
{
	const u8 *record;
	size_t size;

	size = layout->header_words * sizeof(u64) + pgo_binary_ids_size(build_id_size);
	size += s->data_end - s->data;
	size += ALIGN(s->counters_end - s->counters, 8);
	size += ALIGN(s->bitmap_end - s->bitmap, 8);
	size += ALIGN(s->names_end - s->names, 8);
	for (record = s->data; record + layout->record_size <= s->data_end;
	     record += layout->record_size)
		size += pgo_value_block_frame(record, layout);
	return size;
}

size_t pgo_profile_size_bound(const struct pgo_sections *s, u32 build_id_size)
{
	const struct pgo_layout *layout = pgo_layout_for(s->raw_version);

	if (!layout)
		return 0;
	/* Each node is in at most one list, so it is written at most once. */
	return pgo_fixed_size(s, layout, build_id_size) +
	       pgo_values_in_use() * 2 * sizeof(u64);
}

static void pgo_write_header(struct pgo_cursor *c, const struct pgo_sections *s,
			     const struct pgo_layout *layout, u32 build_id_size)
{
	size_t counters_size = s->counters_end - s->counters;
	size_t bitmap_size = s->bitmap_end - s->bitmap;

	pgo_put_u64(c, PGO_RAW_MAGIC_64);
	pgo_put_u64(c, s->raw_version);
	pgo_put_u64(c, pgo_binary_ids_size(build_id_size));
	pgo_put_u64(c, (s->data_end - s->data) / layout->record_size);
	pgo_put_u64(c, 0);	/* padding before counters: data is 8-aligned */
	pgo_put_u64(c, counters_size / pgo_counter_size(s));
	pgo_put_u64(c, ALIGN(counters_size, 8) - counters_size);
	if (layout->version >= 9) {
		pgo_put_u64(c, bitmap_size);
		pgo_put_u64(c, ALIGN(bitmap_size, 8) - bitmap_size);
	}
	pgo_put_u64(c, s->names_end - s->names);
	/*
	 * Data records point to their counters (and bitmap) relative to
	 * themselves; the deltas let the reader turn that into an offset.
	 */
	pgo_put_u64(c, (uintptr_t)s->counters - (uintptr_t)s->data);
	if (layout->version >= 9)
		pgo_put_u64(c, (uintptr_t)s->bitmap - (uintptr_t)s->data);
	pgo_put_u64(c, (uintptr_t)s->names);
	if (layout->version >= 10) {
		pgo_put_u64(c, 0);	/* vtables: C has none */
		pgo_put_u64(c, 0);	/* vtable names */
	}
	pgo_put_u64(c, layout->value_kinds - 1);
}

static void pgo_write_counters(struct pgo_cursor *c, const struct pgo_sections *s)
{
	size_t size = s->counters_end - s->counters;

	if (pgo_counter_size(s) == 8) {
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

static void pgo_write_value_block(struct pgo_cursor *c, const u8 *record,
				  const struct pgo_layout *layout)
{
	struct pgo_value_node **heads = pgo_record_heads(record, layout);
	u8 *block = c->pos;
	u32 kinds = 0, kind, site, index = 0;
	u32 total;

	c->pos += 2 * sizeof(u32);
	for (kind = 0; kind < layout->value_kinds; kind++) {
		u32 sites = pgo_value_sites(record, layout, kind);
		u8 *site_counts;

		if (!sites)
			continue;
		kinds++;
		memcpy(c->pos, &kind, sizeof(kind));
		memcpy(c->pos + sizeof(u32), &sites, sizeof(sites));
		site_counts = c->pos + 2 * sizeof(u32);
		memset(site_counts, 0, ALIGN(2 * sizeof(u32) + sites, 8) - 2 * sizeof(u32));
		c->pos += ALIGN(2 * sizeof(u32) + sites, 8);
		for (site = 0; site < sites; site++, index++)
			site_counts[site] = heads ? pgo_write_site(c, READ_ONCE(heads[index])) : 0;
	}
	total = c->pos - block;
	memcpy(block, &total, sizeof(total));
	memcpy(block + sizeof(u32), &kinds, sizeof(kinds));
}

size_t pgo_write_profile(const struct pgo_sections *s, const u8 *build_id,
			 u32 build_id_size, void *buf, size_t size)
{
	const struct pgo_layout *layout = pgo_layout_for(s->raw_version);
	struct pgo_cursor c = { .pos = buf, .end = (u8 *)buf + size };
	const u8 *record;

	/* Everything but the values must fit; values that do not are left out. */
	if (!layout || !pgo_room(&c, pgo_fixed_size(s, layout, build_id_size)))
		return 0;

	pgo_write_header(&c, s, layout, build_id_size);
	if (build_id_size) {
		pgo_put_u64(&c, build_id_size);
		pgo_put_bytes(&c, build_id, build_id_size);
	}
	pgo_put_bytes(&c, s->data, s->data_end - s->data);
	pgo_write_counters(&c, s);
	pgo_put_bytes(&c, s->bitmap, s->bitmap_end - s->bitmap);
	pgo_put_bytes(&c, s->names, s->names_end - s->names);
	for (record = s->data; record + layout->record_size <= s->data_end;
	     record += layout->record_size) {
		if (pgo_value_block_frame(record, layout))
			pgo_write_value_block(&c, record, layout);
	}
	return c.pos - (u8 *)buf;
}

void pgo_reset_counts(const struct pgo_sections *s)
{
	const struct pgo_layout *layout = pgo_layout_for(s->raw_version);
	const u8 *record;

	if (!layout)
		return;
	if (pgo_counter_size(s) == 8) {
		u64 *counter = (u64 *)s->counters;
		size_t i;

		for (i = 0; i < (size_t)(s->counters_end - s->counters) / 8; i++)
			WRITE_ONCE(counter[i], 0);
	} else {
		/* Single-byte coverage counters mark "not run" with 0xff. */
		memset(s->counters, 0xff, s->counters_end - s->counters);
	}
	memset(s->bitmap, 0, s->bitmap_end - s->bitmap);
	for (record = s->data; record + layout->record_size <= s->data_end;
	     record += layout->record_size) {
		struct pgo_value_node **heads = pgo_record_heads(record, layout);
		u32 sites = 0, kind, i;

		for (kind = 0; kind < layout->value_kinds; kind++)
			sites += pgo_value_sites(record, layout, kind);
		for (i = 0; heads && i < sites; i++) {
			struct pgo_value_node *node;

			for (node = READ_ONCE(heads[i]); node; node = READ_ONCE(node->next))
				WRITE_ONCE(node->count, 0);
		}
	}
}
