#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzzes kpgo's profile readers with libFuzzer: one target per LLVM major (kpgo-fuzz-llvmNN,
# tests/fuzz/profile_fuzzer.cpp, built with clang and ASan+UBSan in build-fuzz/), run once per
# input format from a seed corpus of real profiles that clang makes here and now.
#
#   bash scripts/fuzz.sh [--time SECONDS] [--runs N] [--llvm 16,19,22] [--format raw,indexed,text]
#
# --time is per target and format (default 60); --runs stops each after N inputs instead. The
# corpora grow in build-fuzz/corpus/ from run to run. A finding (crash, sanitizer report, hang
# over 10 s, fast and generic merge paths that differ) is kept in build-fuzz/findings/ and the
# script fails; make it a test that builds the input from a real profile (see
# tests/integration/merge_bad_input_test.sh), never a checked-in file.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPGO_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=60 runs="" majors=16,19,22 formats=raw,indexed,text
while (($#)); do
  case $1 in
    --time) seconds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --llvm) majors=$2; shift ;;
    --format) formats=$2; shift ;;
    -h|--help) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a majors <<< "$majors"
IFS=, read -r -a formats <<< "$formats"

compiler=clang++-19
command -v "$compiler" > /dev/null ||
  { echo "fuzz.sh: $compiler is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
targets=()
for major in "${majors[@]}"; do targets+=("kpgo-fuzz-llvm$major"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
CC=clang-19 CXX=$compiler cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKPGO_FUZZ=ON -DKPGO_BUILD_TESTS=OFF -DKPGO_LLVM_MAJORS="$(IFS=';'; echo "${majors[*]}")" \
  > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" > "$log" 2>&1 ||
  { tail -n 60 "$log" >&2; exit 1; }

# Seeds: profiles of a small program with indirect calls and memory-op sizes (value data),
# two runs back to back in one file, their merge as indexed and as text, and for LLVM 18 and
# later a profile with MC/DC bitmap bytes.
make_seeds() {  # MAJOR DIR
  local major=$1 dir=$2 work
  work=$(mktemp -d)
  cat > "$work/seed.c" <<'C'
#include <stdlib.h>
#include <string.h>
static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
int main(int argc, char **argv) {
  int (*ops[])(int, int) = {add, mul};
  int n = argc > 1 ? atoi(argv[1]) : 3, total = 0;
  char from[64] = "seed", to[64];
  for (int i = 0; i < n; ++i) {
    total += ops[(i * 7) % 2](i, n);
    if (argc > 2 && total % 3 == 0) total -= 2;
    memcpy(to, from, (size_t)(i % 64));
  }
  return total > 0 && to[0] == 's' ? 0 : 1;
}
C
  "clang-$major" -O1 -fprofile-generate -o "$work/seed" "$work/seed.c"
  LLVM_PROFILE_FILE="$work/a.profraw" "$work/seed" 5
  LLVM_PROFILE_FILE="$work/b.profraw" "$work/seed" 9 x
  mkdir -p "$dir/raw" "$dir/indexed" "$dir/text"
  cp "$work/a.profraw" "$work/b.profraw" "$dir/raw/"
  cat "$work/a.profraw" "$work/b.profraw" > "$dir/raw/ab.profraw"
  "llvm-profdata-$major" merge -o "$dir/indexed/ab.profdata" "$work/a.profraw" "$work/b.profraw"
  "llvm-profdata-$major" merge --text -o "$dir/text/ab.proftext" "$work/a.profraw" "$work/b.profraw"
  if ((major >= 18)); then
    "clang-$major" -O1 -fprofile-instr-generate -fcoverage-mapping -fcoverage-mcdc \
      -o "$work/mcdc" "$work/seed.c"
    LLVM_PROFILE_FILE="$dir/raw/mcdc.profraw" "$work/mcdc" 4 x
    "llvm-profdata-$major" merge -o "$dir/indexed/mcdc.profdata" "$dir/raw/mcdc.profraw"
    "llvm-profdata-$major" merge --text -o "$dir/text/mcdc.proftext" "$dir/raw/mcdc.profraw"
  fi
  rm -rf "$work"
}

status=0
printf '%-16s %-8s %12s %8s  %s\n' target format executions seconds result
for major in "${majors[@]}"; do
  seeds=$build/seeds/llvm$major
  [[ -d $seeds/raw ]] || make_seeds "$major" "$seeds"
  for format in "${formats[@]}"; do
    corpus=$build/corpus/llvm$major-$format
    findings=$build/findings/llvm$major-$format-
    mkdir -p "$corpus" "$(dirname "$findings")"
    limit=(-max_total_time="$seconds")
    [[ -n $runs ]] && limit=(-runs="$runs")
    started=$(date +%s)
    result=ok
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/kpgo-fuzz-llvm$major" "${limit[@]}" \
      -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$findings" \
      "$corpus" "$seeds/$format" > "$log" 2>&1 || { result="FINDING (build-fuzz/findings/)"; status=1; }
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    printf '%-16s %-8s %12s %8s  %s\n' "kpgo-fuzz-llvm$major" "$format" "${executions:-?}" \
      "$(($(date +%s) - started))" "$result"
    if [[ $result != ok ]]; then grep -E "ERROR|SUMMARY|kpgo-fuzz:|Test unit written" "$log" | head -n 20 >&2; fi
  done
done
exit "$status"
