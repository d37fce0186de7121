// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// What kpgo knows of an architecture it builds kernels for, in kbuild's terms. Adding one is an
// entry in arch.cpp, its configs/qemu-ARCH.config, its patch in each kernel/hooks/LINE/ and
// its guest in targets/qemu.cpp.
struct KernelArch {
  std::string name;             // ARCH=: x86_64, arm64
  std::filesystem::path image;  // the boot image QEMU and bootloaders take, relative to O=
  std::string qemu_fragment;    // configs/FILE: a small kernel that boots in kpgo's guest
};

// The architecture ARCH= names (kbuild's spellings: x86_64 or x86 for 64-bit x86, arm64);
// anything else is refused with the ones kpgo knows.
Result<KernelArch> kernel_arch(std::string_view arch);

}  // namespace kpgo::kernel
