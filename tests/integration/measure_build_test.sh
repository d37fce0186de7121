#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/measure-build.py: a build's wall and CPU time, kept in a ledger across a run killed from
# outside (as a session's end kills it) and added up when the build goes on and finishes.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
measure=(python3 "$KPGO_SOURCE_DIR/scripts/measure-build.py")
export KPGO_MEASURE_SAMPLE_SECONDS=1
ledger=$PWD/ledger.json
busy='end=$(($(date +%s) + $1)); while [ $(date +%s) -lt $end ]; do :; done'

# A run killed halfway, measuring process and command alike: the samples stay.
# (The command runs in a session of its own: both are killed, as a machine's shutdown would.)
setsid "${measure[@]}" "$ledger" -- sh -c "echo \$\$ > busy.pid; $busy" busy 30 > /dev/null 2>&1 &
measurer=$!
sleep 4
kill -KILL "$(cat busy.pid)" -- -"$measurer" 2> /dev/null || true
wait "$measurer" 2> /dev/null || true
python3 - "$ledger" <<'PY' || fail "the killed run's samples are not in the ledger"
import json, sys
d = json.load(open(sys.argv[1]))
run = d["runs"][0]
assert len(d["runs"]) == 1 and not d.get("finished"), d
assert 2 <= run["wall"] <= 10 and run["cpu"] >= 0.5, run
PY
pass

# Going on: a second run that finishes; the totals add both up.
expect_ok "the build goes on" "${measure[@]}" "$ledger" -- sh -c "$busy" busy 3
expect_in "$WORK/out" "2 runs: " "the totals count both runs"
python3 - "$ledger" "$WORK/out" <<'PY' || fail "the totals are not the runs' sum"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["finished"] and d["runs"][1]["exit"] == 0 and d["runs"][1]["cpu"] >= 0.5, d
wall, cpu = map(int, re.search(r"(\d+) s wall, (\d+) s CPU", open(sys.argv[2]).read()).groups())
assert abs(wall - sum(r["wall"] for r in d["runs"])) <= 1, (wall, d)
assert abs(cpu - sum(r["cpu"] for r in d["runs"])) <= 1, (cpu, d)
PY
pass

# A finished ledger is not measured into again; a failing build says how to go on.
expect_fails "a finished ledger" "${measure[@]}" "$ledger" -- true
expect_in "$WORK/err" "records a finished build" "the refusal names the reason"
expect_fails "a failing build" "${measure[@]}" failing.json -- false
expect_in "$WORK/err" "run it again to go on" "a failure says how to go on"
finish
