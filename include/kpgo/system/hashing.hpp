// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "kpgo/system/error.hpp"

namespace kpgo {

// SHA-256 of bytes or of a file's contents, as lowercase hex: kpgo.json keys its resume
// decisions and its content-addressed profiles by them.
std::string sha256_hex(std::string_view bytes);
Result<std::string> sha256_file(const std::filesystem::path& path);
// For resume keys: the file's SHA-256, or "missing:PATH" when it cannot be read, so that a key
// made while the file was missing never equals one made once it is there.
std::string sha256_key(const std::filesystem::path& path);

}  // namespace kpgo
