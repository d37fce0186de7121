#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: rt-tests
# Scheduler and IPC: hackbench (rt-tests) with groups of senders and receivers passing messages
# over sockets, then over pipes (-p): wake-ups, context switches and the socket and pipe paths. A
# fixed amount of work (messages), not a time, so a run is the same on every kernel.
set -e
hackbench -g 4 -l 60 -s 100 > sockets.txt
hackbench -p -g 4 -l 60 -s 100 > pipes.txt
# hackbench prints its time last; a run that lost messages exits non-zero (set -e).
grep -q '^Time:' sockets.txt && grep -q '^Time:' pipes.txt
