// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/shell.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::pipeline {

struct CollectOptions {
  targets::TargetKind kind = targets::TargetKind::qemu;
  std::vector<std::string> ssh_hosts;
  std::vector<std::string> ssh_options;  // extra ssh arguments, e.g. -i KEY or -F CONFIG
  targets::Workload workload;
  unsigned runs = 3;
  std::string label;  // default: the workload's name
  uint64_t weight = 1;
  unsigned timeout_seconds = 900;
  targets::QemuOptions qemu;    // kernel filled in from the manifest
  targets::ProfileFiles files;  // for ssh and local
  bool force = false;           // collect even when the label's profiles are up to date
};

struct KeptProfile {
  std::filesystem::path path;                  // vmlinux's
  std::vector<std::filesystem::path> modules;  // the run's module profiles that were kept
  std::string machine;
  unsigned run = 0;
  uint64_t size = 0;
  std::string sha256;
  double seconds = 0;
};

struct CollectOutcome {
  std::vector<KeptProfile> kept;
  std::vector<targets::RunOutcome> failed;  // problem says why
  // Modules of the build that no kept run has counts for: never loaded, or loaded and not run.
  std::vector<std::string> unprofiled_modules;
  // Module profiles left out (not of this build), and value profiling that fell short.
  std::vector<std::string> warnings;
  bool up_to_date = false;  // nothing ran: the label's profiles came from the same inputs
};

// The label's profiles: its own, or the workload's name.
std::string collect_label(const CollectOptions& options);

// What decides a label's profiles: the kernel's build ID, the workload and its files, runs,
// targets, label, weight and the guest's packages. Recorded on each profile of a collect whose
// runs all succeeded.
std::string collect_inputs_key(const CollectOptions& options, const State& state);

// Whether the label has profiles, all from a collect with these inputs, all intact.
bool collect_up_to_date(const CollectOptions& options, const State& state);

// Runs the workload on the targets, checks every profile against the instrumented build in the
// manifest, keeps the good ones as WORKDIR/profiles/LABEL[-MACHINE]-N.profraw and records them
// (replacing earlier profiles of the same label). Failed runs are listed, not kept. When the
// label is up to date (and force is not set), nothing runs and the outcome lists what is kept.
Result<CollectOutcome> collect_profiles(const CollectOptions& options, ProcessRunner& runner,
                                        Manifest& manifest);

}  // namespace kpgo::pipeline
