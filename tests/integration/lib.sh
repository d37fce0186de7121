# SPDX-License-Identifier: MIT
# Helpers for kpgo's integration tests: each test is a bash script that runs the real kpgo
# binary against real compilers and fails on the first broken expectation.
set -euo pipefail

: "${KPGO:?set KPGO to the kpgo binary}"
: "${KPGO_SOURCE_DIR:?set KPGO_SOURCE_DIR to the source tree}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kpgo-it-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# Logs that outlive the test, even one killed at its timeout: what it says on stderr, and the
# output of its long steps. scripts/test.sh prints their tails when the test fails.
TEST_LOGS=${KPGO_BUILD_DIR:-$WORK}/test-logs/${KPGO_TEST_NAME:-${0##*/}}
rm -rf "$TEST_LOGS"
mkdir -p "$TEST_LOGS"
exec 2> >(tee -a "$TEST_LOGS/stderr.log" >&2)
test_started=$(date +%s)
# step TEXT: a progress line with the seconds since the test started
step() { echo "[$(($(date +%s) - test_started)) s] $*" >&2; }

# The LLVM majors the merge and runtime tests cover, one of each raw format kpgo merges (16: raw
# v8, indexed 9; 19: raw v10, indexed 12; 22: raw v10, indexed 13): those setup installs.
read -r -a TEST_LLVM_MAJORS <<< "${KPGO_TEST_LLVM_MAJORS:-16 19 22}"
# llvm_pick MAJOR: sets LLVM_PICK to the kpgo merge options that merge clang MAJOR's raw profiles
# with LLVM MAJOR. Without them raw v10 goes to the oldest backend that reads it (19), whose
# indexed 12 both clang 19 and 22 read; clang 22's own indexed 13 is asked for by name.
llvm_pick() {
  LLVM_PICK=()
  if (($1 > 19)); then LLVM_PICK=(--llvm "-$1"); fi
}

checks=0
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { checks=$((checks + 1)); }
finish() { echo "${0##*/}: $checks checks passed"; }
# How many randomly damaged inputs a test makes: DEFAULT, or KPGO_TEST_MUTATIONS when set (the
# sanitizer run of scripts/test.sh sets fewer: each run of kpgo costs more there, and the
# fuzz stage covers random damage in depth under the same sanitizers).
mutations() { echo "${KPGO_TEST_MUTATIONS:-$1}"; }

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

# kpgo appends to a workdir's build logs run after run (a resumed build keeps its history), so a
# check of a build's log reads only what this test run added: mark_logs DIR... before the runs
# notes each *.log's size, new_log_text DIR... prints what the logs got since (a new log whole).
mark_logs() {
  local dir log
  : >"$WORK/log-marks"
  for dir in "$@"; do
    for log in "$dir"/*.log; do
      [[ -f $log ]] && echo "$(stat -c %s "$log") $log" >>"$WORK/log-marks"
    done
  done
  return 0
}
new_log_text() {
  local dir log size
  for dir in "$@"; do
    for log in "$dir"/*.log; do
      [[ -f $log ]] || continue
      size=$(awk -v path="$log" '$2 == path { print $1 }' "$WORK/log-marks")
      tail -c +"$((${size:-0} + 1))" "$log"
    done
  done
}

# expect_lto_optimized MANIFEST LTO: the instrumented and optimized builds recorded with LTO
# (thin or full), and the profile did its work in the optimized one: over 95% of its functions
# and of the hot ones matched, over 100 functions in .text.hot, indirect calls promoted, and
# its text ordered by temperature (text_order.py).
expect_lto_optimized() {
  python3 - "$1" "$2" <<'PY' || fail "$1: the $2-LTO optimized build, as kpgo.json records it"
import json, sys
m, lto = json.load(open(sys.argv[1])), sys.argv[2]
assert m["instrument"]["lto"] == lto and m["optimize"]["lto"] == lto, (m["instrument"]["lto"], m["optimize"]["lto"])
r = m["optimize"]["report"]
assert r["matched"] / r["functions"] > 0.95 and r["hot_matched"] / r["hot"] > 0.95, r
assert m["optimize"]["layout"]["hot"] > 100, m["optimize"]["layout"]
assert m["optimize"]["layout"]["promoted_indirect_calls"] > 0, m["optimize"]["layout"]
PY
  python3 "$KPGO_SOURCE_DIR/tests/integration/text_order.py" 19 "$(dirname "$1")/build-optimized" --hot 100 \
    > "$TEST_LOGS/text-order.out" 2>&1 ||
    fail "the $2-LTO optimized kernel's text is not ordered by temperature: $(tail -2 "$TEST_LOGS/text-order.out")"
  pass
}

# The --json document in FILE matches its example in docs/json.md (the section "## HEADING").
expect_json_schema() {  # HEADING FILE
  python3 "$KPGO_SOURCE_DIR/tests/integration/json_schema.py" "$KPGO_SOURCE_DIR/docs/json.md" "$1" "$2" ||
    fail "$1 --json does not match docs/json.md"
  pass
}
# HTML PNG: headless Chromium's screenshot of a kpgo bench --html report (--no-sandbox: the tests
# may run as root, which Chromium's sandbox refuses).
screenshot_report() {
  local chromium
  chromium=$(command -v chromium-headless-shell) || fail "chromium-headless-shell is missing: scripts/setup.sh installs it"
  "$chromium" --no-sandbox --hide-scrollbars --window-size=1000,"${3:-1200}" --screenshot="$(realpath "$2")" \
    "file://$(realpath "$1")" > "$TEST_LOGS/chromium.log" 2>&1 ||
    { tail -5 "$TEST_LOGS/chromium.log" >&2; fail "chromium could not take a screenshot of $1"; }
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

# start_sshd [SSHD_CONFIG_LINE...]: a real OpenSSH server on loopback (IPv4 and IPv6) at
# $ssh_port, root by key only, for the tests of kpgo's ssh paths; $WORK/ssh_config is the client
# side, passed to kpgo as --ssh-option=-F --ssh-option=$WORK/ssh_config. Stopped on exit.
start_sshd() {
  ssh_port=$((22000 + RANDOM % 2000))
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key"
  cp "$WORK/client_key.pub" "$WORK/authorized_keys"
  {
    printf '%s\n' "Port $ssh_port" "ListenAddress 127.0.0.1" "ListenAddress ::1" \
      "HostKey $WORK/host_key" "AuthorizedKeysFile $WORK/authorized_keys" "PidFile $WORK/sshd.pid" \
      "StrictModes no" "PermitRootLogin yes" "PasswordAuthentication no" \
      "KbdInteractiveAuthentication no" "UsePAM no" "$@"
  } > "$WORK/sshd_config"
  /usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log"
  trap 'kill $(cat "$WORK/sshd.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
  printf '%s\n' "Host *" "  User root" "  IdentityFile $WORK/client_key" "  StrictHostKeyChecking no" \
    "  UserKnownHostsFile /dev/null" "  LogLevel ERROR" > "$WORK/ssh_config"
  for _ in $(seq 50); do ssh -F "$WORK/ssh_config" -p "$ssh_port" 127.0.0.1 true 2>/dev/null && break; sleep 0.1; done
  ssh -F "$WORK/ssh_config" -p "$ssh_port" 127.0.0.1 true || { cat "$WORK/sshd.log" >&2; fail "sshd did not come up"; }
}
