// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// What `uname -r` and `uname -v` print on a machine running a kernel: enough to tell two builds
// of one source apart (the version holds the build's number and time).
struct KernelIdentity {
  std::string release;  // 6.12.48
  std::string version;  // #1 SMP PREEMPT_DYNAMIC Tue Nov 24 10:00:00 UTC 2026
  bool operator==(const KernelIdentity&) const = default;
};

// The identity a boot image carries: an x86 bzImage in its setup header (boot protocol 2.00+:
// kernel_version at 0x20E points, less 0x200, to "RELEASE (USER@HOST) VERSION"); an arm64 Image,
// which is not compressed, in the kernel's banner ("Linux version RELEASE (USER@HOST)
// (COMPILER) VERSION").
Result<KernelIdentity> read_bzimage_identity(const std::filesystem::path& bzimage);

// Parses that string; empty fields when it is not of that form.
KernelIdentity parse_kernel_version_string(std::string_view text);

}  // namespace kpgo::kernel
