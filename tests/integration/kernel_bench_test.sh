#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo bench on the pipeline test's workdir (6.12, clang 19, the small config): a baseline built
# without profile, the layout check, rounds in QEMU with -icount that repeat exactly, and bench
# --ssh against a real sshd whose "boots" the test's own boot command makes.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# The instrument test's workdir, with the pipeline test's optimized kernel in it.
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/instrument-6.12
manifest=$workdir/kpgo.json
[[ -f $workdir/build-optimized/vmlinux ]] || fail "no optimized kernel in $workdir (kernel.pipeline.6.12 makes it)"

# kpgo bench: a baseline built without profile, the layout check, and two rounds of each kernel
# in QEMU with -icount over the whole evaluation suite (busybox's default and archive, and the
# real benchmarks in the Debian userland), where the same kernel and workload count the same
# instructions each round.
step "kpgo bench in QEMU: baseline build, 2 rounds of the suite"
"$KPGO" bench --workdir "$workdir" --rounds 2 --html "$TEST_LOGS/bench.html" > "$TEST_LOGS/bench.out" 2> "$TEST_LOGS/bench.err" ||
  { tail -30 "$TEST_LOGS/bench.err" >&2; fail "kpgo bench failed"; }
pass
expect_in "$TEST_LOGS/bench.err" "Debian userland:" "bench names the Debian userland it built or found"
expect_in "$TEST_LOGS/bench.out" "kernel_instructions: guest instructions executed in kernel code" \
  "bench prints its table, the meter's kernel instructions first"
python3 - "$manifest" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["bench"]
def ratio(per_variant):
    median = lambda xs: sorted(xs)[(len(xs) - 1) // 2]
    return median(per_variant["pgo"]) / median(per_variant["baseline"])
assert [v["name"] for v in b["variants"]] == ["baseline", "pgo"], b["variants"]
assert b["comparisons"] == [{"variant": "pgo", "against": "baseline"}], b["comparisons"]
metrics = [m["name"] for m in b["metrics"]]
assert metrics == ["kernel_instructions", "kernel_icache_misses", "kernel_taken_branches", "kernel_itlb_misses",
                   "user_instructions", "user_icache_misses", "guest_clock_ticks"], metrics
names = {w["name"]: w for w in b["workloads"]}
assert list(names) == ["default", "archive", "sched", "net", "io", "exec", "mm"], list(names)
assert [n for n, w in names.items() if w["trained"]] == ["default"], names
for w in b["workloads"]:
    for metric in metrics:
        f = w["figures"][metric]
        for kernel in ("baseline", "pgo"):
            runs = f[kernel]
            assert len(runs) == 2 and all(r > 1000 for r in runs), (w["name"], metric, kernel, runs)
            # -icount with one vCPU: the same kernel and workload run the same, to the
            # instruction and to the cache line.
            assert runs[0] == runs[1], f"{w['name']} {metric} {kernel}: not deterministic: {runs}"
    # A profile-shaped kernel executes its own code differently: its hot paths fall through.
    kernel = w["figures"]["kernel_instructions"]
    assert kernel["baseline"] != kernel["pgo"], w
    assert ratio(w["figures"]["kernel_taken_branches"]) < 1, w
    # The user programs are the same: what they execute may only shift a little with the
    # kernel's timing (pipe reads splitting differently).
    user = ratio(w["figures"]["user_instructions"])
    assert 0.9 < user < 1.1, (w["name"], user)
    # Real kernel work in every workload, the Debian ones included.
    assert min(w["figures"]["kernel_instructions"]["baseline"]) > 10_000_000, w["name"]
baseline, pgo = b["variants"]
assert pgo["layout"]["hot"] > baseline["layout"]["hot"], b["variants"]
assert pgo["layout"]["unlikely"] != baseline["layout"]["unlikely"], b["variants"]
assert pgo["promoted_indirect_calls"] > 0, pgo
assert pgo["build_dir"].endswith("build-optimized") and baseline["build_dir"].endswith("build-baseline")
PY
pass
# The report of the same bench, as headless Chromium draws it: every kernel's bars, the trained
# workload's band (one chart per metric: seven, one above the other).
screenshot_report "$TEST_LOGS/bench.html" "$TEST_LOGS/bench.png" 3700
python3 "$here/report_screenshot.py" "$TEST_LOGS/bench.png" || fail "the report's screenshot shows no charts"
pass
# A Debian workload that fails is named, with its last words on the console.
cat > failing.sh <<'SH'
#!/bin/sh
# kpgo-packages: coreutils
echo "the benchmark broke" >&2
false
SH
expect_fails "a failing Debian workload" "$KPGO" bench --workdir "$workdir" --rounds 1 --workload "$WORK/failing.sh"
expect_in "$WORK/err" "workload failing failed on the" "the failing workload is named"
console=$(grep -o 'console [^ ]*console.log' "$WORK/err" | cut -d' ' -f2)
expect_in "$console" "the benchmark broke" "its last words are on the console"
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
expect_in "$TEST_LOGS/bench-ssh.out" "wall_ns: wall time of the workload on the machine" "bench --ssh prints its table"
[[ $(cut -d' ' -f1 boots | tr '\n' ' ') == "baseline pgo pgo baseline " ]] ||
  fail "boots not alternating per round: $(cat boots)"
pass
python3 - "$manifest" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["bench"]
assert b["machine"].startswith("127.0.0.1:"), b
assert [(m["name"], m["unit"]) for m in b["metrics"]] == [("wall_ns", "nanoseconds")], b["metrics"]
(w,) = b["workloads"]
assert w["name"] == "archive", w
for kernel in ("baseline", "pgo"):
    runs = w["figures"]["wall_ns"][kernel]
    assert len(runs) == 2 and all(t > 1_000_000 for t in runs), w
for v in b["variants"]:
    assert len(v["boot_seconds"]) == 2 and all(s >= 4 for s in v["boot_seconds"]), v
PY
pass
# --json: the documented schema (two rounds again, so the baseline is booted last as below).
expect_ok "bench --ssh --json" "$KPGO" bench --json --workdir "$workdir" --rounds 2 "${ssh_opts[@]}" \
  --boot-command "sh $WORK/boot.sh" --workload archive
expect_json_schema "kpgo bench" "$WORK/out"
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

# Training on one: collect runs a Debian workload too, and its profile counts hackbench's paths.
step "kpgo collect with the sched workload"
expect_ok "collect a Debian workload" "$KPGO" collect --force --workdir "$workdir" --workload sched --runs 1 \
  --label sched
profile=$(ls "$workdir"/profiles/sched-1.profraw)
(($(stat -c %s "$profile") > 100000)) || fail "no real profile from the sched workload"
pass

finish
