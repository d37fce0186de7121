#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/ci/gitlab-ci.yml run for real by gitlab-ci-local: its shell executor, each job in its
# own copy of the checkout (--shell-isolation), artifacts handed from job to job as the yml
# declares them. instrument builds the small 6.12 config; the two collect jobs of the matrix
# (default and archive, on QEMU) get only collect.tar; merge merges what both sent back; optimize
# builds and smoke-boots the optimized kernel. Its artifact, unpacked alone somewhere else, boots
# and loads a module of its own; then the pipeline runs again with the first run's caches and
# does nothing. Last the bench job, twice: it builds the baseline and measures both kernels on
# the two trained workloads, then, from its cache, measures again without compiling.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/guest.sh"

gitlab_ci_local=$KPGO_SOURCE_DIR/tools/ci-lint/node_modules/.bin/gitlab-ci-local
[[ -x $gitlab_ci_local ]] || fail "$gitlab_ci_local is missing: scripts/setup.sh installs it (npm ci)"

# The project as a runner checks it out: kpgo's tracked files in a git repository, with the
# example pipeline as its .gitlab-ci.yml.
mkdir project
git -C "$KPGO_SOURCE_DIR" ls-files -z | (cd "$KPGO_SOURCE_DIR" && tar --null -T - -cf -) | tar -xf - -C project
cp project/scripts/ci/gitlab-ci.yml project/.gitlab-ci.yml
(cd project && git init -q && git add -A &&
  git -c user.name=kpgo -c user.email=kpgo@localhost commit -qm "kpgo as checked out")

step "gitlab-ci-local: instrument, collect x2, merge, optimize"
# KPGO: this build's kpgo, as a runner with kpgo installed has it (the jobs' before_script then
# builds nothing). One job at a time: each kernel build takes both cores.
(cd project && "$gitlab_ci_local" --force-shell-executor --shell-isolation --no-artifacts-to-source --concurrency 1 \
  --variable "KPGO=$KPGO" --needs optimize) > "$TEST_LOGS/gitlab.log" 2>&1 ||
  { tail -40 "$TEST_LOGS/gitlab.log" >&2; fail "the pipeline failed (log: $TEST_LOGS/gitlab.log)"; }
step "pipeline passed"
for job in instrument "collect: \[default,qemu\]" "collect: \[archive,qemu\]" merge optimize; do
  grep -qE "^$job +finished in" "$TEST_LOGS/gitlab.log" || fail "job $job did not finish: $(grep -m3 -E "^$job " "$TEST_LOGS/gitlab.log")"
done
! grep -qE "^bench " "$TEST_LOGS/gitlab.log" || fail "the bench job ran"
pass

state=project/.gitlab-ci-local
artifact() {  # JOB-DIR FILE: the path of what job JOB-DIR left as artifacts/FILE
  local found
  found=$(find "$state/artifacts" -path "*/$1*/artifacts/$2" -print -quit)
  [[ -n $found ]] || fail "no artifacts/$2 from $1: $(find "$state/artifacts" -maxdepth 3 | head -20)"
  echo "$found"
}

# Each collect job had collect.tar and nothing of the kernel's build or source.
for build in "$state"/builds/collect*; do
  [[ -f $build/kpgo-work/kpgo.json && ! -e $build/kpgo-work/source && ! -e $build/kpgo-work/build-instrumented/vmlinux ]] ||
    fail "the collect job in $build had more than the collect artifact: $(ls "$build/kpgo-work")"
done
(($(find "$state"/builds -maxdepth 1 -name 'collect*' | wc -l) == 2)) || fail "not two collect jobs: $(ls "$state/builds")"
pass

# The merge took both jobs' profiles: every raw profile in both sets, each checked by build ID.
profiles=0
for job in default archive; do
  set=$(artifact "collect" "profiles-$job-qemu.tar")
  count=$(tar -tf "$set" | grep -c '\.profraw$')
  ((count >= 2)) || fail "$set has $count profiles"
  profiles=$((profiles + count))
