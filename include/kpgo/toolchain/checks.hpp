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

// Whether the toolchain can build kernels with clang LTO (kbuild's HAS_LTO_CLANG: lld, llvm-ar
// and llvm-nm of the same LLVM) and with context-sensitive PGO (clang's -fcs-profile-generate;
// with LTO, lld's --lto-cs-profile-generate too), and why not when it cannot.
struct OptimizationSupport {
  std::string lto_problem;    // empty: it can
  std::string cspgo_problem;  // without LTO
  std::string cspgo_lto_problem;
};
OptimizationSupport optimization_support(const Toolchain& chain, ProcessRunner& runner);

}  // namespace kpgo::toolchain
