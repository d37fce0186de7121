// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <memory>

#include <spdlog/spdlog.h>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/bench/bench.hpp"
#include "kpgo/bench/html_report.hpp"
#include "kpgo/kernel/build.hpp"
#include "kpgo/pipeline/collect.hpp"
#include "kpgo/system/atomic_file.hpp"

namespace kpgo::cli {

namespace {

struct BenchArgs {
  std::string workdir = "kpgo-work";
  std::vector<std::string> workloads;  // empty: the evaluation suite of the workdir's arch
  unsigned rounds = 3;
  unsigned jobs = 0;
  targets::QemuOptions guest;  // kernel is set per boot
  unsigned timeout = 1800;
  bool qemu = false;
  std::string ssh;
  std::vector<std::string> ssh_options;
  std::string boot_command;
  unsigned boot_timeout = 600;
  std::vector<std::string> make_args;
  std::vector<std::string> variants;
  std::vector<std::string> trained;
  std::string html;
  bool show = false;
};

std::string comparison_name(const pipeline::BenchComparison& comparison) {
  return comparison.variant + "/" + comparison.against;
}

// One column per variant: how each was built, and where its code went.
void print_variants(const pipeline::BenchState& outcome) {
  auto row = [&](const char* label, auto value) {
    fmt::print("  {:<24}", label);
    for (const auto& v : outcome.variants) fmt::print(" {:>14}", value(v));
    fmt::print("\n");
  };
  fmt::print("{:<26}", "kernels");
  for (const auto& v : outcome.variants) fmt::print(" {:>14}", v.name);
  fmt::print("\n");
  row("LTO", [](const auto& v) { return v.lto; });
  row("profile", [](const auto& v) { return v.profile; });
  row("functions (vmlinux.o)", [](const auto& v) { return v.layout.functions; });
  row("in .text.hot", [](const auto& v) { return v.layout.hot; });
  row("in .text.unlikely", [](const auto& v) { return v.layout.unlikely; });
  row("promoted indirect calls", [](const auto& v) { return v.promoted_indirect_calls; });
  // From the last make that compiled it (a resumed build counts only its last part).
  row("build time", [](const auto& v) {
    return v.build_cost.seconds ? fmt::format("{:.0f} s", v.build_cost.seconds) : "-";
  });
  row("build peak memory", [](const auto& v) {
    return v.build_cost.peak_memory_kib ? kernel::memory_text(v.build_cost.peak_memory_kib) : "-";
  });
  fmt::print("\n");
}

// Per metric: each variant's median per workload, then the ratios of the comparisons.
void print_metric(const pipeline::BenchState& outcome, const pipeline::BenchMetric& metric) {
  fmt::print("{}: {} ({}, median of {} rounds)\n", metric.name, metric.what, metric.unit,
             outcome.rounds);
  fmt::print("  {:<12} {:>8}", "workload", "trained");
  for (const auto& v : outcome.variants) fmt::print(" {:>14}", v.name);
  fmt::print("\n");
  for (const auto& w : outcome.workloads) {
    auto found = w.figures.find(metric.name);
    if (found == w.figures.end()) continue;
    fmt::print("  {:<12} {:>8}", w.name, w.trained ? "yes" : "no");
    for (const auto& v : outcome.variants) {
      auto figures = found->second.find(v.name);
      fmt::print(" {:>14}", figures == found->second.end() ? 0 : bench::median_of(figures->second));
    }
    fmt::print("\n");
  }
  fmt::print("  {:<21}", "ratio (below 1: less)");
  for (const auto& c : outcome.comparisons)
    fmt::print(" {:>{}}", comparison_name(c), std::max<size_t>(8, comparison_name(c).size()));
  fmt::print("\n");
  for (const auto& w : outcome.workloads) {
    auto found = w.figures.find(metric.name);
    if (found == w.figures.end()) continue;
    fmt::print("  {:<21}", w.name);
    for (const auto& c : outcome.comparisons) {
      fmt::print(" {:>{}.3f}", bench::median_ratio(found->second, c.variant, c.against),
                 std::max<size_t>(8, comparison_name(c).size()));
    }
    fmt::print("\n");
  }
  fmt::print("\n");
}

void print_table(const pipeline::BenchState& outcome) {
  print_variants(outcome);
  for (const auto& metric : outcome.metrics) print_metric(outcome, metric);
  auto median_seconds = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[(v.size() - 1) / 2];
  };
  fmt::print("{}", outcome.machine == "qemu"
                       ? "host wall time of a boot, median (noisier: TCG, host load)\n "
                       : "time from the boot command until the kernel answered, median\n ");
  for (const auto& v : outcome.variants)
    fmt::print(" {} {:.1f} s", v.name, median_seconds(v.boot_seconds));
  fmt::print("\n");
}

// The tables, --json and --html of a bench, measured now or recorded.
Result<int> report(const pipeline::BenchState& outcome, const BenchArgs& args,
                   const GlobalOptions& globals) {
  if (!args.html.empty()) {
    KPGO_TRY(write_file_atomically(args.html, bench::html_report(outcome))
                 .map_error(context("--html " + args.html)));
    spdlog::info("the report: {}", args.html);
  }
  if (globals.json) {
    print_json(bench_json(outcome));
  } else if (!globals.quiet) {
    print_table(outcome);
  }
  return 0;
}

// --show: the workdir's last bench, measuring nothing.
Result<int> show_recorded(const BenchArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  const auto& recorded = manifest->state().bench;
  if (!recorded || recorded->finished.empty())
    return fail("{} records no finished bench: run kpgo bench first", manifest->path().string());
  return report(*recorded, args, globals);
}

Result<int> run_bench(const BenchArgs& args, const GlobalOptions& globals) {
  if (args.show) return show_recorded(args, globals);
  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  bench::BenchOptions options;
  auto names = args.workloads;
  // Over ssh the machine's own tools run the workloads: the busybox-level ones by default.
  if (names.empty() && !args.ssh.empty()) names = {"default", "archive"};
  if (names.empty() && manifest->state().instrument)
    names = targets::evaluation_suite(manifest->state().instrument->arch);
  for (const auto& name : names) {
    KPGO_TRY_BIND(workload, targets::find_workload(name, {}));
    options.workloads.push_back(*workload);
  }
  options.rounds = args.rounds;
  options.jobs = args.jobs;
  options.timeout_seconds = args.timeout;
  options.qemu = args.guest;
  options.make_args = args.make_args;
  options.variants = args.variants;
  options.trained = args.trained;
  if (!args.ssh.empty()) {
    options.ssh =
        bench::SshBenchOptions{args.ssh, args.ssh_options, args.boot_command, args.boot_timeout};
  } else if (!args.boot_command.empty()) {
    return fail("--boot-command is for --ssh; QEMU boots its kernels itself");
  }
  KPGO_TRY_BIND(outcome, bench::bench(options, system_runner(), *manifest));
  return report(*outcome, args, globals);
}

}  // namespace

