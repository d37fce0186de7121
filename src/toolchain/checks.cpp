// SPDX-License-Identifier: MIT
#include "kpgo/toolchain/checks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "kpgo/profile/merge.hpp"

namespace kpgo::toolchain {

namespace {

// What kbuild's LLVM=1 calls besides clang and ld.lld.
constexpr const char* kKbuildTools[] = {"llvm-ar",      "llvm-nm",      "llvm-objcopy",
                                        "llvm-objdump", "llvm-readelf", "llvm-strip"};

std::string install_hint(const LlvmSpec& spec) {
  if (!spec.suffix.empty()) {
    std::string n = spec.suffix.substr(1);
    return fmt::format("apt-get install clang-{0} lld-{0} llvm-{0}", n);
  }
  return "install clang, lld and llvm of one version, or pick one with --llvm -N";
}

}  // namespace

bool ToolchainReport::usable() const {
  return std::none_of(findings.begin(), findings.end(),
                      [](const Finding& f) { return f.level == Finding::Level::problem; });
}

ToolchainReport check_toolchain(const LlvmSpec& spec, ProcessRunner& runner,
                                profile::BackendSet& backends) {
  using Level = Finding::Level;
  ToolchainReport report;
  report.chain = probe_toolchain(spec, runner);
  report.backends = backends.infos();
  auto& chain = report.chain;
  auto problem = [&](std::string message) {
    report.findings.push_back({Level::problem, std::move(message)});
  };

  if (!chain.clang.path) {
    problem(fmt::format("{} not found; {}", chain.clang.name, install_hint(spec)));
    return report;
  }
  if (chain.clang.major == 0) {
    problem(fmt::format("cannot tell the version of {}", chain.clang.path->string()));
    return report;
  }
  if (!chain.lld.path) problem(fmt::format("{} not found; {}", chain.lld.name, install_hint(spec)));
  for (const char* tool : kKbuildTools) {
    if (!find_program(spec.tool(tool))) report.missing_tools.push_back(spec.tool(tool));
  }
  if (!report.missing_tools.empty()) {
    std::string list;
    for (const auto& tool : report.missing_tools) list += (list.empty() ? "" : ", ") + tool;
    problem(
        fmt::format("kbuild with LLVM={} also needs {}; {}", spec.value, list, install_hint(spec)));
  }
  if (chain.lld.path && chain.lld.major != 0 && chain.lld.major != chain.clang.major) {
    report.findings.push_back(
        {Level::warning, fmt::format("{} is LLVM {} but {} is LLVM {}", chain.lld.name,
                                     chain.lld.major, chain.clang.name, chain.clang.major)});
  }

  unsigned major = chain.clang.major;
  for (const auto& info : report.backends) {
    if (info.llvm_major == major) {
      report.clang_formats = profile::FormatVersions{major, info.raw_version, info.indexed_version};
    }
  }
  if (!report.clang_formats) report.clang_formats = profile::known_format_versions(major);

  if (!chain.raw_version) {
    problem(fmt::format("{} cannot build with -fprofile-generate: {}", chain.clang.name,
                        chain.raw_probe_error));
  } else if (report.clang_formats && *chain.raw_version != report.clang_formats->raw) {
    problem(
        fmt::format("{} writes raw version {}, not the {} of LLVM {}; it is not the clang "
                    "its banner says",
                    chain.clang.name, *chain.raw_version, report.clang_formats->raw, major));
  }

  auto backend = profile::choose_backend({}, major, report.backends);
  if (backend) {
    report.merge_backend = *backend;
  } else {
    problem(backend.error().what());
  }
  return report;
}

namespace {

// Whether `tool --help` lists `option`.
bool help_lists(const Tool& tool, std::string_view option, ProcessRunner& runner) {
  if (!tool.path) return false;
  auto output = runner.capture({{tool.path->string(), "--help"}});
  return output && output->out.find(option) != std::string::npos;
}

std::string lto_problem(const Toolchain& chain) {
  if (!chain.clang.path) return chain.clang.name + " not found";
  if (!chain.lld.path) return chain.lld.name + " not found: kbuild links LTO kernels with lld";
  if (chain.lld.major != chain.clang.major) {
    return fmt::format(
        "{} is LLVM {} and {} LLVM {}: lld must read clang's bitcode, so both "
        "must be of one LLVM",
        chain.lld.name, chain.lld.major, chain.clang.name, chain.clang.major);
  }
  for (const char* name : {"llvm-ar", "llvm-nm"}) {
    std::string tool = chain.spec.tool(name);
    if (!find_program(tool)) {
      return fmt::format(
          "{} not found: kbuild offers LTO only when LLVM= gives llvm-ar and "
          "llvm-nm (HAS_LTO_CLANG)",
          tool);
    }
  }
  return "";
}

}  // namespace

OptimizationSupport optimization_support(const Toolchain& chain, ProcessRunner& runner) {
  OptimizationSupport support;
  support.lto_problem = lto_problem(chain);
  if (!help_lists(chain.clang, "-fcs-profile-generate", runner))
    support.cspgo_problem = chain.clang.name + " does not list -fcs-profile-generate";
  support.cspgo_lto_problem =
      !support.cspgo_problem.empty() ? support.cspgo_problem : support.lto_problem;
  if (support.cspgo_lto_problem.empty() &&
      !help_lists(chain.lld, "--lto-cs-profile-generate", runner))
    support.cspgo_lto_problem = chain.lld.name + " does not list --lto-cs-profile-generate";
  return support;
}

}  // namespace kpgo::toolchain
