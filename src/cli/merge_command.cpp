// SPDX-License-Identifier: MIT
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/modules.hpp"
#include "kpgo/profile/merge.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/toolchain/llvm.hpp"

namespace kpgo::cli {

namespace {

struct MergeOptions {
  std::vector<std::string> inputs;
  std::vector<std::string> weighted;
  std::vector<std::string> lists;
  std::string output = "vmlinux.profdata";
  unsigned threads = 0;
  std::string failure_mode = "any";
  bool sparse = false;
  bool text = false;
  std::string llvm;
  std::vector<std::string> binary_ids;
  std::string build_tree;
  bool generic = false;
};

// The summary; on stderr when stdout carries the profile (-o -).
void print_text(const profile::MergeOutcome& outcome, std::FILE* to) {
  const auto& s = outcome.stats;
  fmt::print(to, "merged {} of {} inputs into {} (LLVM {}, indexed version {})\n", outcome.merged,
             outcome.inputs, outcome.output.string(), outcome.backend.llvm_version,
             outcome.backend.indexed_version);
  if (!outcome.skipped.empty()) fmt::print(to, "  skipped      {}\n", outcome.skipped.size());
  fmt::print(to, "  functions    {} ({} with non-zero counts)\n", s.functions,
             s.functions_with_counts);
  fmt::print(to, "  counters     {}\n", s.counters);
  fmt::print(to, "  max count    {}\n", s.max_count);
  fmt::print(to, "  value sites  {} ({} indirect call, {} memory op)\n", s.value_sites,
             s.indirect_call_sites, s.memop_sites);
  if (s.cs_functions) {
    fmt::print(to, "  context-sensitive records {} (CSPGO stage 2)\n", s.cs_functions);
  }
}

Result<> copy_file_to_stdout(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read {}, the profile for standard output", path.string());
  std::fflush(stdout);
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    std::streamsize n = in.gcount();
    if (n > 0 && std::fwrite(buffer, 1, static_cast<size_t>(n), stdout) != static_cast<size_t>(n)) {
      return fail("cannot write the profile to standard output: {}", std::strerror(errno));
    }
  }
  if (std::fflush(stdout) != 0)
    return fail("cannot write the profile to standard output: {}", std::strerror(errno));
  return {};
}

// --build-tree DIR: the build IDs of a kbuild output directory's vmlinux and modules.
Result<> add_build_tree(const std::filesystem::path& dir, std::vector<std::string>& ids) {
  KPGO_TRY_BIND(vmlinux, kernel::read_build_id(dir / "vmlinux")
                             .map_error(context(fmt::format("--build-tree {}", dir.string()))));
  ids.push_back(*vmlinux);
  KPGO_TRY_BIND(modules,
                kernel::built_modules(dir).map_error(context("--build-tree " + dir.string())));
  for (const auto& module : *modules) ids.push_back(module.build_id);
  return {};
}

Result<int> run_merge(const MergeOptions& options, const GlobalOptions& globals) {
  KPGO_TRY_BIND(mode, profile::parse_failure_mode(options.failure_mode));
  KPGO_TRY_BIND(inputs, profile::collect_inputs(options.inputs, options.weighted, options.lists));

  profile::MergeRequest request;
  request.inputs = std::move(*inputs);
  request.output = options.output;
  request.threads = options.threads;
  request.failure_mode = *mode;
  request.sparse = options.sparse;
  request.format = options.text ? profile::OutputFormat::text : profile::OutputFormat::binary;
  request.fast_path = !options.generic;
  request.build_tree = options.binary_ids;
  if (!options.build_tree.empty()) KPGO_TRY(add_build_tree(options.build_tree, request.build_tree));
  if (!options.llvm.empty()) {
    KPGO_TRY_BIND(spec, toolchain::parse_llvm_spec(options.llvm));
    KPGO_TRY_BIND(major, toolchain::llvm_major_of(*spec, system_runner()));
    request.consumer_major = *major;
  }

  // -o -: the profile goes to standard output, through a file (LLVM's writer writes files).
  std::optional<TemporaryFile> to_stdout;
  if (options.output == "-") {
    if (globals.json) return fail("-o - and --json both write to standard output; choose one");
    KPGO_TRY_BIND(file, TemporaryFile::create("kpgo-merge-stdout"));
    to_stdout.emplace(std::move(*file));
    request.output = to_stdout->path();
  }

  auto backends = profile::BackendSet::discover();
  KPGO_TRY_BIND(outcome, profile::merge_profiles(request, backends));
  if (to_stdout) {
    KPGO_TRY(copy_file_to_stdout(to_stdout->path()));
    outcome->output = "-";
  }

  for (const auto& skip : outcome->skipped) spdlog::warn("skipped {}: {}", skip.path, skip.reason);
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < outcome->warnings.size() && i < kShown; ++i) {
    spdlog::warn("{}", outcome->warnings[i]);
  }
  if (outcome->warnings.size() > kShown) {
    spdlog::warn("... and {} more warnings (all of them with --json)",
                 outcome->warnings.size() - kShown);
  }
  if (globals.json) {
    print_json(merge_json(*outcome));
  } else if (!globals.quiet) {
    print_text(*outcome, to_stdout ? stderr : stdout);
  }
  return 0;
}

}  // namespace

Subcommand add_merge_command(CLI::App& parent, const GlobalOptions& globals) {
  auto options = std::make_shared<MergeOptions>();
  CLI::App* app = parent.add_subcommand(
      "merge", "Merge raw (.profraw) and indexed (.profdata) profiles into one indexed profile");
  app->add_option("inputs", options->inputs, "Profiles, or directories searched for them");
  app->add_option("-o,--output", options->output,
                  "Output profile, - for standard output (default: vmlinux.profdata)");
  app->add_option("--weighted-input", options->weighted, "W,FILE: an input whose counts weigh W")
      ->allow_extra_args(false);
  app->add_option("-f,--input-files", options->lists,
                  "File listing inputs, one [W,]FILE a line, # starts a comment")
      ->allow_extra_args(false);
  app->add_option("-j,--num-threads", options->threads,
                  "Threads (default: min(cores, (inputs + 1) / 2), as llvm-profdata)");
  app->add_option("--failure-mode", options->failure_mode,
                  "any: fail if any input is bad (default); all: fail only if none merged; warn: "
                  "skip bad inputs with a warning");
  app->add_flag("--sparse", options->sparse, "Leave out functions whose counts are all zero");
  app->add_flag("--text", options->text, "Write the text format instead of the indexed one");
  app->add_option("--llvm", options->llvm,
                  "The LLVM that will read the output, in kbuild's LLVM= form (1, -N, /dir/); "
                  "default: chosen from the inputs' format");
  // One value per --binary-id (or a comma-separated list), so that the inputs may follow it.
  app->add_option("--binary-id", options->binary_ids,
                  "A build ID (hex) raw inputs may carry; repeat it or separate IDs with commas "
                  "(vmlinux's and its modules'); default: the one most inputs carry")
      ->allow_extra_args(false)
      ->delimiter(',');
  app->add_option("--build-tree", options->build_tree,
                  "A kernel build directory (kbuild's O=): raw inputs must come from its vmlinux "
                  "or one of its modules")
      ->check(CLI::ExistingDirectory);
  app->add_flag("--no-fast-path", options->generic,
                "Read every input through LLVM, as llvm-profdata does, instead of folding raw "
                "profiles of one binary (the output is the same; for comparison and diagnosis)");
  return {app, [options, &globals] { return run_merge(*options, globals); }};
}

}  // namespace kpgo::cli
