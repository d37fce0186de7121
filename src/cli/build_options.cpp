// SPDX-License-Identifier: MIT
#include "cli/build_options.hpp"

#include "kpgo/toolchain/llvm.hpp"

namespace kpgo::cli {

void add_qemu_options(CLI::App& app, targets::QemuOptions& qemu, const std::string& guest,
                      QemuFlags flags) {
  app.add_option("--memory", qemu.memory_mb, "Memory of the " + guest + " in MiB")
      ->capture_default_str();
  if (flags.cpus)
    app.add_option("--cpus", qemu.cpus, "CPUs of the " + guest)->capture_default_str();
  app.add_option("--qemu-cpu", qemu.cpu,
                 "QEMU's -cpu model for the " + guest +
                     " (default: max on arm64, QEMU's own on x86_64; e.g. cortex-a57: arm64 "
                     "without LSE atomics)");
  if (flags.userland) {
    app.add_option("--packages", qemu.packages,
                   "Debian packages for the " + guest +
                       "'s Debian userland (a,b,c or repeated). Workloads name theirs on a "
                       "'# kpgo-packages:' line and run in that userland (a Debian 12 root "
                       "built once with mmdebstrap from this machine's apt sources); the others "
                       "run on busybox")
        ->delimiter(',');
  }
  if (flags.accel) {
    app.add_option("--accel", qemu.accel,
                   "QEMU accelerator for the " + guest + ": tcg, or kvm where guests work")
        ->capture_default_str();
  }
}

void add_kernel_build_options(CLI::App& app, KernelBuildArgs& args) {
  if (args.llvm.empty()) args.llvm = toolchain::default_llvm_value();
  app.add_option("--workdir", args.workdir, "Where builds, profiles and kpgo.json go")
      ->capture_default_str();
  app.add_option("--llvm", args.llvm, "kbuild's LLVM=: 1, -N or /path/to/bin/")
      ->capture_default_str();
  app.add_option("--arch", args.arch, "kbuild's ARCH=")->capture_default_str();
  app.add_option("--config", args.config,
                 "A .config to start from (e.g. /boot/config-$(uname -r)), a kbuild target "
                 "making one (e.g. defconfig), or debian / debian-cloud: Debian's own amd64 "
                 "config for the tree's kernel line (linux-config-LINE) "
                 "(default: tinyconfig plus configs/qemu-x86_64.config)");
  app.add_option("--localmod", args.localmod,
                 "An lsmod listing: keep only its modules (kbuild's localmodconfig), e.g. "
                 "configs/lsmod/qemu-guest.lsmod")
      ->check(CLI::ExistingFile);
  app.add_option("--fragment", args.fragments, "A config fragment merged on top (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--atomic-counters", args.atomic_counters,
               "Exact counts on SMP at the price of locked updates (CONFIG_PGO_CLANG_ATOMIC)");
  add_lto_option(app, args.lto,
                 "the kernels (default: as the configuration has it, none for the small config)");
  app.add_option("-j,--jobs", args.jobs, "make -j (default: the number of CPUs)");
  app.add_option("make_args", args.make_args, "After --: more arguments for make");
}

void add_lto_option(CLI::App& app, std::string& lto, const std::string& what) {
  app.add_option("--lto", lto,
                 "Clang LTO, thin, full or none (CONFIG_LTO_CLANG_THIN/_FULL, verified in the "
                 ".config), for " +
                     what)
      ->check(CLI::IsMember({"thin", "full", "none"}));
}

std::optional<kernel::Lto> lto_option(const std::string& lto) {
  if (lto.empty()) return std::nullopt;
  return kernel::parse_lto(lto).value_or(kernel::Lto::none);  // IsMember checked it
}

pipeline::InstrumentOptions instrument_options(const KernelBuildArgs& args) {
  pipeline::InstrumentOptions options;
  options.source = args.source;
  options.workdir = args.workdir;
  options.llvm = args.llvm;
  options.arch = args.arch;
  if (!args.config.empty()) options.config = args.config;
  options.fragments.assign(args.fragments.begin(), args.fragments.end());
  if (!args.localmod.empty()) options.localmod = args.localmod;
  options.jobs = args.jobs;
  options.atomic_counters = args.atomic_counters;
  options.lto = lto_option(args.lto);
  options.make_args = args.make_args;
  return options;
}

void add_collect_options(CLI::App& app, CollectArgs& args) {
  auto* qemu =
      app.add_flag("--qemu", args.qemu, "Boot the instrumented kernel in QEMU (the default)");
  auto* ssh =
      app.add_option("--ssh", args.ssh,
                     "[USER@]HOST[:PORT] running the instrumented kernel (repeatable; in parallel)")
          ->allow_extra_args(false);
  auto* local = app.add_flag("--local", args.local, "This machine runs the instrumented kernel");
  qemu->excludes(ssh)->excludes(local);
  ssh->excludes(local);
  app.add_option("--ssh-option", args.ssh_options,
                 "An extra ssh argument, e.g. -i=KEY (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--workload", args.workload,
                 "A shell script, or the name of one in configs/workloads")
      ->capture_default_str();
  app.add_option("--file", args.files,
                 "A file the workload needs, put beside it (QEMU; repeatable)")
      ->allow_extra_args(false);
  app.add_option("--runs", args.runs, "Runs, each after a counter reset")->capture_default_str();
  app.add_option("--label", args.label, "Name of this set of profiles (default: the workload's)");
  app.add_option("--weight", args.weight, "Weight of these profiles in the merge")
      ->capture_default_str();
  app.add_option("--timeout", args.timeout, "Seconds for all runs on one machine")
      ->capture_default_str();
  add_qemu_options(app, args.guest, "QEMU guest");
  app.add_option("--profile-path", args.profile_path, "Profile file on the machine (ssh, local)")
      ->capture_default_str();
  app.add_option("--reset-path", args.reset_path, "Reset file on the machine (ssh, local)")
      ->capture_default_str();
}

Result<pipeline::CollectOptions> collect_options(const CollectArgs& args) {
  pipeline::CollectOptions options;
  int chosen = (args.qemu ? 1 : 0) + (args.ssh.empty() ? 0 : 1) + (args.local ? 1 : 0);
  if (chosen > 1) return fail("choose one of --qemu, --ssh and --local");
  if (args.runs == 0) return fail("--runs 0: nothing to collect");
  if (args.weight == 0) return fail("--weight 0: a profile must weigh at least 1");
  std::vector<std::filesystem::path> files(args.files.begin(), args.files.end());
  KPGO_TRY_BIND(workload, targets::find_workload(args.workload, files));

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

  return options;
}

}  // namespace kpgo::cli
