// SPDX-License-Identifier: MIT
#include "kpgo/kernel/source.hpp"

#include <charconv>
#include <fstream>
#include <regex>
#include <sstream>

namespace kpgo::kernel {

namespace fs = std::filesystem;

std::string KernelVersion::to_string() const {
  return fmt::format("{}.{}.{}{}", version, patchlevel, sublevel, extraversion);
}

Result<KernelVersion> read_kernel_version(const fs::path& tree) {
  std::ifstream makefile(tree / "Makefile");
  if (!makefile) return fail("{}: not a kernel tree (no Makefile)", tree.string());
  KernelVersion version;
  bool seen_version = false;
  static const std::regex assignment(R"(^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*))");
  std::string line;
  for (int n = 0; n < 20 && std::getline(makefile, line); ++n) {
    std::smatch match;
    if (!std::regex_search(line, match, assignment)) continue;
    std::string key = match[1];
    std::string value = match[2];
    if (key == "EXTRAVERSION") {
      version.extraversion = value;
    } else if (!value.empty()) {
      int number = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (error != std::errc() || end != value.data() + value.size() || number < 0) {
        return fail("{}/Makefile line {}: {} = {} is not a version number", tree.string(), n + 1,
                    key, value);
      }
      if (key == "VERSION") {
        version.version = number;
        seen_version = true;
      } else if (key == "PATCHLEVEL") {
        version.patchlevel = number;
      } else {
        version.sublevel = number;
      }
    }
  }
  if (!seen_version) return fail("{}/Makefile: no VERSION line; not a kernel tree", tree.string());
  return version;
}

const char* to_string(PgoSupport support) {
  switch (support) {
    case PgoSupport::none: return "none";
    case PgoSupport::kpgo: return "kpgo";
    case PgoSupport::native: return "native";
  }
  return "unknown";
}

PgoSupport detect_pgo_support(const fs::path& tree) {
  std::error_code ec;
  if (fs::exists(tree / "kernel" / "pgo" / ".kpgo-support", ec)) return PgoSupport::kpgo;
  std::ifstream kconfig(tree / "kernel" / "pgo" / "Kconfig");
  if (kconfig) {
    std::stringstream text;
    text << kconfig.rdbuf();
    if (text.str().find("config PGO_CLANG") != std::string::npos) return PgoSupport::native;
  }
  return PgoSupport::none;
}

fs::path running_kernel_profile() {
  for (const char* candidate : {"/sys/kernel/debug/pgo/vmlinux.profraw", "/proc/pgo/vmlinux.profraw"}) {
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
  }
  return {};
}

}  // namespace kpgo::kernel
