// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::toolchain {

// kbuild's LLVM= variable: `1` uses clang, ld.lld, ... from PATH; `-N` appends a version suffix
// (clang-19); `/path/to/bin/` prefixes a directory. kpgo passes the same value to every make.
struct LlvmSpec {
  std::string value;   // as given, and as passed to make
  std::string prefix;  // directory with trailing slash, or empty
  std::string suffix;  // "-19", or empty

  std::string tool(std::string_view name) const;
};

Result<LlvmSpec> parse_llvm_spec(std::string_view value);
std::string default_llvm_value();  // "-<KPGO_LLVM_DEFAULT>"

struct Tool {
  std::string name;  // as LLVM= spells it, e.g. clang-19
  std::optional<std::filesystem::path> path;
  std::string version_line;  // first line of --version
  unsigned major = 0;        // 0 when unknown
};

struct Toolchain {
  LlvmSpec spec;
  Tool clang;
  Tool lld;
  Tool profdata;
  std::optional<uint64_t> raw_version;  // what this clang writes, probed by compiling
  std::string raw_probe_error;
};

// Extracts the major from a `--version` banner ("Debian clang version 19.1.7 (3~deb12u1)").
std::optional<unsigned> parse_llvm_major(std::string_view version_text);

// Finds the tools and asks each for its version; the raw profile version is read from the IR
// clang emits for a tiny -fprofile-generate program, so it is what this clang really writes.
Toolchain probe_toolchain(const LlvmSpec& spec, ProcessRunner& runner);

}  // namespace kpgo::toolchain

namespace kpgo::toolchain {
// The LLVM major of a spec: from the suffix when it has one, else by asking its clang.
Result<unsigned> llvm_major_of(const LlvmSpec& spec, ProcessRunner& runner);
}  // namespace kpgo::toolchain