done
grep -qE "merged $profiles of $profiles inputs" "$TEST_LOGS/gitlab.log" ||
  fail "the merge job did not merge the $profiles profiles of both collect jobs: $(grep -m1 'merged ' "$TEST_LOGS/gitlab.log")"
merged=$(artifact merge vmlinux.profdata)
cp "$merged" first-run.profdata
clang-19 -O2 -fprofile-use="$merged" -x c -c -o /dev/null - <<< 'int f(int x) { return x + 1; }' ||
  fail "clang 19 cannot read the merge job's $merged"
grep -qE "smoke boot +ok" "$TEST_LOGS/gitlab.log" || fail "the optimize job did not smoke-boot its kernel"
# The optimize job runs in another directory than the instrument job: static functions must still
# match (their profile names are relative to the tree).
grep -qE "hot matched +[0-9]+ of [0-9]+ \((9[5-9]|100)\." "$TEST_LOGS/gitlab.log" ||
  fail "the optimize job matched few hot functions: $(grep -m1 'hot matched' "$TEST_LOGS/gitlab.log")"
# The optimize job has no instrumented build: each module's match still counts its functions
# (recorded by instrument) and its units' diagnostics.
for module in ext4 loop; do
  line=$(grep -E "^optimize +> +$module +[0-9]+ " "$TEST_LOGS/gitlab.log") ||
    fail "the optimize job's match report has no line for $module"
  read -r functions matched _ <<< "$(sed -E "s/^optimize +> +$module +//" <<< "$line")"
  ((functions > 0 && matched > 0)) || fail "the optimize job matched nothing in $module: $line"
done
pass

step "the optimized kernel from the optimize job's artifact alone"
mkdir optimized
tar -C optimized -xf "$(artifact optimize bench.tar)"
[[ -f optimized/build-optimized/arch/x86/boot/bzImage && -d optimized/build-optimized/kpgo-modules ]] ||
  fail "bench.tar lacks the optimized kernel or its modules: $(tar -tf "$(artifact optimize bench.tar)" | head)"
cat > boot.init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
modprobe ext4 && grep -q '^ext4 ' /proc/modules && echo "KPGO-OPTIMIZED-UP $(uname -r)"
reboot -f  # QEMU runs with -no-reboot: a reboot ends it (a halt would not)
INIT
make_initramfs --modules optimized/build-optimized/kpgo-modules boot.initramfs boot.init
boot_guest optimized/build-optimized/arch/x86/boot/bzImage boot.initramfs disk.img 1 "$TEST_LOGS/boot.log"
grep -q "KPGO-OPTIMIZED-UP 6\.12\." "$TEST_LOGS/boot.log" ||
  { tail -20 "$TEST_LOGS/boot.log" >&2; fail "the optimized kernel of the artifact did not boot and load ext4"; }
pass

# A re-run of the unchanged pipeline, each job starting from its cache of the first run (a clean
# copy of the checkout otherwise): every phase finds its inputs unchanged and does nothing.
step "the same pipeline again, with the first run's caches"
(cd project && "$gitlab_ci_local" --force-shell-executor --shell-isolation --no-artifacts-to-source --concurrency 1 \
  --variable "KPGO=$KPGO" --needs optimize) > "$TEST_LOGS/gitlab-again.log" 2>&1 ||
  { tail -40 "$TEST_LOGS/gitlab-again.log" >&2; fail "the re-run failed (log: $TEST_LOGS/gitlab-again.log)"; }
again=$TEST_LOGS/gitlab-again.log
for job in instrument "collect: \[default,qemu\]" "collect: \[archive,qemu\]" optimize; do
  grep -qE "^$job +imported cache" "$again" || fail "job $job had no cache of the first run"
