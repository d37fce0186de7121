#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo run end to end on Debian's 6.12 source with clang 19 and the small config: profiles
# collected in QEMU and checked, a merge clang 19 reads, an optimized kernel that boots with a
# large share of hot functions matched; a second run redoes nothing; a changed workload redoes
# collect; a profile from elsewhere matches nothing and fails.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
# The instrument test's workdir: its kernel is this pipeline's, so instrument has nothing to do.
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/instrument-6.12
manifest=$workdir/kpgo.json

step "kpgo run: collect, merge, optimize, smoke boot"
"$KPGO" run --source "$tarball" --workdir "$workdir" --runs 2 > "$TEST_LOGS/run1.out" 2> "$TEST_LOGS/run1.err" ||
  { tail -30 "$TEST_LOGS/run1.err" >&2; fail "kpgo run failed"; }
pass
expect_in "$TEST_LOGS/run1.out" "the PGO-optimized kernel: $workdir/build-optimized/arch/x86/boot/bzImage" "final output names the kernel"
expect_in "$TEST_LOGS/run1.out" "smoke boot ok" "the optimized kernel booted"
python3 - "$manifest" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
profiles = m["collect"]["profiles"]
assert len(profiles) == 2, profiles
for p in profiles:
    assert os.path.getsize(p["path"]) == p["size"] and p["target"] == "qemu", p
    assert p["kernel_release"].startswith("6.12."), p
r = m["optimize"]["report"]
assert r["functions"] > 10000, r
assert r["matched"] / r["functions"] > 0.95, r
assert r["hot"] > 1000 and r["hot_matched"] / r["hot"] > 0.95, r
assert m["optimize"]["booted"] and m["optimize"]["finished"], m["optimize"]
assert m["merge"]["sha256"] and m["merge"]["functions_with_counts"] > 1000, m["merge"]
PY
pass
# The merged profile is for clang 19, and clang 19 reads it.
echo 'int f(int x) { return x + 1; }' > probe.c
clang-19 -O2 -fprofile-use="$workdir/vmlinux.profdata" -c probe.c -o probe.o 2> probe.err ||
  { cat probe.err >&2; fail "clang 19 cannot read the merged profile"; }
pass

# kpgo bench: a baseline built without profile, the layout check, and two rounds of each kernel
# in QEMU with -icount, where the same kernel and workload count the same instructions each round.
step "kpgo bench in QEMU: baseline build, 2 rounds"
"$KPGO" bench --workdir "$workdir" --rounds 2 > "$TEST_LOGS/bench.out" 2> "$TEST_LOGS/bench.err" ||
  { tail -30 "$TEST_LOGS/bench.err" >&2; fail "kpgo bench failed"; }
pass
expect_in "$TEST_LOGS/bench.out" "guest instructions" "bench prints its table"
python3 - "$manifest" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["bench"]
names = {w["name"]: w for w in b["workloads"]}
assert set(names) == {"default", "archive"}, names
assert names["default"]["trained"] and not names["archive"]["trained"], names
for w in b["workloads"]:
    for kernel in ("baseline_instructions", "pgo_instructions"):
        runs = w[kernel]
        assert len(runs) == 2 and all(r > 1_000_000 for r in runs), (w["name"], kernel, runs)
        assert runs[0] == runs[1], f"{w['name']} {kernel}: not deterministic: {runs}"
    assert w["baseline_instructions"] != w["pgo_instructions"], w
layout = b["layout"]
assert layout["pgo"]["hot"] > layout["baseline"]["hot"], layout
assert layout["pgo"]["unlikely"] != layout["baseline"]["unlikely"], layout
assert layout["promoted_indirect_calls"] > 0, layout
PY
pass
# kpgo bench --ssh over a real OpenSSH server on loopback. A boot there is what the user's boot
# command makes it: here the command "installs" a kernel by writing its identity to a file the
# machine's uname reads, and the switch lands 4 s after the command returns, as a reboot would.
# kpgo must wait for the wanted kernel, then time each workload by the machine's wall clock.
mkdir -p fakebin
cat > fakebin/uname <<SH
#!/bin/sh
case "\$1" in -r) sed -n 1p "$WORK/running" ;; -v) sed -n 2p "$WORK/running" ;; *) exec /bin/uname "\$@" ;; esac
SH
cat > fakebin/cat <<SH
#!/bin/sh
[ "\$1" = /proc/sys/kernel/random/boot_id ] && exec sed -n 3p "$WORK/running"
exec /bin/cat "\$@"
SH
chmod +x fakebin/uname fakebin/cat
printf '%s\n' "some other kernel" "#1" "first-boot" > running
start_sshd "SetEnv PATH=$WORK/fakebin:/usr/bin:/bin"
cat > boot.sh <<'SH'
#!/bin/sh
echo "$KPGO_KERNEL $KPGO_BZIMAGE $KPGO_SSH_HOST" >> "$WORK/boots"
[ -f "$KPGO_BZIMAGE" ] || exit 3
(sleep 4; printf '%s\n%s\n%s\n' "$KPGO_RELEASE" "$KPGO_VERSION" "$(/bin/cat /proc/sys/kernel/random/uuid)" \
  > "$WORK/running") > /dev/null 2>&1 &
