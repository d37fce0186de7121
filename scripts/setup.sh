#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything kpgo builds, tests and runs with on Debian 12. Idempotent: packages
# already present are left alone, so a second run only costs apt's dependency check.
set -euo pipefail

llvm_majors=${KPGO_LLVM_MAJORS:-"16 19"}

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libzstd-dev zlib1g-dev libedit-dev libxml2-dev libffi-dev libncurses-dev
  # kernel build
  procps binutils patch
  bc bison flex libelf-dev libssl-dev cpio kmod xz-utils zstd python3 rsync
  linux-source-6.12 linux-source-6.1
  # guests and transports
  qemu-system-x86 busybox-static e2fsprogs openssh-client openssh-server
)
for major in $llvm_majors; do
  packages+=("clang-$major" "lld-$major" "llvm-$major" "llvm-$major-dev" "llvm-$major-tools"
             "libclang-rt-$major-dev")
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "kpgo setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "kpgo setup: all packages present" >&2
fi
