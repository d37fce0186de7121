/* SPDX-License-Identifier: MIT */
/*
 * kpgo's meter: a QEMU TCG plugin that measures what a profile changes in a kernel's code, for
 * kpgo bench. For every executed translation block it counts, apart for kernel and user code:
 *
 *   instructions     the block's guest instructions;
 *   taken branches   blocks that do not start where the previous one ended: taken branches,
 *                    calls, returns, and entries from the other mode or from interrupts (TCG
 *                    also ends blocks at page boundaries and size limits, but those continue
 *                    sequentially and are not counted);
 *   i-cache misses   fetches of the block's bytes that miss in a model of a first-level
 *                    instruction cache (set-associative, least recently used, looked up by
 *                    virtual address);
 *   iTLB misses      fetches of the block's pages that miss in a model of a first-level
 *                    instruction TLB (the same kind of model, one entry per page).
 *
 * Kernel code is the upper half of the virtual address space, as on x86_64 and arm64.
 *
 * The counts are read over windows the guest marks itself: kpgo's guest stopwatch calls a
 * function placed at the `start` address before it runs a workload and one at `stop` after.
 * Each window's counts (summed over vCPUs) are written to `out` when QEMU exits, one line per
 * window, in the order the windows closed.
 *
 * Counts are per block, as blocks are translated, which is exact for instructions except for a
 * block cut short by an exception (a page fault in its middle): its instructions after the
 * fault are counted when it runs, and again when the faulting instruction is retried.
 *
 * Arguments (-plugin PATH,out=FILE,start=ADDR,stop=ADDR[,cache=BYTES][,ways=N][,line=BYTES]
 * [,itlb=ENTRIES][,itlb_ways=N][,page=BYTES]).
 * Built for QEMU's API level KPGO_QEMU_PLUGIN_API (see plugin_api.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_api.h"

KPGO_PLUGIN_EXPORT int qemu_plugin_version = KPGO_QEMU_PLUGIN_API;

enum mode { USER, KERNEL, MODES };
enum { MAX_WAYS = 64 };

struct counts {
	uint64_t instructions[MODES];
	uint64_t taken_branches[MODES];
	uint64_t icache_misses[MODES];
	uint64_t itlb_misses[MODES];
};

/* A set-associative, least recently used lookup of 1 << shift byte units: cache lines, pages. */
struct geometry {
	unsigned int shift, sets, ways;
};

/* A translated block as the execution callback needs it: made once per translation. */
struct block {
	uint64_t vaddr;
	uint64_t bytes;
	uint32_t instructions;
	enum mode mode;
};

struct vcpu {
	struct counts counts;
	uint64_t next_vaddr; /* where a block that continues sequentially would start */
	uint64_t *icache;    /* sets * ways line numbers, most recently used first; 0: empty */
	uint64_t *itlb;      /* the same for page numbers */
};

struct window {
	struct counts counts;
};

static struct {
	char *out;
	uint64_t start, stop;
	struct geometry icache, itlb;
	unsigned int vcpu_count;
	struct vcpu *vcpus;
	struct counts opened; /* the sums when the open window started */
	bool open;
	struct window *windows;
	size_t window_count, window_capacity;
} meter;

static enum mode mode_of(uint64_t vaddr)
{
	return (vaddr >> 63) ? KERNEL : USER;
}

/* Looks `unit` up in its set of `tags`, making it the most recently used; true on a hit. */
static bool lookup(const struct geometry *g, uint64_t *tags, uint64_t unit)
{
	/* 0 marks an empty way, so the unit stored is unit + 1. */
	uint64_t tag = unit + 1;
	uint64_t *set = tags + (unit % g->sets) * g->ways;
	unsigned int way;

	for (way = 0; way < g->ways; way++) {
		if (set[way] == tag)
			break;
	}
	bool hit = way < g->ways;

	if (!hit)
		way = g->ways - 1; /* evict the least recently used */
	memmove(set + 1, set, way * sizeof(*set));
	set[0] = tag;
	return hit;
}

/* Fetches [vaddr, vaddr + bytes) unit by unit; returns the misses. */
static uint64_t fetch(const struct geometry *g, uint64_t *tags, uint64_t vaddr, uint64_t bytes)
{
	uint64_t misses = 0;

	for (uint64_t unit = vaddr >> g->shift; unit <= (vaddr + bytes - 1) >> g->shift; unit++)
		misses += !lookup(g, tags, unit);
	return misses;
}

static void on_block(unsigned int vcpu_index, void *userdata)
{
	const struct block *block = userdata;

	if (vcpu_index >= meter.vcpu_count)
		return;
	struct vcpu *cpu = &meter.vcpus[vcpu_index];
	struct counts *counts = &cpu->counts;

	counts->instructions[block->mode] += block->instructions;
	if (block->vaddr != cpu->next_vaddr)
		counts->taken_branches[block->mode]++;
	cpu->next_vaddr = block->vaddr + block->bytes;

	counts->icache_misses[block->mode] +=
		fetch(&meter.icache, cpu->icache, block->vaddr, block->bytes);
	counts->itlb_misses[block->mode] += fetch(&meter.itlb, cpu->itlb, block->vaddr, block->bytes);
}

