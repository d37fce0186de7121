#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark, not a test: kpgo merge against llvm-profdata merge of the same LLVM at the same
# thread count, with `cat` of the same inputs to /dev/null as the floor, on raw profiles of an
# instrumented kernel of realistic size: the x86_64 defconfig of Debian's linux-source-6.12 (plus
# what the QEMU guest needs), built once and cached outside the repository with the profiles,
# which come from distinct runs of the default workload in QEMU. The three are run alternately,
# several rounds, page cache warm; it prints the median wall time and peak RSS of each, the
# ratios kpgo/llvm-profdata and kpgo/floor, and checks the outputs are identical.
#
#   scripts/bench-merge.sh [--quick] [--workdir W] [--profiles N] [--inputs N] [--rounds N] [--threads N]
#
# --quick uses the small QEMU config instead of defconfig. The cache is $KPGO_BENCH_CACHE
# (default ~/.cache/kpgo-bench); the first defconfig build takes about 45 minutes on 2 cores.
# --workdir takes the vmlinux profiles a kpgo workdir already collected instead. --inputs N
# merges N inputs made of the distinct profiles in rotation (links to them: a fleet's scale
# without N boots; the page cache holds each file once, so reading costs less than N distinct
# files would).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPGO_BUILD_DIR:-$root/build}
cache=${KPGO_BENCH_CACHE:-$HOME/.cache/kpgo-bench}
quick=0 profiles=32 rounds=5 threads=$(nproc) wanted=0 given=
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --workdir) given=$2; shift ;;
    --profiles) profiles=$2; shift ;;
    --inputs) wanted=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --threads) threads=$2; shift ;;
    *) echo "usage: $0 [--quick] [--workdir W] [--profiles N] [--inputs N] [--rounds N] [--threads N]" >&2; exit 2 ;;
  esac
  shift
done

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
kpgo=$build/kpgo

if ((quick)); then
  work=$cache/small-6.12
  config=()
else
  work=$cache/defconfig-6.12
  config=(--config defconfig --fragment "$root/configs/qemu-x86_64.config")
fi
mkdir -p "$cache"
if [[ -n $given ]]; then
  work=$given
  profiles=$(find "$work/profiles" -maxdepth 1 -name '*-[0-9]*.profraw' ! -name '*-[0-9]*.*.profraw' | wc -l)
  ((profiles)) || { echo "$work/profiles has no vmlinux profiles" >&2; exit 1; }
fi
if [[ -z $given ]]; then
  # Both steps resume: instrument rebuilds incrementally, collect replaces the set it makes.
  if ! python3 -c 'import json,sys; sys.exit(0 if "finished" in json.load(open(sys.argv[1])).get("instrument", {}) else 1)' \
      "$work/kpgo.json" 2>/dev/null; then
    "$kpgo" instrument --source /usr/src/linux-source-6.12.tar.xz --workdir "$work" "${config[@]}"
  fi
  have=$(find "$work/profiles" -name 'default-*.profraw' 2>/dev/null | wc -l)
  if ((have < profiles)); then
    "$kpgo" collect --workdir "$work" --runs "$profiles" --timeout 7200
  fi
fi
if [[ -n $given ]]; then
  mapfile -t inputs < <(find "$work/profiles" -maxdepth 1 -name '*-[0-9]*.profraw' ! -name '*-[0-9]*.*.profraw' | sort -V)
else
  mapfile -t inputs < <(find "$work/profiles" -name 'default-*.profraw' | sort -V | head -n "$profiles")
fi
llvm_major=$("$kpgo" merge --json -o "$cache/probe.profdata" "${inputs[0]}" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["llvm"]["major"])')

out=$(mktemp -d "${TMPDIR:-/tmp}/kpgo-bench-XXXXXX")
trap 'rm -rf "$out"' EXIT
if ((wanted > 0)); then
  distinct=("${inputs[@]}")
  inputs=()
  mkdir "$out/inputs"
  for ((i = 0; i < wanted; i++)); do
    ln -s "$(realpath "${distinct[i % ${#distinct[@]}]}")" "$out/inputs/$i.profraw"
    inputs+=("$out/inputs/$i.profraw")
  done
fi
python3 - "$kpgo" "llvm-profdata-$llvm_major" "$threads" "$rounds" "$out" "${inputs[@]}" <<'PY'
import os, platform, statistics, subprocess, sys, time

kpgo, llvm_profdata, threads, rounds, out = sys.argv[1:6]
inputs = sys.argv[6:]
threads, rounds = int(threads), int(rounds)

commands = {
    "kpgo merge": [kpgo, "merge", "-q", "-j", str(threads), "-o", f"{out}/kpgo.profdata", *inputs],
    "llvm-profdata merge": [llvm_profdata, "merge", "-j", str(threads), "-o", f"{out}/llvm.profdata", *inputs],
    "cat (floor)": ["cat", *inputs],
}

def run(argv):
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{argv[0]} failed (status {status})")
    return wall, usage.ru_maxrss / 1024  # MiB

for argv in commands.values():  # warm the page cache and the libraries
    run(argv)
results = {name: [] for name in commands}
names = list(commands)
for r in range(rounds):
    order = names if r % 2 == 0 else names[::-1]
    for name in order:
        results[name].append(run(commands[name]))

size = sum(os.path.getsize(p) for p in inputs)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {cpu}, {os.cpu_count()} CPUs, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, {platform.release()}")
print(f"inputs: {len(inputs)} raw profiles, {size / 2**20:.1f} MiB in all ({size / len(inputs) / 2**20:.2f} MiB each)")
print(f"threads: {threads}; rounds: {rounds}, alternating; page cache warm\n")
print(f"{'':22} {'median s':>9} {'min s':>8} {'max s':>8} {'peak RSS MiB':>13}")
median = {}
rss = {}
for name in names:
    walls = [w for w, _ in results[name]]
    median[name] = statistics.median(walls)
    rss[name] = max(m for _, m in results[name])
    print(f"{name:22} {median[name]:9.3f} {min(walls):8.3f} {max(walls):8.3f} {rss[name]:13.1f}")
k, l, c = median["kpgo merge"], median["llvm-profdata merge"], median["cat (floor)"]
print()
print(f"llvm-profdata / kpgo: {l / k:6.1f}x  (kpgo is that many times faster)")
print(f"kpgo / floor:         {k / c:6.2f}x")
print(f"peak RSS kpgo / llvm-profdata: {rss['kpgo merge'] / rss['llvm-profdata merge']:.2f}")
same = open(f"{out}/kpgo.profdata", "rb").read() == open(f"{out}/llvm.profdata", "rb").read()
print(f"outputs identical: {'yes' if same else 'NO'}")
if not same:
    # llvm-profdata's threads take inputs in no fixed order; where that matters its own output
    # varies from run to run. Say so rather than hide it.
    subprocess.run(commands["llvm-profdata merge"][:-len(inputs)] + [*inputs], check=True)
    again = open(f"{out}/llvm.profdata", "rb").read() == open(f"{out}/kpgo.profdata", "rb").read()
    print(f"  second llvm-profdata run identical to kpgo's: {'yes' if again else 'no'}")
    sys.exit(1)
PY
