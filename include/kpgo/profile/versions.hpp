// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kpgo::profile {

// Which profile formats each LLVM major writes. A raw reader accepts only its own raw version;
// an indexed reader accepts its own version and older ones. Backends report their own numbers
// from LLVM's headers; this table covers the majors no backend was built for.
struct FormatVersions {
  unsigned llvm_major;
  uint64_t raw;
  uint64_t indexed;
};

std::optional<FormatVersions> known_format_versions(unsigned llvm_major);

// The LLVM majors whose clang writes raw version `raw`, e.g. "14 to 17" for 8.
std::string majors_writing_raw(uint64_t raw);

}  // namespace kpgo::profile
