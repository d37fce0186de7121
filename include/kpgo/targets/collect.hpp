// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/shell.hpp"
#include "kpgo/targets/target.hpp"
#include "kpgo/workdir/manifest.hpp"

namespace kpgo::targets {

enum class TargetKind { qemu, ssh, local };

struct CollectOptions {
  TargetKind kind = TargetKind::qemu;
  std::vector<std::string> ssh_hosts;
  std::vector<std::string> ssh_options;  // extra ssh arguments, e.g. -i KEY or -F CONFIG
  Workload workload;
  unsigned runs = 3;
  std::string label;                     // default: the workload's name
  uint64_t weight = 1;
  unsigned timeout_seconds = 900;
  QemuOptions qemu;                      // kernel filled in from the manifest
  ProfileFiles files;                    // for ssh and local
};

struct KeptProfile {
  std::filesystem::path path;
  std::string machine;
  unsigned run = 0;
  uint64_t size = 0;
  std::string sha256;
  double seconds = 0;
};

struct CollectOutcome {
  std::vector<KeptProfile> kept;
  std::vector<RunOutcome> failed;  // problem says why
};

// The workload kpgo ships under configs/workloads/NAME.sh, or a script path.
Result<Workload> find_workload(const std::string& name_or_path,
                               const std::vector<std::filesystem::path>& files);

// Runs the workload on the targets, checks every profile against the instrumented build in the
// manifest, keeps the good ones as WORKDIR/profiles/LABEL[-MACHINE]-N.profraw and records them
// (replacing earlier profiles of the same label). Failed runs are listed, not kept.
Result<CollectOutcome> collect_profiles(const CollectOptions& options, ProcessRunner& runner,
                                        workdir::Manifest& manifest);

}  // namespace kpgo::targets
