#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A signal at any point of a merge: Ctrl-C and SIGTERM leave no temporary file and the old output
# as it was, and end kpgo with 130 and 143; a crash (SIGSEGV, as LLVM would die of) says so in
# one line, cleans up the same way and ends by its signal.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

make_profiles 19 workload p 1
# Enough inputs, through LLVM's reader one by one, that the merge runs for a while.
python3 - p-1.profraw <<'PY'
import os, sys
data = open(sys.argv[1], "rb").read()
os.mkdir("many")
for i in range(3000):
    open(f"many/{i}.profraw", "wb").write(data)
PY
echo "the old profile" > out.profdata
old=$(sha256sum < out.profdata)

# interrupt SIGNAL: starts a merge into out.profdata, sends SIGNAL once its temporary exists,
# sets $status and leaves stderr in $WORK/err.
interrupt() {
  "$KPGO" merge --no-fast-path -j 1 -o out.profdata many > /dev/null 2> "$WORK/err" &
  local pid=$! tries
  for ((tries = 0; tries < 3000; tries++)); do
    compgen -G ".out.profdata.kpgo-*" > /dev/null && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.01
  done
  compgen -G ".out.profdata.kpgo-*" > /dev/null || fail "$1: the merge ended before its temporary was seen"
  kill "-$1" "$pid"
  status=0
  wait "$pid" || status=$?
}
nothing_left() {  # WHAT
  ! compgen -G ".out.profdata.kpgo-*" > /dev/null || fail "$1: a temporary file was left: $(ls -a)"
  [[ $(sha256sum < out.profdata) == "$old" ]] || fail "$1: the old output was changed"
  pass
}

interrupt INT
((status == 130)) || fail "Ctrl-C: exit $status, not 130"
nothing_left "Ctrl-C"
interrupt TERM
((status == 143)) || fail "SIGTERM: exit $status, not 143"
nothing_left "SIGTERM"
interrupt SEGV
((status == 128 + 11)) || fail "a crash: exit $status, not the signal's"
expect_in "$WORK/err" "kpgo: error: internal crash (SEGV) while merging 3000 inputs" "the crash is named"
expect_in "$WORK/err" "into out.profdata" "the crash names the output"
nothing_left "a crash"
finish
