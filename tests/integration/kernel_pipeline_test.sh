#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo run end to end on Debian's 6.12 source with clang 19 and the small config: profiles
# collected in QEMU and checked, a merge clang 19 reads, an optimized kernel that boots with a
# large share of hot functions matched; a second run redoes nothing; a changed workload redoes
# collect; a profile from elsewhere is refused before anything is built. kpgo bench continues
# in this workdir (kernel_bench_test.sh).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
# KPGO_TEST_ARCH=arm64: the same on arm64, in the arm64 instrument test's workdir.
arch=${KPGO_TEST_ARCH:-x86_64}
case $arch in
  x86_64) image=arch/x86/boot/bzImage suffix= ;;
  arm64) image=arch/arm64/boot/Image suffix=-arm64 ;;
esac
# The instrument test's workdir: its kernel is this pipeline's, so instrument has nothing to do.
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/instrument-6.12$suffix
manifest=$workdir/kpgo.json

step "kpgo run: collect, merge, optimize, smoke boot"
"$KPGO" run --arch "$arch" --source "$tarball" --workdir "$workdir" --runs 2 > "$TEST_LOGS/run1.out" 2> "$TEST_LOGS/run1.err" ||
  { tail -30 "$TEST_LOGS/run1.err" >&2; fail "kpgo run failed"; }
pass
expect_in "$TEST_LOGS/run1.out" "the PGO-optimized kernel: $workdir/build-optimized/$image" "final output names the kernel"
expect_in "$TEST_LOGS/run1.out" "smoke boot ok" "the optimized kernel booted"
# kpgo instrument recorded its inputs: run, given the same, finds that kernel up to date.
grep -qE "^instrument +up to date$" "$TEST_LOGS/run1.out" ||
  fail "kpgo run rebuilt the kernel kpgo instrument had just built: $(head -1 "$TEST_LOGS/run1.out")"
# Static functions are named by their file relative to the tree, not by where the workdir is, so
# that a workdir moved between CI jobs still matches: no name holds the tree's path.
llvm-profdata-19 show --all-functions "$workdir/vmlinux.profdata" | grep -E '^  [^ ]+\.c;' > names.txt ||
  fail "the profile has no static function names (file;name)"
grep -q "^  kernel/fork.c;" names.txt || fail "no static function of kernel/fork.c named by its tree-relative path: $(head -3 names.txt)"
! grep -q "$(realpath "$workdir")" names.txt || fail "profile names hold the workdir's path: $(grep -m2 "$workdir" names.txt)"
pass
python3 - "$manifest" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
profiles = m["collect"]["profiles"]
assert len([p for p in profiles if p["binary"] == "vmlinux"]) == 2, profiles
for p in profiles:
    # Inside the workdir, relative to it.
    assert not p["path"].startswith("/"), p
    path = os.path.join(os.path.dirname(sys.argv[1]), p["path"])
    assert os.path.getsize(path) == p["size"] and p["target"] == "qemu", p
    assert p["kernel_release"].startswith("6.12."), p
# The workload's modules were profiled in both runs.
for module in ("ext4", "jbd2", "loop"):
    assert len([p for p in profiles if p["binary"] == module]) == 2, (module, profiles)
r = m["optimize"]["report"]
assert r["functions"] > 10000, r
assert r["matched"] / r["functions"] > 0.95, r
assert r["hot"] > 1000 and r["hot_matched"] / r["hot"] > 0.95, r
# Per binary: vmlinux and each module, adding up to the total; the modules the workload used
# were built with the profile (matched, and functions placed hot or unlikely in their .ko).
binaries = {b["binary"]: b for b in r["binaries"]}
assert binaries["vmlinux"]["functions"] > 10000, binaries["vmlinux"]
assert sum(b["functions"] for b in r["binaries"]) == r["functions"], r
for module in ("ext4", "jbd2", "loop"):
    b = binaries[module]
    assert b["functions"] > 0 and b["matched"] / b["functions"] > 0.95, b
    assert b["layout"]["unlikely"] > 0, b
# jbd2 barely runs (the workload's ext4 has no journal); ext4 and loop have hot code.
for module in ("ext4", "loop"):
    assert binaries[module]["layout"]["hot"] > 0, binaries[module]
