// SPDX-License-Identifier: MIT
#include <memory>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/pipeline/collect.hpp"
#include "kpgo/system/logging.hpp"

namespace kpgo::cli {

namespace {

struct CollectCommandArgs {
  std::string workdir = "kpgo-work";
  CollectArgs collect;
  bool force = false;
};

Result<int> run_collect(const CollectCommandArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(options, collect_options(args.collect));
  options->force = args.force;
  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  KPGO_TRY_BIND(outcome, pipeline::collect_profiles(*options, system_runner(), *manifest));

  if (globals.json) {
    print_json(collect_json(*outcome));
  } else if (!globals.quiet) {
    if (outcome->up_to_date) {
      fmt::print(
          "profiles of label {} up to date: collected from the same inputs (--force runs "
          "the workload again)\n",
          pipeline::collect_label(*options));
    }
    for (const auto& profile : outcome->kept) {
      fmt::print("kept  {} run {}  {:.1f} s  {}{}\n", profile.machine, profile.run, profile.seconds,
                 profile.path.string(),
                 profile.modules.empty()
                     ? ""
                     : fmt::format("  and {} module profile(s)", profile.modules.size()));
    }
  }
  for (const auto& warning : outcome->warnings) spdlog::warn("{}", warning);
  if (!outcome->unprofiled_modules.empty()) {
    spdlog::info("{} module(s) without counts (never loaded, or not run): {}",
                 outcome->unprofiled_modules.size(), name_list(outcome->unprofiled_modules, 10));
  }
  for (const auto& run : outcome->failed) {
    spdlog::warn("{} run {} not kept: {}", run.machine, run.run, run.problem);
  }
  if (!outcome->failed.empty()) {
    return fail(
        "{} of {} runs failed and were not kept{}", outcome->failed.size(),
        outcome->failed.size() + outcome->kept.size(),
        outcome->kept.empty() ? "" : fmt::format("; the other {} were", outcome->kept.size()));
  }
  return 0;
}

}  // namespace

Subcommand add_collect_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<CollectCommandArgs>();
  CLI::App* app = parent.add_subcommand(
      "collect", "Run a workload on the instrumented kernel and take its profiles out");
  app->add_option("--workdir", args->workdir, "The workdir kpgo instrument built in")
      ->capture_default_str();
  add_collect_options(*app, args->collect);
  app->add_flag("--force", args->force,
                "Run the workload even when the label's profiles came from the same inputs (the "
                "kernel's build ID, workload, runs, targets, label, weight)");
  return {app, [args, &globals] { return run_collect(*args, globals); }};
}

}  // namespace kpgo::cli
