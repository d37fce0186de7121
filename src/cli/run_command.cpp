// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/pipeline/run.hpp"

namespace kpgo::cli {

namespace {

constexpr const char* kDefaultSource = "/usr/src/linux-source-6.12.tar.xz";

struct RunArgs : KernelBuildArgs {
  CollectArgs collect;  // its QEMU guest's memory and accelerator are the smoke boot's too
  bool no_boot = false;
  bool dry_run = false;
  bool cs = false;
};

// The phases that would run, and the exact commands of those that know them in advance.
int print_plan(const std::vector<pipeline::PlannedPhase>& plan, const GlobalOptions& globals) {
  if (globals.json) {
    print_json(plan_json(plan));
    return 0;
  }
  for (const auto& phase : plan) {
    if (!phase.runs) {
      fmt::print("# {}: up to date\n", phase.name);
      continue;
    }
    fmt::print("# {}: runs{}{}\n", phase.name, phase.what.empty() ? "" : ": ", phase.what);
    for (const auto& command : phase.commands) fmt::print("{}\n", render_command(command));
  }
  return 0;
}

Result<int> run_run(const RunArgs& args, const GlobalOptions& globals) {
  pipeline::PipelineOptions options;
  options.instrument = instrument_options(args);

  KPGO_TRY_BIND(collect, collect_options(args.collect));
  options.collect = *collect;

  auto& optimize = options.optimize;
  optimize.jobs = args.jobs;
  optimize.smoke_boot = !args.no_boot;
  optimize.qemu.memory_mb = args.collect.guest.memory_mb;
  optimize.qemu.accel = args.collect.guest.accel;
  optimize.make_args = args.make_args;
  optimize.lto = lto_option(args.lto);
  options.cs = args.cs;

  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  auto backends = profile::BackendSet::discover();
  if (args.dry_run) {
    KPGO_TRY_BIND(plan, pipeline::plan_pipeline(options, system_runner(), backends, *manifest));
    return print_plan(*plan, globals);
  }
  KPGO_TRY_BIND(outcome, pipeline::run_pipeline(options, system_runner(), backends, *manifest));

  const auto& report = outcome->optimized.report;
  if (globals.json) {
    print_json(run_json(*outcome));
    return 0;
  }
  if (globals.quiet) return 0;
  for (const auto& phase : outcome->phases) {
    fmt::print("{:<13} {}\n", phase.name, phase.ran ? "done" : "up to date");
  }
  auto share = [](uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; };
  fmt::print("\nthe PGO-optimized kernel: {}\n", outcome->optimized.bzimage.string());
  fmt::print("  vmlinux {}\n", outcome->optimized.vmlinux.string());
  // Counted per file: vmlinux's and each module's profile of every run.
  fmt::print("  profile {} ({} profiles merged)\n", outcome->optimized.profdata.string(),
             outcome->profiles);
  fmt::print(
      "  matched {} of {} functions ({:.1f}%), {} of {} hot ones ({:.1f}%); {} stale, {} "
      "without data; smoke boot {}\n",
      report.matched, report.functions, share(report.matched, report.functions), report.hot_matched,
      report.hot, share(report.hot_matched, report.hot), report.stale, report.without_data,
      outcome->optimized.booted ? "ok" : "skipped");
  return 0;
}

}  // namespace

Subcommand add_run_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<RunArgs>();
  args->source = kDefaultSource;
  CLI::App* app = parent.add_subcommand(
      "run",
      "The whole pipeline: instrument, collect, merge, optimize; again resumes where it stopped");
  app->add_option("--source", args->source, "Kernel tree or tarball")->capture_default_str();
  add_kernel_build_options(*app, *args);
  add_collect_options(*app, args->collect);
  app->add_flag("--cs", args->cs,
                "Context-sensitive PGO: after the profile (stage 1), a second instrumented kernel "
                "built with it and instrumented after inlining (stage 2, in WORKDIR/cs) runs the "
                "same workload; both stages' profiles, merged, optimize the kernel");
  app->add_flag("--no-boot", args->no_boot, "Skip the smoke boot of the optimized kernel");
  app->add_flag("--dry-run", args->dry_run,
                "Say which phases would run and print their commands; change nothing");
  return {app, [args, &globals] { return run_run(*args, globals); }};
}

}  // namespace kpgo::cli