done
grep -qE "^instrument +> instrumented kernel up to date" "$again" || fail "instrument built again: $(grep -m3 '^instrument ' "$again")"
for job in default archive; do
  grep -qE "^collect: \[$job,qemu\] +> profiles of label $job-qemu up to date" "$again" ||
    fail "collect $job ran again: $(grep -m3 "^collect: \[$job" "$again")"
done
grep -qE "^optimize +> optimized kernel up to date: built from the same inputs" "$again" ||
  fail "optimize built again: $(grep -m3 '^optimize ' "$again")"
work_done='collecting [0-9]+ run|kernel built|unpacking /usr/src'
! grep -qE "$work_done" "$again" || fail "the re-run built or collected: $(grep -m3 -E "$work_done" "$again")"
cmp -s first-run.profdata "$(artifact merge vmlinux.profdata)" || fail "the re-run's merge gave other bytes"
pass

# The bench job alone, over the artifacts the optimize and merge jobs left: bench.tar (no
# instrumented build, no profiles) and trained.txt.
bench_job() {  # LOG BENCH-ARGS
  (cd project && "$gitlab_ci_local" --force-shell-executor --shell-isolation --no-artifacts-to-source \
    --variable "KPGO=$KPGO" --variable "KPGO_BENCH_ARGS=$2" bench) > "$1" 2>&1 ||
    { tail -40 "$1" >&2; fail "the bench job failed (log: $1)"; }
  grep -qE "^bench +finished in" "$1" || fail "the bench job did not finish: $(grep -m3 '^bench ' "$1")"
}
# The compile steps of the bench job's last baseline make (modules_install compiles nothing).
last_baseline_compiles() {
  local log=project/.gitlab-ci-local/builds/bench/kpgo-work/logs/baseline.log
  [[ -f $log ]] || fail "the bench job left no baseline build log ($log)"
  awk '/^\$ / && !/modules_install/ { compiles = 0 } /^  CC / { compiles++ } END { print compiles + 0 }' "$log"
}
step "gitlab-ci-local: bench (a baseline build; 2 rounds of default and archive)"
bench_job "$TEST_LOGS/gitlab-bench.log" "--rounds 2 --workload default --workload archive"
[[ $(cat "$(artifact merge trained.txt)") == "archive,default" ]] ||
  fail "the merge job's trained.txt: '$(cat "$(artifact merge trained.txt)")', not archive,default"
# The small config compiles about 980 units.
compiles=$(last_baseline_compiles)
((compiles > 500)) || fail "the bench job built no baseline kernel: its make compiled $compiles units"
python3 - "$(artifact bench bench.json)" <<'PY' || fail "bench.json of the bench job"
import json, sys
b = json.load(open(sys.argv[1]))
assert [v["name"] for v in b["variants"]] == ["baseline", "pgo"], b["variants"]
assert [w["name"] for w in b["workloads"]] == ["default", "archive"], b["workloads"]
# Both were collected on, in other jobs: the merge job's trained.txt says so.
assert all(w["trained"] for w in b["workloads"]), b["workloads"]
for w in b["workloads"]:
    figures = {f["metric"]: f for f in w["figures"]}
    for metric in ("kernel_instructions", "kernel_taken_branches"):
        for rounds in figures[metric]["rounds"]:
            runs = rounds["figures"]
            assert len(runs) == 2 and runs[0] == runs[1] and runs[0] > 1_000_000, (w["name"], metric, rounds)
    # The profile-shaped kernel's hot paths fall through: fewer taken branches in the kernel.
    (ratio,) = figures["kernel_taken_branches"]["ratios"]
    assert ratio["ratio"] < 1, (w["name"], ratio)
    print(f"{w['name']}: kernel instructions x{figures['kernel_instructions']['ratios'][0]['ratio']:.4f}, "
          f"taken branches x{ratio['ratio']:.4f}")
PY
pass

step "the bench job again, from its cache: the baseline kernel is built already"
bench_job "$TEST_LOGS/gitlab-bench-again.log" "--rounds 1 --workload default"
grep -qE "^bench +imported cache" "$TEST_LOGS/gitlab-bench-again.log" || fail "the bench job had no cache of its first run"
compiles=$(last_baseline_compiles)
((compiles == 0)) || fail "the bench job's second baseline make compiled $compiles units"
pass
finish

