// SPDX-License-Identifier: MIT
#pragma once

// A real Debian userland for QEMU guests: a Debian 12 root that mmdebstrap builds from this
// machine's own apt sources, with the packages the workloads name, as a cpio archive of /debian
// that goes into the guest's initramfs after kpgo's own. The init runs there, chrooted, each
// workload that declares packages; the others, the results and the kernel's modules stay
// outside. In memory rather than on a disk: a virtio disk's reads complete at host-timed
// moments, and with one mounted, runs under -icount no longer repeated exactly.

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::targets {

// Guest memory a Debian userland needs at least: the archive unpacked, beside the workloads.
inline constexpr unsigned kUserlandMemoryMb = 2048;

// The packages a workload script declares on lines "# kpgo-packages: a b c" (commas work too).
std::vector<std::string> declared_packages(const std::string& script_text);

// Every package `extra` and the workloads name, sorted, each once; a name that is not a Debian
// package name is refused.
Result<std::vector<std::string>> userland_packages(const std::vector<std::string>& extra,
                                                   const std::vector<Workload>& workloads);

// Building ARCH's (kbuild's name) Debian root runs its programs (maintainer scripts) on this
// machine: natively, or through binfmt_misc's qemu-user-static handler (scripts/setup.sh
// registers it). An error says which and how to get it.
Result<> check_runs_programs_of(const std::string& arch);

struct UserlandRequest {
  std::string arch = "x86_64";        // kbuild's name
  std::vector<std::string> packages;  // from userland_packages
  std::filesystem::path cache_dir;    // empty: $XDG_CACHE_HOME/kpgo/userland or ~/.cache/...
};

// The image for the request, built once and then reused: it is named by the hash of what went
// into it (packages, arch, apt sources, kpgo's recipe). Built into a temporary name and renamed.
Result<std::filesystem::path> debian_userland(const UserlandRequest& request,
                                              ProcessRunner& runner);

// When options.packages or the workloads name packages: builds (or finds) the image with them
// and sets options.userland_image. Otherwise the guest is busybox alone and nothing is done.
Result<> attach_userland(QemuOptions& options, const std::vector<Workload>& workloads,
                         ProcessRunner& runner);

}  // namespace kpgo::targets
