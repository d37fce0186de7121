// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/kernel/lto.hpp"
#include "kpgo/kernel/modules.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::pipeline {

struct InstrumentOptions {
  std::filesystem::path source;  // a kernel tree, or a tarball of one
  std::filesystem::path workdir = "kpgo-work";
  std::string llvm;  // LLVM= value
  std::string arch = "x86_64";
  std::optional<std::filesystem::path> config;  // a full .config; default: tinyconfig + QEMU
  std::vector<std::filesystem::path> fragments;
  std::optional<std::filesystem::path> localmod;  // an lsmod listing for localmodconfig
  unsigned jobs = 0;
  bool atomic_counters = false;
  std::optional<kernel::Lto> lto;  // unset: as the configuration has it
  bool dry_run = false;
  bool force = false;  // build even when the workdir's kernel is up to date
  std::vector<std::string> make_args;
};

struct InstrumentOutcome {
  std::vector<Command> commands;  // what ran (or, with dry_run, what would)
  std::filesystem::path build_dir;
  std::filesystem::path vmlinux;
  std::filesystem::path bzimage;
  std::string build_id;
  std::vector<kernel::BuiltModule> modules;  // with CONFIG_MODULES: what modules.order lists
  std::filesystem::path modules_dir;         // their modules_install, for guests
  std::string support;                       // "kpgo" (added or already there) or "native"
  std::string lto = "none";                  // as the final .config chose
  bool support_added = false;
  bool up_to_date = false;  // nothing ran: the recorded kernel was built from the same inputs
};

// What decides the instrumented kernel: a run whose key equals the recorded one skips the phase.
std::string instrument_inputs_key(const InstrumentOptions& options);

// Whether the workdir's instrumented kernel was built from these inputs and is still there.
// The functions an instrumented binary (a module's .ko) has records for in __llvm_prf_data.
Result<uint64_t> instrumented_function_count(const std::filesystem::path& binary,
                                             uint64_t raw_version);

bool instrument_up_to_date(const InstrumentOptions& options, const State& state);

// Builds an instrumented kernel in WORKDIR/build-instrumented: toolchain checks, kernel support,
// configuration (fragments merged, then verified in the final .config), build, manifest. When
// the recorded kernel is up to date (and neither force nor dry_run is set), nothing runs and the
// outcome is the recorded one.
Result<InstrumentOutcome> instrument_kernel(const InstrumentOptions& options, ProcessRunner& runner,
                                            Manifest& manifest);

}  // namespace kpgo::pipeline
