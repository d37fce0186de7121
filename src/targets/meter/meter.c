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
 *                    virtual address).
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
 * Arguments (-plugin PATH,out=FILE,start=ADDR,stop=ADDR[,cache=BYTES][,ways=N][,line=BYTES]).
 * Built for QEMU's API level KPGO_QEMU_PLUGIN_API (see plugin_api.h).
 */
#include <errno.h>
#include <inttypes.h>
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
	uint64_t *tags;      /* sets * ways line numbers, most recently used first; 0: empty */
};

struct window {
	struct counts counts;
};

static struct {
	char *out;
	uint64_t start, stop;
	unsigned int line_shift, sets, ways;
	unsigned int vcpu_count;
	struct vcpu *vcpus;
	struct counts opened; /* the sums when the open window started */
	bool open;
	struct window *windows;
	size_t window_count, window_capacity;
} meter = { .sets = 64, .ways = 8, .line_shift = 6 };

static enum mode mode_of(uint64_t vaddr)
{
	return (vaddr >> 63) ? KERNEL : USER;
}

/* Looks `line` up in its set, making it the most recently used; true on a hit. */
static bool icache_fetch(struct vcpu *cpu, uint64_t line)
{
	/* 0 marks an empty way, so the line stored is line + 1. */
	uint64_t tag = line + 1;
	uint64_t *set = cpu->tags + (line % meter.sets) * meter.ways;
	unsigned int way;

	for (way = 0; way < meter.ways; way++) {
		if (set[way] == tag)
			break;
	}
	bool hit = way < meter.ways;

	if (!hit)
		way = meter.ways - 1; /* evict the least recently used */
	memmove(set + 1, set, way * sizeof(*set));
	set[0] = tag;
	return hit;
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

	uint64_t first = block->vaddr >> meter.line_shift;
	uint64_t last = (block->vaddr + block->bytes - 1) >> meter.line_shift;

	for (uint64_t line = first; line <= last; line++) {
		if (!icache_fetch(cpu, line))
			counts->icache_misses[block->mode]++;
	}
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
	fprintf(file, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		what, c->instructions[KERNEL], c->instructions[USER], c->taken_branches[KERNEL],
		c->taken_branches[USER], c->icache_misses[KERNEL], c->icache_misses[USER]);
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
	fprintf(file, "kpgo-meter 1 cache=%u ways=%u line=%u\n",
		meter.sets * meter.ways << meter.line_shift, meter.ways, 1u << meter.line_shift);
	fprintf(file, "# kernel-instructions user-instructions kernel-taken-branches "
		      "user-taken-branches kernel-icache-misses user-icache-misses\n");
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

/* One key=value argument; false (with the reason printed) when it is not one of ours. */
static bool parse_argument(const char *argument, uint64_t *cache, uint64_t *ways, uint64_t *line)
{
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
	else if (key == 5 && !strncmp(argument, "cache", 5))
		target = cache;
	else if (key == 4 && !strncmp(argument, "ways", 4))
		target = ways;
	else if (key == 4 && !strncmp(argument, "line", 4))
		target = line;
	if (!target || !parse_number(value, target)) {
		fprintf(stderr, "kpgo meter: unknown argument or bad number: %s\n", argument);
		return false;
	}
	return true;
}

/* The cache geometry: line and set count powers of two, ways at most MAX_WAYS. */
static bool set_cache(uint64_t cache, uint64_t ways, uint64_t line)
{
	if (!power_of_two(line) || ways == 0 || ways > MAX_WAYS || cache % (ways * line) ||
	    !power_of_two(cache / (ways * line))) {
		fprintf(stderr,
			"kpgo meter: cache=%" PRIu64 " ways=%" PRIu64 " line=%" PRIu64
			" is no cache (line and sets powers of two, 1-%d ways)\n",
			cache, ways, line, MAX_WAYS);
		return false;
	}
	meter.line_shift = log2_of(line);
	meter.ways = (unsigned int)ways;
	meter.sets = (unsigned int)(cache / (ways * line));
	return true;
}

KPGO_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	uint64_t cache = 32768, ways = 8, line = 64;

	for (int i = 0; i < argc; i++) {
		if (!parse_argument(argv[i], &cache, &ways, &line))
			return -1;
	}
	if (!meter.out || !meter.start || !meter.stop) {
		fprintf(stderr, "kpgo meter: out=, start= and stop= are required\n");
		return -1;
	}
	if (!set_cache(cache, ways, line))
		return -1;
	/* User-mode QEMU runs one process: count its threads up to a fixed bound. */
	meter.vcpu_count = info->system_emulation ? (unsigned int)info->system.max_vcpus : 64;
	meter.vcpus = calloc(meter.vcpu_count, sizeof(*meter.vcpus));
	if (!meter.vcpus)
		return -1;
	for (unsigned int i = 0; i < meter.vcpu_count; i++) {
		meter.vcpus[i].tags = calloc((size_t)meter.sets * meter.ways, sizeof(uint64_t));
		if (!meter.vcpus[i].tags)
			return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translation);
	qemu_plugin_register_atexit_cb(id, write_results, NULL);
	return 0;
}
