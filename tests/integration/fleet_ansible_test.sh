#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/fleet/collect.yml against three "machines" on this one: each an sshd in a network
# namespace of its own, reached over a veth pair (no other interface), with its own stand-ins for
# /sys/kernel/notes and /sys/kernel/debug/pgo. Its "boot" installs a "kernel" (a program built
# with -fprofile-generate; its build ID in the notes file). Machine 3 boots another build on
# purpose: the report must name it and why, the run must fail, and the other two machines'
# profiles must come back and merge as llvm-profdata merges them.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

command -v ansible-playbook > /dev/null || fail "ansible-playbook is missing: scripts/setup.sh installs it"
clang-19 -O1 -fprofile-generate -o kernel "$KPGO_SOURCE_DIR/tests/programs/workload.c"
clang-19 -O1 -fprofile-generate -DWORKLOAD_SALT=1 -o other-kernel "$KPGO_SOURCE_DIR/tests/programs/workload.c"
build_id=$(readelf -n kernel | awk '/Build ID/ {print $3}')
ssh-keygen -q -t ed25519 -N '' -f host_key
ssh-keygen -q -t ed25519 -N '' -f client_key
printf '%s\n' "Host *" "  User root" "  Port 2222" "  IdentityFile $WORK/client_key" \
  "  StrictHostKeyChecking no" "  ConnectTimeout 10" "  UserKnownHostsFile /dev/null" "  LogLevel ERROR" > ssh_config

# Each namespace is held by a process of its own (no named namespaces: `ip netns add` needs a
# mount point at /, which a chroot, as in CI's fresh root, does not have).
tag=kf$$
holders=()
# Every step may fail (errexit is on in the trap too): a cleanup that stopped at the first link
# that was never made would leave the holders running, and ctest waits for them to its timeout.
cleanup() {
  for n in 1 2 3; do
    [[ -f $WORK/host-$n/sshd.pid ]] && kill "$(cat "$WORK/host-$n/sshd.pid")" 2> /dev/null || true
    ip link del "$tag-$n" 2> /dev/null || true
  done
  ((${#holders[@]})) && kill "${holders[@]}" 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step "three machines: network namespaces with an sshd each"
for n in 1 2 3; do
  host=$WORK/host-$n
  mkdir -p "$host/pgo"
  unshare --net sleep infinity &
  holder=$!
  holders+=("$holder")
  # On a loaded machine unshare may take seconds to get there; until it has, its namespace is
  # this one, and the veth's far end would land here.
  for _ in $(seq 300); do
    [[ $(readlink "/proc/$holder/ns/net") != $(readlink /proc/self/ns/net) ]] && break
    sleep 0.1
  done
  [[ $(readlink "/proc/$holder/ns/net") != $(readlink /proc/self/ns/net) ]] ||
    fail "machine $n: unshare --net made no network namespace in 30 s"
  in_ns=(nsenter "--net=/proc/$holder/ns/net")
  # Both ends get names of this test's own here (a host has its own eth0); the far end is named
  # eth0 only inside its namespace.
  ip link add "$tag-$n" type veth peer name "$tag-p$n"
  ip link set "$tag-p$n" netns "$holder"
  "${in_ns[@]}" ip link set "$tag-p$n" name eth0
  ip addr add "10.77.$n.1/24" dev "$tag-$n"
  ip link set "$tag-$n" up
  "${in_ns[@]}" ip addr add "10.77.$n.2/24" dev eth0
  "${in_ns[@]}" ip link set eth0 up
  "${in_ns[@]}" ip link set lo up
  printf '%s\n' "Port 2222" "ListenAddress 10.77.$n.2" "HostKey $WORK/host_key" \
    "AuthorizedKeysFile $WORK/client_key.pub" "PidFile $host/sshd.pid" "StrictModes no" \
    "PermitRootLogin yes" "PasswordAuthentication no" "UsePAM no" \
    "Subsystem sftp internal-sftp" > "$host/sshd_config"
  mkdir -p /run/sshd
  "${in_ns[@]}" /usr/sbin/sshd -f "$host/sshd_config" -E "$host/sshd.log"
  # Its "boot": install a kernel, whose notes carry its build ID. Machine 3 installs another.
  kernel=$WORK/kernel
  ((n == 3)) && kernel=$WORK/other-kernel
  printf '#!/bin/sh\nset -e\ncp %s %s/kernel\nobjcopy --dump-section .note.gnu.build-id=%s/notes %s /dev/null\n' \
    "$kernel" "$host" "$host" "$kernel" > "$host/boot.sh"
  echo "machine-$n ansible_host=10.77.$n.2 kpgo_pgo_dir=$host/pgo kpgo_notes=$host/notes kpgo_boot_command='sh $host/boot.sh'"
done > hosts.ini
for n in 1 2 3; do
  for _ in $(seq 50); do ssh -F ssh_config "10.77.$n.2" true 2> /dev/null && break; sleep 0.1; done
  ssh -F ssh_config "10.77.$n.2" true || { cat "host-$n/sshd.log" >&2; fail "machine $n's sshd did not come up"; }
done
pass
# The workload runs the installed "kernel", which writes its counters where the runtime would.
printf '#!/bin/sh\nLLVM_PROFILE_FILE="$KPGO_PGO_DIR/vmlinux.profraw" "$KPGO_PGO_DIR/../kernel" 300 2 > /dev/null\n' > workload.sh

step "the playbook on all three"
status=0
ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 timeout 300 ansible-playbook -i hosts.ini \
  -e "{\"ansible_ssh_common_args\": \"-F $WORK/ssh_config\"}" -e ansible_python_interpreter=/usr/bin/python3 \
  -e kpgo_build_id="$build_id" -e kpgo_workload="$WORK/workload.sh" -e kpgo_fetch_dir="$WORK/fetched" \
  -e kpgo_boot_timeout=10 "$KPGO_SOURCE_DIR/scripts/fleet/collect.yml" > "$TEST_LOGS/ansible.out" 2>&1 || status=$?
((status != 124)) || { tail -40 "$TEST_LOGS/ansible.out" >&2; fail "the playbook did not end in 300 s"; }
((status != 0)) || { cat "$TEST_LOGS/ansible.out" >&2; fail "a machine failed, and the run passed"; }
pass
report=fetched/report.txt
[[ -f $report ]] || { tail -40 "$TEST_LOGS/ansible.out" >&2; fail "no report"; }
grep -q '^machine-1: ok: 1 profiles$' "$report" || fail "machine 1: $(cat "$report")"
grep -q '^machine-2: ok: 1 profiles$' "$report" || fail "machine 2: $(cat "$report")"
grep -q "^machine-3: failed at \"Check that the instrumented kernel came up\": it runs the kernel with build ID [0-9a-f]*, not the instrumented one ($build_id)" "$report" ||
  fail "machine 3 not named with its reason: $(cat "$report")"
grep -q "no profiles from: machine-3" "$TEST_LOGS/ansible.out" || fail "the run's failure does not name machine 3"
[[ $(cat host-1/pgo/reset) == 1 && ! -e fetched/machine-3 ]] || fail "reset not written, or machine 3 fetched"
pass

step "what came back merges as llvm-profdata merges it"
llvm-profdata-19 merge -o reference.profdata fetched/machine-1/vmlinux.profraw fetched/machine-2/vmlinux.profraw
expect_ok "kpgo merge of the fleet" "$KPGO" merge -q -o fleet.profdata fetched/machine-1 fetched/machine-2
expect_same reference.profdata fleet.profdata "the fleet's merge"
finish
