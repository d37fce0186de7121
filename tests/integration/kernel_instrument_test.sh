#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo instrument on Debian's linux-source-6.12 (or $KPGO_TEST_KERNEL_LINE) with clang 19 (or
# $KPGO_TEST_LLVM_MAJOR) and the default small config: the
# kernel builds, boots in QEMU on 2 CPUs, and its debugfs profile is right: thousands of
# functions counted, indirect-call targets, vmlinux's build ID, zero after a reset, valid while
# both CPUs run a workload and when a reset hits an open read.
# KPGO_TEST_ATOMIC=1: with --atomic-counters, the counter updates checked to be atomic in the
# code; on arm64 built as a toolchain that defaults to outline atomics would (KCFLAGS=
# -moutline-atomics) and booted on a CPU without LSE (cortex-a57) and on one with (max).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/guest.sh"

line=${KPGO_TEST_KERNEL_LINE:-6.12}
tarball=/usr/src/linux-source-$line.tar.xz
major=${KPGO_TEST_LLVM_MAJOR:-19}
arch=${KPGO_TEST_ARCH:-x86_64}
GUEST_ARCH=$arch
# The raw version each clang writes (8 for 14-17, 9 for 18, 10 for 19-22).
raw_version=$(( major >= 19 ? 10 : major == 18 ? 9 : 8 ))
profdata=llvm-profdata-$major
# clang 19's workdir is the one the pipeline and bench tests continue in.
atomic=${KPGO_TEST_ATOMIC:-0}
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/instrument-$line$( ((major == 19)) || echo "-clang$major")$([[ $arch == x86_64 ]] || echo "-$arch")$( ((atomic == 0)) || echo "-atomic")
# What instrument gets besides the source, workdir, clang and arch.
build_options=()
if ((atomic)); then
  build_options=(--atomic-counters)
  [[ $arch == arm64 ]] && build_options+=(-- KCFLAGS=-moutline-atomics)
fi
guest_cpus=(default)
((atomic)) && [[ $arch == arm64 ]] && guest_cpus=(cortex-a57 max)
[[ -f $tarball ]] || fail "$tarball missing (scripts/setup.sh installs linux-source-$line)"

expect_ok "dry run" "$KPGO" instrument --source "$tarball" --workdir "$workdir" --llvm "-$major" --arch "$arch" --dry-run ${build_options[@]+"${build_options[@]}"}
expect_in "$WORK/out" "LLVM=-$major ARCH=$arch" "dry run prints the make commands"
expect_ok "dry run --json" "$KPGO" instrument --json --source "$tarball" --workdir "$workdir" \
  --llvm "-$major" --arch "$arch" --dry-run
expect_json_schema "kpgo instrument" "$WORK/out"

step "kpgo instrument: Linux $line, $arch, clang $major, the small config ${build_options[*]}"
# --force: the build runs (incrementally) even when an earlier run of this test left this kernel
# up to date; this test is about the build.
mark_logs "$workdir/logs"
"$KPGO" instrument --force --source "$tarball" --workdir "$workdir" --llvm "-$major" --arch "$arch" \
  ${build_options[@]+"${build_options[@]}"} > "$TEST_LOGS/instrument.out" 2> "$TEST_LOGS/instrument.err" ||
  { tail -40 "$TEST_LOGS/instrument.err" >&2; fail "kpgo instrument failed"; }
pass
step "built"
expect_in "$TEST_LOGS/instrument.out" "instrumented kernel built" "instrument's summary"
manifest=$workdir/kpgo.json
python3 - "$manifest" "$line" "$major" "$raw_version" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["instrument"]
assert m["kernel_version"].startswith(sys.argv[2] + "."), m["kernel_version"]
assert m["support"] == "kpgo", m
assert m["llvm"]["major"] == int(sys.argv[3]), m["llvm"]
assert m["llvm"]["raw_version"] == int(sys.argv[4]), m["llvm"]
assert len(m["vmlinux_build_id"]) == 40, m
assert len(m["config_sha256"]) == 64 and m["started"] and m["finished"], m
assert any("olddefconfig" in c for c in m["commands"]), m["commands"]
PY
pass
vmlinux=$workdir/build-instrumented/vmlinux
case $arch in
  x86_64) bzimage=$workdir/build-instrumented/arch/x86/boot/bzImage ;;
  arm64) bzimage=$workdir/build-instrumented/arch/arm64/boot/Image ;;
esac
build_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instrument"]["vmlinux_build_id"])' "$manifest")
[[ $(readelf -n "$vmlinux" | awk '/Build ID/ {print $3}') == "$build_id" ]] || fail "manifest build ID is not vmlinux's"
pass
for option in CONFIG_PGO_CLANG=y CONFIG_DEBUG_FS=y CONFIG_VIRTIO_BLK=y CONFIG_SMP=y \
  CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y CONFIG_MODULES=y CONFIG_BLK_DEV_LOOP=m CONFIG_EXT4_FS=m; do
  grep -qx "$option" "$workdir/build-instrumented/.config" || fail "$option missing from .config"
