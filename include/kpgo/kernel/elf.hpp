// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// The GNU build ID of an ELF64 little-endian file (vmlinux), as lowercase hex: the ID the
// kernel puts into the binary-ID section of every profile it writes.
Result<std::string> read_build_id(const std::filesystem::path& elf);

// Where a build placed its functions: clang puts a function it has profile data for into
// .text.hot.* or .text.unlikely.*; the partial link vmlinux.o keeps those sections apart.
struct TextLayout {
  uint64_t functions = 0;  // in any .text section
  uint64_t hot = 0;
  uint64_t unlikely = 0;
};
Result<TextLayout> read_text_layout(const std::filesystem::path& object);

// The size of a section, by name; 0 when there is none (e.g. __llvm_prf_data of a module the
// build did not instrument).
Result<uint64_t> section_size(const std::filesystem::path& elf, const std::string& name);

}  // namespace kpgo::kernel
