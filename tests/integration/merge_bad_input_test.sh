#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad inputs to kpgo merge: each gives an error naming the file and the reason and a non-zero
# exit, a failed merge never replaces an existing output, the failure modes keep their meaning,
# and no input, however mangled, crashes kpgo.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

make_profiles 19 workload good 3
make_profiles 16 workload old 1
clang-19 -O1 -fprofile-generate -DWORKLOAD_SALT=7 -o other.bin "$KPGO_SOURCE_DIR/tests/programs/workload.c"
LLVM_PROFILE_FILE=foreign.profraw ./other.bin 100 1 >/dev/null

: > empty.profraw
head -c 200 good-1.profraw > truncated.profraw
# Random bytes behind a NUL: no profile magic starts with one, and LLVM takes a file whose first
# eight bytes are printable for a text profile (plain random bytes were, once in ~2,000 runs).
{ printf '\0\377'; head -c 98 /dev/urandom; } > garbage.profraw
printf 'hello\nworld\n' > words.profraw
# Headers that are fine over damage inside: a counter pointer aimed outside the counters (kpgo's
# record walk finds it), and mangled compressed names (LLVM's reader finds those).
python3 - good-1.profraw <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
h = struct.unpack_from("<16Q", data, 0)           # raw version 10 header
ids, ndata, pad_before, ncounters, pad_after, nbitmap, pad_bitmap = h[2:9]
record = 16 * 8 + ids + 64                        # second data record
bad = bytearray(data)
struct.pack_into("<q", bad, record + 16, 1 << 40) # CounterPtr
open("badrecord.profraw", "wb").write(bad)
for name, value in (("hashones", (1 << 64) - 1), ("hashtomb", (1 << 64) - 2)):
    bad = bytearray(data)
    struct.pack_into("<Q", bad, record + 8, value)  # FuncHash: LLVM's DenseMap keys
    open(name + ".profraw", "wb").write(bad)
names = 16 * 8 + ids + ndata * 64 + pad_before + ncounters * 8 + pad_after + nbitmap + pad_bitmap
def uleb_end(at):
    while data[at] & 0x80:
        at += 1
    return at + 1
compressed_at = uleb_end(names)                      # after the uncompressed size
sizes_end = uleb_end(compressed_at)
# The compressed size made as large as its bytes can say: past the end of the section.
overrun = bytearray(data)
width = sizes_end - compressed_at
overrun[compressed_at:sizes_end] = b"\xff" * (width - 1) + b"\x7f"
assert (1 << (7 * width)) - 1 > h[9] - (sizes_end - names), "the overrun would fit"
open("overrun.profraw", "wb").write(overrun)
for k in range(sizes_end, names + min(h[9], 40)):
    data[k] ^= 0x5a                                  # the compressed bytes themselves
open("corrupt.profraw", "wb").write(data)
PY

# The same hashes in an indexed and a text profile: LLVM 16 crashed on the indexed one (found by
# scripts/fuzz.sh). The indexed record's hash is found by its bytes, as `show` prints it.
llvm-profdata-16 merge -o hashones.profdata old-1.profraw
llvm-profdata-19 merge --text -o hashtomb.proftext good-1.profraw
python3 - hashones.profdata hashtomb.proftext "$(llvm-profdata-16 show --all-functions old-1.profraw |
  sed -n 's/^ *Hash: //p' | head -n 1)" <<'PY'
import re, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
hash_bytes = struct.pack("<Q", int(sys.argv[3], 16))
assert data.count(hash_bytes) >= 1, "the function hash is not in the indexed profile"
at = data.index(hash_bytes)
data[at:at + 8] = struct.pack("<Q", (1 << 64) - 1)
open(sys.argv[1], "wb").write(data)
text = open(sys.argv[2]).read()
text, n = re.subn(r"(?m)^(# Func Hash:\n)\d+$", r"\g<1>18446744073709551614", text, count=1)
assert n == 1, "no hash line in the text profile"
open(sys.argv[2], "w").write(text)
PY

