// SPDX-License-Identifier: MIT
#include "cli/commands.hpp"
#include "kpgo/profile/backends.hpp"

#ifndef KPGO_VERSION
#define KPGO_VERSION "unknown"
#endif

namespace kpgo::cli {

std::string version_text() {
  std::string text = fmt::format("kpgo {}\n", KPGO_VERSION);
  auto backends = profile::BackendSet::discover();
  auto infos = backends.infos();
  if (infos.empty()) return text + "merge backends: none found\n";
  text += "merges profiles for:";
  for (const auto& info : infos) {
    text += fmt::format("\n  LLVM {} (raw version {}, indexed version {})", info.llvm_version,
                        info.raw_version, info.indexed_version);
  }
  return text;
}

}  // namespace kpgo::cli