static void sum_vcpus(struct counts *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; i < meter.vcpu_count; i++) {
		const struct counts *c = &meter.vcpus[i].counts;

		for (int m = 0; m < MODES; m++) {
			sum->instructions[m] += c->instructions[m];
			sum->taken_branches[m] += c->taken_branches[m];
			sum->icache_misses[m] += c->icache_misses[m];
			sum->itlb_misses[m] += c->itlb_misses[m];
		}
	}
}

static void on_window_start(unsigned int vcpu_index, void *userdata)
{
	(void)vcpu_index;
	(void)userdata;
	sum_vcpus(&meter.opened);
	meter.open = true;
}

static void on_window_stop(unsigned int vcpu_index, void *userdata)
{
	(void)vcpu_index;
	(void)userdata;
	if (!meter.open)
		return;
	meter.open = false;
	if (meter.window_count == meter.window_capacity) {
		size_t capacity = meter.window_capacity ? 2 * meter.window_capacity : 16;
		struct window *grown = realloc(meter.windows, capacity * sizeof(*grown));

		if (!grown) {
			qemu_plugin_outs("kpgo meter: out of memory, window dropped\n");
			return;
		}
		meter.windows = grown;
		meter.window_capacity = capacity;
	}
	struct counts now;
	struct counts *window = &meter.windows[meter.window_count++].counts;

	sum_vcpus(&now);
	for (int m = 0; m < MODES; m++) {
		window->instructions[m] = now.instructions[m] - meter.opened.instructions[m];
		window->taken_branches[m] = now.taken_branches[m] - meter.opened.taken_branches[m];
		window->icache_misses[m] = now.icache_misses[m] - meter.opened.icache_misses[m];
		window->itlb_misses[m] = now.itlb_misses[m] - meter.opened.itlb_misses[m];
	}
}

static void on_translation(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	size_t n = qemu_plugin_tb_n_insns(tb);

	if (n == 0)
		return;
	struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
	struct block *block = malloc(sizeof(*block));

	if (!block)
		return;
	block->vaddr = qemu_plugin_tb_vaddr(tb);
	block->bytes = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last) - block->vaddr;
	block->instructions = (uint32_t)n;
	block->mode = mode_of(block->vaddr);
	/*
	 * The marks are user code: a block at the mark's address opens or closes a window before
	 * its own instructions are counted. (QEMU keeps the block, and so `block`, for as long as
	 * the translation may run; a retranslation allocates anew.)
	 */
	if (block->vaddr == meter.start)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_window_start, QEMU_PLUGIN_CB_NO_REGS,
						     NULL);
	if (block->vaddr == meter.stop)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_window_stop, QEMU_PLUGIN_CB_NO_REGS,
						     NULL);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, block);
}

static void print_counts(FILE *file, const char *what, const struct counts *c)
{
	fprintf(file,
		"%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 "\n",
		what, c->instructions[KERNEL], c->instructions[USER], c->taken_branches[KERNEL],
		c->taken_branches[USER], c->icache_misses[KERNEL], c->icache_misses[USER],
		c->itlb_misses[KERNEL], c->itlb_misses[USER]);
}

/* Writes `out` whole or not at all: to a temporary name, renamed when complete. */
static void write_results(qemu_plugin_id_t id, void *userdata)
{
	(void)id;
	(void)userdata;
	size_t length = strlen(meter.out) + 16;
	char *partial = malloc(length);

	if (!partial)
		return;
	snprintf(partial, length, "%s.partial", meter.out);
	FILE *file = fopen(partial, "w");

	if (!file) {
		fprintf(stderr, "kpgo meter: cannot write %s: %s\n", partial, strerror(errno));
		free(partial);
		return;
	}
	struct counts total;

	sum_vcpus(&total);
	fprintf(file, "kpgo-meter 2 cache=%u ways=%u line=%u itlb=%u itlb_ways=%u page=%u\n",
		meter.icache.sets * meter.icache.ways << meter.icache.shift, meter.icache.ways,
		1u << meter.icache.shift, meter.itlb.sets * meter.itlb.ways, meter.itlb.ways,
		1u << meter.itlb.shift);
	fprintf(file, "# kernel-instructions user-instructions kernel-taken-branches "
		      "user-taken-branches kernel-icache-misses user-icache-misses "
		      "kernel-itlb-misses user-itlb-misses\n");
	for (size_t i = 0; i < meter.window_count; i++)
		print_counts(file, "window", &meter.windows[i].counts);
	print_counts(file, "total", &total);
	if (fclose(file) != 0 || rename(partial, meter.out) != 0) {
		fprintf(stderr, "kpgo meter: cannot write %s: %s\n", meter.out, strerror(errno));
		remove(partial);
	}
	free(partial);
}

static bool parse_number(const char *text, uint64_t *value)
{
	char *end;

	errno = 0;
	*value = strtoull(text, &end, 0);
	return errno == 0 && end != text && *end == '\0';
}

