#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets up a Debian 12 machine, builds kpgo and runs its tests with the real clang, lld,
# llvm-profdata, kernel sources and QEMU.
#
#   bash scripts/test.sh              unit and integration tests, and one kernel line (6.12)
#                                     built, booted, profiled and optimized
#   bash scripts/test.sh --quick      only the tests that need no kernel build (minutes)
#   bash scripts/test.sh --matrix     also the longer matrix (bench with its baseline build, the
#                                     6.1 line); run it before calling a change to what it covers
#                                     done (docs/testing.md)
#   bash scripts/test.sh --distro     also Debian's own 6.12 config, trimmed to the guest's modules,
#                                     built, booted and profiled (long; docs/testing.md)
#   --build-only                      set up and build, run nothing
#   --no-setup                        skip scripts/setup.sh
#   --sanitize                        build kpgo and its backends with ASan and UBSan (in
#                                     build-sanitize/) and run the tests with that build; CI does
#   -- ARGS...                        more arguments for ctest (e.g. -R merge)
#
# Each test's time is printed as it ends; a test that fails or times out has the tail of its
# logs (build/test-logs/NAME/) printed after the summary.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KPGO_BUILD_DIR:-$root/build}

scope=default
setup=1 build_only=0 sanitize=0 distro=0 ctest_args=()
while (($#)); do
  case $1 in
    --quick) scope=quick ;;
    --matrix) scope=matrix ;;
    --distro) distro=1 ;;
    --build-only) build_only=1 ;;
    --no-setup) setup=0 ;;
    --sanitize) sanitize=1 ;;
    --) shift; ctest_args+=("$@"); break ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

case $scope,$distro in
  quick,*) selection=(-LE 'kernel|matrix|distro') ;;
  default,0) selection=(-LE 'matrix|distro') ;;
  default,1) selection=(-LE matrix) ;;
  matrix,0) selection=(-LE distro) ;;
  matrix,1) selection=() ;;
esac

started=$(date +%s)
((setup)) && bash "$root/scripts/setup.sh"
configure_log=$(mktemp)
options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if ((sanitize)); then
  # kpgo and its backends with AddressSanitizer and UBSan, in a build directory of their own;
  # the first report ends the process (and so fails the test that ran it).
  build=${KPGO_BUILD_DIR:-$root/build-sanitize}
  # -O1 -g1: about half the compile time of -O2 -g, and reports still name file and line.
  options+=(-DKPGO_SANITIZE=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
  # Each kpgo run costs several times more here: fewer random inputs in the tests that make
  # them (the fuzz stage damages inputs in depth under the same sanitizers).
  export KPGO_TEST_MUTATIONS=${KPGO_TEST_MUTATIONS:-30}
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
cmake -S "$root" -B "$build" -G Ninja "${options[@]}" > "$configure_log" 2>&1 ||
  { cat "$configure_log" >&2; rm -f "$configure_log"; exit 1; }
rm -f "$configure_log"
cmake --build "$build" -j "$(nproc)"
((build_only)) && exit 0

rm -rf "$build/test-logs"
status=0
(cd "$build" && ctest --output-on-failure -j "$(nproc)" ${selection[@]+"${selection[@]}"} \
  ${ctest_args[@]+"${ctest_args[@]}"}) || status=$?

if ((status)) && [[ -f $build/Testing/Temporary/LastTestsFailed.log ]]; then
  while IFS=: read -r _ name; do
    for log in "$build/test-logs/$name"/*; do
      [[ -f $log ]] || continue
      echo "----- $name: last lines of ${log#"$build"/}" >&2
      tail -n 40 "$log" >&2
    done
  done < "$build/Testing/Temporary/LastTestsFailed.log"
fi
echo "kpgo tests: $(($(date +%s) - started)) s in all (setup, build and tests)" >&2
exit "$status"
