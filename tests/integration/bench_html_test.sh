#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo bench --html, looked at as a browser draws it: a bench recorded in a workdir (two kernels,
# two workloads, the default one trained, two metrics) is shown again with --show, written as a
# report, and photographed by headless Chromium; the screenshot must show each kernel's bars at
# the heights of the recorded ratios and the band of the trained workload. kernel.bench.6.12
# does the same with a bench measured for real.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# The bench section kpgo.json records (figures: medians of two rounds). The PGO kernel's ratios
# to the baseline: default 0.80 and 0.90, archive 0.95 and 0.88 (one chart's scale for all: below
# 1.02, so every chart's top is 1.1).
mkdir work
cat > work/kpgo.json <<'JSON'
{"version": 4, "bench": {
  "rounds": 2, "machine": "qemu", "method": "qemu -icount shift=0,sleep=off with one vCPU",
  "metrics": [{"name": "kernel_instructions", "unit": "instructions", "what": "guest instructions executed in kernel code"},
              {"name": "kernel_taken_branches", "unit": "branches", "what": "taken branches in kernel code"}],
  "variants": [{"name": "baseline", "lto": "none", "profile": "none", "build_dir": "build-baseline",
                "layout": {"functions": 17000, "hot": 0, "unlikely": 12}, "promoted_indirect_calls": 0,
                "build_cost": {"seconds": 560, "peak_memory_kib": 250000}, "boot_seconds": [4.5, 4.4]},
               {"name": "pgo", "lto": "none", "profile": "pgo", "profile_sha256": "ab", "build_dir": "build-optimized",
                "layout": {"functions": 17000, "hot": 900, "unlikely": 7900}, "promoted_indirect_calls": 31,
                "build_cost": {"seconds": 600, "peak_memory_kib": 260000}, "boot_seconds": [4.4, 4.4]}],
  "comparisons": [{"variant": "pgo", "against": "baseline"}],
  "workloads": [
    {"name": "default", "trained": true, "figures": {
      "kernel_instructions": {"baseline": [1000000, 1000000], "pgo": [800000, 800000]},
      "kernel_taken_branches": {"baseline": [200000, 200000], "pgo": [180000, 180000]}}},
    {"name": "archive", "trained": false, "figures": {
      "kernel_instructions": {"baseline": [400000, 400000], "pgo": [380000, 380000]},
      "kernel_taken_branches": {"baseline": [50000, 50000], "pgo": [44000, 44000]}}}],
  "finished": "2026-12-03T12:00:00Z"}}
JSON

step "kpgo bench --show --html: the recorded bench, again, as tables and as a report"
expect_ok "bench --show --html" "$KPGO" bench --show --workdir work --html report.html
expect_in "$WORK/out" "kernel_instructions: guest instructions executed in kernel code" "the tables"
expect_in "$WORK/out" "0.800" "the ratio of the recorded figures"
[[ -s report.html ]] || fail "no report.html"
! grep -qE '(src|href)="|https?:' report.html || fail "the report refers to something outside it"
expect_ok "bench --show --json" "$KPGO" --json bench --show --workdir work
expect_json_schema "kpgo bench" "$WORK/out"

step "headless Chromium's screenshot of the report"
screenshot_report report.html shot.png
cp shot.png "$TEST_LOGS/"
python3 "$here/report_screenshot.py" shot.png --ratios 0.80,0.88,0.90,0.95 ||
  fail "the screenshot does not show the charts (kept as $TEST_LOGS/shot.png)"
pass

step "bad requests: nothing recorded, a report that cannot be written, --show with measuring options"
mkdir empty
expect_fails "--show without a bench" "$KPGO" bench --show --workdir empty
expect_in "$WORK/err" "empty/kpgo.json records no finished bench: run kpgo bench first" "names the workdir"
expect_fails "--html into a missing directory" "$KPGO" bench --show --workdir work --html missing/report.html
expect_in "$WORK/err" "--html missing/report.html" "names the file"
[[ ! -e missing ]] || fail "something was left behind"
expect_fails "--show --workload" "$KPGO" bench --show --workdir work --workload default
expect_in "$WORK/err" "excludes" "CLI11 names the conflict"
cp report.html before.html
expect_fails "--show of another workdir over the report" "$KPGO" bench --show --workdir empty --html report.html
cmp -s report.html before.html || fail "a failed --show touched the report"
pass
finish
