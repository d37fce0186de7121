// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "kpgo/system/error.hpp"

namespace kpgo {

// The whole file as text; an Error names the file when it cannot be read.
Result<std::string> read_text_file(const std::filesystem::path& path);

// The whole file as text, or "" when it does not exist or cannot be read: for optional files
// such as a guest's status files, where absence is itself the answer.
std::string read_text_or_empty(const std::filesystem::path& path);

// `path` relative to `dir` when it lies inside `dir` (both made absolute and normal first);
// nullopt when it lies outside.
std::optional<std::filesystem::path> path_inside(const std::filesystem::path& path,
                                                 const std::filesystem::path& dir);

}  // namespace kpgo
