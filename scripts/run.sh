#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a fresh Debian 12 machine: install what kpgo needs, build it, check the
# toolchain with `kpgo doctor`, then show a real merge: a program built with clang's
# -fprofile-generate, run with three inputs, merged by kpgo and checked against llvm-profdata.
# (The kernel pipeline takes this place as its commands land.)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPGO_BUILD_DIR:-$root/build}
llvm=${KPGO_LLVM:--19}
major=${llvm#-}

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKPGO_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
kpgo=$build/kpgo

"$kpgo" doctor --llvm "$llvm" --source "$(ls -d /usr/src/linux-source-6.12* | head -1)" 2>/dev/null ||
  "$kpgo" doctor --llvm "$llvm"

work=${KPGO_WORKDIR:-$PWD/kpgo-work}/merge-demo
mkdir -p "$work"
cd "$work"
"clang-$major" -O2 -fprofile-generate -o workload "$root/tests/programs/workload.c"
for run in 1 2 3; do
  LLVM_PROFILE_FILE="workload-$run.profraw" ./workload $((run * 5000)) "$run" >/dev/null
done
"$kpgo" merge -o workload.profdata workload-*.profraw
"llvm-profdata-$major" merge -o reference.profdata workload-*.profraw
cmp workload.profdata reference.profdata
echo "kpgo's profile is byte-identical to llvm-profdata-$major's: $work/workload.profdata"
"clang-$major" -O2 -fprofile-use=workload.profdata -o workload-pgo "$root/tests/programs/workload.c"
echo "clang-$major built with it: $work/workload-pgo"
