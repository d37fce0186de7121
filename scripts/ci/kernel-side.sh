#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The distribution-config test (kernel.distro.6.12, scripts/test.sh --distro) is too long for
# every CI run; CI runs it when the kernel-side files changed since it last passed. Those files:
# kernel/ (the runtime and the hooks), configs/distribution.config and configs/lsmod/.
#
#   kernel-side.sh hash      the fingerprint of those files as they are in this checkout
#   kernel-side.sh changed   exit 0 when it differs from tests/distro-tested.sha256 (CI then runs
#                            the distro test), 1 when the distro test passed on these files
#   kernel-side.sh record    after `scripts/test.sh --distro` passed here on these very files
#                            (the test writes the fingerprint it ran on into its log folder),
#                            writes it to tests/distro-tested.sha256 to commit
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stamp=$root/tests/distro-tested.sha256
passed=${KPGO_BUILD_DIR:-$root/build}/test-logs/kernel.distro.6.12/kernel-side.sha256

fingerprint() {
  # Paths relative to the checkout, sorted: the same files give the same hash in any clone.
  (cd "$root" && find kernel configs/distribution.config configs/lsmod -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

case ${1:-} in
  hash) fingerprint ;;
  changed)
    current=$(fingerprint)
    if [[ -f $stamp && $(cat "$stamp") == "$current" ]]; then
      echo "kernel-side files as the distro test last passed on them ($current)" >&2
      exit 1
    fi
    echo "kernel-side files changed since the distro test last passed ($current)" >&2
    ;;
  record)
    current=$(fingerprint)
    [[ -f $passed ]] || { echo "kernel-side.sh: $passed missing: run scripts/test.sh --distro first" >&2; exit 1; }
    [[ $(cat "$passed") == "$current" ]] ||
      { echo "kernel-side.sh: the distro test passed on other kernel-side files ($(cat "$passed")), not these ($current)" >&2; exit 1; }
    echo "$current" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
    echo "recorded in ${stamp#"$root"/}: $current (commit it)" >&2
    ;;
  *)
    echo "usage: kernel-side.sh hash|changed|record" >&2
    exit 2
    ;;
esac
