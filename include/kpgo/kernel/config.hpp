// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// A kconfig assignment: CONFIG_FOO=y, CONFIG_BAR="text", or "# CONFIG_BAZ is not set" (no value).
struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const ConfigEntry&) const = default;
};

// Entries in file order; comments and blank lines other than "is not set" are dropped.
std::vector<ConfigEntry> parse_config(std::string_view text);
Result<std::vector<ConfigEntry>> read_config(const std::filesystem::path& path);

// True for a kbuild target that writes a .config (defconfig, tinyconfig, x86_64_defconfig...),
// as opposed to a path to one.
bool is_config_target(std::string_view name);

// The base with every fragment applied in order, later ones winning, as merge_config.sh does:
// kept entries stay where they were, new ones are appended.
std::string merge_config(std::string_view base, const std::vector<std::string>& fragments);

struct UnmetRequest {
  std::string name;
  std::optional<std::string> wanted;
  std::optional<std::string> got;
  std::string fragment;  // which fragment asked
};

// What the fragments asked for that the final .config does not have (olddefconfig drops what
// dependencies forbid). Later fragments override earlier ones, as in the merge.
std::vector<UnmetRequest> unmet_requests(
    const std::vector<ConfigEntry>& final_config,
    const std::vector<std::pair<std::string, std::string>>& fragments);  // (name, text)

std::string describe(const UnmetRequest& unmet);

}  // namespace kpgo::kernel
