#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo merge writes exactly what llvm-profdata of the matching LLVM writes, for profiles made
# here by clang 16 (raw v8), 19 and 22 (raw v10), and clang reads the result.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

for major in "${TEST_LLVM_MAJORS[@]}"; do
  llvm_pick "$major"
  make_profiles "$major" workload "w$major" 6
  profiles=(w$major-*.profraw)
  shuffled=(w$major-4.profraw w$major-1.profraw w$major-6.profraw w$major-3.profraw w$major-2.profraw w$major-5.profraw)

  "llvm-profdata-$major" merge -o "ref$major.profdata" "${profiles[@]}"
  for threads in 1 2 3; do
    expect_ok "merge -j $threads" "$KPGO" merge "${LLVM_PICK[@]}" -q -j "$threads" -o "k$major-j$threads.profdata" "${profiles[@]}"
    expect_same "ref$major.profdata" "k$major-j$threads.profdata" "LLVM $major, -j $threads"
  done
  expect_ok "default threads" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "k$major-order.profdata" "${shuffled[@]}"
  expect_same "ref$major.profdata" "k$major-order.profdata" "LLVM $major, other input order"

  # Weights, as --weighted-input and in a list file with comments. On one thread each: with
  # weights, a value site's merged counts depend on the order its inputs reach a writer, and
  # llvm-profdata's thread pool lets two inputs dealt to one writer race for it (seen in CI
  # under load), so only its one-thread output is a fixed reference.
  "llvm-profdata-$major" merge --num-threads=1 -o "refw$major.profdata" --weighted-input=3,w$major-1.profraw \
    --weighted-input=7,w$major-2.profraw w$major-3.profraw
  expect_ok "weighted" "$KPGO" merge "${LLVM_PICK[@]}" -q -j 1 -o "kw$major.profdata" --weighted-input=3,w$major-1.profraw \
    --weighted-input=7,w$major-2.profraw w$major-3.profraw
  expect_same "refw$major.profdata" "kw$major.profdata" "LLVM $major, weighted inputs"
  printf '# weights for a test\n3,%s\n\n7,%s\n' w$major-1.profraw w$major-2.profraw > list$major.txt
  "llvm-profdata-$major" merge --num-threads=1 -o "refl$major.profdata" -f list$major.txt w$major-3.profraw
  expect_ok "list file" "$KPGO" merge "${LLVM_PICK[@]}" -q -j 1 -o "kl$major.profdata" -f list$major.txt w$major-3.profraw
  expect_same "refl$major.profdata" "kl$major.profdata" "LLVM $major, -f list"

  # A directory of profiles, sparse and text output, indexed plus raw inputs.
  mkdir -p "dir$major" && cp "${profiles[@]}" "dir$major/"
  expect_ok "directory input" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "kd$major.profdata" "dir$major"
  expect_same "ref$major.profdata" "kd$major.profdata" "LLVM $major, directory input"
  "llvm-profdata-$major" merge --sparse -o "refs$major.profdata" "${profiles[@]}"
  expect_ok "sparse" "$KPGO" merge "${LLVM_PICK[@]}" -q --sparse -o "ks$major.profdata" "${profiles[@]}"
  expect_same "refs$major.profdata" "ks$major.profdata" "LLVM $major, --sparse"
  "llvm-profdata-$major" merge --text -o "reft$major.proftext" "${profiles[@]}"
  expect_ok "text" "$KPGO" merge "${LLVM_PICK[@]}" -q --text -o "kt$major.proftext" "${profiles[@]}"
  expect_same "reft$major.proftext" "kt$major.proftext" "LLVM $major, --text"
  "llvm-profdata-$major" merge -o "refi$major.profdata" "ref$major.profdata" w$major-1.profraw
  expect_ok "indexed + raw" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "ki$major.profdata" "ref$major.profdata" w$major-1.profraw
  expect_same "refi$major.profdata" "ki$major.profdata" "LLVM $major, indexed and raw inputs"

  # Several profiles in one file, as `cat a.profraw b.profraw` makes: each is merged in turn,
  # exactly as llvm-profdata merges them, on both paths, and as if they were separate inputs.
  cat w$major-1.profraw w$major-2.profraw w$major-3.profraw w$major-1.profraw > "cat$major.profraw"
  "llvm-profdata-$major" merge -o "refc$major.profdata" "cat$major.profraw"
  "llvm-profdata-$major" merge -o "refsep$major.profdata" w$major-1.profraw w$major-2.profraw \
    w$major-3.profraw w$major-1.profraw
  expect_same "refc$major.profdata" "refsep$major.profdata" "LLVM $major: llvm-profdata merges a concatenation as its parts"
  for path in "" --no-fast-path; do
    expect_ok "concatenated $path" "$KPGO" merge "${LLVM_PICK[@]}" -q $path -o "kc$major.profdata" "cat$major.profraw"
    expect_same "refc$major.profdata" "kc$major.profdata" "LLVM $major, concatenated profiles ${path:-fast path}"
  done

  # The summary counts what the profile holds: value sites of both kinds were recorded.
  "$KPGO" merge "${LLVM_PICK[@]}" --json -o "kj$major.profdata" "${profiles[@]}" > "summary$major.json"
  python3 - "summary$major.json" "$major" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["merged"] == 6 and s["inputs"] == 6, s
