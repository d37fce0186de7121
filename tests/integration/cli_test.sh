#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command-line conventions: --help and --version on stdout, exit codes, logs on stderr,
# --json a single document on stdout, -q silence, NO_COLOR.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

expect_ok "--help" "$KPGO" --help
sed -n '/^Subcommands:/,$p' "$WORK/out" | awk 'NF {print $1}' | tail -n +2 > subcommands
printf 'doctor\ninstrument\ncollect\nmerge\noptimize\nrun\nbench\n' > expected
expect_same expected subcommands "--help lists exactly the subcommands that exist"
expect_ok "merge --help" "$KPGO" merge --help
expect_in "$WORK/out" "--failure-mode" "merge --help"
expect_in "$WORK/out" "--weighted-input" "merge --help"

expect_ok "--version" "$KPGO" --version
expect_in "$WORK/out" "kpgo 0." "--version names kpgo"
expect_in "$WORK/out" "LLVM 16." "--version lists the LLVM 16 backend"
expect_in "$WORK/out" "LLVM 19." "--version lists the LLVM 19 backend"

expect_fails "no subcommand" "$KPGO"
expect_fails "unknown subcommand" "$KPGO" frobnicate
expect_fails "unknown option" "$KPGO" merge --no-such-option

make_profiles 19 workload p 2
expect_ok "merge --json" "$KPGO" merge --json -o j.profdata p-1.profraw p-2.profraw
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["merged"] == 2' "$WORK/out" ||
  fail "--json output is not one JSON document"
pass
[[ ! -s "$WORK/err" ]] || fail "a clean merge logged on stderr"
pass
expect_ok "-q" "$KPGO" -q merge -o q.profdata p-1.profraw
[[ ! -s "$WORK/out" && ! -s "$WORK/err" ]] || fail "-q still printed"
pass
expect_ok "-v" "$KPGO" -v merge -o v.profdata p-1.profraw
expect_in "$WORK/err" "kpgo: debug: merging with LLVM 19" "-v logs the backend on stderr"

: > empty.profraw
NO_COLOR=1 "$KPGO" merge --failure-mode=warn -o w.profdata p-1.profraw empty.profraw 2>"$WORK/err" >/dev/null ||
  fail "warn mode failed"
! grep -q $'\e\[' "$WORK/err" || fail "NO_COLOR: escape codes on stderr"
pass
expect_in "$WORK/err" "kpgo: warning: skipped empty.profraw: empty file" "warning format"
finish
