// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kpgo/pipeline/collect.hpp"
#include "kpgo/pipeline/instrument.hpp"
#include "kpgo/targets/qemu.hpp"

namespace kpgo::cli {

// The options that say how the instrumented kernel is built, shared by instrument and run.
struct KernelBuildArgs {
  std::string source;
  std::string workdir = "kpgo-work";
  std::string llvm;
  std::string arch = "x86_64";
  std::string config;
  std::vector<std::string> fragments;
  std::string localmod;
  bool atomic_counters = false;
  std::string lto;  // empty: as the configuration has it
  unsigned jobs = 0;
  std::vector<std::string> make_args;
};

void add_kernel_build_options(CLI::App& app, KernelBuildArgs& args);
// --lto thin|full|none for `what` (checked by CLI11), and its value.
void add_lto_option(CLI::App& app, std::string& lto, const std::string& what);
std::optional<kernel::Lto> lto_option(const std::string& lto);
pipeline::InstrumentOptions instrument_options(const KernelBuildArgs& args);

// --memory, --cpus and --accel, bound straight to the guest options they set, so their defaults
// are QemuOptions' own and stated once. `guest` names the guest in the help text.
struct QemuFlags {
  bool cpus = true;
  bool accel = true;
  bool userland = true;  // --packages: guests that run workloads
};
void add_qemu_options(CLI::App& app, targets::QemuOptions& qemu, const std::string& guest,
                      QemuFlags flags = {});

// How and where profiles are collected: the machines, the workload, the runs. Shared by collect
// and run; the defaults are CollectOptions' own.
struct CollectArgs {
  bool qemu = false;
  std::vector<std::string> ssh;
  bool local = false;
  std::vector<std::string> ssh_options;
  std::string workload = "default";
  std::vector<std::string> files;
  unsigned runs = pipeline::CollectOptions{}.runs;
  std::string label;
  uint64_t weight = pipeline::CollectOptions{}.weight;
  unsigned timeout = pipeline::CollectOptions{}.timeout_seconds;
  targets::QemuOptions guest;
  std::string profile_path = targets::ProfileFiles{}.profile;
  std::string reset_path = targets::ProfileFiles{}.reset;
};

void add_collect_options(CLI::App& app, CollectArgs& args);
// The options, checked: one kind of machine, a workload that exists, runs and weight above 0.
Result<pipeline::CollectOptions> collect_options(const CollectArgs& args);

}  // namespace kpgo::cli