assert m["optimize"]["booted"] and m["optimize"]["finished"], m["optimize"]
assert m["merge"]["sha256"] and m["merge"]["functions_with_counts"] > 1000, m["merge"]
PY
pass
# kpgo's linker script orders text by temperature (kernel/hooks/LINE/generic.patch): in the
# optimized vmlinux the profile's unlikely functions come first, then the hot ones from a page
# boundary, then plain text.
python3 "$here/text_order.py" 19 "$workdir/build-optimized" --hot 500 > "$TEST_LOGS/text-order.out" 2>&1 ||
  fail "the optimized kernel's text is not ordered by temperature: $(tail -2 "$TEST_LOGS/text-order.out")"
pass
# The merged profile is for clang 19, and clang 19 reads it.
echo 'int f(int x) { return x + 1; }' > probe.c
clang-19 -O2 -fprofile-use="$workdir/vmlinux.profdata" -c probe.c -o probe.o 2> probe.err ||
  { cat probe.err >&2; fail "clang 19 cannot read the merged profile"; }
pass

[[ $(readelf -n "$workdir/build-optimized/vmlinux" | awk '/Build ID/ {print $3}') != \
   $(readelf -n "$workdir/build-instrumented/vmlinux" | awk '/Build ID/ {print $3}') ]] ||
  fail "the optimized vmlinux is the instrumented one"
pass

# Again: every phase is up to date and nothing is rebuilt.
vmlinux_time=$(stat -c %Y "$workdir/build-optimized/vmlinux")
start=$(date +%s)
expect_ok "second kpgo run" "$KPGO" run --arch "$arch" --source "$tarball" --workdir "$workdir" --runs 2
for phase in instrument collect merge optimize; do
  grep -qE "^$phase +up to date$" "$WORK/out" || { cat "$WORK/out" >&2; fail "second run redid $phase"; }
done
pass
(($(date +%s) - start < 60)) || fail "the second run took $(($(date +%s) - start)) s"
[[ $(stat -c %Y "$workdir/build-optimized/vmlinux") == "$vmlinux_time" ]] || fail "the second run relinked vmlinux"
pass
# --json of a run with every phase up to date: the documented schema, the recorded report.
expect_ok "kpgo run --json" "$KPGO" run --arch "$arch" --json --source "$tarball" --workdir "$workdir" --runs 2
expect_json_schema "kpgo run" "$WORK/out"
python3 - "$WORK/out" <<'PY' || fail "run --json does not carry the optimized kernel's report"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d["phases"].values()) == {"up to date"}, d["phases"]
r = d["optimized"]["report"]
assert r["functions"] > 10000 and r["matched"] / r["functions"] > 0.95, r
assert d["optimized"]["layout"]["hot"] > 0 and d["optimized"]["booted"], d["optimized"]
PY
pass

# Stages as CI jobs: a collect job elsewhere gets only what `kpgo artifacts` packs (no kernel
# tree, no build directory), collects there, and a merge job takes both workdirs' profiles.
step "a collect job in another directory, from the collect artifact alone"
expect_ok "artifacts --stage collect" "$KPGO" artifacts --stage collect --workdir "$workdir" --pack collect.tar
mkdir job && tar -C job -xf collect.tar
[[ ! -e job/source && ! -e job/build-instrumented/vmlinux && -f job/build-instrumented/$image ]] ||
  fail "the collect artifact holds more or less than the kernel image: $(tar -tf collect.tar | head)"
pass
expect_ok "collect in the job's workdir" "$KPGO" -vv collect --workdir job --runs 1 --label job
grep -q -- "-kernel $WORK/job/build-instrumented/$image" "$WORK/err" ||
  { grep -m1 -- "-kernel" "$WORK/err" >&2; fail "the job did not boot its own copy of the kernel"; }
