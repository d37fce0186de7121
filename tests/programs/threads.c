// SPDX-License-Identifier: MIT
// Threads that run the same function and the same indirect-call site at once, to exercise
// concurrent counter and value-profile updates.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long even(long x) { return x / 2; }
static long odd(long x) { return 3 * x + 1; }

static long (*const steps[])(long) = {even, odd};
static long calls_per_thread;

static void *worker(void *arg) {
  long sum = (long)(size_t)arg;
  for (long i = 0; i < calls_per_thread; i++) sum += steps[i & 1](i);
  return (void *)(size_t)sum;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  calls_per_thread = argc > 2 ? atol(argv[2]) : 1000;
  pthread_t ids[64];
  long total = 0;
  if (threads > 64) threads = 64;
  for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, worker, (void *)(size_t)t);
  for (int t = 0; t < threads; t++) {
    void *result;
    pthread_join(ids[t], &result);
    total += (long)(size_t)result;
  }
  printf("%ld\n", total);
  return 0;
}