done
pass
# The counter updates in code: atomic read-modify-writes with --atomic-counters (x86: lock-prefixed;
# arm64: inline exclusives, which every ARMv8 CPU runs, never calls to libgcc's outline helpers),
# plain ones without.
"llvm-objdump-$major" -d -r --no-show-raw-insn "$workdir/build-instrumented/kernel/fork.o" > fork.s
case $arch in
  x86_64) atomic_updates=$(grep -cE 'lock\s+(inc|add)q' fork.s || true) ;;
  arm64) atomic_updates=$(grep -cE '\sldxr\s' fork.s || true) ;;
esac
if ((atomic)); then
  grep -qx CONFIG_PGO_CLANG_ATOMIC=y "$workdir/build-instrumented/.config" || fail "CONFIG_PGO_CLANG_ATOMIC missing"
  ((atomic_updates > 200)) || fail "only $atomic_updates atomic updates in kernel/fork.o with --atomic-counters"
  ! grep -q '__aarch64_' fork.s || fail "outline atomics (calls to __aarch64_ helpers) in kernel/fork.o"
else
  # The kernel's own atomics: none lock-prefixed inline on x86 (its LOCK_PREFIX is a separate
  # byte), about 40 exclusive loads in arm64's LL/SC fallbacks.
  ((atomic_updates < 100)) || fail "$atomic_updates atomic updates in kernel/fork.o without --atomic-counters"
fi
pass
# The kernel side builds clean: objtool has nothing to say about the runtime or its callers.
# Known warnings that the same compile without -fprofile-generate gives too, per line:
#   6.1, clang 19: fs/eventpoll.o ep_poll_callback: unreachable instruction.
known_objtool='^fs/eventpoll\.o: warning: objtool: ep_poll_callback\+0x[0-9a-f]+: unreachable instruction$'
[[ $line == 6.1 ]] || known_objtool='^$'
if new_log_text "$workdir/logs" | grep "objtool" | grep -i "warning" | grep -vE "$known_objtool" > objtool.txt; then
  cat objtool.txt >&2
  fail "objtool warnings in the instrumented build"
fi
pass
python3 - "$manifest" <<'PY' > modules.txt
import json, sys
m = json.load(open(sys.argv[1]))["instrument"]
assert m["modules_dir"], m
for module in m["modules"]:
    print(module["name"], module["build_id"], module["file"])
PY
for module in ext4 jbd2 loop; do
  grep -q "^$module " modules.txt || fail "module $module not recorded in kpgo.json"
done
pass

# A second run finds everything in place: the support is not added again, nothing is rebuilt.
before=$(stat -c %Y "$vmlinux")
expect_ok "second instrument" "$KPGO" instrument --source "$tarball" --workdir "$workdir" --llvm "-$major" --arch "$arch" \
  ${build_options[@]+"${build_options[@]}"}
expect_in "$WORK/out" "instrumented kernel up to date" "second run: its inputs are unchanged"
! grep -q "added to the tree" "$WORK/out" || fail "second run added the support again"
[[ $(stat -c %Y "$vmlinux") == "$before" ]] || fail "second run relinked vmlinux"
pass

