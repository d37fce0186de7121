#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo instrument on Debian's linux-source-6.12 with clang 19 and the default small config: the
# kernel builds, boots in QEMU on 2 CPUs, and its debugfs profile is right: thousands of
# functions counted, indirect-call targets, vmlinux's build ID, zero after a reset, valid while
# both CPUs run a workload and when a reset hits an open read.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/guest.sh"

line=${KPGO_TEST_KERNEL_LINE:-6.12}
tarball=/usr/src/linux-source-$line.tar.xz
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/instrument-$line
[[ -f $tarball ]] || fail "$tarball missing (scripts/setup.sh installs linux-source-$line)"

expect_ok "dry run" "$KPGO" instrument --source "$tarball" --workdir "$workdir" --dry-run
expect_in "$WORK/out" "LLVM=-19 ARCH=x86_64" "dry run prints the make commands"
expect_ok "dry run --json" "$KPGO" instrument --json --source "$tarball" --workdir "$workdir" --dry-run
expect_json_schema "kpgo instrument" "$WORK/out"

step "kpgo instrument: Linux $line, clang 19, the small config"
"$KPGO" instrument --source "$tarball" --workdir "$workdir" > "$TEST_LOGS/instrument.out" 2> "$TEST_LOGS/instrument.err" ||
  { tail -40 "$TEST_LOGS/instrument.err" >&2; fail "kpgo instrument failed"; }
pass
step "built"
expect_in "$TEST_LOGS/instrument.out" "instrumented kernel built" "instrument's summary"
manifest=$workdir/kpgo.json
python3 - "$manifest" "$line" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["instrument"]
assert m["kernel_version"].startswith(sys.argv[2] + "."), m["kernel_version"]
assert m["support"] == "kpgo", m
assert m["llvm"]["major"] == 19 and m["llvm"]["raw_version"] == 10, m["llvm"]
assert len(m["vmlinux_build_id"]) == 40, m
assert len(m["config_sha256"]) == 64 and m["started"] and m["finished"], m
assert any("olddefconfig" in c for c in m["commands"]), m["commands"]
PY
pass
vmlinux=$workdir/build-instrumented/vmlinux
bzimage=$workdir/build-instrumented/arch/x86/boot/bzImage
build_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instrument"]["vmlinux_build_id"])' "$manifest")
[[ $(readelf -n "$vmlinux" | awk '/Build ID/ {print $3}') == "$build_id" ]] || fail "manifest build ID is not vmlinux's"
pass
for option in CONFIG_PGO_CLANG=y CONFIG_DEBUG_FS=y CONFIG_VIRTIO_BLK=y CONFIG_SMP=y; do
  grep -qx "$option" "$workdir/build-instrumented/.config" || fail "$option missing from .config"
done
pass

# A second run finds everything in place: the support is not added again, nothing is rebuilt.
before=$(stat -c %Y "$vmlinux")
expect_ok "second instrument" "$KPGO" instrument --source "$tarball" --workdir "$workdir"
! grep -q "added to the tree" "$WORK/out" || fail "second run added the support again"
[[ $(stat -c %Y "$vmlinux") == "$before" ]] || fail "second run relinked vmlinux"
pass

cp "$KPGO_SOURCE_DIR/configs/workloads/default.sh" workload.sh
step "booting the instrumented kernel"
make_initramfs initramfs.cpio "$KPGO_SOURCE_DIR/tests/integration/guest/pgo-checks.init" workload.sh
boot_guest "$bzimage" initramfs.cpio disk.img 2 "$TEST_LOGS/boot.log"
grep -q KPGO-GUEST-DONE "$TEST_LOGS/boot.log" || { tail -40 "$TEST_LOGS/boot.log" >&2; fail "the instrumented kernel did not finish the guest script"; }
step "booted"
pass
unpack_guest_disk disk.img guest
[[ $(cat guest/out/cpus) == 2 ]] || fail "the guest did not run on 2 CPUs"

summary() { "$KPGO" merge --json -o "$WORK/summary.profdata" "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["'"$2"'"])'; }
counted=$(summary guest/out/workload.profraw functions_with_counts)
((counted >= 2000)) || fail "only $counted functions counted after the workload"
pass
llvm-profdata-19 show --all-functions --ic-targets guest/out/workload.profraw > ic.txt
targets=$(grep -cE '^\s+\[ *[0-9]+, [A-Za-z_]' ic.txt || true)
((targets >= 20)) || fail "only $targets named indirect-call targets"
pass
llvm-profdata-19 show --binary-ids guest/out/workload.profraw | grep -qx "$build_id" ||
  fail "the profile does not carry vmlinux's build ID"
pass

function_count() {  # PROFILE FUNCTION: the sum of the function's counters (show matches substrings)
  llvm-profdata-19 show --function="$2" --counts "$1" | awk -v name="  $2:" '
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
  llvm-profdata-19 show --all-functions --counts "$1" |
    awk '/Block counts/ { gsub(/[^0-9,]/, ""); n = split($0, c, ","); for (i = 1; i <= n; i++) s += c[i] } END { print s + 0 }'
}
after_reset=$(total_count guest/out/reset.profraw)
workload_total=$(total_count guest/out/workload.profraw)
((after_reset * 20 < workload_total)) ||
  fail "after the reset the counters still add up to $after_reset (workload: $workload_total)"
pass
for n in 1 2 3 4 5; do
  expect_ok "profile $n read during the workload" "$KPGO" merge -q -o during.profdata "guest/out/during-$n.profraw"
done
opened=$(total_count guest/out/opened-before-reset.profraw)
((opened > after_reset * 5)) || fail "a read opened before a reset lost its snapshot ($opened vs $after_reset)"
pass
expect_ok "merge all guest profiles" "$KPGO" merge -q -o all.profdata guest/out/workload.profraw guest/out/during-*.profraw
finish
