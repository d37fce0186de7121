#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThinLTO and context-sensitive PGO on Debian's 6.12 source with clang 19 and the small config:
# kpgo run --lto thin --cs builds the instrumented kernel with ThinLTO, collects, merges, builds
# stage 2 of CSPGO (instrumented at the link, after inlining), collects again, merges both stages
# byte-identically to llvm-profdata, and optimizes with ThinLTO and the merged profile, giving it
# to the link too; no build log has an objtool warning. kpgo bench --variants then measures
# lto, pgo+lto and cspgo+lto in one run. Refused before any build: --lto on a config kbuild
# cannot build with LTO, and a profile of stage-2 records alone.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/lto-6.12
manifest=$workdir/kpgo.json
llvm=-19

step "--lto thin on a config that rules LTO out: refused with the reason, nothing built"
printf 'CONFIG_DEBUG_FS=y\nCONFIG_GCOV_KERNEL=y\n' > gcov.config
expect_fails "--lto thin with GCOV_KERNEL" "$KPGO" instrument --source "$tarball" \
  --workdir "$workdir-refused" --llvm "$llvm" --lto thin --fragment gcov.config
expect_in "$WORK/err" "--lto thin: this kernel cannot be built with it: CONFIG_GCOV_KERNEL=y" \
  "the refusal names what rules LTO out"
grep -q '^  CC ' "$workdir-refused/logs/instrument.log" && fail "something was compiled"
pass
rm -rf "$workdir-refused"

step "kpgo run --lto thin --cs: both stages, then the optimized kernel"
mark_logs "$workdir/logs" "$workdir/cs/logs"
"$KPGO" run --source "$tarball" --workdir "$workdir" --llvm "$llvm" --lto thin --cs --runs 2 \
  > "$TEST_LOGS/run1.out" 2> "$TEST_LOGS/run1.err" ||
  { tail -30 "$TEST_LOGS/run1.err" >&2; fail "kpgo run --lto thin --cs failed"; }
pass
for phase in instrument collect merge cs-instrument cs-collect cs-merge optimize; do
  expect_in "$TEST_LOGS/run1.out" "$phase" "phase $phase ran"
done
expect_in "$TEST_LOGS/run1.out" "smoke boot ok" "the optimized ThinLTO kernel booted"

for build in build-instrumented cs/build-instrumented build-optimized; do
  grep -qx CONFIG_LTO_CLANG_THIN=y "$workdir/$build/.config" || fail "$build is not ThinLTO"
  pass
done
# The ThinLTO link checks all of vmlinux.o with objtool: PGO must not leave it anything to say.
if new_log_text "$workdir/logs" "$workdir/cs/logs" | grep 'warning: objtool'; then
  fail "objtool warned in an LTO build"
fi
pass

python3 - "$manifest" "$workdir/cs/kpgo.json" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
cs = json.load(open(sys.argv[2]))
workdir = os.path.dirname(sys.argv[1])
assert m["cs"]["finished"] and m["cs"]["base_sha256"] == m["merge"]["sha256"], m["cs"]
# Stage 2 was built with stage 1's profile, and its merge starts with it.
assert any(c.startswith("make ") and "PGO_CLANG_CS_BASE=" + os.path.join(workdir, m["cs"]["base"]) in c
           for c in cs["instrument"]["commands"]), cs["instrument"]["commands"]
assert cs["merge"]["inputs"][0]["sha256"] == m["cs"]["base_sha256"], cs["merge"]
assert len([p for p in cs["collect"]["profiles"] if p["binary"] == "vmlinux"]) == 2
assert cs["instrument"]["vmlinux_build_id"] != m["instrument"]["vmlinux_build_id"]
PY
pass
expect_lto_optimized "$manifest" thin

