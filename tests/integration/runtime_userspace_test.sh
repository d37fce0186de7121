#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel/pgo's profile writer and value profiling, built into user-space programs in place of
# compiler-rt: for clang 16 (raw v8), 19 and 22 (raw v10), llvm-profdata of the same LLVM must show
# exactly what it shows for compiler-rt's profile of the same run. This proves each raw version
# the kernel writes without booting one.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

runtime=$KPGO_SOURCE_DIR/kernel/pgo
shim=$KPGO_SOURCE_DIR/tests/runtime/shim
show=(show --all-functions --counts --ic-targets --memop-sizes)

for major in "${TEST_LLVM_MAJORS[@]}"; do
  llvm_pick "$major"
  cc=clang-$major
  # A pool big enough that neither runtime runs out of value nodes (compiler-rt has 1024 more).
  pgo_flags=(-O1 -fprofile-generate -mllvm -vp-counters-per-site=24)
  "$cc" "${pgo_flags[@]}" -c "$KPGO_SOURCE_DIR/tests/programs/workload.c" -o "workload-$major.o"
  # Atomic counters as CONFIG_PGO_CLANG_ATOMIC builds them: clang 16 ignores -fprofile-update=atomic
  # for -fprofile-generate, the -mllvm option works on every clang.
  "$cc" "${pgo_flags[@]}" -mllvm -instrprof-atomic-counter-update-all -pthread \
    -c "$KPGO_SOURCE_DIR/tests/programs/threads.c" -o "threads-$major.o"
  objects=()
  for unit in sections value write; do
    "$cc" -O2 -Wall -Wextra -Werror -I"$shim" -I"$runtime" -c "$runtime/$unit.c" -o "$unit-$major.o"
    objects+=("$unit-$major.o")
  done
  atomic_objects=("${objects[@]/value-$major.o/value-atomic-$major.o}")
  "$cc" -O2 -Wall -Wextra -Werror -DCONFIG_PGO_CLANG_ATOMIC_SHIM=1 -I"$shim" -I"$runtime" \
    -c "$runtime/value.c" -o "value-atomic-$major.o"
  "$cc" -O2 -Wall -Wextra -Werror -I"$shim" -I"$runtime" -c "$KPGO_SOURCE_DIR/tests/runtime/harness.c" \
    -o "harness-$major.o"
  symbols=()
  for section in data cnts bits names vals vnds; do
    symbols+=("-Wl,--defsym=__llvm_prf_${section}_start=__start___llvm_prf_${section}"
              "-Wl,--defsym=__llvm_prf_${section}_end=__stop___llvm_prf_${section}")
  done
  "$cc" -fuse-ld=lld "workload-$major.o" "harness-$major.o" "${objects[@]}" "${symbols[@]}" -o "kpgo-$major"
  "$cc" -fprofile-generate "workload-$major.o" -o "crt-$major"

  for run in 1 2 3; do
    KPGO_PROFILE_FILE="kpgo-$major-$run.profraw" KPGO_RESET_PROFILE_FILE="reset-$major-$run.profraw" \
      "./kpgo-$major" $((run * 400)) "$run" > kpgo.out
    LLVM_PROFILE_FILE="crt-$major-$run.profraw" "./crt-$major" $((run * 400)) "$run" > crt.out
    expect_same kpgo.out crt.out "the program's own output, clang $major run $run"
    "llvm-profdata-$major" "${show[@]}" "kpgo-$major-$run.profraw" > kpgo.show
    "llvm-profdata-$major" "${show[@]}" "crt-$major-$run.profraw" > crt.show
    grep -q 'Indirect Target Results' crt.show && grep -q 'Memory Intrinsic Size Results' crt.show ||
      fail "clang $major: compiler-rt's profile has no value data; the comparison proves little"
    pass
    expect_same crt.show kpgo.show "llvm-profdata-$major show, kpgo runtime vs compiler-rt, run $run"

    # The binary ID in the profile is the program's own build ID.
    "llvm-profdata-$major" show --binary-ids "kpgo-$major-$run.profraw" | sed -n '/Binary IDs/{n;p}' > profile.id
    readelf -n "kpgo-$major" | awk '/Build ID:/ {print $3}' > program.id
    [[ -s program.id ]] || fail "the test program has no build ID"
    expect_same program.id profile.id "binary ID, clang $major"

    # After a reset every count is zero and no value is left.
    "llvm-profdata-$major" "${show[@]}" "reset-$major-$run.profraw" > reset.show
    grep -E 'Block counts: \[' reset.show | grep -vqE 'Block counts: \[0(, 0)*\]' &&
      fail "clang $major: a count survived the reset"
    pass
    grep -q 'Indirect Target Results:' reset.show && grep -A1 'Indirect Target Results:' reset.show | grep -q '\[' &&
      fail "clang $major: value data survived the reset"
    pass
  done

  # kpgo merge takes the runtime's profiles like compiler-rt's: same merged profile.
  expect_ok "merge kpgo-runtime profiles" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "kpgo-$major.profdata" kpgo-$major-*.profraw
  expect_ok "merge compiler-rt profiles" "$KPGO" merge "${LLVM_PICK[@]}" -q -o "crt-$major.profdata" crt-$major-*.profraw
  "llvm-profdata-$major" "${show[@]}" "kpgo-$major.profdata" > a.show
  "llvm-profdata-$major" "${show[@]}" "crt-$major.profdata" > b.show
  expect_same b.show a.show "merged profiles, clang $major"

  # Two threads hammering the same counters and value site. With atomic updates in the compiler's
  # counters and the runtime's value counts no update is lost: each target runs 500000 times per
  # thread. (Static functions are file.c:name before clang 19, file.c;name since.)
  "$cc" -fuse-ld=lld -pthread "threads-$major.o" "harness-$major.o" "${atomic_objects[@]}" "${symbols[@]}" \
    -o "threads-atomic-$major"
  KPGO_PROFILE_FILE="threads-$major.profraw" "./threads-atomic-$major" 2 1000000 > /dev/null
  "llvm-profdata-$major" "${show[@]}" "threads-$major.profraw" > threads.show
  [[ $(grep -cE 'threads.c[:;](even|odd), +1000000 \]' threads.show) == 2 ]] ||
    { cat threads.show >&2; fail "clang $major: atomic value counts lost updates"; }
  pass
  [[ $(grep -c 'Block counts: \[1000000\]' threads.show) == 2 ]] ||
    { cat threads.show >&2; fail "clang $major: atomic function counts lost updates"; }
  pass
done
finish
