// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::kernel {

// One make call in kbuild's terms: the same LLVM= and ARCH= on every call of a build.
struct Kbuild {
  std::filesystem::path source;
  std::filesystem::path output;  // O=
  std::string llvm;              // LLVM=
  std::string arch = "x86_64";
  unsigned jobs = 0;                   // -j; 0: the number of CPUs
  std::vector<std::string> variables;  // KCFLAGS=..., and the user's own make arguments

  Command make(const std::vector<std::string>& targets) const;
};

struct BuildLog {
  std::filesystem::path file;  // the whole output goes here
  std::string label;           // shown in the status line and in errors
};

// Runs make, writing its output to the log; on failure the error quotes the log's error lines.
Result<> run_make(const Command& command, ProcessRunner& runner, const BuildLog& log);

}  // namespace kpgo::kernel
