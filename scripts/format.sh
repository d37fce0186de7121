#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Formats kpgo's C++ (src/, include/, tests/unit/, tests/fuzz/) with clang-format-19 and the
# project's .clang-format; kernel/ is kernel code and keeps the kernel's style.
#   bash scripts/format.sh           rewrite the files in place
#   bash scripts/format.sh --check   change nothing; list the files that differ and fail if any do
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
formatter=clang-format-19
command -v "$formatter" > /dev/null ||
  { echo "format.sh: $formatter is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
# The tracked files of a checkout; in a copy without .git (the fresh-root check's), the same
# directories' files. No file at all is an error: a check of nothing would always pass.
if git -C "$root" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  mapfile -t files < <(git -C "$root" ls-files -- 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' \
    'tests/unit/*.cpp' 'tests/fuzz/*.cpp' | sed "s|^|$root/|")
else
  mapfile -t files < <({ find "$root/src" "$root/include" -name '*.hpp'
    find "$root/src" "$root/tests/unit" "$root/tests/fuzz" -name '*.cpp'; } | sort)
fi
((${#files[@]})) || { echo "format.sh: no C++ files found under $root" >&2; exit 1; }
if [[ ${1:-} == --check ]]; then
  # One run over every file; each file that differs is named in its warnings.
  report=$("$formatter" --dry-run -Werror "${files[@]}" 2>&1) && exit 0
  echo "format.sh: not formatted (bash scripts/format.sh fixes it):" >&2
  grep -oE "^[^:]+:[0-9]+:[0-9]+: error" <<< "$report" | cut -d: -f1 | sort -u |
    sed "s|^$root/|  |" >&2 || echo "$report" >&2
  exit 1
fi
"$formatter" -i "${files[@]}"
