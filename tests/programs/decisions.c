// SPDX-License-Identifier: MIT
// Boolean decisions for MC/DC coverage: its raw profiles carry a bitmap section and per-record
// bitmap bytes (raw version 9 and later), which kpgo must merge exactly as llvm-profdata does.
int either(int a, int b, int c) { return (a && b) || c; }
int both(int a, int b) { return a || b ? 2 : 3; }

int main(int argc, char **argv) {
  (void)argv;
  int sum = 0;
  for (int i = 0; i < 10; i++) sum += either(i & 1, i & 2, argc > 3) + both(i & 4, argc);
  return sum & 1;
}
