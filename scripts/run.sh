#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a fresh Debian 12 machine: install what kpgo needs, build it, check the
# toolchain, then run the whole PGO pipeline on the built-in default: Debian's linux-source-6.12,
# a small configuration that boots in QEMU, clang 19, the default workload, three runs, in
# ./kpgo-work; then `kpgo bench` measures the PGO kernel against a baseline built without
# profile (QEMU -icount, the default workload and one it was not trained on) and prints the
# table. Running it again resumes where it stopped and redoes nothing that is done.
# Arguments go to `kpgo run` (see `kpgo run --help`); its --workdir also to `kpgo bench`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPGO_BUILD_DIR:-$root/build}

bash "$root/scripts/setup.sh"
bash "$root/scripts/test.sh" --no-setup --build-only
kpgo=$build/kpgo

# The toolchain check prints its report and stops here, with the fix, when it cannot work.
"$kpgo" doctor
"$kpgo" run "$@"
workdir="kpgo-work"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --workdir) workdir=${args[i + 1]} ;;
    --workdir=*) workdir=${args[i]#--workdir=} ;;
  esac
done
"$kpgo" bench --workdir "$workdir" --html "$workdir/bench.html"
