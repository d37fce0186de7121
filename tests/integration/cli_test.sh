#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command-line conventions: --help and --version on stdout, exit codes, logs on stderr,
# --json a single document on stdout, -q silence, NO_COLOR.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

expect_ok "--help" "$KPGO" --help
sed -n '/^Subcommands:/,$p' "$WORK/out" | awk 'NF {print $1}' | tail -n +2 > subcommands
printf 'doctor\ninstrument\ncollect\nmerge\noptimize\nrun\nbench\nartifacts\n' > expected
expect_same expected subcommands "--help lists exactly the subcommands that exist"
expect_ok "merge --help" "$KPGO" merge --help
expect_in "$WORK/out" "--failure-mode" "merge --help"
expect_in "$WORK/out" "--weighted-input" "merge --help"

expect_ok "--version" "$KPGO" --version
expect_in "$WORK/out" "kpgo 0." "--version names kpgo"
expect_in "$WORK/out" "LLVM 16." "--version lists the LLVM 16 backend"
expect_in "$WORK/out" "LLVM 19." "--version lists the LLVM 19 backend"

# A command line kpgo cannot parse: one "kpgo: error:" line naming what is wrong, exit 2.
expect_usage_error() {  # WHAT TEXT ARGS...
  local what=$1 text=$2 status=0
  shift 2
  "$KPGO" "$@" > "$WORK/out" 2> "$WORK/err" || status=$?
  ((status == 2)) || fail "$what: exit $status, not 2"
  [[ $(head -1 "$WORK/err") == "kpgo: error: "*"$text"* ]] || fail "$what: said $(head -1 "$WORK/err")"
  pass
  [[ ! -s $WORK/out ]] || fail "$what: printed on stdout"
}
expect_usage_error "no subcommand" "A subcommand is required"
expect_usage_error "unknown subcommand" "'frobnicate' is not a kpgo command" frobnicate
expect_usage_error "unknown option" "--no-such-option" merge --no-such-option
expect_usage_error "a number that is not one" "--rounds" bench --rounds many
expect_usage_error "artifacts without a stage" "--stage or --unpack is required" artifacts

# Bash completion, from the script that is installed, against this kpgo.
complete_words() {  # WORD...: what completing the last word offers
  (
    PATH=$(dirname "$KPGO"):$PATH
    source "$KPGO_SOURCE_DIR/scripts/completion/kpgo.bash"
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _kpgo
    echo "${COMPREPLY[*]}"
  )
}
[[ $(complete_words kpgo "") == "doctor instrument collect merge optimize run bench artifacts" ]] ||
  fail "completion of commands: $(complete_words kpgo "")"
[[ $(complete_words kpgo -v bench --ro) == --rounds ]] || fail "completion of bench's options"
[[ $(complete_words kpgo merge --failure-mode "") == "any all warn" ]] || fail "completion of a value"
pass

make_profiles 19 workload p 2
expect_ok "merge --json" "$KPGO" merge --json -o j.profdata p-1.profraw p-2.profraw
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["merged"] == 2' "$WORK/out" ||
  fail "--json output is not one JSON document"
expect_json_schema "kpgo merge" "$WORK/out"
pass
[[ ! -s "$WORK/err" ]] || fail "a clean merge logged on stderr"
pass
# --json on a failure: still one document on stdout, the error object; the line on stderr.
expect_fails "merge --json of nothing usable" "$KPGO" --json merge -o bad.profdata "$WORK/nosuch.profraw"
python3 - "$WORK/out" <<'PY' || fail "--json failure output is not one error object"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["error"]["command"] == "merge" and "nosuch.profraw" in d["error"]["message"], d
PY
expect_json_schema "Any command that fails" "$WORK/out"
expect_in "$WORK/err" "kpgo: error:" "--json failure on stderr too"

# -o -: the profile on stdout, byte for byte what a file gets, the summary on stderr.
expect_ok "merge -o -" "$KPGO" merge -o - p-1.profraw p-2.profraw
"$KPGO" merge -q -o file.profdata p-1.profraw p-2.profraw
expect_same file.profdata "$WORK/out" "-o - writes the profile to stdout"
expect_in "$WORK/err" "merged 2 of 2 inputs into -" "-o -: summary on stderr"
[[ ! -e ./- ]] || fail "-o - made a file named -"
pass
! compgen -G "${TMPDIR:-/tmp}/kpgo-merge-stdout-*" > /dev/null || fail "-o - left its temporary file"
pass

# Outputs get the permissions the umask leaves, or those of the file they replace.
(umask 077 && "$KPGO" merge -q -o private.profdata p-1.profraw)
[[ $(stat -c %a private.profdata) == 600 ]] || fail "umask 077: mode $(stat -c %a private.profdata)"
(umask 022 && "$KPGO" merge -q -o shared.profdata p-1.profraw)
[[ $(stat -c %a shared.profdata) == 644 ]] || fail "umask 022: mode $(stat -c %a shared.profdata)"
chmod 640 shared.profdata
"$KPGO" merge -q -o shared.profdata p-2.profraw
[[ $(stat -c %a shared.profdata) == 640 ]] || fail "a replaced output lost its mode"
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
# run --dry-run: which phases would run and their commands, and nothing made.
if [[ -f /usr/src/linux-source-6.12.tar.xz ]]; then
  expect_ok "run --dry-run" "$KPGO" run --dry-run --workdir dry-work
  expect_in "$WORK/out" "# instrument: runs" "run --dry-run: instrument"
  expect_in "$WORK/out" "LLVM=-19 ARCH=x86_64" "run --dry-run: the make commands"
  expect_in "$WORK/out" "# optimize: runs" "run --dry-run: optimize"
  [[ ! -e dry-work ]] || fail "run --dry-run made its workdir"
  pass
  expect_ok "run --dry-run --json" "$KPGO" run --dry-run --json --workdir dry-work
  expect_json_schema "kpgo run --dry-run" "$WORK/out"
fi

finish
