#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo's kernel support on the real files of Debian's 6.12 and 6.1 sources (just the files the
# hooks touch, taken from the tarballs): added, found again, taken out leaving the tree as it was,
# refused, touching nothing, where a hook does not apply or no hooks exist, and replaced where
# an older kpgo's support is in a tree kpgo unpacked.
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
  # One file's diff at a time: checkpatch reads a linker script's input-section patterns as C
  # (the `*` of `.text.hot.*)` as a multiplication, `*(...)` as a dereference), so for linker
  # scripts, and only there, those two checks are left out.
  for patch in "$KPGO_SOURCE_DIR/kernel/hooks/$line"/*.patch; do
    rm -rf split && mkdir split
    awk '/^diff -ruN /{n++} {print > sprintf("split/%03d.diff", n)}' "$patch"
    for diff in split/*.diff; do
      ignore=COMMIT_MESSAGE,DIFF_IN_COMMIT_MSG
      grep -qE '^\+\+\+ b/.*\.lds(\.h|\.S)?$' "$diff" && ignore+=,SPACING,UNNECESSARY_PARENTHESES
      "${checkpatch[@]}" --no-signoff --ignore "$ignore" "$diff" > checkpatch.txt 2>&1 ||
        { cat checkpatch.txt >&2; fail "$line: checkpatch --strict finds problems in ${patch##*/} ($(sed -n 's|^+++ b/||p' "$diff"))"; }
    done
  done
  pass
  expect_ok "$line: doctor sees it" "$KPGO" doctor --source "$top" --json
  expect_in "$WORK/out" '"pgo_support": "kpgo"' "$line: doctor reports kpgo's support"
  expect_in "$WORK/out" '"support_outdated": false' "$line: doctor finds this kpgo's version"

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

# Support of another kpgo version (an older kpgo's, say). In a tree kpgo unpacked from a tarball:
# unpacked again, dated by the unpack so that make rebuilds all of it, and given this kpgo's
# support. In a tree of the user's: refused, since only the kpgo that patched it can take its
# hooks out.
marker=$(cat "$KPGO_SOURCE_DIR/kernel/pgo/.kpgo-support")
cp -a pristine-6.12 upgrade-6.12
touch -d 2020-01-01 upgrade-6.12/Makefile
tar -cf upgrade-6.12.tar upgrade-6.12
expect_ok "tarball: add support" "$KPGO" instrument --support-only --source upgrade-6.12.tar --workdir upgraded
expect_in "$WORK/out" "clang PGO support added" "tarball: added"
[[ $(stat -c %Y upgraded/source/Makefile) -gt $(date -d 2021-01-01 +%s) ]] ||
  fail "tarball: the unpacked files keep the tarball's dates"
echo "kpgo kernel support 0" > upgraded/source/kernel/pgo/.kpgo-support
echo "left by the older support" > upgraded/source/kernel/pgo/older.c
# A dry run (of the support alone and of a whole instrument) plans the new unpack, touching nothing.
for dry in "--support-only" "--config tinyconfig"; do
  # shellcheck disable=SC2086 # two words each
  expect_ok "tarball: older support, dry run ($dry)" "$KPGO" instrument $dry --dry-run \
    --source upgrade-6.12.tar --workdir upgraded
  expect_in "$WORK/out" "tar --touch -xf" "tarball: the dry run ($dry) plans the unpack"
  [[ -e upgraded/source/kernel/pgo/older.c ]] || fail "tarball: the dry run ($dry) changed the tree"
done
expect_ok "tarball: older support" "$KPGO" instrument --support-only --source upgrade-6.12.tar --workdir upgraded
expect_in "$WORK/err" "another version of kpgo's kernel support: unpacking it again" "tarball: unpacked again"
expect_in "$WORK/out" "clang PGO support added" "tarball: support added again"
[[ $(head -1 upgraded/source/kernel/pgo/.kpgo-support) == "$marker" ]] || fail "tarball: marker not this kpgo's"
grep -qxE "files [0-9a-f]{64}" upgraded/source/kernel/pgo/.kpgo-support ||
  fail "tarball: the marker has no fingerprint of the support's files"
[[ ! -e upgraded/source/kernel/pgo/older.c && ! -e upgraded/.source-stale ]] ||
  fail "tarball: the older tree left files behind"
pass
# A change to the runtime or the hooks counts even under the same version line: a kpgo whose
# kernel/pgo/fs.c differs unpacks the tree again and puts its own fs.c in.
mkdir -p edited-data
cp -a "$KPGO_SOURCE_DIR/kernel" "$KPGO_SOURCE_DIR/configs" edited-data/
echo "/* edited */" >> edited-data/kernel/pgo/fs.c
KPGO_DATA_DIR=$PWD/edited-data expect_ok "tarball: edited runtime" "$KPGO" instrument --support-only \
  --source upgrade-6.12.tar --workdir upgraded
expect_in "$WORK/err" "unpacking it again" "tarball: an edited runtime unpacks the tree again"
grep -qx "/\* edited \*/" upgraded/source/kernel/pgo/fs.c || fail "tarball: the edited fs.c did not go in"
expect_ok "tarball: this kpgo's runtime again" "$KPGO" instrument --support-only \
  --source upgrade-6.12.tar --workdir upgraded
expect_in "$WORK/err" "unpacking it again" "tarball: back to this kpgo's runtime"
pass
cp -a upgraded/source user-tree  # with the unpack's stamp: a copy is the user's all the same
echo "kpgo kernel support 0" > user-tree/kernel/pgo/.kpgo-support
cp -a user-tree user-tree-before
expect_fails "user's tree: older support" "$KPGO" instrument --support-only --source user-tree
expect_in "$WORK/err" "has another version of kpgo's support" "user's tree: refusal names the reason"
expect_ok "user's tree: doctor" "$KPGO" doctor --source user-tree --json
expect_in "$WORK/out" '"support_outdated": true' "user's tree: doctor says the support is outdated"
diff -r user-tree-before user-tree > /dev/null || fail "user's tree: a refused add changed it"
pass

# A directory that holds no kernel is refused by name, in a dry run too.
mkdir -p not-a-kernel
expect_fails "no kernel tree" "$KPGO" instrument --support-only --source not-a-kernel
expect_in "$WORK/err" "not-a-kernel" "no kernel tree: the refusal names the directory"
expect_fails "no kernel tree, dry run" "$KPGO" instrument --support-only --dry-run --source not-a-kernel

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