assert s["llvm"]["major"] == int(sys.argv[2]), s
assert s["functions"] == 5 and s["functions_with_counts"] >= 4, s  # copy_rounds is inlined
assert s["indirect_call_sites"] >= 1 and s["memop_sites"] >= 1, s
assert s["max_count"] > 1000 and s["counters"] > 6, s
PY
  pass

  profile_used "$major" "k$major-j1.profdata" || fail "clang-$major cannot use kpgo's profile"
  pass
done

# One kpgo merges both formats in one run of the suite; and the output of each is for its own
# clang: clang 16 refuses what LLVM 19 writes, which is why kpgo never merges v8 with LLVM 19.
"llvm-profdata-19" merge -o from19.profdata w19-*.profraw
if clang-16 -fprofile-use=from19.profdata -c -o /dev/null "$KPGO_SOURCE_DIR/tests/programs/workload.c" 2>/dev/null; then
  fail "clang 16 read an LLVM 19 profile: the version test below proves nothing"
fi
pass
# Raw v10 serves clang 19 to 22; the consuming clang decides the indexed version. Unnamed, the
# oldest backend that reads v10 merges (19: indexed 12, which clang 22 reads too); --llvm -22
# gives clang 22 its own indexed 13, which clang 19 refuses; --llvm -19 gives clang 19 one it reads.
indexed_version() { python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(), 8)[0] & 0xffffffff)' "$1"; }
expect_ok "clang 22's raw profiles, no consumer named" "$KPGO" merge -q -o v10-auto.profdata w22-*.profraw
[[ $(indexed_version v10-auto.profdata) == 12 ]] || fail "raw v10 unnamed: indexed $(indexed_version v10-auto.profdata), not 12"
profile_used 22 v10-auto.profdata || fail "clang 22 cannot use the LLVM 19 backend's profile"
[[ $(indexed_version k22-j1.profdata) == 13 ]] || fail "--llvm -22: indexed $(indexed_version k22-j1.profdata), not 13"
if clang-19 -fprofile-use=k22-j1.profdata -c -o /dev/null "$KPGO_SOURCE_DIR/tests/programs/workload.c" 2>/dev/null; then
  fail "clang 19 read an LLVM 22 profile: the choice of backend would not matter"
fi
expect_ok "--llvm -19 on clang 22's raw profiles" "$KPGO" merge --llvm -19 -q -o for19.profdata w22-*.profraw
clang-19 -fprofile-use=for19.profdata -c -o /dev/null "$KPGO_SOURCE_DIR/tests/programs/workload.c" 2>/dev/null ||
  fail "clang 19 cannot read what --llvm -19 merged"
pass

# MC/DC coverage profiles carry bitmap bytes: merged on the generic path, byte for byte.
clang-19 -fprofile-instr-generate -fcoverage-mapping -fcoverage-mcdc -o decisions \
  "$KPGO_SOURCE_DIR/tests/programs/decisions.c"
LLVM_PROFILE_FILE=mcdc-1.profraw ./decisions || true
LLVM_PROFILE_FILE=mcdc-2.profraw ./decisions a b c d || true
llvm-profdata-19 merge -o refmcdc.profdata mcdc-1.profraw mcdc-2.profraw
expect_ok "MC/DC profiles" "$KPGO" merge -q -o kmcdc.profdata mcdc-1.profraw mcdc-2.profraw
expect_same refmcdc.profdata kmcdc.profdata "LLVM 19, MC/DC bitmaps"
pass

expect_fails "--llvm -16 with clang 19 profiles" "$KPGO" merge --llvm -16 -o x.profdata w19-1.profraw
expect_in "$WORK/err" "raw profile format version 10, but LLVM 16 reads only version 8" "version mismatch message"
expect_ok "--llvm -17 picks the LLVM 16 backend" "$KPGO" merge --llvm -17 --json -o k17.profdata w16-1.profraw
expect_in "$WORK/out" '"major": 16' "backend for clang 17"
finish
