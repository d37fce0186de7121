// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <memory>

#include <spdlog/spdlog.h>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/bench/bench.hpp"
#include "kpgo/pipeline/collect.hpp"

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
};

void print_table(const bench::BenchOutcome& outcome, unsigned rounds) {
  const auto& b = outcome.baseline_layout;
  const auto& p = outcome.pgo_layout;
  fmt::print("code layout (vmlinux.o)     baseline        pgo\n");
  fmt::print("  functions               {:>10} {:>10}\n", b.functions, p.functions);
  fmt::print("  in .text.hot            {:>10} {:>10}\n", b.hot, p.hot);
  fmt::print("  in .text.unlikely       {:>10} {:>10}\n", b.unlikely, p.unlikely);
  fmt::print("  promoted indirect calls {:>10} {:>10}\n\n", 0, outcome.promoted_calls);
  for (const auto& metric : outcome.metrics) {
    fmt::print("{}: {} ({}, median of {} rounds)\n", metric.name, metric.what, metric.unit, rounds);
    fmt::print("  {:<12} {:>8} {:>16} {:>16} {:>8}\n", "workload", "trained", "baseline", "pgo",
               "pgo/base");
    for (const auto& w : outcome.workloads) {
      auto found = w.figures.find(metric.name);
      if (found == w.figures.end()) continue;
      const auto& f = found->second;
      fmt::print("  {:<12} {:>8} {:>16} {:>16} {:>8.3f}\n", w.name, w.trained ? "yes" : "no",
                 bench::median_of(f.baseline), bench::median_of(f.pgo), bench::median_ratio(f));
    }
    fmt::print("\n");
  }
  auto median_seconds = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[(v.size() - 1) / 2];
  };
  fmt::print("{}", outcome.machine == "qemu"
                       ? "host wall time of a boot (noisier: TCG, host load)\n"
                       : "time from the boot command until the kernel answered\n");
  fmt::print("  baseline {:.1f} s, pgo {:.1f} s (medians)\n",
             median_seconds(outcome.baseline_boot_seconds),
             median_seconds(outcome.pgo_boot_seconds));
}

Result<int> run_bench(const BenchArgs& args, const GlobalOptions& globals) {
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
  if (!args.ssh.empty()) {
    options.ssh =
        bench::SshBenchOptions{args.ssh, args.ssh_options, args.boot_command, args.boot_timeout};
  } else if (!args.boot_command.empty()) {
    return fail("--boot-command is for --ssh; QEMU boots its kernels itself");
  }
  KPGO_TRY_BIND(outcome, bench::bench(options, system_runner(), *manifest));
  if (globals.json) {
    print_json(bench_json(*outcome));
  } else if (!globals.quiet) {
    print_table(*outcome, args.rounds);
  }
  return 0;
}

}  // namespace

Subcommand add_bench_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand(
      "bench",
      "Measure the PGO kernel against a baseline built without profile, in QEMU or over ssh");
  app->add_option("--workdir", args->workdir, "The workdir of kpgo run")->capture_default_str();
  app->add_option("--workload", args->workloads,
                  "A shell script, or the name of one in configs/workloads (repeatable; default: "
                  "the suite: default, on which the default profile trains, and archive, sched, "
                  "net, io, exec and mm, which it does not; x86_64 guests run the last five in a "
                  "Debian userland; arm64 guests and --ssh have default and archive)");
  app->add_option("--rounds", args->rounds, "Boots of each kernel, alternating")
      ->capture_default_str();
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
      "KPGO_KERNEL (baseline|pgo), KPGO_BZIMAGE, KPGO_BUILD_DIR, KPGO_RELEASE, "
      "KPGO_VERSION and KPGO_SSH_HOST, and may return before the reboot ends");
  app->add_option("--boot-timeout", args->boot_timeout,
                  "Seconds for the boot command and for the machine to answer with the kernel")
      ->capture_default_str();
  app->add_option("-j,--jobs", args->jobs,
                  "make -j for the baseline (default: the number of CPUs)");
  add_qemu_options(*app, args->guest, "QEMU guest", {.cpus = false, .accel = false});
  app->add_option("--timeout", args->timeout, "Seconds for one boot and its workloads")
      ->capture_default_str();
  app->add_option("make_args", args->make_args, "After --: more arguments for make (the baseline)");
  return {app, [args, &globals] { return run_bench(*args, globals); }};
}

}  // namespace kpgo::cli
