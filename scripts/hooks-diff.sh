#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes kernel/hooks/LINE/kpgo.patch anew from a kernel tree that holds the changes: each file is
# compared with its original in /usr/src/linux-source-LINE.tar.xz.
#
#   scripts/hooks-diff.sh LINE TREE [FILE...]
#
# FILEs are paths inside the tree; without them, the files the current patch changes. For kernel
# developers changing the hooks: edit them in a tree kpgo instrument --support-only prepared,
# build and test there, then run this.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(($# >= 2)) || { echo "usage: $0 LINE TREE [FILE...]" >&2; exit 2; }
line=$1 tree=$(cd "$2" && pwd)
shift 2
patch=$root/kernel/hooks/$line/kpgo.patch
tarball=/usr/src/linux-source-$line.tar.xz
[[ -f $tarball ]] || { echo "$0: $tarball missing" >&2; exit 1; }
files=("$@")
((${#files[@]})) || mapfile -t files < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
top=linux-source-$line
tar -C "$work" -xf "$tarball" "${files[@]/#/$top/}" 2>/dev/null || true
mkdir -p "$work/a" "$work/b"
for file in "${files[@]}"; do
  mkdir -p "$work/a/$(dirname "$file")" "$work/b/$(dirname "$file")"
  [[ -f $work/$top/$file ]] && cp "$work/$top/$file" "$work/a/$file"
  cp "$tree/$file" "$work/b/$file"
done
(cd "$work" && diff -ruN a b > patch) || [[ $? == 1 ]]
sed -i -E 's/^(---|\+\+\+) ([^\t]*)\t.*/\1 \2/' "$work/patch"
mv "$work/patch" "$patch"
echo "$patch: ${#files[@]} files" >&2
