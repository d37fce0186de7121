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

// One make call in kbuild's terms: the same LLVM= and ARCH= on every call of a build, and the
// flags that make profile names of static functions independent of where the tree is.
struct Kbuild {
  std::filesystem::path source;
  std::filesystem::path output;  // O=
  std::string llvm;              // LLVM=
  std::string arch = "x86_64";
  unsigned jobs = 0;                   // -j; 0: the number of CPUs
  std::vector<std::string> variables;  // KCFLAGS=..., and the user's own make arguments

  Command make(const std::vector<std::string>& targets) const;
};

// Appends `flags` to the make variable NAME among `variables` (NAME=...), or adds it: make keeps
// only the last NAME= of its command line.
void append_to_variable(std::vector<std::string>& variables, std::string_view name,
                        std::string_view flags);

// Clang names a static function in a profile "FILE;NAME" with FILE as the compiler was given it:
// in an O= build the absolute path of the source tree. A workdir that CI moves between the
// instrument and the optimize job (or a tree unpacked elsewhere) would then match no static
// function. This LLVM option strips the tree's own directories from those names, so that they
// read "kernel/fork.c;copy_process" wherever the tree is. It goes to the link too, where LTO
// instruments and reads context-sensitive profiles.
std::string source_relative_names_option(const std::filesystem::path& source);

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
