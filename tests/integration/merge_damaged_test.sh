#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Damaged indexed, text and multi-profile raw inputs, each made here from real clang 16 and 19
# profiles: kpgo refuses each with the file and the reason and a non-zero exit, never crashes,
# and its fast and generic paths take the same decision as llvm-profdata (refusing, or merging
# to the same bytes) where llvm-profdata itself does not crash.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# refused FILE REASON [kpgo merge options]: kpgo refuses FILE on both paths, naming it and why.
refused() {
  local file=$1 reason=$2
  shift 2
  for path in "" --no-fast-path; do
    expect_fails "$file $path" "$KPGO" merge $path "$@" -o out.profdata "$file"
    expect_in "$WORK/err" "$file: " "$file $path: names the file"
    expect_in "$WORK/err" "$reason" "$file $path: reason"
    status=0
    "$KPGO" merge -q $path "$@" -o out.profdata "$file" 2>/dev/null || status=$?
    ((status == 1)) || fail "$file $path: exit $status, not 1"
  done
  [[ ! -e out.profdata ]] || fail "$file: an output was written"
  pass
}

# same_decision MAJOR FILE: llvm-profdata-MAJOR and kpgo (both paths) either all refuse FILE or
# all merge it to the same bytes. llvm-profdata crashing (status > 1) counts as refusing.
same_decision() {
  local major=$1 file=$2 ref=0 fast=0 slow=0
  "llvm-profdata-$major" merge -o ref.profdata "$file" 2>/dev/null || ref=$?
  "$KPGO" merge -q --llvm "-$major" -o fast.profdata "$file" 2>/dev/null || fast=$?
  "$KPGO" merge -q --llvm "-$major" --no-fast-path -o slow.profdata "$file" 2>/dev/null || slow=$?
  ((fast <= 1 && slow <= 1)) || fail "$file: kpgo exited with $fast (fast) / $slow (generic)"
  ((fast == slow)) || fail "$file: fast path exit $fast, generic path exit $slow"
  if ((ref == 0)); then
    ((fast == 0)) || fail "$file: llvm-profdata-$major merges it, kpgo refuses it"
    expect_same ref.profdata fast.profdata "$file: fast path against llvm-profdata-$major"
    expect_same ref.profdata slow.profdata "$file: generic path against llvm-profdata-$major"
  else
    ((fast == 1)) || fail "$file: llvm-profdata-$major refuses it, kpgo merges it"
  fi
  rm -f ref.profdata fast.profdata slow.profdata
  pass
}

for major in "${TEST_LLVM_MAJORS[@]}"; do
  step "LLVM $major"
  make_profiles "$major" workload "w$major" 2
  "llvm-profdata-$major" merge -o "good$major.profdata" "w$major-1.profraw" "w$major-2.profraw"
  "llvm-profdata-$major" merge --text -o "good$major.proftext" "w$major-1.profraw"

  # Indexed: sizes and offsets that LLVM's reader trusts.
  python3 - "good$major.profdata" "i$major" <<'PY'
