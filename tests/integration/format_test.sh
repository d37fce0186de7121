#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo's C++ is formatted as .clang-format says (scripts/format.sh --check), and the check does
# fail on a file that is not.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

expect_ok "every C++ file formatted" bash "$KPGO_SOURCE_DIR/scripts/format.sh" --check

# The probe: a badly formatted file under the project's style is caught.
cp "$KPGO_SOURCE_DIR/.clang-format" .
printf 'int  f( int x ){return x+1;}\n' > probe.cpp
if clang-format-19 --dry-run -Werror probe.cpp > /dev/null 2>&1; then
  fail "clang-format-19 accepts a badly formatted file: the check could not fail"
fi
pass
finish
