// SPDX-License-Identifier: MIT
#include "kpgo/kernel/arch.hpp"

#include <sys/utsname.h>

#include <array>

namespace kpgo::kernel {

namespace {
const std::array<KernelArch, 2> kArches{{
    {"x86_64", "x86", "arch/x86/boot/bzImage", "qemu-x86_64.config"},
    // arm64's Image is uncompressed: QEMU and UEFI loaders take it as it is.
    {"arm64", "arm64", "arch/arm64/boot/Image", "qemu-arm64.config"},
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

std::string host_arch() {
  struct utsname uts{};
  ::uname(&uts);
  std::string machine = uts.machine;
  return machine == "aarch64" ? "arm64" : machine;
}

}  // namespace kpgo::kernel
