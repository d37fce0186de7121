// SPDX-License-Identifier: MIT
#include "kpgo/kernel/arch.hpp"

#include <array>

namespace kpgo::kernel {

namespace {
const std::array<KernelArch, 2> kArches{{
    {"x86_64", "arch/x86/boot/bzImage", "qemu-x86_64.config"},
    // arm64's Image is uncompressed: QEMU and UEFI loaders take it as it is.
    {"arm64", "arch/arm64/boot/Image", "qemu-arm64.config"},
}};
}  // namespace

Result<KernelArch> kernel_arch(std::string_view arch) {
  if (arch == "x86") arch = "x86_64";  // kbuild's ARCH=x86 with CONFIG_64BIT, as kpgo builds
  for (const auto& known : kArches) {
    if (known.name == arch) return known;
  }
  std::string names;
  for (const auto& known : kArches) names += (names.empty() ? "" : ", ") + known.name;
  return fail("ARCH={}: kpgo builds kernels for {}", arch, names);
}

}  // namespace kpgo::kernel
