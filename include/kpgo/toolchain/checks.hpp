// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kpgo/profile/backends.hpp"
#include "kpgo/profile/versions.hpp"
#include "kpgo/toolchain/llvm.hpp"

namespace kpgo::toolchain {

struct Finding {
  enum class Level { ok, warning, problem };
  Level level = Level::ok;
  std::string message;  // for a problem, includes the fix
};

// Whether a toolchain can build an instrumented kernel and read back a profile kpgo merged.
struct ToolchainReport {
  Toolchain chain;
  std::optional<profile::FormatVersions> clang_formats;  // what this clang writes and reads
  std::vector<profile::BackendInfo> backends;
  std::optional<unsigned> merge_backend;  // the backend whose output this clang reads
  std::vector<std::string> missing_tools;
  std::vector<Finding> findings;

  bool usable() const;
};

ToolchainReport check_toolchain(const LlvmSpec& spec, ProcessRunner& runner,
                                profile::BackendSet& backends);

}  // namespace kpgo::toolchain
