#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo collect --ssh against a real OpenSSH server on loopback (and --local on this machine), two hosts (IPv4 and IPv6) in
# parallel: the counters file is reset, the workload runs there, the profile streams back with
# cat and is checked. The "kernel" there is a file holding a profile, at a path with a space in
# it, so quoting is tested too; bad profiles and unreachable hosts are reported, not kept.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

remote="$WORK/remote dir"
mkdir -p "$remote"
start_sshd
port=$ssh_port
pass

# The "instrumented kernel": a program whose profile the remote file serves, and a workdir that
# says it was built (its build ID and raw version are what collect checks profiles against).
clang-19 -O1 -fprofile-generate -o kernel "$KPGO_SOURCE_DIR/tests/programs/workload.c"
LLVM_PROFILE_FILE="$remote/vmlinux.profraw" ./kernel 300 2 > /dev/null
build_id=$(readelf -n kernel | awk '/Build ID/ {print $3}')
mkdir -p work
cat > work/kpgo.json <<JSON
{"instrument": {"finished": "2026-01-01T00:00:00Z", "vmlinux_build_id": "$build_id",
                "llvm": {"major": 19, "raw_version": 10}, "artifacts": {}}}
JSON
printf '#!/bin/sh\necho "ran on $(hostname)" >> "%s/ran"\n' "$remote" > workload.sh

ssh_opts=(--ssh-option=-F --ssh-option="$WORK/ssh_config")
files=(--profile-path "$remote/vmlinux.profraw" --reset-path "$remote/reset")
expect_ok "collect over ssh" "$KPGO" collect --workdir work --ssh "127.0.0.1:$port" --ssh "root@[::1]:$port" \
  "${ssh_opts[@]}" "${files[@]}" --workload "$WORK/workload.sh" --runs 2 --label web --weight 3
[[ $(cat "$remote/reset") == 1 ]] || fail "the reset file was not written"
[[ $(wc -l < "$remote/ran") == 4 ]] || fail "the workload did not run 4 times ($(wc -l < "$remote/ran"))"
pass
served=$(sha256sum < "$remote/vmlinux.profraw")
count=0
for kept in work/profiles/web-*.profraw; do
  [[ $(sha256sum < "$kept") == "$served" ]] || fail "$kept differs from the served profile"
  count=$((count + 1))
done
((count == 4)) || fail "$count profiles kept, expected 4"
pass
python3 - work/kpgo.json "$port" <<'PY'
import json, sys
profiles = json.load(open(sys.argv[1]))["collect"]["profiles"]
assert len(profiles) == 4, profiles
assert {p["target"] for p in profiles} == {"127.0.0.1:" + sys.argv[2], "root@::1:" + sys.argv[2]}, profiles
assert all(p["weight"] == 3 and p["label"] == "web" and p["kernel_release"] for p in profiles), profiles
PY
pass
expect_ok "merge what ssh collected" "$KPGO" merge -q -o web.profdata work/profiles

# Another kernel answers, a profile cut short: reported and not kept; the earlier ones stay.
clang-19 -O1 -fprofile-generate -DWORKLOAD_SALT=1 -o other "$KPGO_SOURCE_DIR/tests/programs/workload.c"
LLVM_PROFILE_FILE="$remote/vmlinux.profraw" ./other 100 1 > /dev/null
expect_fails "profile of another build" "$KPGO" collect --workdir work --ssh "127.0.0.1:$port" "${ssh_opts[@]}" \
  "${files[@]}" --workload "$WORK/workload.sh" --runs 1 --label other
expect_in "$WORK/err" "not the instrumented vmlinux $build_id" "foreign kernel named"
LLVM_PROFILE_FILE="$remote/full.profraw" ./kernel 300 2 > /dev/null
head -c 700 "$remote/full.profraw" > "$remote/vmlinux.profraw"
expect_fails "truncated profile" "$KPGO" collect --workdir work --ssh "127.0.0.1:$port" "${ssh_opts[@]}" \
  "${files[@]}" --workload "$WORK/workload.sh" --runs 1 --label cut
expect_in "$WORK/err" "truncated" "truncation named"
[[ ! -e work/profiles/other-1.profraw && ! -e work/profiles/cut-1.profraw ]] || fail "a bad profile was kept"
[[ $(ls work/profiles/web-*.profraw | wc -l) == 4 ]] || fail "earlier profiles were lost"
pass

# The same on this machine, without ssh.
LLVM_PROFILE_FILE="$remote/vmlinux.profraw" ./kernel 300 2 > /dev/null
rm -f "$remote/ran"
expect_ok "collect --local" "$KPGO" collect --json --workdir work --local "${files[@]}" --workload "$WORK/workload.sh" \
  --runs 2 --label here
[[ $(wc -l < "$remote/ran") == 2 && -f work/profiles/here-1.profraw && -f work/profiles/here-2.profraw ]] ||
  fail "collect --local did not run and keep two runs"
pass
expect_json_schema "kpgo collect" "$WORK/out"

# No server there.
expect_fails "unreachable host" "$KPGO" collect --workdir work --ssh "127.0.0.1:1" "${ssh_opts[@]}" \
  "${files[@]}" --workload "$WORK/workload.sh" --runs 1 --label gone
expect_in "$WORK/err" "cannot run commands there" "unreachable host named"
expect_fails "bad host syntax" "$KPGO" collect --workdir work --ssh "host:99999" --workload "$WORK/workload.sh"
expect_in "$WORK/err" "port '99999'" "bad port named"
finish
