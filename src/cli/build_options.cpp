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
                 "A .config to start from, or a kbuild target making one, e.g. defconfig "
                 "(default: tinyconfig plus configs/qemu-x86_64.config)");
  app.add_option("--fragment", args.fragments, "A config fragment merged on top (repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--atomic-counters", args.atomic_counters,
               "Exact counts on SMP at the price of locked updates (CONFIG_PGO_CLANG_ATOMIC)");
  app.add_option("-j,--jobs", args.jobs, "make -j (default: the number of CPUs)");
  app.add_option("make_args", args.make_args, "After --: more arguments for make");
}

pipeline::InstrumentOptions instrument_options(const KernelBuildArgs& args) {
  pipeline::InstrumentOptions options;
  options.source = args.source;
  options.workdir = args.workdir;
  options.llvm = args.llvm;
  options.arch = args.arch;
  if (!args.config.empty()) options.config = args.config;
  options.fragments.assign(args.fragments.begin(), args.fragments.end());
  options.jobs = args.jobs;
  options.atomic_counters = args.atomic_counters;
  options.make_args = args.make_args;
  return options;
}

}  // namespace kpgo::cli
