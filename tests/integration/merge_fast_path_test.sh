#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo merge's fast path (raw profiles of one binary folded by kpgo, handed to LLVM's writer
# once) writes exactly what llvm-profdata writes at the same thread count: with value profiles
# that overflow a site's 255 targets and targets outside the instrumented code, weights that
# saturate counts, two binaries mixed, corrupt members, and indexed inputs. Each case also checks
# how many inputs the fast path took, so a fast path that quietly falls back cannot pass.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# same_as_llvm MAJOR NAME FAST THREADS FLAGS LLVM_ARG... -- KPGO_ARG...: kpgo merge -j THREADS
# FLAGS must write what llvm-profdata -j THREADS FLAGS writes, with and without the fast path;
# FAST is the exact number of inputs the fast path must take.
# llvm-profdata's threads take their inputs in whatever order they get to them; where the order
# matters (a site past 255 targets, several targets outside the instrumented code) its output
# varies from run to run. kpgo takes each thread's inputs in order, which is what llvm-profdata
# does almost always: above one thread, kpgo's output must be one of several llvm-profdata runs.
same_as_llvm() {
  local major=$1 name=$2 fast=$3 threads=$4 flags=$5
  shift 5
  local llvm_args=()
  while [[ $1 != -- ]]; do llvm_args+=("$1"); shift; done
  shift
  llvm_pick "$major"
  # shellcheck disable=SC2086
  expect_ok "$name" "$KPGO" merge "${LLVM_PICK[@]}" --json -j "$threads" $flags "$@" -o "$name.kpgo"
  cp "$WORK/out" "$name.json"
  # shellcheck disable=SC2086
  expect_ok "$name generic" "$KPGO" merge "${LLVM_PICK[@]}" -q --no-fast-path -j "$threads" $flags "$@" -o "$name.generic"
  expect_same "$name.kpgo" "$name.generic" "LLVM $major, $name, with and without the fast path"
  local tries=1 try
  ((threads > 1)) && tries=8
  for ((try = 1; try <= tries; try++)); do
    # shellcheck disable=SC2086
    "llvm-profdata-$major" merge -j "$threads" $flags "${llvm_args[@]}" -o "$name.ref" 2>"$name.llvm.err" ||
      { cat "$name.llvm.err" >&2; fail "$name: llvm-profdata failed"; }
    cmp -s "$name.ref" "$name.kpgo" && break
  done
  expect_same "$name.ref" "$name.kpgo" "LLVM $major, $name ($tries llvm-profdata runs)"
  python3 - "$name.json" "$fast" "$name" <<'PY'
import json, sys
taken, expected, name = json.load(open(sys.argv[1]))["fast_path_inputs"], int(sys.argv[2]), sys.argv[3]
sys.exit(0 if taken == expected else f"{name}: {taken} inputs took the fast path, expected {expected}")
PY
  pass
}

