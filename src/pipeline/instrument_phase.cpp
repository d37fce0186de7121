// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/instrument.hpp"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/config.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/support.hpp"
#include "kpgo/profile/backends.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/data_dir.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/toolchain/checks.hpp"

namespace kpgo::pipeline {



namespace fs = std::filesystem;

namespace {

Result<toolchain::ToolchainReport> check_toolchain_first(const std::string& llvm,
                                                         ProcessRunner& runner) {
  auto spec = toolchain::parse_llvm_spec(llvm);
  if (!spec) return tl::unexpected(spec.error());
  auto backends = profile::BackendSet::discover();
  auto report = toolchain::check_toolchain(*spec, runner, backends);
  if (!report.usable()) {
    std::string problems;
    for (const auto& finding : report.findings) {
      if (finding.level == toolchain::Finding::Level::problem) problems += "\n  " + finding.message;
    }
    return fail("the toolchain LLVM={} cannot build an instrumented kernel (kpgo doctor --llvm {} "
                "tells more):{}",
                llvm, llvm, problems);
  }
  return report;
}

}  // namespace

Result<InstrumentOutcome> instrument_kernel(const InstrumentOptions& options, ProcessRunner& runner,
                                     Manifest& manifest) {
  InstrumentOutcome outcome;
  if (options.arch != "x86_64") {
    return fail("--arch {}: kpgo's kernel support covers x86_64 only", options.arch);
  }
  auto report = check_toolchain_first(options.llvm, runner);
  if (!report) return tl::unexpected(report.error());
  auto data = data_dir();
  if (!data) return tl::unexpected(data.error());

  auto tree = kernel::resolve_source(options.source, options.workdir, options.dry_run, runner,
                             &outcome.commands);
  if (!tree) return tl::unexpected(tree.error());
  auto version = kernel::read_kernel_version(*tree);
  if (!version && !options.dry_run) return tl::unexpected(version.error());

  // Kernel support: the tree's own, or kpgo's hooks for its line (known once it is unpacked).
  auto files = kernel::support_files(*data);
  if (!fs::exists(*tree / "Makefile")) {
    outcome.commands.push_back({{"#", "then kpgo's hooks for the unpacked kernel's line"}, std::nullopt, {}});
  } else {
    auto plan = kernel::plan_support(*tree, files, runner);
    if (!plan) return tl::unexpected(plan.error());
    outcome.support = plan->before == kernel::PgoSupport::native ? "native" : "kpgo";
    outcome.support_added = plan->changes_tree;
    outcome.commands.insert(outcome.commands.end(), plan->commands.begin(), plan->commands.end());
    if (!options.dry_run) {
      KPGO_TRY(kernel::apply_support(*tree, files, *plan, runner));
    }
  }

  kernel::Kbuild kbuild{*tree, fs::absolute(options.workdir) / "build-instrumented", options.llvm,
                options.arch, options.jobs, options.make_args};
  outcome.build_dir = kbuild.output;
  kernel::BuildLog log{fs::absolute(options.workdir) / "logs" / "instrument.log", "instrument",
               options.progress};

  // Configuration: a base, then kpgo's and the user's fragments, olddefconfig, verification.
  std::vector<std::pair<std::string, std::string>> fragments;
  auto add_fragment = [&](const fs::path& path) -> Result<> {
    auto text = read_text_file(path);
    if (!text) return tl::unexpected(text.error());
    fragments.emplace_back(path.string(), *text);
    return {};
  };
  // --config names a .config file, or a kbuild target that makes one (defconfig, tinyconfig...).
  bool config_is_target = options.config && !fs::exists(*options.config) &&
                          kernel::is_config_target(options.config->string());
  Command base_command = kbuild.make({config_is_target ? options.config->string() : "tinyconfig"});
  if (config_is_target) {
    outcome.commands.push_back(base_command);
  } else if (!options.config) {
    outcome.commands.push_back(base_command);
    KPGO_TRY(add_fragment(*data / "configs" / "qemu-x86_64.config"));
  }
  KPGO_TRY(add_fragment(*data / "configs" / "pgo.config"));
  if (options.atomic_counters) {
    KPGO_TRY(add_fragment(*data / "configs" / "pgo-atomic.config"));
  }
  for (const auto& fragment : options.fragments) {
    KPGO_TRY(add_fragment(fragment));
  }
  Command olddefconfig = kbuild.make({"olddefconfig"});
  Command build = kbuild.make({});
  outcome.commands.push_back(olddefconfig);
  outcome.commands.push_back(build);
  if (options.dry_run) return outcome;

  std::error_code ec;
  fs::create_directories(kbuild.output, ec);
  fs::path dot_config = kbuild.output / ".config";
  std::string base;
  if (options.config && !config_is_target) {
    auto text = read_text_file(*options.config);
    if (!text) return tl::unexpected(text.error());
    base = *text;
  } else {
    KPGO_TRY(kernel::run_make(base_command, runner, log));
    auto text = read_text_file(dot_config);
    if (!text) return tl::unexpected(text.error());
    base = *text;
  }
  std::vector<std::string> fragment_texts;
  for (const auto& [name, text] : fragments) fragment_texts.push_back(text);
  KPGO_TRY(write_file_atomically(dot_config, kernel::merge_config(base, fragment_texts)));
  KPGO_TRY(kernel::run_make(olddefconfig, runner, log));
  auto final_config = kernel::read_config(dot_config);
  if (!final_config) return tl::unexpected(final_config.error());
  auto unmet = kernel::unmet_requests(*final_config, fragments);
  if (!unmet.empty()) {
    std::string list;
    for (const auto& request : unmet) list += "\n  " + kernel::describe(request);
    return fail("{} options did not land in {}:{}", unmet.size(), dot_config.string(), list);
  }

  auto& record = manifest.data()["instrument"];
  if (!record.is_object()) record = nlohmann::json::object();
  record["started"] = utc_timestamp();
  record.erase("finished");
  KPGO_TRY(manifest.save());

  KPGO_TRY(kernel::run_make(build, runner, log));

  outcome.vmlinux = kbuild.output / "vmlinux";
  outcome.bzimage = kbuild.output / "arch" / "x86" / "boot" / "bzImage";
  auto build_id = kernel::read_build_id(outcome.vmlinux);
  if (!build_id) return tl::unexpected(build_id.error());
  outcome.build_id = *build_id;

  nlohmann::json commands = nlohmann::json::array();
  for (const auto& command : outcome.commands) commands.push_back(render_command(command));
  auto config_hash = sha256_file(dot_config);
  record["source"] = tree->string();
  record["kernel_version"] = version ? version->to_string() : "";
  record["support"] = outcome.support;
  record["arch"] = options.arch;
  record["llvm"] = {{"value", options.llvm},
                    {"clang", report->chain.clang.version_line},
                    {"major", report->chain.clang.major},
                    {"raw_version", report->chain.raw_version.value_or(0)},
                    {"merge_backend", report->merge_backend.value_or(0)}};
  record["atomic_counters"] = options.atomic_counters;
  record["config_sha256"] = config_hash ? *config_hash : "";
  record["build_dir"] = kbuild.output.string();
  record["artifacts"] = {{"vmlinux", outcome.vmlinux.string()},
                         {"bzImage", outcome.bzimage.string()},
                         {"config", dot_config.string()},
                         {"log", log.file.string()}};
  record["vmlinux_build_id"] = outcome.build_id;
  record["commands"] = commands;
  record["finished"] = utc_timestamp();
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::pipeline
