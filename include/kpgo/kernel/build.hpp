// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
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
  // What the user can change when the build runs out of memory, e.g. for an LTO link.
  std::string memory_advice = "fewer make jobs (-j) or more memory (or swap)";
};

// What one make call took.
struct BuildCost {
  double seconds = 0;
  uint64_t peak_memory_kib = 0;  // its largest process at its peak (a compiler or the linker)
};

struct MakeOutcome {
  BuildCost cost;
  bool compiled = false;  // kbuild compiled a C file ("  CC "): not a build with nothing to do
};

// Runs make, writing its output to the log; on failure the error quotes the log's error lines,
// and when the build ran out of memory it says so, with the peak it reached and the advice.
Result<MakeOutcome> run_make(const Command& command, ProcessRunner& runner, const BuildLog& log);

// Whether a build log line says a process ran out of memory (or was killed, as the kernel's
// OOM killer does).
bool says_out_of_memory(std::string_view line);

// "1.5 GiB", "850 MiB".
std::string memory_text(uint64_t kib);

}  // namespace kpgo::kernel