Subcommand add_bench_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand(
      "bench",
      "Measure the PGO kernel against a baseline built without profile, or any set of variants "
      "(LTO, CSPGO), in QEMU or over ssh");
  app->add_option("--workdir", args->workdir, "The workdir of kpgo run")->capture_default_str();
  app->add_option("--workload", args->workloads,
                  "A shell script, or the name of one in configs/workloads (repeatable; default: "
                  "the suite: default, on which the default profile trains, and archive, sched, "
                  "net, io, exec and mm, which it does not, the last five in a Debian userland of "
                  "the guest's arch; arm64 guests and --ssh default to default and archive, and "
                  "run the others when named)");
  app->add_option("--rounds", args->rounds, "Boots of each kernel, in turn")->capture_default_str();
  app->add_option("--variants", args->variants,
                  "Kernels to compare, the first the reference (a,b,c or repeated): baseline, "
                  "lto, full-lto (no profile); pgo (the profile), cspgo (both stages of kpgo run "
                  "--cs), each alone or +lto or +full-lto; each built once, incrementally, from "
                  "the instrumented build's source and .config (default: the optimized kernel "
                  "and the same build without profile)")
      ->delimiter(',');
  app->add_option("--trained", args->trained,
                  "Workloads the profile was collected on, by name (a,b,c or repeated), for a "
                  "profile merged elsewhere (a CI pipeline's merge job); those the workdir's own "
                  "collect ran are known already. Tables mark them as trained")
      ->delimiter(',');
  app->add_option("--html", args->html,
                  "Also write the results as a one-page HTML report to FILE: per metric a bar "
                  "chart of every kernel against the reference per workload, trained ones marked");
  auto* show = app->add_flag("--show", args->show,
                             "Measure nothing: print the workdir's last bench (tables, --json, "
                             "--html) as it was recorded");
  auto* qemu =
      app->add_flag("--qemu", args->qemu, "Boot both kernels in QEMU with -icount (the default)");
  auto* ssh =
      app->add_option("--ssh", args->ssh,
                      "[USER@]HOST[:PORT]: time the workloads by wall clock on this machine, "
                      "booting each kernel there with --boot-command");
  qemu->excludes(ssh);
  app->add_option("--ssh-option", args->ssh_options,
                  "An extra ssh argument, e.g. -i=KEY (repeatable)")
      ->allow_extra_args(false);
  app->add_option(
      "--boot-command", args->boot_command,
      "Shell command run here to install and boot a kernel on the --ssh machine; it gets "
      "KPGO_KERNEL (the variant's name, e.g. baseline or pgo), KPGO_BZIMAGE, KPGO_BUILD_DIR, "
      "KPGO_RELEASE, "
      "KPGO_VERSION and KPGO_SSH_HOST, and may return before the reboot ends");
  app->add_option("--boot-timeout", args->boot_timeout,
                  "Seconds for the boot command and for the machine to answer with the kernel")
      ->capture_default_str();
  app->add_option("-j,--jobs", args->jobs,
                  "make -j for the kernels bench builds (default: the number of CPUs)");
  add_qemu_options(*app, args->guest, "QEMU guest", {.cpus = false, .accel = false});
  app->add_option("--timeout", args->timeout, "Seconds for one boot and its workloads")
      ->capture_default_str();
  app->add_option("make_args", args->make_args,
                  "After --: more arguments for make (the kernels bench builds)");
  // What would choose or build kernels, or boot them, has no place beside --show.
  for (const char* measuring :
       {"--workload", "--variants", "--trained", "--qemu", "--ssh", "--packages", "make_args"})
    show->excludes(app->get_option(measuring));
  return {app, [args, &globals] { return run_bench(*args, globals); }};
}

}  // namespace kpgo::cli