for major in "${TEST_LLVM_MAJORS[@]}"; do
  a=fa$major b=fb$major
  "clang-$major" -O1 -fprofile-generate -o "$a.bin" "$KPGO_SOURCE_DIR/tests/programs/fold.c"
  # Another binary, without a build ID: kpgo merges it with the other binary's profiles as llvm-profdata does
  # (inputs with two different build IDs it refuses; merge_identity_test checks that).
  "clang-$major" -O1 -DVARIANT -fprofile-generate -Wl,--build-id=none -o "$b.bin" \
    "$KPGO_SOURCE_DIR/tests/programs/fold.c"
  for r in 1 2 3 4 5 6 7 8; do
    # Half the runs keep up to 255 targets a site, so merged sites exceed 255 and are cut.
    max=24
    ((r % 2)) && max=255
    LLVM_VP_MAX_NUM_VALS_PER_SITE=$max LLVM_PROFILE_FILE="$a-$r.profraw" \
      "./$a.bin" $((r * 7919)) $((4000 + r * 1500)) >/dev/null
  done
  for r in 1 2 3; do
    LLVM_PROFILE_FILE="$b-$r.profraw" "./$b.bin" $((r * 104729)) 3000 >/dev/null
  done
  set_a=("$a"-[1-8].profraw)
  # One binary with every static function twice (fold.c linked in twice).
  d=fd$major
  "clang-$major" -O1 -fprofile-generate -DAS_LIBRARY -c -o "$d-lib.o" "$KPGO_SOURCE_DIR/tests/programs/fold.c"
  "clang-$major" -O1 -fprofile-generate -o "$d.bin" "$KPGO_SOURCE_DIR/tests/programs/fold.c" "$d-lib.o"
  for r in 1 2 3 4; do
    LLVM_VP_MAX_NUM_VALS_PER_SITE=255 LLVM_PROFILE_FILE="$d-$r.profraw" "./$d.bin" $((r * 31)) 3000 $((r * 17)) 2000 >/dev/null
  done

  for threads in 1 2 3 4; do
    same_as_llvm "$major" "one-binary-j$threads" 8 "$threads" "" "${set_a[@]}" -- "${set_a[@]}"
  done
  reversed=("$a-8.profraw" "$a-7.profraw" "$a-6.profraw" "$a-5.profraw" "$a-4.profraw"
            "$a-3.profraw" "$a-2.profraw" "$a-1.profraw")
  same_as_llvm "$major" "reversed" 8 2 "" "${reversed[@]}" -- "${reversed[@]}"

  # Functions recorded twice fold into one place, in LLVM's order, weighted or not.
  twice=("$d-1.profraw" "$d-2.profraw" "$d-3.profraw" "$d-4.profraw")
  same_as_llvm "$major" "recorded-twice" 4 1 "" "${twice[@]}" -- "${twice[@]}"
  same_as_llvm "$major" "recorded-twice-j2" 4 2 "" "${twice[@]}" -- "${twice[@]}"
  twice_weighted=(--weighted-input=7,"$d-1.profraw" --weighted-input=3,"$d-2.profraw" "$d-3.profraw")
  same_as_llvm "$major" "recorded-twice-weighted" 3 1 "" "${twice_weighted[@]}" -- "${twice_weighted[@]}"

  # Weights: LLVM scales a value target by its weight only where the site already had it.
  for threads in 1 2; do
    weighted=(--weighted-input=3,"$a-1.profraw" --weighted-input=1000,"$a-2.profraw" "$a-3.profraw" "$a-4.profraw")
    same_as_llvm "$major" "weighted-j$threads" 4 "$threads" "" "${weighted[@]}" -- "${weighted[@]}"
  done
  # A weighted input first: its records are taken, then scaled.
  first=(--weighted-input=5,"$a-1.profraw" --weighted-input=9,"$a-2.profraw" --weighted-input=2,"$a-3.profraw")
  same_as_llvm "$major" "weighted-first" 3 1 "" "${first[@]}" -- "${first[@]}"
  # Weights that saturate counts and value counts (2^64 / 9e15 is about 2000).
  huge=(--weighted-input=9000000000000000,"$a-1.profraw" --weighted-input=9000000000000000,"$a-3.profraw" "$a-5.profraw")
  same_as_llvm "$major" "saturating" 3 1 "" "${huge[@]}" -- "${huge[@]}"
  python3 - saturating.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert any("overflow" in w for w in s["warnings"]), s["warnings"][:3]