step "stage 2's profiles: the CS variant, merged as llvm-profdata merges them"
# Paths in kpgo.json are relative to its workdir when inside it.
first_cs=$workdir/cs/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collect"]["profiles"][0]["path"])' "$workdir/cs/kpgo.json")
# The raw header's version word carries the variant flags: bit 57 is context-sensitive IR.
version=$(od -A n -t x8 -j 8 -N 8 "$first_cs" | tr -d ' ')
(((0x$version >> 57) & 1)) || fail "$first_cs: header version $version lacks the CS flag"
pass
mapfile -t inputs < <(python3 -c '
import json, os, sys
for i in json.load(open(sys.argv[1]))["merge"]["inputs"]:
    print("%d,%s" % (i["weight"], os.path.join(os.path.dirname(sys.argv[1]), i["path"])))' "$workdir/cs/kpgo.json")
"llvm-profdata$llvm" merge -o reference.profdata "${inputs[@]/#/--weighted-input=}"
expect_same "$workdir/cs/vmlinux.profdata" reference.profdata "kpgo's merge of both stages"
shown=$("llvm-profdata$llvm" show --showcs "$workdir/cs/vmlinux.profdata" | awk '/^Total functions:/ {print $3}')
((shown > 1000)) || fail "the merged profile has $shown context-sensitive records"
pass
# With LTO the link promotes indirect calls to other files' functions; lld's remarks say so.
optimize_log=$workdir/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["optimize"]["artifacts"]["log"])' "$manifest")
grep 'Promote indirect call to' "$optimize_log" | grep -vq 'remark:' ||
  fail "no indirect call was promoted at the link ($optimize_log)"
pass

step "kpgo bench --variants lto,pgo+lto,cspgo+lto: each built once, measured in turn"
"$KPGO" bench --json --workdir "$workdir" --variants lto,pgo+lto,cspgo+lto --workload default \
  --rounds 1 > "$TEST_LOGS/bench.json" 2> "$TEST_LOGS/bench.err" ||
  { tail -30 "$TEST_LOGS/bench.err" >&2; fail "kpgo bench --variants failed"; }
pass
expect_json_schema "kpgo bench" "$TEST_LOGS/bench.json"
python3 - "$TEST_LOGS/bench.json" "$workdir" <<'PY'
import json, sys
b, workdir = json.load(open(sys.argv[1])), sys.argv[2]
variants = {v["name"]: v for v in b["variants"]}
assert list(variants) == ["lto", "pgo+lto", "cspgo+lto"], list(variants)
assert all(v["lto"] == "thin" for v in variants.values()), variants
# The optimized kernel is cspgo+lto; lto is the baseline build; pgo+lto was built for bench.
assert variants["cspgo+lto"]["build_dir"] == workdir + "/build-optimized", variants
assert variants["lto"]["build_dir"] == workdir + "/build-baseline", variants
assert variants["pgo+lto"]["build_dir"] == workdir + "/build-variant-pgo-lto", variants
assert variants["pgo+lto"]["layout"]["hot"] > variants["lto"]["layout"]["hot"], variants
pairs = [(c["variant"], c["against"]) for c in b["comparisons"]]
assert pairs == [("pgo+lto", "lto"), ("cspgo+lto", "lto"), ("cspgo+lto", "pgo+lto")], pairs
(w,) = b["workloads"]
for figures in w["figures"]:
    assert [r["variant"] for r in figures["rounds"]] == list(variants), figures
    assert all(r["median"] > 0 for r in figures["rounds"]), figures
    assert all(r["ratio"] > 0 for r in figures["ratios"]), figures
PY
pass

step "a profile of stage-2 records alone is refused before the build"
"llvm-profdata$llvm" merge -o cs-only.profdata "$workdir"/cs/profiles/*.profraw
expect_fails "optimize with stage 2 alone" "$KPGO" optimize --workdir "$workdir" --profile cs-only.profdata
expect_in "$WORK/err" "holds only context-sensitive records" "the refusal says what is missing"

step "again: every phase up to date"
expect_ok "second run" "$KPGO" run --source "$tarball" --workdir "$workdir" --llvm "$llvm" --lto thin --cs --runs 2
for phase in instrument collect cs-instrument cs-collect optimize; do
  grep -qE "^$phase +up to date$" "$WORK/out" || { cat "$WORK/out" >&2; fail "the second run redid $phase"; }
done
pass
finish
