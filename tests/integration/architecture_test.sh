#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The rooms of kpgo's code and the arrows between them (docs/architecture.md): every #include
# of a kpgo header points to the file's own room or to one below it, and LLVM's headers are
# included only under src/profile/llvm/ (and the fuzz harness, which builds against a backend).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
src=$KPGO_SOURCE_DIR

# room: the rooms it may include besides itself.
declare -A allowed=(
  [cli]="bench pipeline kernel targets toolchain profile system"
  [bench]="pipeline kernel targets toolchain profile system"
  [pipeline]="kernel targets toolchain profile system"
  [kernel]="system"
  [targets]="system"
  [toolchain]="profile system"
  [profile]="system"
  [system]=""
)

# check_rooms ROOT: prints each include under ROOT/src and ROOT/include/kpgo that points up;
# returns how many there are (0: none).
check_rooms() {
  local root=$1 file room target violations=0
  while IFS= read -r file; do
    room=${file#"$root"/}
    room=${room#src/}
    room=${room#include/kpgo/}
    room=${room%%/*}
    [[ -n ${allowed[$room]+set} ]] || continue  # main.cpp
    while IFS= read -r target; do
      [[ -n ${allowed[$target]+set} ]] || continue  # not a room of kpgo's (LLVM's "llvm/...")
      [[ $target == "$room" || " ${allowed[$room]} " == *" $target "* ]] && continue
      echo "arrow up: ${file#"$root"/} ($room) includes a $target header"
      violations=$((violations + 1))
    done < <(sed -nE 's@^#include "(kpgo/)?([a-z_]+)/.*@\2@p' "$file" | sort -u)
  done < <(find "$root/src" "$root/include/kpgo" \( -name '*.cpp' -o -name '*.hpp' \) | sort)
  ((violations == 0))
}

check_rooms "$src" > arrows.txt || fail "includes point up the rooms: $(cat arrows.txt)"
pass

# The check can fail: a copy with one include pointing up (kernel -> pipeline) is caught.
mkdir -p copy && cp -r "$src/src" "$src/include" copy/
echo '#include "kpgo/pipeline/state.hpp"' >> copy/src/kernel/elf.cpp
if check_rooms "$WORK/copy" > probe.txt; then fail "an include pointing up went unseen"; fi
expect_in probe.txt "arrow up: src/kernel/elf.cpp (kernel) includes a pipeline header" "probe named"
pass

# A room that is not in the table is a new room: it needs its place in the order first.
for dir in "$src"/src/*/; do
  room=$(basename "$dir")
  [[ -n ${allowed[$room]+set} ]] || fail "src/$room/ is a room without a place in the order"
done
pass

# LLVM's own headers stay in the backends.
llvm_users=$(grep -rlE '#include [<"](llvm|clang)/' "$src/src" "$src/include" | grep -v "^$src/src/profile/llvm/" || true)
[[ -z $llvm_users ]] || fail "LLVM headers outside src/profile/llvm/: $llvm_users"
pass

finish