PY
  pass

  # Two binaries, interleaved (as vmlinux's and its modules' profiles are): each thread folds
  # each binary's inputs apart, and the folds reach the writer in the order the binaries first
  # came; the two share function names (fold.c built twice), with other hashes.
  mixed=("$a-1.profraw" "$b-1.profraw" "$a-2.profraw" "$a-3.profraw" "$b-2.profraw" "$a-4.profraw" "$b-3.profraw")
  same_as_llvm "$major" "two-binaries-j1" 7 1 "" "${mixed[@]}" -- "${mixed[@]}"
  same_as_llvm "$major" "two-binaries-j2" 7 2 "" "${mixed[@]}" -- "${mixed[@]}"
  runs=("$a-1.profraw" "$a-2.profraw" "$a-3.profraw" "$a-4.profraw" "$a-5.profraw" "$b-1.profraw" "$b-2.profraw")
  same_as_llvm "$major" "two-binaries-runs" 7 1 "" "${runs[@]}" -- "${runs[@]}"
  # A generic input between them: what came before it is folded, LLVM reads it and the rest.
  "llvm-profdata-$major" merge -o "mid$major.profdata" "$b-3.profraw"
  between=("$a-1.profraw" "$b-1.profraw" "mid$major.profdata" "$a-2.profraw" "$b-2.profraw")
  same_as_llvm "$major" "two-binaries-generic-between" 2 1 "" "${between[@]}" -- "${between[@]}"

  # An indexed profile first sends its thread's inputs the generic way; last, they fold.
  "llvm-profdata-$major" merge -o "idx$major.profdata" "$b-1.profraw"
  same_as_llvm "$major" "indexed-first" 0 1 "" "idx$major.profdata" "${set_a[@]}" -- "idx$major.profdata" "${set_a[@]}"
  same_as_llvm "$major" "indexed-last" 8 1 "" "${set_a[@]}" "idx$major.profdata" -- "${set_a[@]}" "idx$major.profdata"

  # Sparse and text output go through the same fold.
  same_as_llvm "$major" "sparse" 8 2 --sparse "${set_a[@]}" -- "${set_a[@]}"
  same_as_llvm "$major" "text" 8 2 --text "${set_a[@]}" -- "${set_a[@]}"

  # Corrupt members contribute nothing: the result is llvm-profdata's of the others.
  head -c 3000 "$a-6.profraw" > "cut$major.profraw"
  python3 - "$a-7.profraw" "bad$major.profraw" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
# The first data record's counter pointer sent far outside the counters section.
header_words = {8: 11, 9: 14, 10: 16}[struct.unpack_from("<Q", data, 8)[0] & 0xffffffff]
record = header_words * 8 + struct.unpack_from("<Q", data, 16)[0]
struct.pack_into("<Q", data, record + 16, 1 << 40)
open(sys.argv[2], "wb").write(data)
PY
  good=("$a-1.profraw" "$a-2.profraw" "$a-3.profraw" "$a-4.profraw")
  same_as_llvm "$major" "corrupt-members" 4 2 "" "${good[@]}" -- --failure-mode=all \
    "$a-1.profraw" "cut$major.profraw" "$a-2.profraw" "bad$major.profraw" "$a-3.profraw" "$a-4.profraw"
  python3 - corrupt-members.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["merged"] == 4 and len(s["skipped"]) == 2, s
assert any("outside the counters section" in k["reason"] for k in s["skipped"]), s["skipped"]
PY
  pass
  expect_fails "corrupt member, --failure-mode=any" "$KPGO" merge -o kept.profdata "$a-1.profraw" "bad$major.profraw"
  expect_in "$WORK/err" "bad$major.profraw" "the corrupt member is named"

  # A count LLVM 19's reader warns about makes llvm-profdata 19 count the input as bad: kpgo
  # refuses it (the rest fold). LLVM 16 takes it, through the generic path.
  python3 - "$a-8.profraw" "big$major.profraw" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
version = struct.unpack_from("<Q", data, 8)[0] & 0xffffffff
words = {8: 11, 9: 14, 10: 16}[version]
h = struct.unpack_from(f"<{words}Q", data, 0)
num_data, record_size = h[3], (64 if version >= 9 else 48)
counters = words * 8 + h[2] + num_data * record_size + h[4]
struct.pack_into("<Q", data, counters, (1 << 56) + 5)
open(sys.argv[2], "wb").write(data)
PY
  large=("$a-1.profraw" "$a-2.profraw" "big$major.profraw" "$a-3.profraw")
  if ((major >= 19)); then
    same_as_llvm "$major" "large-count" 3 1 "" "$a-1.profraw" "$a-2.profraw" "$a-3.profraw" -- \
      --failure-mode=all "${large[@]}"
    expect_fails "large count, --failure-mode=any" "$KPGO" merge -o kept.profdata "${large[@]}"
    expect_in "$WORK/err" "excessively large counter value" "LLVM's reason is given"
  else
    same_as_llvm "$major" "large-count" 2 1 "" "${large[@]}" -- "${large[@]}"
  fi

  "clang-$major" -O1 -fprofile-use=one-binary-j2.kpgo -S -emit-llvm -o use.ll \
    "$KPGO_SOURCE_DIR/tests/programs/fold.c" || fail "clang-$major cannot read the fast path's profile"
  expect_in use.ll "branch_weights" "clang-$major uses the fast path's profile"
done
finish
