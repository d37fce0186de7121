#!/bin/sh
# SPDX-License-Identifier: MIT
# A workload the default profile was not trained on: archiving and checksumming a tree of files
# (tar, gzip, sha256sum, sort, find), so `kpgo bench` shows whether a gain carries over to load
# the profile never saw. ROUNDS sets its length.
rounds=${ROUNDS:-4}

fail() {
  echo "archive workload: $*" >&2
  exit 1
}

mkdir -p tree || fail "mkdir"
i=0
while [ $i -lt 30 ]; do
  mkdir -p tree/d$((i % 5))
  seq $((i * 100)) $((i * 100 + 400)) > tree/d$((i % 5))/f$i
  i=$((i + 1))
done
r=0
while [ $r -lt "$rounds" ]; do
  tar -cf tree.tar tree || fail "tar"
  gzip -c tree.tar > tree.tar.gz || fail "gzip"
  gunzip -c tree.tar.gz | tar -xf - -C /tmp 2>/dev/null || mkdir -p out
  find tree -type f | sort > list
  xargs sha256sum < list > sums
  [ "$(wc -l < sums)" -eq 30 ] || fail "checksums"
  sort -n tree/d1/* | tail -n 1 > /dev/null
  rm -f tree.tar tree.tar.gz
  r=$((r + 1))
done