cp "$KPGO_SOURCE_DIR/configs/workloads/default.sh" workload.sh
# boot_and_check CPU: boots the instrumented kernel on QEMU's CPU model CPU (default: the
# arch's) and checks its profiles.
boot_and_check() {
  step "booting the instrumented kernel (CPU: $1)"
  rm -rf guest disk.img
  [[ $1 == default ]] || export GUEST_CPU=$1
  make_initramfs --modules "$workdir/build-instrumented/kpgo-modules" initramfs.cpio \
    "$KPGO_SOURCE_DIR/tests/integration/guest/pgo-checks.init" workload.sh
  boot_guest "$bzimage" initramfs.cpio disk.img 2 "$TEST_LOGS/boot-$1.log"
  grep -q KPGO-GUEST-DONE "$TEST_LOGS/boot-$1.log" || { tail -40 "$TEST_LOGS/boot-$1.log" >&2; fail "the instrumented kernel did not finish the guest script"; }
  step "booted"
  pass
  unpack_guest_disk disk.img guest
  [[ $(cat guest/out/cpus) == 2 ]] || fail "the guest did not run on 2 CPUs"

  summary() { "$KPGO" merge --json -o "$WORK/summary.profdata" "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["'"$2"'"])'; }
  counted=$(summary guest/out/workload.profraw functions_with_counts)
  ((counted >= 2000)) || fail "only $counted functions counted after the workload"
  pass
  "$profdata" show --all-functions --ic-targets guest/out/workload.profraw > ic.txt
  targets=$(grep -cE '^\s+\[ *[0-9]+, [A-Za-z_]' ic.txt || true)
  ((targets >= 20)) || fail "only $targets named indirect-call targets"
  pass
  "$profdata" show --binary-ids guest/out/workload.profraw | grep -qx "$build_id" ||
    fail "the profile does not carry vmlinux's build ID"
  pass

  function_count() {  # PROFILE FUNCTION: the sum of the function's counters (show matches substrings)
    "$profdata" show --function="$2" --counts "$1" | awk -v name="  $2:" '
      $0 == name { mine = 1; next }
      /^  [^ ]/ { mine = 0 }
      mine && /Block counts/ { gsub(/[^0-9,]/, ""); n = split($0, c, ","); for (i = 1; i <= n; i++) s += c[i] }
      END { print s + 0 }'
  }
  (($(function_count guest/out/workload.profraw tcp_sendmsg) > 0)) || fail "tcp_sendmsg not counted in the workload"
  pass
  for function in tcp_sendmsg pipe_write do_rmdir; do
    [[ $(function_count guest/out/reset.profraw $function) == 0 ]] || fail "$function counted after the reset"
  done
  pass
  total_count() {  # PROFILE: the sum of all its counters
    "$profdata" show --all-functions --counts "$1" |
      awk '/Block counts/ { gsub(/[^0-9,]/, ""); n = split($0, c, ","); for (i = 1; i <= n; i++) s += c[i] } END { print s + 0 }'
  }
  after_reset=$(total_count guest/out/reset.profraw)
  workload_total=$(total_count guest/out/workload.profraw)
  ((after_reset * 20 < workload_total)) ||
    fail "after the reset the counters still add up to $after_reset (workload: $workload_total)"
  pass
  # Modules: each the workload loaded has a profile with counts and its own .ko's build ID, kept
  # after the module unloaded; ext4's counts go on across its load and unload in every round.
  grep -qE "^(ext4|loop) " guest/out/lsmod-after-workload && fail "the workload left ext4 or loop loaded"
  for module in ext4 jbd2 mbcache loop; do
    profile=guest/out/modules/$module.profraw
    [[ -s $profile ]] || fail "no $module.profraw after the workload unloaded it"
    (($(summary "$profile" functions_with_counts) > 0)) || fail "no function of $module counted"
    expected=$(awk -v m="$module" '$1 == m {print $2}' modules.txt)
    "$profdata" show --binary-ids "$profile" | grep -qx "$expected" ||
      fail "$module.profraw does not carry $module.ko's build ID $expected"
  done
  pass
  # ext4_init_fs_context runs once per mount: one mount in each of the two loads of ext4.
  mounts=$("$profdata" show --function=ext4_init_fs_context --counts guest/out/modules/ext4.profraw |
    awk '/Block counts/ { gsub(/[^0-9,]/, ""); n = split($0, c, ","); for (i = 1; i <= n; i++) if (c[i] > m) m = c[i] } END { print m + 0 }')
  [[ $mounts == 2 ]] ||
    fail "ext4_init_fs_context counted $mounts times for 2 mounts in 2 loads of ext4 (the counts of an unloaded module must carry over)"
  pass
  expect_ok "a module profile opened across its unload" "$KPGO" merge -q -o loop.profdata \
    guest/out/loop-open-across-unload.profraw
  grep -qx "ext4.profraw" guest/out/files-before-reset || fail "ext4.profraw went with the module"
  grep -qx "ext4.profraw" guest/out/files-after-reset && fail "ext4.profraw outlived the reset"
  grep -qx "vmlinux.profraw" guest/out/files-after-reset || fail "vmlinux.profraw went at the reset"
  awk 'NR > 1 && $4 != 0 { bad = 1 } END { exit bad }' guest/out/values ||
    { cat guest/out/values >&2; fail "value profiling dropped values"; }
  # An unloaded module's pool stays reported with its kept profile: its drops would count.
  awk '$1 == "ext4" && $2 > 0 && $3 > 0 { found = 1 } END { exit !found }' guest/out/values ||
    { cat guest/out/values >&2; fail "the values file has no pool figures for the unloaded ext4"; }
  pass
  expect_ok "merge vmlinux and its modules, one build tree" "$KPGO" merge -q --llvm "-$major" -o tree.profdata \
    --build-tree "$workdir/build-instrumented" guest/out/workload.profraw guest/out/modules/*.profraw
  "$profdata" merge -o tree-llvm.profdata guest/out/workload.profraw guest/out/modules/*.profraw
  cmp -s tree.profdata tree-llvm.profdata || fail "the build tree's merge differs from llvm-profdata's"
  pass
  for n in 1 2 3 4 5; do
    expect_ok "profile $n read during the workload" "$KPGO" merge -q -o during.profdata "guest/out/during-$n.profraw"
  done
  # The snapshot is taken at open: it holds at least what the read just before it saw (counters
  # only grow until the reset), and the reset after the open takes nothing from it. (A fixed
  # ratio to the counts after a reset was no test: on a slower emulated CPU, cortex-a57's
  # exclusives under TCG, the timer code counted more in the same steps.)
  opened=$(total_count guest/out/opened-before-reset.profraw)
  before_open=$(total_count guest/out/during-5.profraw)
  ((opened >= before_open && opened > after_reset)) ||
    fail "a read opened before a reset lost its snapshot ($opened; the read before it $before_open, after a reset $after_reset)"
  pass
  expect_ok "merge all guest profiles" "$KPGO" merge -q -o all.profdata guest/out/workload.profraw guest/out/during-*.profraw
}
for cpu in "${guest_cpus[@]}"; do
  boot_and_check "$cpu"
done
finish