! grep -E "^kpgo: debug: .*(clang|make -C)" "$WORK/err" || fail "the collect job ran clang or make"
pass
python3 - job/kpgo.json <<'PY'
import json, os, sys
profiles = json.load(open(sys.argv[1]))["collect"]["profiles"]
assert [p["path"] for p in profiles if p["binary"] == "vmlinux"] == ["profiles/job-1.profraw"], profiles
assert all(os.path.exists(os.path.join("job", p["path"])) for p in profiles), profiles
PY
pass
# The job re-run over its cached workdir: the artifact unpacked again keeps the job's profiles,
# and collect finds them up to date without booting anything.
expect_ok "artifacts --unpack over the job's workdir" "$KPGO" --json artifacts --unpack collect.tar --workdir job
expect_json_schema "kpgo artifacts --unpack" "$WORK/out"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["kept_sections"] == ["collect"]' "$WORK/out" ||
  fail "the unpack did not keep the job's collect record: $(cat "$WORK/out")"
expect_ok "collect again, inputs unchanged" "$KPGO" -vv collect --workdir job --runs 1 --label job
expect_in "$WORK/out" "profiles of label job up to date" "the re-run says up to date"
! grep -q -- "-kernel " "$WORK/err" || fail "the re-run collect booted a guest"
pass
# vmlinux's and its modules' profiles of this build, named by their build IDs.
ids=$(python3 -c 'import json, sys
i = json.load(open(sys.argv[1]))["instrument"]
print(",".join([i["vmlinux_build_id"]] + [m["build_id"] for m in i["modules"]]))' "$manifest")
expect_ok "merge of two collect jobs' profiles" "$KPGO" merge -q -o fan-in.profdata --binary-id "$ids" \
  "$workdir/profiles" job/profiles
expect_ok "artifacts --json" "$KPGO" artifacts --json --stage optimize --workdir "$workdir"
expect_json_schema "kpgo artifacts" "$WORK/out"
python3 - "$WORK/out" <<'PY' || fail "the optimize artifact lacks what optimize reads"
import json, sys
files = json.load(open(sys.argv[1]))["files"]
for needed in ("kpgo.json", "source", "build-instrumented/.config", "build-instrumented/System.map",
               "vmlinux.profdata"):
    assert needed in files, (needed, files)
PY
pass

# A workload that names packages runs in a Debian userland of the guest's arch: on arm64 a
# foreign root, built by mmdebstrap through qemu-user-static (scripts/setup.sh registers it).
if [[ $arch == arm64 ]]; then
  step "collect in an arm64 Debian userland (sched: hackbench from rt-tests)"
  mkdir debian-job && tar -C debian-job -xf collect.tar  # the collect artifact packed above
  expect_ok "collect with the Debian arm64 userland" "$KPGO" collect --workdir debian-job --workload sched --runs 1 --label sched
  expect_in "$WORK/err" "Debian userland" "a Debian userland was built or found"
  python3 - debian-job/kpgo.json <<'PY'
import json, sys
profiles = json.load(open(sys.argv[1]))["collect"]["profiles"]
assert [p["path"] for p in profiles if p["binary"] == "vmlinux"] == ["profiles/sched-1.profraw"], profiles
PY
  image=$(sed -n 's/.*Debian userland: \(.*\.cpio\).*/\1/p' "$WORK/err" | head -1)
  # Listed to a file first: grep -q stops at the first match, and cpio, still writing, would die
  # of SIGPIPE and fail the pipeline (pipefail) although hackbench is there.
  [[ -f $image ]] && cpio -t --quiet < "$image" > userland.list ||
    fail "cannot list the userland '$image'"
  grep -qx debian/usr/bin/hackbench userland.list || fail "the userland '$image' has no hackbench"
  mkdir userland && (cd userland && cpio -id --quiet debian/usr/bin/hackbench < "$image")
  file userland/debian/usr/bin/hackbench | grep -q "ARM aarch64" || fail "hackbench in $image is not an arm64 program"
  rm -rf debian-job userland
  pass
fi

# A changed workload redoes collect (this one fails, so the run stops there, with the reason).
printf '#!/bin/sh\necho broken on purpose >&2\nexit 3\n' > broken.sh
expect_fails "run with a failing workload" "$KPGO" run --arch "$arch" --source "$tarball" --workdir "$workdir" --runs 1 --workload "$WORK/broken.sh"
expect_in "$WORK/err" "the workload exited with 3" "the failed run's reason"
vmlinux_profiles='import json, sys
print(sum(p["binary"] == "vmlinux" for p in json.load(open(sys.argv[1]))["collect"]["profiles"]))'
[[ $(python3 -c "$vmlinux_profiles" "$manifest") == 2 ]] ||
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
