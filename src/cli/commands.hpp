// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "kpgo/system/error.hpp"

namespace kpgo::cli {

struct GlobalOptions {
  int verbose = 0;
  bool quiet = false;
  bool json = false;
  // Set by a command that printed its --json document, so that a failure after it does not
  // print a second one.
  mutable bool json_written = false;
};

// A subcommand: its CLI11 node and what to run once the command line parsed. The action's
// Result carries the exit status; an Error is printed once, by main.
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<Result<int>()> run;
};

Subcommand add_merge_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_doctor_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_instrument_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_collect_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_optimize_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_run_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_bench_command(CLI::App& parent, const GlobalOptions& globals);
Subcommand add_artifacts_command(CLI::App& parent, const GlobalOptions& globals);

// Printed by --version: kpgo's version and the LLVM majors it can merge for.
std::string version_text();

}  // namespace kpgo::cli
