# SPDX-License-Identifier: MIT
# Helpers for kpgo's integration tests: each test is a bash script that runs the real kpgo
# binary against real compilers and fails on the first broken expectation.
set -euo pipefail

: "${KPGO:?set KPGO to the kpgo binary}"
: "${KPGO_SOURCE_DIR:?set KPGO_SOURCE_DIR to the source tree}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kpgo-it-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

checks=0
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { checks=$((checks + 1)); }
finish() { echo "${0##*/}: $checks checks passed"; }

# expect_same FILE_A FILE_B WHAT
expect_same() {
  cmp -s "$1" "$2" || fail "$3: $1 and $2 differ"
  pass
}

# expect_fails "what" command...: runs it, expects a non-zero exit, keeps stderr in $WORK/err
expect_fails() {
  local what=$1
  shift
  if "$@" >"$WORK/out" 2>"$WORK/err"; then
    fail "$what: succeeded but should have failed"
  fi
  pass
}

expect_ok() {
  local what=$1
  shift
  "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "$what: exit $?"; }
  pass
}

# expect_in FILE TEXT WHAT
expect_in() {
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$3: '$2' not found"; }
  pass
}

# make_profiles MAJOR PROGRAM PREFIX N: builds tests/programs/PROGRAM.c with clang-MAJOR and
# writes N raw profiles, each from a run with other inputs.
make_profiles() {
  local major=$1 program=$2 prefix=$3 runs=$4
  "clang-$major" -O1 -fprofile-generate -o "$prefix.bin" "$KPGO_SOURCE_DIR/tests/programs/$program.c"
  for ((r = 1; r <= runs; r++)); do
    LLVM_PROFILE_FILE="$prefix-$r.profraw" "./$prefix.bin" $((r * 211)) "$r" >/dev/null
  done
}

# profile_used MAJOR PROFDATA: clang-MAJOR must read the profile and annotate branches with it.
profile_used() {
  local major=$1 profile=$2
  "clang-$major" -O1 -fprofile-use="$profile" -S -emit-llvm -o "$WORK/use.ll" \
    "$KPGO_SOURCE_DIR/tests/programs/workload.c" 2>"$WORK/use.err" ||
    { cat "$WORK/use.err" >&2; return 1; }
  grep -q 'branch_weights' "$WORK/use.ll"
}
