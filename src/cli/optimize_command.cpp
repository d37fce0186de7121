// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/pipeline/phases.hpp"

namespace kpgo::cli {

namespace {

struct OptimizeArgs {
  std::string workdir = "kpgo-work";
  std::string profile;
  unsigned jobs = 0;
  bool dry_run = false;
  bool no_boot = false;
  bool force = false;
  std::string lto;
  targets::QemuOptions qemu;  // of the smoke boot
  std::vector<std::string> make_args;
};

void print_report(const pipeline::OptimizeOutcome& outcome) {
  const auto& r = outcome.report;
  auto share = [](uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; };
  fmt::print("optimized kernel {}\n  bzImage        {}\n  vmlinux        {}\n  profile        {}\n",
             outcome.up_to_date ? "up to date: built from the same inputs (--force builds again)"
             : outcome.rebuilt  ? "built"
                                : "up to date (make compiled nothing)",
             outcome.bzimage.string(), outcome.vmlinux.string(), outcome.profdata.string());
  if (outcome.rebuilt) {
    fmt::print("  build          {:.0f} s, its largest process at {} (LTO {})\n",
               outcome.build_cost.seconds, kernel::memory_text(outcome.build_cost.peak_memory_kib),
               outcome.lto);
  }
  fmt::print("profile match (clang's own diagnostics)\n");
  fmt::print("  functions      {}\n", r.functions);
  fmt::print("  with data      {} ({:.1f}%)\n", r.matched, share(r.matched, r.functions));
  fmt::print("  stale          {} (code changed since the profile)\n", r.stale);
  fmt::print("  without data   {}\n", r.without_data);
  fmt::print("  hot matched    {} of {} ({:.1f}%)\n", r.hot_matched, r.hot,
             share(r.hot_matched, r.hot));
  if (!r.binaries.empty()) {
    fmt::print("  per binary     functions  with data   stale  without  hot/unlikely functions\n");
    for (const auto& b : r.binaries) {
      fmt::print("  {:<14} {:>9}  {:>9}  {:>6}  {:>7}  {}/{} of {}\n", b.binary, b.functions,
                 b.matched, b.stale, b.without_data, b.layout.hot, b.layout.unlikely,
                 b.layout.functions);
    }
  }
  fmt::print("code layout (vmlinux.o)\n");
  fmt::print("  hot functions      {} of {}\n", outcome.layout.hot, outcome.layout.functions);
  fmt::print("  unlikely functions {}\n", outcome.layout.unlikely);
  fmt::print("  promoted indirect calls {}\n", outcome.promoted_calls);
  fmt::print("  smoke boot     {}\n", outcome.booted ? "ok" : "skipped");
}

Result<int> run_optimize(const OptimizeArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  pipeline::OptimizeOptions options;
  if (!args.profile.empty()) options.profile = args.profile;
  options.jobs = args.jobs;
  options.dry_run = args.dry_run;
  options.smoke_boot = !args.no_boot;
  options.force = args.force;
  options.qemu = args.qemu;
  options.make_args = args.make_args;
  options.lto = lto_option(args.lto);
  auto backends = profile::BackendSet::discover();
  KPGO_TRY_BIND(outcome, pipeline::optimize(options, system_runner(), backends, *manifest));
  if (args.dry_run) {
    for (const auto& command : outcome->commands) fmt::print("{}\n", render_command(command));
    return 0;
  }
  if (globals.json) {
    print_json(optimize_json(*outcome));
  } else if (!globals.quiet) {
    print_report(*outcome);
  }
  return 0;
}

}  // namespace

Subcommand add_optimize_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<OptimizeArgs>();
  CLI::App* app = parent.add_subcommand(
      "optimize",
      "Rebuild the kernel with the profile (-fprofile-use) and report how well it matched");
  app->add_option("--workdir", args->workdir, "The workdir of instrument and collect")
      ->capture_default_str();
  app->add_option("--profile", args->profile,
                  "A profile to use instead of the workdir's (its collected profiles merged; after "
                  "kpgo run --cs, both stages combined), raw or indexed");
  app->add_option("-j,--jobs", args->jobs, "make -j (default: the number of CPUs)");
  add_lto_option(*app, args->lto, "the optimized kernel (default: the instrumented kernel's)");
  app->add_flag("--dry-run", args->dry_run, "Print the make commands instead of running them");
  app->add_flag("--no-boot", args->no_boot, "Skip the QEMU smoke boot of the optimized kernel");
  app->add_flag("--force", args->force,
                "Run make even when the optimized kernel was built from the same inputs (the "
                "profile by content, .config, options)");
  add_qemu_options(*app, args->qemu, "smoke-boot guest", {.cpus = false, .userland = false});
  app->add_option("make_args", args->make_args, "After --: more arguments for make");
  return {app, [args, &globals] { return run_optimize(*args, globals); }};
}

}  // namespace kpgo::cli
