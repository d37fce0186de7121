// SPDX-License-Identifier: MIT
#include "kpgo/kernel/config.hpp"

#include "kpgo/system/files.hpp"

#include <fstream>
#include <regex>
#include <sstream>

namespace kpgo::kernel {

namespace {

std::optional<ConfigEntry> parse_line(const std::string& line) {
  static const std::regex set(R"(^(CONFIG_[A-Za-z0-9_]+)=(.*)$)");
  static const std::regex unset(R"(^# (CONFIG_[A-Za-z0-9_]+) is not set\s*$)");
  std::smatch match;
  if (std::regex_match(line, match, set)) return ConfigEntry{match[1], match[2].str()};
  if (std::regex_match(line, match, unset)) return ConfigEntry{match[1], std::nullopt};
  return std::nullopt;
}

std::string render(const ConfigEntry& entry) {
  return entry.value ? entry.name + "=" + *entry.value : "# " + entry.name + " is not set";
}

}  // namespace

std::vector<ConfigEntry> parse_config(std::string_view text) {
  std::vector<ConfigEntry> entries;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto entry = parse_line(line)) entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<ConfigEntry>> read_config(const std::filesystem::path& path) {
  KPGO_TRY_BIND(text, read_text_file(path));
  return parse_config(*text);
}

bool is_config_target(std::string_view name) {
  static const std::regex target{R"([A-Za-z0-9][A-Za-z0-9_-]*config)"};
  return std::regex_match(name.begin(), name.end(), target);
}

std::string merge_config(std::string_view base, const std::vector<std::string>& fragments) {
  std::map<std::string, ConfigEntry> overrides;
  std::vector<std::string> appended;
  std::map<std::string, bool> in_base;
  for (const auto& entry : parse_config(base)) in_base[entry.name] = true;
  for (const auto& fragment : fragments) {
    for (auto& entry : parse_config(fragment)) {
      if (!in_base.count(entry.name) && !overrides.count(entry.name))
        appended.push_back(entry.name);
      overrides[entry.name] = entry;
    }
  }
  std::ostringstream out;
  std::istringstream in{std::string(base)};
  std::string line;
  while (std::getline(in, line)) {
    auto entry = parse_line(line);
    if (entry && overrides.count(entry->name)) {
      out << render(overrides[entry->name]) << '\n';
      continue;
    }
    out << line << '\n';
  }
  for (const auto& name : appended) out << render(overrides[name]) << '\n';
  return out.str();
}

std::vector<UnmetRequest> unmet_requests(
    const std::vector<ConfigEntry>& final_config,
    const std::vector<std::pair<std::string, std::string>>& fragments) {
  std::map<std::string, std::optional<std::string>> have;
  for (const auto& entry : final_config) have[entry.name] = entry.value;
  std::map<std::string, UnmetRequest> wanted;
  std::vector<std::string> order;
  for (const auto& [fragment_name, text] : fragments) {
    for (auto& entry : parse_config(text)) {
      if (!wanted.count(entry.name)) order.push_back(entry.name);
      wanted[entry.name] = UnmetRequest{entry.name, entry.value, std::nullopt, fragment_name};
    }
  }
  std::vector<UnmetRequest> unmet;
  for (const auto& name : order) {
    UnmetRequest request = wanted[name];
    auto it = have.find(name);
    std::optional<std::string> got = it == have.end() ? std::nullopt : it->second;
    // "is not set" is met by an absent symbol too: kconfig leaves out what cannot be chosen.
    bool met = request.wanted ? got == request.wanted : (!got || *got == "n");
    if (met) continue;
    request.got = got;
    unmet.push_back(std::move(request));
  }
  return unmet;
}

std::string describe(const UnmetRequest& unmet) {
  return fmt::format("{}: {} asks for {}, the final .config has {}", unmet.name, unmet.fragment,
                     unmet.wanted ? *unmet.wanted : "not set",
                     unmet.got ? *unmet.got : "it not set (a dependency is missing)");
}

}  // namespace kpgo::kernel
