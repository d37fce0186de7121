#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures compiler levers on a kpgo workdir that has a profile: for each lever, kpgo optimize
# rebuilds the optimized kernel with the lever's extra KCFLAGS, then kpgo bench measures it
# against the baseline build in the same run; at the end one table per metric gives each
# lever's PGO/baseline ratio per workload, side by side (docs/performance.md, "Levers").
#
#   bash scripts/bench-levers.sh WORKDIR LEVER... [-- WORKLOAD...]
#
# LEVER is NAME=KCFLAGS, e.g. pgo= (no extra flags: the reference)
# hot999='-mllvm -profile-summary-cutoff-hot=999000' mfs=-fsplit-machine-functions.
# WORKLOADs default to the suite's default archive sched net exec mm. Each lever replaces the
# workdir's optimized kernel (work on a copy: `cp -a`; kpgo's profile names survive the move),
# and leaves its outputs in WORKDIR/levers/NAME.*. KPGO names the kpgo binary (default: kpgo).
set -euo pipefail
kpgo=${KPGO:-kpgo}
(($# >= 2)) || { sed -n 3,14p "$0" >&2; exit 2; }
workdir=$1
shift
levers=()
while (($#)) && [[ $1 != -- ]]; do levers+=("$1"); shift; done
(($#)) && shift
workloads=("$@")
((${#workloads[@]})) || workloads=(default archive sched net exec mm)
[[ -f $workdir/kpgo.json ]] || { echo "bench-levers: $workdir has no kpgo.json" >&2; exit 1; }
out=$workdir/levers
mkdir -p "$out"
load_args=()
for w in "${workloads[@]}"; do load_args+=(--workload "$w"); done

tables=()
for lever in "${levers[@]}"; do
  [[ $lever == *=* ]] || { echo "bench-levers: $lever is not NAME=KCFLAGS" >&2; exit 2; }
  name=${lever%%=*} flags=${lever#*=}
  make_args=()
  [[ -n $flags ]] && make_args=(-- "KCFLAGS=$flags")
  echo "bench-levers: $name: kpgo optimize ${flags:-(no extra flags)}" >&2
  "$kpgo" optimize --workdir "$workdir" --no-boot "${make_args[@]}" > "$out/$name.optimize.txt" ||
    { echo "bench-levers: $name: optimize failed" >&2; exit 1; }
  echo "bench-levers: $name: kpgo bench" >&2
  "$kpgo" bench --workdir "$workdir" --rounds 1 "${load_args[@]}" --json > "$out/$name.bench.json" ||
    { echo "bench-levers: $name: bench failed" >&2; exit 1; }
  tables+=("$name=$out/$name.bench.json")
done

python3 - "${tables[@]}" <<'PY'
import json, sys
levers = [a.split("=", 1) for a in sys.argv[1:]]
data = {name: json.load(open(path)) for name, path in levers}
first = data[levers[0][0]]
for metric in first["metrics"]:
    name = metric["name"]
    if not name.startswith("kernel_"):
        continue
    print(f"\n{name} (PGO / baseline)")
    print("| workload | " + " | ".join(n for n, _ in levers) + " |")
    print("|---|" + "---:|" * len(levers))
    for workload in first["workloads"]:
        row = []
        for lever, _ in levers:
            w = next(x for x in data[lever]["workloads"] if x["name"] == workload["name"])
            f = next((f for f in w["figures"] if f["metric"] == name), None)
            row.append("%.3f" % f["ratios"][0]["ratio"] if f else "-")
        mark = " (trained)" if workload.get("trained") else ""
        print(f"| {workload['name']}{mark} | " + " | ".join(row) + " |")
for lever, _ in levers:
    layout = data[lever]["variants"][-1].get("layout", {})
    print(f"{lever}: {layout.get('hot')} hot, {layout.get('unlikely')} unlikely functions")
PY
