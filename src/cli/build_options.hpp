// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kpgo/pipeline/instrument.hpp"

namespace kpgo::cli {

// The options that say how the instrumented kernel is built, shared by instrument and run.
struct KernelBuildArgs {
  std::string source;
  std::string workdir = "kpgo-work";
  std::string llvm;
  std::string arch = "x86_64";
  std::string config;
  std::vector<std::string> fragments;
  bool atomic_counters = false;
  unsigned jobs = 0;
  std::vector<std::string> make_args;
};

void add_kernel_build_options(CLI::App& app, KernelBuildArgs& args);
pipeline::InstrumentOptions instrument_options(const KernelBuildArgs& args, bool progress);

}  // namespace kpgo::cli