echo "precious" > out.profdata
before=$(sha256sum out.profdata)
check_refused() {  # FILE REASON
  expect_fails "$1" "$KPGO" merge -o out.profdata good-1.profraw good-2.profraw "$1"
  expect_in "$WORK/err" "kpgo: error:" "$1: error prefix"
  expect_in "$WORK/err" "$1: $2" "$1: reason"
  [[ $(grep -c 'kpgo: error:' "$WORK/err") == 1 ]] || fail "$1: error printed more than once"
  [[ $(sha256sum out.profdata) == "$before" ]] || fail "$1: existing output was touched"
  pass
}
check_refused empty.profraw "empty file"
check_refused truncated.profraw "truncated"
check_refused garbage.profraw "not a clang instrumentation profile"
check_refused words.profraw ""
check_refused badrecord.profraw "data record 1 points outside the counters section"
check_refused corrupt.profraw "failed to uncompress data"
check_refused overrun.profraw "its names chunk at byte 0 runs"
check_refused hashones.profraw "data record 1 has function hash 0xffffffffffffffff"
check_refused hashtomb.profraw "data record 1 has function hash 0xfffffffffffffffe"
expect_fails "hash of all ones, generic path" "$KPGO" merge --no-fast-path -o out.profdata hashones.profraw
expect_in "$WORK/err" "hashones.profraw: data record 1 has function hash" "generic path checks the hash too"
check_refused hashones.profdata "function "
expect_in "$WORK/err" "a record has function hash 0xffffffffffffffff" "indexed: the hash"
check_refused hashtomb.proftext "function "
expect_in "$WORK/err" ": function hash 0xfffffffffffffffe" "text: the hash"
check_refused old-1.profraw "raw profile format version 8, but LLVM 19 reads only version 10"
expect_in "$WORK/err" "--llvm -16" "wrong version: the fix"
check_refused foreign.profraw "comes from another binary"
expect_fails "missing file" "$KPGO" merge -o out.profdata good-1.profraw nosuch.profraw
expect_in "$WORK/err" "nosuch.profraw: no such file" "missing file"
expect_fails "bad weight" "$KPGO" merge -o out.profdata --weighted-input=0,good-1.profraw
expect_in "$WORK/err" "weight '0'" "bad weight"
expect_fails "bad failure mode" "$KPGO" merge --failure-mode=most good-1.profraw
expect_in "$WORK/err" "--failure-mode 'most'" "bad failure mode"
expect_fails "output in a missing directory" "$KPGO" merge -o nodir/x.profdata good-1.profraw
expect_in "$WORK/err" "nodir" "missing output directory"
[[ -z $(find . -name '.*.kpgo-*') ]] || fail "temporary files left behind"
pass

# all and warn: the good inputs merge, exactly as llvm-profdata merges them alone.
llvm-profdata-19 merge -o ref.profdata good-*.profraw
for mode in all warn; do
  expect_ok "--failure-mode=$mode" "$KPGO" merge --failure-mode=$mode -o "$mode.profdata" \
    good-1.profraw corrupt.profraw good-2.profraw empty.profraw foreign.profraw good-3.profraw \
    old-1.profraw badrecord.profraw
  expect_same ref.profdata "$mode.profdata" "--failure-mode=$mode output"
  for bad in corrupt empty foreign old-1 badrecord; do
    expect_in "$WORK/err" "skipped ${bad%-1}" "--failure-mode=$mode names $bad"
  done
done
expect_fails "all bad" "$KPGO" merge --failure-mode=all -o none.profdata corrupt.profraw empty.profraw
expect_in "$WORK/err" "no profile could be merged" "all bad"
[[ ! -e none.profdata ]] || fail "output written although nothing merged"
pass

# Mangled profiles: every run ends with a verdict, never a crash. (llvm-profdata 19 itself
# crashes on some of these: its value-profile check reads past its buffer.)
python3 - good-1.profraw old-1.profraw "$(mutations 300)" <<'PY'
import random, sys
random.seed(1234)
for i in range(int(sys.argv[3])):
    data = open(sys.argv[1 + i % 2], "rb").read()
    buf = bytearray(data)
    for _ in range(random.randint(1, 8)):
        buf[random.randrange(len(buf))] = random.randrange(256)
    if i % 5 == 0:
        buf = buf[: random.randrange(len(buf))]
    open(f"mut-{i}.profraw", "wb").write(buf)
PY
for f in mut-*.profraw; do
  status=0
  "$KPGO" merge -q -o mut.profdata "$f" 2>/dev/null || status=$?
  ((status <= 1)) || fail "$f: kpgo exited with $status"
done
pass
finish
