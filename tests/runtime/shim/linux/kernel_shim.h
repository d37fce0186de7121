/* SPDX-License-Identifier: MIT */
/*
 * The few kernel interfaces kernel/pgo uses, for building its profile writer
 * and value profiling into user-space test programs. Atomics map to the
 * compiler's __atomic builtins with the kernel's ordering guarantees.
 */
#ifndef KPGO_KERNEL_SHIM_H
#define KPGO_KERNEL_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

/* The runtime picks its raw layout by the compiler building it, as in kbuild. */
#define CONFIG_CLANG_VERSION \
	(__clang_major__ * 10000 + __clang_minor__ * 100 + __clang_patchlevel__)

#define __aligned(n) __attribute__((aligned(n)))
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __maybe_unused __attribute__((unused))
#define EXPORT_SYMBOL(sym)
#define BIT_ULL(n) (1ULL << (n))
#define BUILD_BUG_ON(condition) _Static_assert(!(condition), #condition)

#define notrace
#define IS_ENABLED(option) (option##_SHIM)
#ifndef CONFIG_PGO_CLANG_ATOMIC_SHIM
#define CONFIG_PGO_CLANG_ATOMIC_SHIM 0
#endif

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

/* cmpxchg: returns the old value; full barrier, as in the kernel. */
#define cmpxchg(ptr, old, new) ({                                            \
	__typeof__(*(ptr)) expected__ = (old);                              \
	__atomic_compare_exchange_n((ptr), &expected__, (new), false,       \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);    \
	expected__;                                                         \
})
#define try_cmpxchg64(ptr, oldp, new)                                        \
	__atomic_compare_exchange_n((ptr), (oldp), (new), false,            \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

typedef struct { long counter; } atomic_long_t;
#define ATOMIC_LONG_INIT(v) { (v) }
#define atomic_long_set(a, v) __atomic_store_n(&(a)->counter, (v), __ATOMIC_RELAXED)
#define atomic_long_read(a) __atomic_load_n(&(a)->counter, __ATOMIC_RELAXED)
#define atomic_long_inc(a) ((void)__atomic_add_fetch(&(a)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_long_inc_return(a) __atomic_add_fetch(&(a)->counter, 1, __ATOMIC_SEQ_CST)

#define min(a, b) ((a) < (b) ? (a) : (b))
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define PTR_ALIGN(p, a) ((__typeof__(p))ALIGN((uintptr_t)(p), (a)))

static inline bool is_power_of_2(unsigned long n) { return n && !(n & (n - 1)); }
#define ilog2(n) (63 - __builtin_clzll(n))

#endif
