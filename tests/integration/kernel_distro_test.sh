#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo on a distribution's own config: Debian's amd64 config for 6.12 (linux-config-6.12), trimmed
# to the QEMU guest's modules with kbuild's localmodconfig (configs/lsmod/qemu-guest.lsmod). The
# instrumented kernel builds; it boots in QEMU with its virtio disk, ext4 and loop as modules;
# the default workload loads and uses them; collect keeps vmlinux's and the modules' profiles
# (virtio_blk is loaded before the counters are reset and only carries the results out). objtool
# has nothing to say about the instrumented build.
# Long (a distribution kernel's built-in part is large): scripts/test.sh --distro.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
workdir=${KPGO_TEST_WORKDIR:-$KPGO_BUILD_DIR/test-work}/distro-6.12
listing=$KPGO_SOURCE_DIR/configs/lsmod/qemu-guest.lsmod
[[ -f /usr/src/linux-config-6.12/config.amd64_none_amd64.xz ]] ||
  fail "linux-config-6.12 missing (scripts/setup.sh installs it)"

expect_ok "dry run" "$KPGO" instrument --source "$tarball" --workdir "$workdir" --config debian \
  --localmod "$listing" --dry-run
expect_in "$WORK/out" "config.amd64_none_amd64.xz" "the dry run names Debian's config"
expect_in "$WORK/out" "localmodconfig" "the dry run trims it with localmodconfig"

step "kpgo instrument: Debian's 6.12 config, trimmed to the guest's modules"
mark_logs "$workdir/logs"
started=$(date +%s)
# --force here and below: a build and a collect each time, even over an earlier run's workdir.
"$KPGO" instrument --force --source "$tarball" --workdir "$workdir" --config debian --localmod "$listing" \
  > "$TEST_LOGS/instrument.out" 2> "$TEST_LOGS/instrument.err" ||
  { tail -40 "$TEST_LOGS/instrument.err" >&2; fail "kpgo instrument failed"; }
echo "instrumented build of the trimmed Debian config: $(($(date +%s) - started)) s" | tee -a "$TEST_LOGS/timing"
pass
config=$workdir/build-instrumented/.config
for option in CONFIG_PGO_CLANG=y CONFIG_MODULES=y CONFIG_EXT4_FS=m CONFIG_BLK_DEV_LOOP=m \
  CONFIG_VIRTIO_BLK=m CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y CONFIG_DEBUG_INFO_NONE=y; do
  grep -qx "$option" "$config" || fail "$option missing from the trimmed Debian .config"
done
modules=$(wc -l < "$workdir/build-instrumented/modules.order")
((modules > 5 && modules < 80)) || fail "$modules modules built: localmodconfig did not trim"
# Debian's config has IBT, ORC and retpolines: objtool checks vmlinux.o and every module against
# all of them, and the instrumentation must leave it nothing to say.
if new_log_text "$workdir/logs" | grep 'warning: objtool' > objtool.txt; then
  cat objtool.txt >&2
  fail "objtool warnings in the instrumented Debian build"
fi
pass

step "kpgo collect: the Debian kernel in QEMU"
"$KPGO" collect --force --workdir "$workdir" --runs 1 --memory 2048 --timeout 1500 --json \
  > collect.json 2> "$TEST_LOGS/collect.err" ||
  { tail -40 "$TEST_LOGS/collect.err" >&2; fail "kpgo collect failed"; }
expect_json_schema "kpgo collect" collect.json
python3 - collect.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["kept"]) == 1, d
kept = " ".join(d["kept"][0]["modules"])
for module in ("ext4", "jbd2", "loop"):
    assert f".{module}.profraw" in kept, (module, kept)
PY
pass
# What it passed on: scripts/ci/kernel-side.sh record stamps it, and CI reruns this test when the
# kernel-side files differ from the stamp. Taken at the end, as the test passes.
bash "$KPGO_SOURCE_DIR/scripts/ci/kernel-side.sh" hash > "$TEST_LOGS/kernel-side.sha256.tmp"
mv "$TEST_LOGS/kernel-side.sha256.tmp" "$TEST_LOGS/kernel-side.sha256"
finish
