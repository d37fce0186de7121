#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo doctor on the real toolchains: the versions it reports are the ones clang really writes,
# and a toolchain that cannot work gets a non-zero exit and the fix.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

check_toolchain() {  # MAJOR RAW INDEXED
  local major=$1 raw=$2 indexed=$3
  expect_ok "doctor --llvm -$major" "$KPGO" doctor --llvm "-$major" --json
  python3 - "$WORK/out" "$major" "$raw" "$indexed" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
major, raw, indexed = map(int, sys.argv[2:5])
assert d["verdict"] == "ok", d
assert d["clang"]["major"] == major and d["ld.lld"]["major"] == major, d
assert d["raw_version_written"] == raw, d
assert d["indexed_version_read"] == indexed, d
assert d["merge_backend"] == major, d
majors = sorted(b["major"] for b in d["merge_backends"])
assert {16, 19, 22} <= set(majors), majors
# setup installs both guests: each arch's QEMU and static busybox of that arch.
assert {g["arch"]: g["ready"] for g in d["guests"]} == {"x86_64": True, "arm64": True}, d["guests"]
PY
  pass
}
check_toolchain 16 8 9
check_toolchain 19 10 12
check_toolchain 22 10 13

expect_ok "doctor text" "$KPGO" doctor --llvm -19
expect_in "$WORK/out" "clang writes raw version 10, reads indexed versions up to 12" "doctor text"
expect_in "$WORK/out" "verdict: ok" "doctor text verdict"

# The prefix form, with a directory of real LLVM 19 tools.
expect_ok "doctor --llvm /usr/lib/llvm-19/bin/" "$KPGO" doctor --llvm /usr/lib/llvm-19/bin/ --json
expect_in "$WORK/out" '"merge_backend": 19' "prefix form"

# A toolchain without a linker cannot build a kernel.
mkdir -p nolld
for tool in clang llvm-ar llvm-nm llvm-objcopy llvm-objdump llvm-readelf llvm-strip llvm-profdata; do
  ln -s "/usr/lib/llvm-19/bin/$tool" "nolld/$tool"
done
expect_fails "doctor without ld.lld" "$KPGO" doctor --llvm "$WORK/nolld/"
expect_in "$WORK/out" "ld.lld not found" "missing linker named"
expect_in "$WORK/out" "verdict: this combination cannot work" "missing linker verdict"
expect_in "$WORK/err" "kpgo: error: LLVM=$WORK/nolld/: this combination cannot work" "the failure on stderr too"
expect_in "$WORK/err" "ld.lld not found" "stderr names the problem"
[[ $(tail -c1 "$WORK/out" | od -An -c | tr -d ' ') == '\n' ]] || fail "the verdict does not end its line"
pass

expect_fails "doctor with a clang that does not exist" "$KPGO" doctor --llvm -99
expect_in "$WORK/out" "clang-99 not found; apt-get install clang-99 lld-99 llvm-99" "install hint"
expect_fails "doctor with a bad LLVM value" "$KPGO" doctor --llvm 19
expect_in "$WORK/err" "LLVM=19: expected 1, -N" "bad --llvm value"

# A kernel tree: version and support detected from the real Debian source.
tarball=/usr/src/linux-source-6.12.tar.xz
tar -xf "$tarball" --wildcards '*/Makefile' --exclude='*/*/*' 2>/dev/null || true
tree=$(dirname "$(ls -d linux-source-6.12/Makefile)")
expect_ok "doctor --source" "$KPGO" doctor --llvm -19 --source "$tree" --json
python3 - "$WORK/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["source"]["kernel_version"].startswith("6.12."), d["source"]
assert d["source"]["pgo_support"] == "none", d["source"]
PY
pass
expect_json_schema "kpgo doctor" "$WORK/out"
expect_fails "doctor --source on a non-kernel" "$KPGO" doctor --source "$WORK/nolld"
expect_in "$WORK/out" "not a kernel tree" "non-kernel source"
finish
