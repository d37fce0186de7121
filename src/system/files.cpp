// SPDX-License-Identifier: MIT
#include "kpgo/system/files.hpp"

#include <fstream>
#include <sstream>

namespace kpgo {

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot read", path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string read_text_or_empty(const std::filesystem::path& path) {
  return read_text_file(path).value_or("");
}

std::optional<std::filesystem::path> path_inside(const std::filesystem::path& path,
                                                 const std::filesystem::path& dir) {
  auto relative = std::filesystem::absolute(path).lexically_normal().lexically_relative(
      std::filesystem::absolute(dir).lexically_normal());
  if (relative.empty() || *relative.begin() == "..") return std::nullopt;
  return relative;
}

}  // namespace kpgo
