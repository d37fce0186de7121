#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Full LTO on Debian's 6.12 source with clang 19 and the small config: kpgo run --lto full builds
# the instrumented kernel with full LTO (one LTO module for all of vmlinux), collects, merges
# byte-identically to llvm-profdata, and optimizes with full LTO and the profile, given to the
# link too; no build log has an objtool warning; the optimized kernel boots. Then bench's
# default variants are full-lto against pgo+full-lto, the optimized kernel measured as it is.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/lto-full-6.12
manifest=$workdir/kpgo.json
llvm=-19

step "kpgo run --lto full: instrument, collect, merge, optimize"
mark_logs "$workdir/logs"
"$KPGO" run --source "$tarball" --workdir "$workdir" --llvm "$llvm" --lto full --runs 1 \
  > "$TEST_LOGS/run.out" 2> "$TEST_LOGS/run.err" ||
  { tail -30 "$TEST_LOGS/run.err" >&2; fail "kpgo run --lto full failed"; }
expect_in "$TEST_LOGS/run.out" "smoke boot ok" "the optimized full-LTO kernel booted"
for build in build-instrumented build-optimized; do
  grep -qx CONFIG_LTO_CLANG_FULL=y "$workdir/$build/.config" || fail "$build is not full LTO"
  pass
done
# The LTO link checks all of vmlinux.o with objtool: PGO must not leave it anything to say.
if new_log_text "$workdir/logs" | grep 'warning: objtool'; then fail "objtool warned in a full-LTO build"; fi
pass

# With full LTO every call is in one module: the link may promote indirect calls to any function.
expect_lto_optimized "$manifest" full

step "the merge is llvm-profdata's"
mapfile -t inputs < <(python3 -c '
import json, os, sys
for i in json.load(open(sys.argv[1]))["merge"]["inputs"]:
    print("%d,%s" % (i["weight"], os.path.join(os.path.dirname(sys.argv[1]), i["path"])))' "$manifest")
"llvm-profdata$llvm" merge -o reference.profdata "${inputs[@]/#/--weighted-input=}"
expect_same "$workdir/vmlinux.profdata" reference.profdata "kpgo's merge of the full-LTO kernel's profile"

step "kpgo bench: full-lto against pgo+full-lto, the optimized kernel not rebuilt"
"$KPGO" bench --json --workdir "$workdir" --workload default --rounds 1 \
  > "$TEST_LOGS/bench.json" 2> "$TEST_LOGS/bench.err" ||
  { tail -30 "$TEST_LOGS/bench.err" >&2; fail "kpgo bench failed"; }
expect_json_schema "kpgo bench" "$TEST_LOGS/bench.json"
python3 - "$TEST_LOGS/bench.json" "$workdir" <<'PY'
import json, sys
b, workdir = json.load(open(sys.argv[1])), sys.argv[2]
variants = {v["name"]: v for v in b["variants"]}
assert list(variants) == ["full-lto", "pgo+full-lto"], list(variants)
assert all(v["lto"] == "full" for v in variants.values()), variants
assert variants["pgo+full-lto"]["build_dir"] == workdir + "/build-optimized", variants
assert variants["full-lto"]["build_dir"] == workdir + "/build-baseline", variants
assert variants["pgo+full-lto"]["layout"]["hot"] > variants["full-lto"]["layout"]["hot"], variants
(w,) = b["workloads"]
for figures in w["figures"]:
    assert all(r["median"] > 0 for r in figures["rounds"]), figures
PY
pass
finish
