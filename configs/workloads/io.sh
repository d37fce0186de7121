#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: fio e2fsprogs mount kmod
# File and block I/O with fio: random reads and writes, 4 KiB, on tmpfs (the page cache and
# VFS paths), then with O_DIRECT on a fresh ext4 on a loop device (ext4, its journal, the block
# layer). Every block written is read back and checked (--verify), so a wrong byte fails the
# run. The loop device's backing file is in memory: no host-timed disk I/O, so runs in QEMU
# repeat exactly.
set -e
run() {  # NAME DIRECTORY SIZE [MORE FIO OPTIONS]
  name=$1 dir=$2 size=$3
  shift 3
  fio --name="$name" --directory="$dir" --size="$size" --rw=randrw --bs=4k --ioengine=psync \
    --verify=crc32c --do_verify=1 --randrepeat=1 --randseed=1 --output-format=terse "$@" > "$name.txt"
}
run tmpfs "$PWD" 16M
truncate -s 64M ext4.img
mkfs.ext4 -q -F ext4.img
mkdir -p ext4
modprobe loop 2>/dev/null || true  # a module on most kernels; built in on others
device=$(losetup --find --show ext4.img)
cleanup() {
  umount ext4 2>/dev/null || true
  losetup -d "$device" 2>/dev/null || true
}
trap cleanup EXIT
mount -t ext4 "$device" ext4
run ext4 ext4 16M --direct=1
