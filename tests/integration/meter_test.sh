#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo's meter (the QEMU plugin bench loads, src/targets/meter/meter.c) under real QEMU, for each
# guest arch: user-mode QEMU runs tests/programs/meter_probe.c, whose windows have instruction,
# branch, i-cache and iTLB miss counts known in advance, and the guest stopwatch (guest/stopwatch.c),
# whose status and window must come through. Kernel code needs a system guest: the bench test
# (kernel.bench.6.12) measures it on real kernels.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

plugin=$KPGO_BUILD_DIR/libkpgo-qemu-meter.so
[[ -f $plugin ]] || fail "$plugin was not built"
clang=clang-19
start=0x4b50470000 stop=0x4b50471000

# guest_build TRIPLE SOURCE OUTPUT: freestanding, the marks where the meter looks (as
# targets::build_stopwatch builds the stopwatch)
guest_build() {
  "$clang" --target="$1" -O2 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic \
    -fuse-ld=lld -Wl,--section-start=.kpgo_window_start=$start \
    -Wl,--section-start=.kpgo_window_stop=$stop -o "$3" "$2" || fail "cannot build $2 for $1"
}

# window N FIELD REPORT: field FIELD (2 = kernel instructions ... 7 = user i-cache misses,
# 9 = user iTLB misses) of the Nth window line
window() { awk -v n="$1" -v f="$2" '$1 == "window" && ++seen == n { print $f }' "$3"; }
# between VALUE LOW HIGH WHAT
between() {
  (($1 >= $2 && $1 <= $3)) || fail "$4: $1 is not in [$2, $3]"
  pass
}

calls=50 small=8192 big=131072 line=64 cache=32768 page=4096
for arch in x86_64:x86_64:1 aarch64:aarch64:4; do
  IFS=: read -r triple qemu nop_bytes <<< "$arch"
  step "$triple: the probe's known counts"
  guest_build "$triple-linux-gnu" "$KPGO_SOURCE_DIR/tests/programs/meter_probe.c" "probe-$triple"
  "qemu-$qemu" -plugin "$plugin,out=$WORK/probe-$triple.txt,start=$start,stop=$stop" \
    "./probe-$triple" || fail "the probe failed under qemu-$qemu with the meter"
  report=$WORK/probe-$triple.txt
  [[ $(grep -c '^window ' "$report") == 3 ]] || fail "$triple: not 3 windows in $(cat "$report")"
  head -1 "$report" | grep -q "^kpgo-meter 2 cache=$cache ways=8 line=$line itlb=128 itlb_ways=8 page=$page$" ||
    fail "$triple: header $(head -1 "$report")"
  for n in 1 2 3; do
    [[ $(window $n 2 "$report") == 0 && $(window $n 4 "$report") == 0 ]] ||
      fail "$triple: kernel counts in user-mode QEMU"
  done
  # 1: the small run's instructions (no-ops and a return per call, a little loop), its lines
  # missed once, three taken branches per call (call, return, loop)
  small_insns=$((calls * (small / nop_bytes + 1)))
  between "$(window 1 3 "$report")" "$small_insns" $((small_insns + 10 * calls)) "$triple small instructions"
  between "$(window 1 7 "$report")" $((small / line)) $((small / line + 8)) "$triple small misses"
  between "$(window 1 5 "$report")" $((3 * calls)) $((3 * calls + 5)) "$triple small taken branches"
  # its pages missed once in the iTLB (the run's, and the loop's own)
  between "$(window 1 9 "$report")" $((small / page)) $((small / page + 3)) "$triple small iTLB misses"
  # 2: four times the cache: every line of the run misses on every call
  big_insns=$((calls * (big / nop_bytes + 1)))
  between "$(window 2 3 "$report")" "$big_insns" $((big_insns + 10 * calls)) "$triple big instructions"
  between "$(window 2 7 "$report")" $((calls * big / line)) $((calls * (big / line + 8))) "$triple big misses"
  between "$(window 2 5 "$report")" $((3 * calls)) $((3 * calls + 5)) "$triple big taken branches"
  # ... while its 32 pages fit the 128-entry iTLB: missed once (but the page it starts in, which
  # the small run ends in: the sleds follow each other at 64-byte alignment)
  between "$(window 2 9 "$report")" $((big / page - 1)) $((big / page + 3)) "$triple big iTLB misses"
  # with an iTLB of 16 entries (4 sets of 4 ways) every page of the run misses on every call
  "qemu-$qemu" -plugin "$plugin,out=$WORK/tlb-$triple.txt,start=$start,stop=$stop,itlb=16,itlb_ways=4" \
    "./probe-$triple" || fail "the probe failed under qemu-$qemu with a small iTLB"
  head -1 "$WORK/tlb-$triple.txt" | grep -q " itlb=16 itlb_ways=4 page=$page$" ||
    fail "$triple: header $(head -1 "$WORK/tlb-$triple.txt")"
  between "$(window 2 9 "$WORK/tlb-$triple.txt")" $((calls * big / page)) $((calls * (big / page + 3))) \
    "$triple big iTLB misses in a 16-entry iTLB"
  # 3: the marks alone
  between "$(window 3 3 "$report")" 0 8 "$triple empty window"
  total=$(awk '$1 == "total" { print $3 }' "$report")
  between "$total" $((small_insns + big_insns)) $((small_insns + big_insns + 1000)) "$triple total"

  step "$triple: the stopwatch's window and status"
  guest_build "$triple-linux-gnu" "$KPGO_SOURCE_DIR/guest/stopwatch.c" "stopwatch-$triple"
  for status in 0 3; do
    rm -f "time-$triple" "meter-$triple.txt"
    "qemu-$qemu" -plugin "$plugin,out=$WORK/meter-$triple.txt,start=$start,stop=$stop" \
      "./stopwatch-$triple" "time-$triple" /bin/sh -c "exit $status" ||
      fail "the stopwatch itself failed under qemu-$qemu"
    read -r ticks got < "time-$triple"
    [[ $got == "$status" ]] || fail "$triple stopwatch: status $got, not $status"
    ((ticks > 0)) || fail "$triple stopwatch: no clock ticks"
    [[ $(grep -c '^window ' "meter-$triple.txt") == 1 ]] || fail "$triple stopwatch: not one window"
    pass
  done
  "qemu-$qemu" "./stopwatch-$triple" "time-$triple" /nonexistent > /dev/null 2>&1
  read -r _ got < "time-$triple"
  [[ $got == 127 ]] || fail "$triple stopwatch: a program that does not exist gives $got, not 127"
  pass
done

step "bad plugin arguments are refused by name"
for bad in "cache=1000" "ways=0" "line=48" "colour=red" "start=12x" "itlb=100" "page=3000" "itlb_ways=0"; do
  expect_fails "meter argument $bad" qemu-x86_64 \
    -plugin "$plugin,out=$WORK/bad.txt,start=$start,stop=$stop,$bad" ./probe-x86_64
  expect_in "$WORK/err" "kpgo meter:" "the meter names argument $bad"
done
expect_fails "meter without out=" qemu-x86_64 -plugin "$plugin,start=$start,stop=$stop" ./probe-x86_64
expect_in "$WORK/err" "out=, start= and stop= are required" "the meter names what is missing"
[[ ! -e $WORK/bad.txt ]] || fail "a refused meter wrote a report"
pass
finish
