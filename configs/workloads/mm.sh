#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: stress-ng
# Memory management with stress-ng: mmap and munmap with page faults over the mapped pages,
# minor and major page faults, and brk growth. Operation counts, not times, bound each
# stressor; --verify checks the memory stressors' data, and any failure exits non-zero.
set -e
stress-ng --mmap 1 --mmap-ops 8 --mmap-bytes 4M --verify --quiet
stress-ng --fault 1 --fault-ops 400 --quiet
stress-ng --brk 1 --brk-ops 400 --quiet
