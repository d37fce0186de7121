// SPDX-License-Identifier: MIT
#include "kpgo/kernel/bzimage.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

namespace kpgo::kernel {

namespace {
constexpr size_t kSetupHeaderMagicAt = 0x202;  // "HdrS"
constexpr size_t kKernelVersionAt = 0x20E;     // u16, offset of the string less 0x200
constexpr size_t kVersionStringBase = 0x200;
constexpr size_t kLongestVersion = 512;
}  // namespace

KernelIdentity parse_kernel_version_string(std::string_view text) {
  // "6.12.48 (user@host) #1 SMP ...": the build user and host may hold anything but ") #".
  size_t open = text.find(" (");
  size_t close = text.find(") #");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  return {std::string(text.substr(0, open)), std::string(text.substr(close + 2))};
}

namespace {

// An uncompressed image (arm64's Image) holds linux_banner as it is.
Result<KernelIdentity> read_banner_identity(const std::filesystem::path& image) {
  std::ifstream in(image, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr std::string_view kBanner = "Linux version ";
  for (size_t at = text.find(kBanner); at != std::string::npos; at = text.find(kBanner, at + 1)) {
    std::string_view rest(text.data() + at + kBanner.size(),
                          std::min(kLongestVersion, text.size() - at - kBanner.size()));
    constexpr std::string_view kLineEnds("\n\0", 2);
    KernelIdentity identity =
        parse_kernel_version_string(rest.substr(0, rest.find_first_of(kLineEnds)));
    if (!identity.release.empty()) return identity;
  }
  return fail("{}: neither an x86 bzImage nor an image with the kernel's banner in it",
              image.string());
}

}  // namespace

Result<KernelIdentity> read_bzimage_identity(const std::filesystem::path& bzimage) {
  std::ifstream in(bzimage, std::ios::binary);
  if (!in) return fail("{}: cannot open", bzimage.string());
  std::vector<char> head(kVersionStringBase + 0x10000 + kLongestVersion);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  size_t got = static_cast<size_t>(in.gcount());
  auto byte = [&](size_t at) { return static_cast<uint8_t>(head[at]); };
  if (got < kKernelVersionAt + 2 ||
      std::string_view(head.data() + kSetupHeaderMagicAt, 4) != "HdrS") {
    return read_banner_identity(bzimage);
  }
  size_t at = kVersionStringBase + (byte(kKernelVersionAt) | (byte(kKernelVersionAt + 1) << 8));
  if (at >= got)
    return fail("{}: its kernel version pointer is past the setup code", bzimage.string());
  std::string_view rest(head.data() + at, std::min(kLongestVersion, got - at));
  KernelIdentity identity = parse_kernel_version_string(rest.substr(0, rest.find('\0')));
  if (identity.release.empty()) {
    return fail("{}: its kernel version string is not of the form 'RELEASE (USER@HOST) #N ...'",
                bzimage.string());
  }
  return identity;
}

}  // namespace kpgo::kernel
