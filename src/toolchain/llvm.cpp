// SPDX-License-Identifier: MIT
#include "kpgo/toolchain/llvm.hpp"

#include <cstdlib>
#include <fstream>
#include <regex>

#include "kpgo/profile/format.hpp"

namespace kpgo::toolchain {

namespace fs = std::filesystem;

#ifndef KPGO_LLVM_DEFAULT
#define KPGO_LLVM_DEFAULT 19
#endif

std::string default_llvm_value() {
  return "-" + std::to_string(KPGO_LLVM_DEFAULT);
}

std::string LlvmSpec::tool(std::string_view name) const {
  return prefix + std::string(name) + suffix;
}

Result<LlvmSpec> parse_llvm_spec(std::string_view value) {
  LlvmSpec spec;
  spec.value = std::string(value);
  if (value == "1") return spec;
  static const std::regex suffix(R"(-\d+)");
  if (std::regex_match(spec.value, suffix)) {
    spec.suffix = spec.value;
    return spec;
  }
  if (!value.empty() && value.back() == '/') {
    std::error_code ec;
    if (!fs::is_directory(spec.value, ec)) {
      return fail("LLVM={}: no such directory", value);
    }
    spec.prefix = spec.value;
    return spec;
  }
  return fail(
      "LLVM={}: expected 1, -N (a version suffix such as -19) or a directory ending in "
      "'/' (as kbuild takes it)",
      value);
}

std::optional<unsigned> parse_llvm_major(std::string_view version_text) {
  static const std::regex pattern(R"((?:version|LLD) (\d+)\.\d+)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(version_text.begin(), version_text.end(), match, pattern)) {
    return std::nullopt;
  }
  return static_cast<unsigned>(std::stoul(match[1].str()));
}

namespace {

std::string first_version_line(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? end : end - start);
    if (parse_llvm_major(line)) return line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

Tool probe_tool(const LlvmSpec& spec, std::string_view name, ProcessRunner& runner) {
  Tool tool;
  tool.name = spec.tool(name);
  tool.path = find_program(tool.name);
  if (!tool.path) return tool;
  // llvm-profdata before LLVM 17 answers --version only after a subcommand.
  std::vector<std::string> argv{tool.path->string(), "--version"};
  if (name == "llvm-profdata") argv.insert(argv.begin() + 1, "merge");
  auto output = runner.capture({argv});
  if (!output || !output->succeeded()) return tool;
  tool.version_line = first_version_line(output->out + output->err);
  tool.major = parse_llvm_major(tool.version_line).value_or(0);
  return tool;
}

}  // namespace

Toolchain probe_toolchain(const LlvmSpec& spec, ProcessRunner& runner) {
  Toolchain chain;
  chain.spec = spec;
  chain.clang = probe_tool(spec, "clang", runner);
  chain.lld = probe_tool(spec, "ld.lld", runner);
  chain.profdata = probe_tool(spec, "llvm-profdata", runner);
  if (!chain.clang.path) {
    chain.raw_probe_error = chain.clang.name + " not found";
    return chain;
  }
  char dir_template[] = "/tmp/kpgo-probe-XXXXXX";
  if (!::mkdtemp(dir_template)) {
    chain.raw_probe_error = "cannot create a temporary directory";
    return chain;
  }
  fs::path dir(dir_template);
  {
    std::ofstream(dir / "probe.c") << "int main(void) { return 0; }\n";
  }
  auto output = runner.capture({{chain.clang.path->string(), "-fprofile-generate", "-S",
                                 "-emit-llvm", "-o", "-", (dir / "probe.c").string()}});
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!output || !output->succeeded()) {
    chain.raw_probe_error = output ? output->err : output.error().what();
    return chain;
  }
  static const std::regex raw_version(R"(@__llvm_profile_raw_version = [^\n]*? i64 (\d+))");
  std::smatch match;
  if (!std::regex_search(output->out, match, raw_version)) {
    chain.raw_probe_error = "clang emitted no __llvm_profile_raw_version";
    return chain;
  }
  chain.raw_version = std::stoull(match[1]) & profile::kVersionMask;
  return chain;
}

}  // namespace kpgo::toolchain

namespace kpgo::toolchain {
Result<unsigned> llvm_major_of(const LlvmSpec& spec, ProcessRunner& runner) {
  if (!spec.suffix.empty()) return static_cast<unsigned>(std::stoul(spec.suffix.substr(1)));
  Tool clang = probe_tool(spec, "clang", runner);
  if (!clang.path) return fail("LLVM={}: {} not found", spec.value, clang.name);
  if (clang.major == 0)
    return fail("LLVM={}: cannot tell the version of {}", spec.value, clang.path->string());
  return clang.major;
}
}  // namespace kpgo::toolchain
