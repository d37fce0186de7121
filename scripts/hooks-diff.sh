#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes kpgo's hooks for a kernel line anew from a kernel tree that holds the changes: each file
# is compared with its original in /usr/src/linux-source-LINE.tar.xz.
#
#   scripts/hooks-diff.sh LINE TREE                   every patch of the line, each from its files
#   scripts/hooks-diff.sh LINE TREE PATCH [FILE...]   one patch (generic, x86, arm64, ...), from
#                                                     FILEs or the files it changes now
#
# A line's hooks are kernel/hooks/LINE/generic.patch and one patch per architecture; a new
# architecture's patch starts as `hooks-diff.sh LINE TREE ARCH arch/ARCH/Kconfig ...`. For kernel
# developers changing the hooks: edit them in a tree kpgo instrument --support-only prepared,
# build and test there, then run this.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(($# >= 2)) || { echo "usage: $0 LINE TREE [PATCH [FILE...]]" >&2; exit 2; }
line=$1 tree=$(cd "$2" && pwd)
shift 2
hooks=$root/kernel/hooks/$line
tarball=/usr/src/linux-source-$line.tar.xz
[[ -f $tarball ]] || { echo "$0: $tarball missing" >&2; exit 1; }

write_patch() {  # PATCH FILE...: kernel/hooks/LINE/PATCH.patch from the tree's FILEs
  local patch=$hooks/$1.patch work top=linux-source-$line file
  shift
  work=$(mktemp -d)
  tar -C "$work" -xf "$tarball" "${@/#/$top/}" 2>/dev/null || true
  mkdir -p "$work/a" "$work/b"
  for file in "$@"; do
    mkdir -p "$work/a/$(dirname "$file")" "$work/b/$(dirname "$file")"
    [[ -f $work/$top/$file ]] && cp "$work/$top/$file" "$work/a/$file"
    cp "$tree/$file" "$work/b/$file"
  done
  (cd "$work" && diff -ruN a b > patch) || [[ $? == 1 ]]
  sed -i -E 's/^(---|\+\+\+) ([^\t]*)\t.*/\1 \2/' "$work/patch"
  mkdir -p "$hooks"
  mv "$work/patch" "$patch"
  rm -rf "$work"
  echo "$patch: $# files" >&2
}
files_of() { sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$hooks/$1.patch"; }

if (($# == 0)); then
  for patch in "$hooks"/*.patch; do
    name=$(basename "$patch" .patch)
    mapfile -t files < <(files_of "$name")
    write_patch "$name" "${files[@]}"
  done
  exit 0
fi
name=$1
shift
files=("$@")
((${#files[@]})) || mapfile -t files < <(files_of "$name")
write_patch "$name" "${files[@]}"