static bool power_of_two(uint64_t value)
{
	return value && !(value & (value - 1));
}

static unsigned int log2_of(uint64_t value)
{
	unsigned int shift = 0;

	while ((1ull << shift) < value)
		shift++;
	return shift;
}

/* The models' sizes as the arguments give them; defaults like a current x86_64 core's. */
struct model_arguments {
	uint64_t cache, ways, line;     /* i-cache: bytes, ways, line bytes */
	uint64_t itlb, itlb_ways, page; /* iTLB: entries, ways, page bytes */
};

/* One key=value argument; false (with the reason printed) when it is not one of ours. */
static bool parse_argument(const char *argument, struct model_arguments *model)
{
	static const struct {
		const char *key;
		size_t offset;
	} sizes[] = {
		{ "cache", offsetof(struct model_arguments, cache) },
		{ "ways", offsetof(struct model_arguments, ways) },
		{ "line", offsetof(struct model_arguments, line) },
		{ "itlb", offsetof(struct model_arguments, itlb) },
		{ "itlb_ways", offsetof(struct model_arguments, itlb_ways) },
		{ "page", offsetof(struct model_arguments, page) },
	};
	const char *equals = strchr(argument, '=');

	if (!equals) {
		fprintf(stderr, "kpgo meter: argument %s is not KEY=VALUE\n", argument);
		return false;
	}
	size_t key = (size_t)(equals - argument);
	const char *value = equals + 1;

	if (key == 3 && !strncmp(argument, "out", 3)) {
		meter.out = strdup(value);
		return meter.out != NULL;
	}
	uint64_t *target = NULL;

	if (key == 5 && !strncmp(argument, "start", 5))
		target = &meter.start;
	else if (key == 4 && !strncmp(argument, "stop", 4))
		target = &meter.stop;
	for (size_t i = 0; !target && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (key == strlen(sizes[i].key) && !strncmp(argument, sizes[i].key, key))
			target = (uint64_t *)((char *)model + sizes[i].offset);
	}
	if (!target || !parse_number(value, target)) {
		fprintf(stderr, "kpgo meter: unknown argument or bad number: %s\n", argument);
		return false;
	}
	return true;
}

/*
 * A model's geometry from its entries (lines or pages), ways and unit (line or page bytes):
 * unit and set count powers of two, ways at most MAX_WAYS.
 */
static bool set_geometry(struct geometry *g, const char *what, uint64_t entries, uint64_t ways,
			 uint64_t unit)
{
	if (!power_of_two(unit) || unit > (1ull << 31) || ways == 0 || ways > MAX_WAYS ||
	    entries % ways || !power_of_two(entries / ways)) {
		fprintf(stderr,
			"kpgo meter: %s of %" PRIu64 " entries, %" PRIu64 " ways, %" PRIu64
			" bytes each is not one (entry size and sets powers of two, 1-%d ways)\n",
			what, entries, ways, unit, MAX_WAYS);
		return false;
	}
	g->shift = log2_of(unit);
	g->ways = (unsigned int)ways;
	g->sets = (unsigned int)(entries / ways);
	return true;
}

KPGO_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	/* 32 KiB 8-way L1i of 64-byte lines; a 128-entry 8-way L1 iTLB of 4 KiB pages. */
	struct model_arguments model = { .cache = 32768, .ways = 8, .line = 64,
					 .itlb = 128, .itlb_ways = 8, .page = 4096 };

	for (int i = 0; i < argc; i++) {
		if (!parse_argument(argv[i], &model))
			return -1;
	}
	if (!meter.out || !meter.start || !meter.stop) {
		fprintf(stderr, "kpgo meter: out=, start= and stop= are required\n");
		return -1;
	}
	if (!model.line || model.cache % model.line) {
		fprintf(stderr,
			"kpgo meter: cache=%" PRIu64 " is no whole number of %" PRIu64
			"-byte lines\n", model.cache, model.line);
		return -1;
	}
	if (!set_geometry(&meter.icache, "the i-cache", model.cache / model.line, model.ways,
			  model.line) ||
	    !set_geometry(&meter.itlb, "the iTLB", model.itlb, model.itlb_ways, model.page))
		return -1;
	/* User-mode QEMU runs one process: count its threads up to a fixed bound. */
	meter.vcpu_count = info->system_emulation ? (unsigned int)info->system.max_vcpus : 64;
	meter.vcpus = calloc(meter.vcpu_count, sizeof(*meter.vcpus));
	if (!meter.vcpus)
		return -1;
	for (unsigned int i = 0; i < meter.vcpu_count; i++) {
		struct vcpu *cpu = &meter.vcpus[i];

		cpu->icache = calloc((size_t)meter.icache.sets * meter.icache.ways, sizeof(uint64_t));
		cpu->itlb = calloc((size_t)meter.itlb.sets * meter.itlb.ways, sizeof(uint64_t));
		if (!cpu->icache || !cpu->itlb)
			return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translation);
	qemu_plugin_register_atexit_cb(id, write_results, NULL);
	return 0;
}
