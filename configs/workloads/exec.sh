#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: coreutils
# Process creation and exec: fork, exec of dynamically linked programs (the loader, mmap of
# shared libraries, page faults), pipes between them, and exit and wait. Plain shell and
# coreutils (Debian's, which link dynamically: hence the package line).
set -e
i=0
while [ $i -lt 150 ]; do
  /bin/true
  out=$(echo "$i" | cat)
  [ "$out" = "$i" ] || { echo "exec: a pipe lost $i" >&2; exit 1; }
  sh -c 'exit 0'
  i=$((i + 1))
done
