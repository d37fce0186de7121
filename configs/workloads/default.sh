#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo's default workload: a mix of what most machines do, in plain shell that busybox runs.
# Copy it and change it to profile your own load; kpgo runs it with sh in a scratch directory,
# after resetting the counters, and reads the profile when it exits (non-zero exit: failed run).
rounds=${ROUNDS:-8}

fail() {
  echo "default workload: $*" >&2
  exit 1
}

processes() {  # fork, exec, wait, signals
  i=0
  while [ $i -lt 40 ]; do
    /bin/true
    sh -c 'exit 0'
    i=$((i + 1))
  done
  sleep 5 & pid=$!
  kill $pid
  wait $pid 2>/dev/null || true
}

files() {  # create, write, read, stat, rename, delete
  mkdir -p files || fail "files: mkdir"
  i=0
  while [ $i -lt 60 ]; do
    seq 1 200 > files/f$i
    cat files/f$i > /dev/null
    mv files/f$i files/g$i
    i=$((i + 1))
  done
  ls -la files > /dev/null
  find files -name 'g1*' | wc -l > /dev/null
  rm -r files
  sync
}

pipes() {  # pipes between processes, compression
  seq 1 20000 | sort -rn | uniq | md5sum > /dev/null || fail "pipes: sort"
  dd if=/dev/zero bs=64k count=16 2>/dev/null | gzip -c | gunzip -c | wc -c > /dev/null
}

sockets() {  # TCP over loopback
  port=$((${PORT_BASE:-20000} + $1))
  # busybox nc stops reading once its stdin ends: the listener's stdin is a FIFO this script
  # holds open until the sender is done.
  rm -f hold
  mkfifo hold
  nc -l -p $port < hold > received &
  listener=$!
  exec 3> hold
  # The listener may take a moment to start on a slow guest: try until it answers.
  tries=0
  until seq 1 5000 | nc 127.0.0.1 $port 2>/dev/null; do
    tries=$((tries + 1))
    [ $tries -lt 50 ] || fail "nothing listens on port $port"
    sleep 0.2
  done
  wait $listener
  exec 3>&-
  rm -f hold
  [ "$(wc -c < received)" -eq "$(seq 1 5000 | wc -c)" ] ||
    fail "port $port: $(wc -c < received) bytes arrived, not all that was sent"
  rm -f received
}

disk() {  # a filesystem on a loop device: block layer, ext4, page cache, module load and unload
  # The loop driver and ext4 may be modules (as in kpgo's small config and distribution
  # kernels): load them, and unload them at the end, which the profile must survive.
  modprobe loop 2>/dev/null
  modprobe ext4 2>/dev/null
  if [ ! -e /dev/loop-control ] && ! grep -q loop /proc/devices; then
    echo "default workload: no loop device support; the disk part is left out" >&2
    return 0
  fi
  dd if=/dev/zero of=disk.img bs=1M count=24 2>/dev/null || fail "disk: dd"
  loop=$(losetup -f) && losetup "$loop" disk.img || fail "disk: losetup"
  mke2fs -q "$loop" > /dev/null || fail "disk: mke2fs $loop"
  mkdir -p mnt
  mount -t ext4 "$loop" mnt || fail "disk: mount -t ext4 $loop"
  seq 1 30000 > mnt/numbers
  mkdir -p mnt/tree/a mnt/tree/b
  i=0
  while [ $i -lt 40 ]; do
    echo "$i" > mnt/tree/a/f$i
    mv mnt/tree/a/f$i mnt/tree/b/
    i=$((i + 1))
  done
  sync
  [ "$(md5sum < mnt/numbers)" = "$(seq 1 30000 | md5sum)" ] || fail "disk: read back differs"
  ls -lR mnt > /dev/null
  rm -r mnt/tree
  umount mnt || fail "disk: umount"
  losetup -d "$loop"
  rm -f disk.img
  modprobe -r ext4 loop 2>/dev/null || true
}

system() {  # procfs and sysfs, archives, process listing, the kernel log, timers
  find /proc/self /sys/kernel -maxdepth 2 > /dev/null 2>&1 || true
  cat /proc/meminfo /proc/stat /proc/loadavg /proc/interrupts > /dev/null
  ps > /dev/null
  dmesg > /dev/null 2>&1 || true
  mkdir -p tree/a tree/b
  seq 1 500 > tree/a/numbers
  tar -cf - tree | tar -tf - > /dev/null
  rm -r tree
  sleep 0.1
}

round=0
while [ $round -lt "$rounds" ]; do
  processes
  files
  pipes
  sockets $round
  disk
  system
  round=$((round + 1))
done
