// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// The GNU build ID of an ELF64 little-endian file (vmlinux), as lowercase hex: the ID the
// kernel puts into the binary-ID section of every profile it writes.
Result<std::string> read_build_id(const std::filesystem::path& elf);

}  // namespace kpgo::kernel
