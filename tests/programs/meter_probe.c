/* SPDX-License-Identifier: MIT */
/*
 * A guest program with known counts for kpgo's meter (tests/integration/meter_test.sh), built
 * freestanding like guest/stopwatch.c and run under user-mode QEMU with the plugin. It opens
 * three windows with the stopwatch's marks:
 *   1. CALLS calls of a straight run of SMALL_BYTES of no-ops: fits the 32 KiB model cache, so
 *      only the first call misses (SMALL_BYTES / 64 lines);
 *   2. CALLS calls of a run of BIG_BYTES: four times the cache, so with least-recently-used
 *      eviction every line misses on every call;
 *   3. nothing: the marks alone.
 * Each run is one straight line of code, so the taken branches are the calls, returns and
 * loop branches only.
 */
#define CALLS 50

#if defined(__x86_64__)
#define NOP_BYTES 1
#define EXIT_ASM "mov $231, %eax\n\txor %edi, %edi\n\tsyscall\n"
#elif defined(__aarch64__)
#define NOP_BYTES 4
#define EXIT_ASM "mov x8, #94\n\tmov x0, #0\n\tsvc #0\n"
#endif
#define SMALL_BYTES 8192
#define BIG_BYTES 131072
#define STR(x) #x
#define XSTR(x) STR(x)

/* name: a function of `bytes` bytes of no-ops, then a return, on a cache line boundary. */
#define SLED(name, bytes)                                                                  \
	__asm__(".text\n.balign 64\n.globl " #name "\n" #name ":\n.rept " XSTR(bytes / NOP_BYTES) \
		"\nnop\n.endr\nret\n")
SLED(small_sled, SMALL_BYTES);
SLED(big_sled, BIG_BYTES);
void small_sled(void);
void big_sled(void);

__attribute__((noinline, used, section(".kpgo_window_start"))) void kpgo_window_start(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used, section(".kpgo_window_stop"))) void kpgo_window_stop(void)
{
	__asm__ volatile("" ::: "memory");
}

static void run(void (*sled)(void))
{
	kpgo_window_start();
	for (int i = 0; i < CALLS; i++) {
		sled();
		__asm__ volatile("" ::: "memory");
	}
	kpgo_window_stop();
}

__attribute__((used, noreturn)) void probe_main(void)
{
	run(small_sled);
	run(big_sled);
	kpgo_window_start();
	kpgo_window_stop();
	__asm__ volatile(EXIT_ASM);
	__builtin_unreachable();
}

#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n\tand $-16, %rsp\n\tcall probe_main\n");
#else
__asm__(".text\n.globl _start\n_start:\n\tbl probe_main\n");
#endif