SH
export WORK
ssh_opts=(--ssh "127.0.0.1:$ssh_port" --ssh-option=-F --ssh-option="$WORK/ssh_config")
step "kpgo bench --ssh"
"$KPGO" bench --workdir "$workdir" --rounds 2 "${ssh_opts[@]}" --boot-command "sh $WORK/boot.sh" \
  --workload archive > "$TEST_LOGS/bench-ssh.out" 2> "$TEST_LOGS/bench-ssh.err" || { tail -30 "$TEST_LOGS/bench-ssh.err" >&2; fail "kpgo bench --ssh failed"; }
pass
expect_in "$TEST_LOGS/bench-ssh.out" "wall time on 127.0.0.1:$ssh_port" "bench --ssh prints its table"
[[ $(cut -d' ' -f1 boots | tr '\n' ' ') == "baseline pgo pgo baseline " ]] ||
  fail "boots not alternating per round: $(cat boots)"
pass
python3 - "$manifest" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["bench"]
assert b["unit"] == "nanoseconds" and b["machine"].startswith("127.0.0.1:"), b
(w,) = b["workloads"]
assert w["name"] == "archive", w
for kernel in ("baseline_wall_ns", "pgo_wall_ns"):
    assert len(w[kernel]) == 2 and all(t > 1_000_000 for t in w[kernel]), w
for boots in b["boot_seconds"].values():
    assert len(boots) == 2 and all(s >= 4 for s in boots), b["boot_seconds"]
PY
pass
# A boot command that does not boot is caught: the baseline, booted last, is still up when the
# baseline is wanted again, but in the same boot.
echo true > wrong-boot.sh
cp running running.kept
expect_fails "bench --ssh with the wrong kernel running" "$KPGO" bench --workdir "$workdir" --rounds 1 \
  "${ssh_opts[@]}" --boot-command "sh $WORK/wrong-boot.sh" --boot-timeout 5 --workload archive
expect_in "$WORK/err" "did not come up with the baseline kernel" "a boot that did not happen is reported"
expect_in "$WORK/err" "it runs $(head -1 running.kept) $(sed -n 2p running.kept), still in the boot from before" \
  "the running kernel is named"
# One that boots the other kernel is caught too.
printf '#!/bin/sh\n[ "$KPGO_KERNEL" = baseline ] && export KPGO_RELEASE=6.0 KPGO_VERSION="#9"\nexec sh %s\n' \
  "$WORK/boot.sh" > other-boot.sh
expect_fails "bench --ssh with another kernel booted" "$KPGO" bench --workdir "$workdir" --rounds 1 \
  "${ssh_opts[@]}" --boot-command "sh $WORK/other-boot.sh" --boot-timeout 10 --workload archive
expect_in "$WORK/err" "it runs 6.0 #9" "the other kernel is named"

[[ $(readelf -n "$workdir/build-optimized/vmlinux" | awk '/Build ID/ {print $3}') != \
   $(readelf -n "$workdir/build-instrumented/vmlinux" | awk '/Build ID/ {print $3}') ]] ||
  fail "the optimized vmlinux is the instrumented one"
pass

# Again: every phase is up to date and nothing is rebuilt.
vmlinux_time=$(stat -c %Y "$workdir/build-optimized/vmlinux")
start=$(date +%s)
expect_ok "second kpgo run" "$KPGO" run --source "$tarball" --workdir "$workdir" --runs 2
for phase in instrument collect merge optimize; do
  grep -qE "^$phase +up to date$" "$WORK/out" || { cat "$WORK/out" >&2; fail "second run redid $phase"; }
done
pass
(($(date +%s) - start < 60)) || fail "the second run took $(($(date +%s) - start)) s"
[[ $(stat -c %Y "$workdir/build-optimized/vmlinux") == "$vmlinux_time" ]] || fail "the second run relinked vmlinux"
pass

# A changed workload redoes collect (this one fails, so the run stops there, with the reason).
printf '#!/bin/sh\necho broken on purpose >&2\nexit 3\n' > broken.sh
expect_fails "run with a failing workload" "$KPGO" run --source "$tarball" --workdir "$workdir" --runs 1 --workload "$WORK/broken.sh"
expect_in "$WORK/err" "the workload exited with 3" "the failed run's reason"
[[ $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["collect"]["profiles"]))' "$manifest") == 2 ]] ||
  fail "a failed collect replaced the kept profiles"
pass

# A profile of another program counts none of this kernel's functions: optimize refuses it
# before building anything, and the optimized kernel and its record stay as they were.
clang-19 -O1 -fprofile-generate -o other "$KPGO_SOURCE_DIR/tests/programs/workload.c"
LLVM_PROFILE_FILE=other.profraw ./other 100 1 > /dev/null
cp "$manifest" manifest.before
expect_fails "optimize with a foreign profile" "$KPGO" optimize --workdir "$workdir" --profile other.profraw --no-boot
expect_in "$WORK/err" "the profile matched none of the kernel's functions that ran" "wrong profile refused"
expect_in "$WORK/err" "Nothing was built" "refused before the build"
[[ $(stat -c %Y "$workdir/build-optimized/vmlinux") == "$vmlinux_time" ]] || fail "a refused profile relinked vmlinux"
python3 - manifest.before "$manifest" <<'PY'
import json, sys
before, after = (json.load(open(p))["optimize"] for p in sys.argv[1:3])
assert before == after, (before, after)
PY
pass
finish