import struct, sys
src, prefix = sys.argv[1], sys.argv[2]
data = bytes(open(src, "rb").read())
version = struct.unpack_from("<Q", data, 8)[0] & 0xffffffff
words = 5 + (version >= 8) + (version >= 9) + (version >= 10) + (version >= 12)
header = words * 8
hash_offset = struct.unpack_from("<Q", data, 32)[0]
fields, entries = struct.unpack_from("<QQ", data, header)
payload = header + 16 + fields * 8 + entries * 24
# The first hash-table entry: u16 items, hash, key length, data length, key, then its data:
# hash, number of counts.
key_len = struct.unpack_from("<Q", data, payload + 2 + 8)[0]
entry_data = payload + 2 + 24 + key_len
def put(name, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    open(f"{prefix}-{name}.profdata", "wb").write(out)
put("counts", entry_data + 8, "<Q", 1 << 61)
put("keylen", payload + 2 + 8, "<Q", 1 << 40)
put("fields", header, "<Q", 1 << 33)
put("fewfields", header, "<Q", 2)
put("hashoffset", 32, "<Q", len(data) + 4096)
put("buckets", hash_offset, "<Q", 1 << 50)
if version >= 9:
    put("binaryids", 48, "<Q", len(data) + 64)
    # Binary IDs read from the header's own bytes: LLVM 16 merges them into a profile that it
    # cannot read back (found by scripts/fuzz.sh).
    put("idsearly", 48, "<Q", 48)
open(f"{prefix}-cut.profdata", "wb").write(data[: hash_offset - 8])
open(f"{prefix}-cutheader.profdata", "wb").write(data[:20])
PY
  refused "i$major-counts.profdata" "claims 2305843009213693952 counters"
  refused "i$major-keylen.profdata" "hash table entry 0 runs past the table"
  refused "i$major-fields.profdata" "profile summary claims 8589934592 fields"
  refused "i$major-fewfields.profdata" "profile summary claims 2 fields"
  refused "i$major-hashoffset.profdata" "hash table offset"
  refused "i$major-buckets.profdata" "hash table claims 1125899906842624 buckets"
  refused "i$major-cut.profdata" "hash table offset"
  refused "i$major-cutheader.profdata" "indexed header is cut off"
  [[ -e i$major-binaryids.profdata ]] && refused "i$major-binaryids.profdata" "binary ID section"
  [[ -e i$major-idsearly.profdata ]] &&
    refused "i$major-idsearly.profdata" "binary ID section at byte 48 lies before the end of the hash table"

  # Text: a count the file cannot hold makes LLVM's reader reserve it.
  awk 'after && !done { print "4611686018427387904"; done = 1; next }
       /^# Num Counters:/ { after = 1 } { print }' \
    "good$major.proftext" > "t$major-counters.proftext"
  refused "t$major-counters.proftext" "4611686018427387904 counters, but only"
  # LLVM takes a file as text from its first 8 bytes alone: a control byte later on (here in a
  # comment) must not keep the check away (found by scripts/fuzz.sh).
  sed '0,/^# Func Hash:/s//# Func\x01Hash:/' "t$major-counters.proftext" > "t$major-control.proftext"
  refused "t$major-control.proftext" "4611686018427387904 counters, but only"
  cp "good$major.proftext" "t$major-good.proftext"
  same_decision "$major" "t$major-good.proftext"

  # Raw: a second profile in the file that is damaged, and garbage after the first.
  python3 - "w$major-1.profraw" "r$major" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
prefix = sys.argv[2]
bad = bytearray(data)
struct.pack_into("<Q", bad, 3 * 8, 1 << 39)          # NumData of the second profile
open(f"{prefix}-second.profraw", "wb").write(data + bad)
open(f"{prefix}-tail.profraw", "wb").write(data + b"\x07" * 24)
# A zeroed binary-ID section: its length fields say 0.
ids_size = struct.unpack_from("<Q", data, 16)[0]
zero = bytearray(data)
header = {8: 11, 9: 14, 10: 16}[data[8]] * 8
zero[header:header + ids_size] = bytes(ids_size)
open(f"{prefix}-zeroids.profraw", "wb").write(zero)
# A binary ID longer than its section (found by scripts/fuzz.sh: the fast path took it).
if ids_size:
    long_id = bytearray(data)
    struct.pack_into("<Q", long_id, header, 0x70000000014)
    open(f"{prefix}-longid.profraw", "wb").write(long_id)
PY
  refused "r$major-second.profraw" "profile 2 in the file"
  refused "r$major-tail.profraw" "are no further profile"
  same_decision "$major" "r$major-zeroids.profraw"
  [[ -e r$major-longid.profraw ]] && same_decision "$major" "r$major-longid.profraw"

  # Random damage to indexed and text profiles: a verdict every time, never a crash.
  python3 - "good$major.profdata" "good$major.proftext" "m$major" "$(mutations 100)" <<'PY'
import random, sys
random.seed(4321)
for i in range(int(sys.argv[4])):
    src = sys.argv[1 + i % 2]
    ext = "profdata" if i % 2 == 0 else "proftext"
    buf = bytearray(open(src, "rb").read())
    for _ in range(random.randint(1, 6)):
        at = random.randrange(len(buf))
        buf[at] = random.randrange(256) if ext == "profdata" else random.choice(b"0123456789\n$:#x")
    if i % 7 == 0:
        buf = buf[: random.randrange(len(buf))]
    open(f"{sys.argv[3]}-{i}.{ext}", "wb").write(buf)
PY
  for f in m$major-*; do
    for path in "" --no-fast-path; do
      status=0
      "$KPGO" merge -q $path --llvm "-$major" -o mut.profdata "$f" 2>/dev/null || status=$?
      ((status <= 1)) || fail "$f $path: kpgo exited with $status"
    done
  done
  pass
done
[[ -z $(find . -name '.*.kpgo-*') ]] || fail "temporary files left behind"
finish
