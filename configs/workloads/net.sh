#!/bin/sh
# SPDX-License-Identifier: MIT
# kpgo-packages: iperf3
# Network over loopback: iperf3 streams a fixed number of bytes over TCP, one way and then the
# other (--reverse), through the whole socket, TCP and IP stack. A fixed byte count, not a time.
set -e
iperf3 --server --one-off --daemon --pidfile iperf3.pid
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  [ -s iperf3.pid ] && break
  sleep 0.2
done
iperf3 --client 127.0.0.1 --bytes 24M --interval 0 --json > send.json
iperf3 --server --one-off --daemon --pidfile iperf3.pid
sleep 0.2
iperf3 --client 127.0.0.1 --bytes 24M --interval 0 --reverse --json > receive.json
# Self-check: every byte arrived.
for result in send.json receive.json; do
  grep -q '"bytes":[[:space:]]*25165824' "$result" || { echo "net: $result: not 24 MiB" >&2; exit 1; }
done
