// SPDX-License-Identifier: MIT
// A small program whose profile exercises what kernel profiles hold: branches whose counts
// depend on input, indirect calls through function pointers (indirect-call value profiling)
// and memory operations of varying size (memop-size value profiling).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Building with another WORKLOAD_SALT gives another binary with the same functions.
#ifndef WORKLOAD_SALT
#define WORKLOAD_SALT 0
#endif

typedef long (*operation)(long, long);

static long add(long a, long b) { return a + b; }
static long sub(long a, long b) { return a - b; }
static long mul(long a, long b) { return a * b; }
static long mix(long a, long b) { return (a ^ b) + (a >> 3); }

static const operation operations[] = {add, sub, mul, mix};

static long copy_rounds(unsigned seed, int rounds) {
  char source[512];
  char target[512];
  long sum = 0;
  for (int i = 0; i < (int)sizeof source; i++) source[i] = (char)(i * 7 + seed);
  for (int r = 0; r < rounds; r++) {
    size_t length = (size_t)((seed + r * 13) % 256) + 1;
    memcpy(target, source + (r % 64), length);
    memset(source + (r % 32), (int)r, length / 2);
    sum += target[length - 1];
  }
  return sum;
}

int main(int argc, char **argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 100;
  unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
  long total = WORKLOAD_SALT;
  for (int i = 0; i < iterations; i++) {
    operation op = operations[(seed + (unsigned)i * (seed % 3 + 1)) % 4];
    total = op(total, i);
    if (total % 5 == 0) {
      total += copy_rounds(seed, i % 7);
    } else if (seed > 2 && i % 11 == 0) {
      total -= 3;
    }
  }
  printf("%ld\n", total);
  return 0;
}
