/* SPDX-License-Identifier: MIT */
/*
 * kpgo bench's guest stopwatch: `stopwatch OUT PROGRAM [ARGS...]` runs PROGRAM (a path, with
 * this environment) and writes "TICKS STATUS\n" to OUT, where TICKS is how far the guest's
 * counter advanced across the run and STATUS the exit status (128 + signal when killed).
 *
 * The counter is the x86 time stamp counter, or arm64's virtual counter (CNTVCT_EL0, which
 * Linux lets user space read). Under QEMU's -icount shift=0 both follow QEMU's virtual clock,
 * which advances a nanosecond per guest instruction: the TSC ticks once per nanosecond, the
 * arm64 counter at its CNTFRQ_EL0 (62.5 MHz on QEMU 7.2's virt board: once per 16).
 *
 * Around the run it calls two functions the build places at fixed addresses
 * (--section-start for .kpgo_window_start and .kpgo_window_stop): kpgo's QEMU meter plugin opens
 * and closes a measurement window when the guest executes them.
 *
 * No C library: kpgo builds it at bench time with the kernel's own clang and lld for the
 * guest's architecture (-ffreestanding -nostdlib -static), which needs nothing else installed.
 */

#define SIGCHLD 17
#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

#if defined(__x86_64__)
enum { SYS_write = 1, SYS_close = 3, SYS_clone = 56, SYS_execve = 59, SYS_wait4 = 61,
       SYS_exit_group = 231, SYS_openat = 257 };

static long syscall5(long number, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long result;

	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return result;
}

static unsigned long long counter(void)
{
	unsigned int low, high;

	__asm__ volatile("lfence; rdtsc" : "=a"(low), "=d"(high) :: "memory");
	return ((unsigned long long)high << 32) | low;
}

/* The kernel enters with argc at the stack pointer; main gets that address. */
__asm__(".text\n.globl _start\n_start:\n"
	"\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall stopwatch_main\n\thlt\n");

#elif defined(__aarch64__)
enum { SYS_openat = 56, SYS_close = 57, SYS_write = 64, SYS_exit_group = 94, SYS_clone = 220,
       SYS_execve = 221, SYS_wait4 = 260 };

static long syscall5(long number, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = number;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
			 : "memory");
	return x0;
}

static unsigned long long counter(void)
{
	unsigned long long value;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(value) :: "memory");
	return value;
}

__asm__(".text\n.globl _start\n_start:\n"
	"\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tbl stopwatch_main\n\tbrk #0\n");

#else
#error "stopwatch: no system calls for this architecture"
#endif

/* The meter's marks: each must begin a translation block, so never inlined. */
__attribute__((noinline, used, section(".kpgo_window_start"))) void kpgo_window_start(void)
{
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used, section(".kpgo_window_stop"))) void kpgo_window_stop(void)
{
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noreturn)) void exit_with(int status)
{
	for (;;)
		syscall5(SYS_exit_group, status, 0, 0, 0, 0);
}

/* Decimal digits of `value` ending just before `end`; returns where they start. */
static char *decimal(unsigned long long value, char *end)
{
	do {
		*--end = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	return end;
}

static int report(const char *path, unsigned long long ticks, int status)
{
	char line[48];
	char *end = line + sizeof(line);
	char *start;

	*--end = '\n';
	start = decimal((unsigned long long)status, end);
	*--start = ' ';
	start = decimal(ticks, start);

	long fd = syscall5(SYS_openat, AT_FDCWD, (long)path, O_WRONLY | O_CREAT | O_TRUNC, 0644, 0);

	if (fd < 0)
		return 1;
	long length = (line + sizeof(line)) - start;
	long written = syscall5(SYS_write, fd, (long)start, length, 0, 0);

	return (syscall5(SYS_close, fd, 0, 0, 0, 0) != 0 || written != length);
}

static int exit_status(int wait_status)
{
	int signal = wait_status & 0x7f;

	return signal ? 128 + signal : (wait_status >> 8) & 0xff;
}

__attribute__((used, noreturn)) void stopwatch_main(long *stack)
{
	long argc = stack[0];
	char **argv = (char **)(stack + 1);
	char **envp = argv + argc + 1;
	int wait_status = 0;

	if (argc < 3)
		exit_with(2);
	unsigned long long start = counter();

	kpgo_window_start();
	long pid = syscall5(SYS_clone, SIGCHLD, 0, 0, 0, 0);

	if (pid == 0) {
		syscall5(SYS_execve, (long)argv[2], (long)(argv + 2), (long)envp, 0, 0);
		exit_with(127);
	}
	if (pid > 0)
		syscall5(SYS_wait4, pid, (long)&wait_status, 0, 0, 0);
	kpgo_window_stop();
	unsigned long long ticks = counter() - start;

	if (pid < 0)
		exit_with(1);
	exit_with(report(argv[1], ticks, exit_status(wait_status)));
}
