// SPDX-License-Identifier: MIT
// A program whose raw profiles stress what a merge must get right about value profiles: one
// indirect-call site with hundreds of targets (more than a merged site keeps), a site whose
// targets are outside the instrumented code (libc: all of them map to 0), memory-op sizes, and
// counts that differ from run to run. argv: SEED ROUNDS.
// Built a second time with -DAS_LIBRARY and linked in, its static functions are recorded twice
// under one name, as some kernel functions are.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef AS_LIBRARY
#define main fold_again
#else
int fold_again(int argc, char** argv) __attribute__((weak));
#endif

typedef unsigned long (*step_fn)(unsigned long);

#define STEP(n) \
  static unsigned long step##n(unsigned long x) { return x * (2 * n + 1) + n; }
#define STEP10(n) STEP(n##0) STEP(n##1) STEP(n##2) STEP(n##3) STEP(n##4) \
  STEP(n##5) STEP(n##6) STEP(n##7) STEP(n##8) STEP(n##9)
#define REF10(n) step##n##0, step##n##1, step##n##2, step##n##3, step##n##4, \
  step##n##5, step##n##6, step##n##7, step##n##8, step##n##9,
STEP10(1) STEP10(2) STEP10(3) STEP10(4) STEP10(5) STEP10(6) STEP10(7) STEP10(8) STEP10(9)
STEP10(10) STEP10(11) STEP10(12) STEP10(13) STEP10(14) STEP10(15) STEP10(16) STEP10(17)
STEP10(18) STEP10(19) STEP10(20) STEP10(21) STEP10(22) STEP10(23) STEP10(24) STEP10(25)
STEP10(26) STEP10(27) STEP10(28) STEP10(29) STEP10(30)

static step_fn steps[] = {
  REF10(1) REF10(2) REF10(3) REF10(4) REF10(5) REF10(6) REF10(7) REF10(8) REF10(9) REF10(10)
  REF10(11) REF10(12) REF10(13) REF10(14) REF10(15) REF10(16) REF10(17) REF10(18) REF10(19)
  REF10(20) REF10(21) REF10(22) REF10(23) REF10(24) REF10(25) REF10(26) REF10(27) REF10(28)
  REF10(29) REF10(30)
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

typedef int (*char_fn)(int);
static char_fn char_calls[] = {toupper, tolower, isdigit, isalpha, isspace, ispunct};
#define NCHAR (sizeof(char_calls) / sizeof(char_calls[0]))

static unsigned long next(unsigned long* state) {
  *state = *state * 6364136223846793005UL + 1442695040888963407UL;
  return *state >> 33;
}

// Each run calls a different slice of the targets, with its own skew.
static unsigned long walk(unsigned long seed, unsigned long rounds) {
  unsigned long state = seed, acc = seed;
  unsigned long first = seed % NSTEPS, width = 40 + seed % 200;
  for (unsigned long i = 0; i < rounds; ++i) {
    unsigned long pick = next(&state) % width;
    pick = pick * pick % width;  // skewed, so counts at one site differ
    acc = steps[(first + pick) % NSTEPS](acc);
  }
  return acc;
}

static int classify(unsigned long seed, unsigned long rounds) {
  unsigned long state = seed;
  int sum = 0;
  for (unsigned long i = 0; i < rounds; ++i) sum += char_calls[next(&state) % NCHAR]('a' + (int)(i % 26));
  return sum;
}

static size_t copy(unsigned long seed, unsigned long rounds) {
  static char from[4096], to[4096];
  unsigned long state = seed;
  size_t total = 0;
  for (unsigned long i = 0; i < rounds; ++i) {
    size_t n = next(&state) % (seed % 3 == 0 ? 9 : 700);
    memcpy(to, from, n);
    memset(to, (int)i, n / 2);
    total += n;
  }
  return total;
}

int main(int argc, char** argv) {
  unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
  unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000;
  unsigned long acc = walk(seed, rounds);
  int chars = classify(seed, rounds / 10 + 1);
  size_t bytes = copy(seed, rounds / 5 + 1);
#ifdef VARIANT  // another binary: main's control flow, and so its records, differ
  if (argc > 3) acc ^= walk(seed + 1, rounds);
#endif
#ifndef AS_LIBRARY
  if (fold_again && argc > 3) fold_again(argc - 2, argv + 2);
#endif
  printf("%lu %d %zu\n", acc, chars, bytes);
  return 0;
}
