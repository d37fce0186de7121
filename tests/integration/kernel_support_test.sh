#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo's kernel support on the real files of Debian's 6.12 and 6.1 sources (just the files the
# hooks touch, taken from the tarballs): added, found again, taken out leaving the tree as it was,
# and refused, touching nothing, where a hook does not apply or no hooks exist.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

hooked_files() {  # LINE: the files kpgo's hooks change (the generic and every arch's patch)
  sed -n 's|^+++ b/||p' "$KPGO_SOURCE_DIR/kernel/hooks/$1"/*.patch
}

for line in 6.12 6.1; do
  top=linux-source-$line
  mapfile -t files < <(hooked_files "$line")
  tar -xf "/usr/src/$top.tar.xz" "${files[@]/#/$top/}"
  cp -a "$top" "pristine-$line"

  expect_ok "$line: dry run" "$KPGO" instrument --support-only --dry-run --source "$top"
  expect_in "$WORK/out" "patch -p1" "$line: dry run shows the patch"
  diff -r "pristine-$line" "$top" > /dev/null || fail "$line: the dry run changed the tree"
  pass

  expect_ok "$line: add support" "$KPGO" instrument --support-only --source "$top"
  expect_in "$WORK/out" "clang PGO support added (kernel line $line)" "$line: added"
  [[ -f $top/kernel/pgo/.kpgo-support && -f $top/kernel/pgo/write.c ]] || fail "$line: runtime not in kernel/pgo"
  grep -q "PGO_CLANG_DATA" "$top/include/asm-generic/vmlinux.lds.h" || fail "$line: linker script not hooked"
  for arch in x86 arm64; do
    grep -q "select ARCH_SUPPORTS_PGO_CLANG" "$top/arch/$arch/Kconfig" || fail "$line: $arch does not select PGO"
  done
  pass

  # Kernel code is kernel code: the runtime and the hooks pass the line's own checkpatch --strict
  # (the hook patch has no commit message to check).
  mkdir -p "checkpatch-$line"
  tar -C "checkpatch-$line" -xf "/usr/src/$top.tar.xz" "$top/scripts/checkpatch.pl" \
    "$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch"
  checkpatch=(perl "checkpatch-$line/$top/scripts/checkpatch.pl" --strict --no-tree --show-types)
  "${checkpatch[@]}" -f "$top"/kernel/pgo/*.c "$top"/kernel/pgo/*.h > checkpatch.txt 2>&1 ||
    { cat checkpatch.txt >&2; fail "$line: checkpatch --strict finds problems in kernel/pgo"; }
  for patch in "$KPGO_SOURCE_DIR/kernel/hooks/$line"/*.patch; do
    "${checkpatch[@]}" --no-signoff --ignore COMMIT_MESSAGE,DIFF_IN_COMMIT_MSG "$patch" > checkpatch.txt 2>&1 ||
      { cat checkpatch.txt >&2; fail "$line: checkpatch --strict finds problems in ${patch##*/}"; }
  done
  pass
  expect_ok "$line: doctor sees it" "$KPGO" doctor --source "$top" --json
  expect_in "$WORK/out" '"pgo_support": "kpgo"' "$line: doctor reports kpgo's support"

  expect_ok "$line: add again" "$KPGO" instrument --support-only --source "$top"
  expect_in "$WORK/out" "already there" "$line: second add is a no-op"

  expect_ok "$line: remove" "$KPGO" instrument --remove-support --source "$top"
  diff -r "pristine-$line" "$top" > diff.txt || { cat diff.txt >&2; fail "$line: removal left changes"; }
  pass

  # A tree whose file no longer matches a hook: refused, nothing changed.
  sed -i 's/^export CFLAGS_GCOV$/export CFLAGS_GCOV # local change/' "$top/Makefile"
  cp -a "$top" "changed-$line"
  expect_fails "$line: hook does not apply" "$KPGO" instrument --support-only --source "$top"
  expect_in "$WORK/err" "do not apply" "$line: refusal names the reason"
  expect_in "$WORK/err" "nothing was changed" "$line: refusal says nothing changed"
  diff -r "changed-$line" "$top" > /dev/null || fail "$line: a refused add changed the tree"
  pass
done

# No hooks for this line: refused with the lines kpgo knows.
sed -i 's/^PATCHLEVEL = 12$/PATCHLEVEL = 7/' pristine-6.12/Makefile
expect_fails "unknown kernel line" "$KPGO" instrument --support-only --source pristine-6.12
expect_in "$WORK/err" "no hooks for Linux 6.7" "unknown line named"
expect_in "$WORK/err" "6.1, 6.12" "known lines listed"

# A tree with support of its own is used as it is.
mkdir -p native/kernel/pgo
printf 'VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 0\nEXTRAVERSION =\n' > native/Makefile
printf 'config PGO_CLANG\n\tbool "PGO"\n' > native/kernel/pgo/Kconfig
expect_ok "native support" "$KPGO" instrument --support-only --source native
expect_in "$WORK/out" "of its own" "native support used"
finish
