// SPDX-License-Identifier: MIT
#include <memory>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/pipeline/collect.hpp"

namespace kpgo::cli {

namespace {

struct CollectArgs {
  std::string workdir = "kpgo-work";
  bool qemu = false;
  std::vector<std::string> ssh;
  bool local = false;
  std::vector<std::string> ssh_options;
  std::string workload = "default";
  std::vector<std::string> files;
  unsigned runs = 3;
  std::string label;
  uint64_t weight = 1;
  unsigned timeout = 900;
  targets::QemuOptions guest;
  std::string profile_path = targets::ProfileFiles{}.profile;
  std::string reset_path = targets::ProfileFiles{}.reset;
};

Result<int> run_collect(const CollectArgs& args, const GlobalOptions& globals) {
  int chosen = (args.qemu ? 1 : 0) + (args.ssh.empty() ? 0 : 1) + (args.local ? 1 : 0);
  if (chosen > 1) return fail("choose one of --qemu, --ssh and --local");
  if (args.runs == 0) return fail("--runs 0: nothing to collect");
  if (args.weight == 0) return fail("--weight 0: a profile must weigh at least 1");
  std::vector<std::filesystem::path> files(args.files.begin(), args.files.end());
  KPGO_TRY_BIND(workload, targets::find_workload(args.workload, files));

  pipeline::CollectOptions options;
  options.kind = !args.ssh.empty() ? targets::TargetKind::ssh
                 : args.local      ? targets::TargetKind::local
                                   : targets::TargetKind::qemu;
  options.ssh_hosts = args.ssh;
  options.ssh_options = args.ssh_options;
  options.workload = *workload;
  options.runs = args.runs;
  options.label = args.label;
  options.weight = args.weight;
  options.timeout_seconds = args.timeout;
  options.qemu = args.guest;
  options.files = {args.profile_path, args.reset_path};

  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  KPGO_TRY_BIND(outcome, pipeline::collect_profiles(options, system_runner(), *manifest));

  if (globals.json) {
    print_json(collect_json(*outcome));
  } else if (!globals.quiet) {
    for (const auto& profile : outcome->kept) {
      fmt::print("kept  {} run {}  {:.1f} s  {}\n", profile.machine, profile.run, profile.seconds,
                 profile.path.string());
    }
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
  auto args = std::make_shared<CollectArgs>();
  CLI::App* app = parent.add_subcommand(
      "collect", "Run a workload on the instrumented kernel and take its profiles out");
  app->add_option("--workdir", args->workdir, "The workdir kpgo instrument built in")
      ->capture_default_str();
  auto* qemu =
      app->add_flag("--qemu", args->qemu, "Boot the instrumented kernel in QEMU (the default)");
  auto* ssh = app->add_option(
                     "--ssh", args->ssh,
                     "[USER@]HOST[:PORT] running the instrumented kernel (repeatable; in parallel)")
                  ->allow_extra_args(false);
  auto* local = app->add_flag("--local", args->local, "This machine runs the instrumented kernel");
  qemu->excludes(ssh)->excludes(local);
  ssh->excludes(local);
  app->add_option("--ssh-option", args->ssh_options,
                  "An extra ssh argument, e.g. -i=KEY (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--workload", args->workload,
                  "A shell script, or the name of one in configs/workloads")
      ->capture_default_str();
  app->add_option("--file", args->files,
                  "A file the workload needs, put beside it (QEMU; repeatable)")
      ->allow_extra_args(false);
  app->add_option("--runs", args->runs, "Runs, each after a counter reset")->capture_default_str();
  app->add_option("--label", args->label, "Name of this set of profiles (default: the workload's)");
  app->add_option("--weight", args->weight, "Weight of these profiles in the merge")
      ->capture_default_str();
  app->add_option("--timeout", args->timeout, "Seconds for all runs on one machine")
      ->capture_default_str();
  add_qemu_options(*app, args->guest, "QEMU guest");
  app->add_option("--profile-path", args->profile_path, "Profile file on the machine (ssh, local)")
      ->capture_default_str();
  app->add_option("--reset-path", args->reset_path, "Reset file on the machine (ssh, local)")
      ->capture_default_str();
  return {app, [args, &globals] { return run_collect(*args, globals); }};
}

}  // namespace kpgo::cli
