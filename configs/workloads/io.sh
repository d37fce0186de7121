#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: fio
# File and block I/O with fio: random reads and writes, 4 KiB, on tmpfs (the page cache and
# VFS paths) and on the guest's ext4 disk (ext4, the block layer and virtio-blk). Every block
# written is read back and checked (--verify), so a wrong byte fails the run.
set -e
run() {  # NAME DIRECTORY SIZE [MORE FIO OPTIONS]
  name=$1 dir=$2 size=$3
  shift 3
  fio --name="$name" --directory="$dir" --size="$size" --rw=randrw --bs=4k --ioengine=psync \
    --verify=crc32c --do_verify=1 --randrepeat=1 --randseed=1 --output-format=terse "$@" > "$name.txt"
}
run tmpfs /tmp 16M
mkdir -p /var/tmp/kpgo-io
run ext4 /var/tmp/kpgo-io 16M --direct=1
rm -rf /var/tmp/kpgo-io
