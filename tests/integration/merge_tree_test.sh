#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fan-in at fleet scale: profiles merged per shard (a machine, a CI job), then the shards'
# .profdata merged, give exactly the bytes of one merge of everything, which are llvm-profdata's;
# one level and two deep; with weights, the bytes llvm-profdata gives for the same tree. For
# profiles made here by clang 16, 19 and 22.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

for major in "${TEST_LLVM_MAJORS[@]}"; do
  llvm_pick "$major"
  make_profiles "$major" workload "t$major" 16
  "llvm-profdata-$major" merge -o "flat-ref$major.profdata" t$major-*.profraw
  expect_ok "flat merge" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "flat$major.profdata" t$major-*.profraw
  expect_same "flat-ref$major.profdata" "flat$major.profdata" "LLVM $major, flat merge"

  # Four shards of four, as four collect jobs would merge their own profiles.
  shards=()
  for shard in 0 1 2 3; do
    members=()
    for r in 1 2 3 4; do members+=("t$major-$((shard * 4 + r)).profraw"); done
    expect_ok "shard $shard" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "shard$major-$shard.profdata" "${members[@]}"
    shards+=("shard$major-$shard.profdata")
  done
  expect_ok "merge of the shards" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "tree$major.profdata" "${shards[@]}"
  expect_same "flat$major.profdata" "tree$major.profdata" "LLVM $major, shards then their merge"

  # Two levels: pairs of shards, then the pairs.
  expect_ok "pair 0" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "pair$major-0.profdata" "${shards[@]:0:2}"
  expect_ok "pair 1" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "pair$major-1.profdata" "${shards[@]:2:2}"
  expect_ok "merge of the pairs" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "tree2-$major.profdata" \
    "pair$major-0.profdata" "pair$major-1.profdata"
  expect_same "flat$major.profdata" "tree2-$major.profdata" "LLVM $major, two levels"

  # With weights a tree is what llvm-profdata makes of the same tree, not of one merge: LLVM
  # weights a call target only where the target was already there (InstrProfValueSiteRecord::merge
  # inserts a new one unweighted), so value data depends on the grouping. docs/merging.md.
  "llvm-profdata-$major" merge -o "wshard-ref$major.profdata" \
    --weighted-input=3,t$major-1.profraw --weighted-input=3,t$major-2.profraw
  expect_ok "weighted shard" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "wshard$major.profdata" \
    --weighted-input=3,t$major-1.profraw --weighted-input=3,t$major-2.profraw
  expect_same "wshard-ref$major.profdata" "wshard$major.profdata" "LLVM $major, weighted shard"
  "llvm-profdata-$major" merge -o "wtree-ref$major.profdata" "wshard-ref$major.profdata" t$major-3.profraw
  expect_ok "weighted tree" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "wtree$major.profdata" \
    "wshard$major.profdata" t$major-3.profraw
  expect_same "wtree-ref$major.profdata" "wtree$major.profdata" "LLVM $major, weighted tree"
  profile_used "$major" "tree$major.profdata" || fail "clang $major does not use the tree merge"
  pass
done
finish
