// SPDX-License-Identifier: GPL-2.0-only
/*
 * Raw profile layouts per LLVM raw format version, from LLVM's
 * InstrProfData.inc of each release. A data record is:
 *
 *   v8:  NameRef FuncHash CounterPtr FunctionPointer Values
 *        NumCounters:u32 NumValueSites:u16[2]
 *   v9:  NameRef FuncHash CounterPtr BitmapPtr FunctionPointer Values
 *        NumCounters:u32 NumValueSites:u16[2] NumBitmapBytes:u32
 *   v10: as v9 with NumValueSites:u16[3] (vtable targets)
 *
 * padded to 8 bytes. The header grows likewise: v9 adds the bitmap's size,
 * padding and delta, v10 the vtable count and vtable names size.
 */
#include "pgo.h"

static const struct pgo_layout pgo_layouts[] = {
	{ .version = 8, .header_words = 11, .record_size = 48,
	  .values_offset = 32, .num_counters_offset = 40,
	  .value_sites_offset = 44, .value_kinds = 2 },
	{ .version = 9, .header_words = 14, .record_size = 64,
	  .values_offset = 40, .num_counters_offset = 48,
	  .value_sites_offset = 52, .value_kinds = 2 },
	{ .version = 10, .header_words = 16, .record_size = 64,
	  .values_offset = 40, .num_counters_offset = 48,
	  .value_sites_offset = 52, .value_kinds = 3 },
};

const struct pgo_layout *pgo_layout_for(u64 raw_version)
{
	u64 version = raw_version & PGO_VERSION_MASK;
	unsigned int i;

	for (i = 0; i < sizeof(pgo_layouts) / sizeof(pgo_layouts[0]); i++)
		if (pgo_layouts[i].version == version)
			return &pgo_layouts[i];
	return NULL;
}
