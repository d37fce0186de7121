// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo::targets {

// A workload: a plain shell script, run with the files it needs in its working directory.
struct Workload {
  std::string name;
  std::filesystem::path script;
  std::vector<std::filesystem::path> files;
};

struct CollectRequest {
  Workload workload;
  unsigned runs = 1;
  unsigned timeout_seconds = 600;  // for all runs on one machine
  std::filesystem::path scratch;   // where a target may put raw profiles and logs
};

// One run of the workload: the profile read after it, or why there is none.
struct RunOutcome {
  std::string machine;            // "qemu", the ssh host, "local"
  unsigned run = 0;               // 1-based
  std::filesystem::path profile;  // in the scratch directory; empty when the run failed
  // Each loaded (or since unloaded) module's profile, named MODULE.profraw as the kernel names it.
  std::vector<std::filesystem::path> module_profiles;
  std::string problem;      // why there is no profile
  std::string value_stats;  // /sys/kernel/debug/pgo/values after the run, when the kernel has it
  double seconds = 0;       // the workload's own time
  std::string kernel_release;
};

// Where profiles come from: a QEMU guest kpgo boots, machines over ssh, or this machine. Each run
// resets the counters, runs the workload and reads the profile out. The outcome of a failed run
// says why; an Error means the target could not be used at all.
class Target {
 public:
  virtual ~Target() = default;
  virtual std::string describe() const = 0;
  virtual Result<std::vector<RunOutcome>> collect(const CollectRequest& request) = 0;
};

enum class TargetKind { qemu, ssh, local };

// The workload kpgo ships under configs/workloads/NAME.sh, or a script path.
Result<Workload> find_workload(const std::string& name_or_path,
                               const std::vector<std::filesystem::path>& files);

// The workloads bench measures by default on a guest of `arch`: the training default, an
// untrained busybox one, and the real benchmarks that run in the Debian userland (x86_64 only,
// where that userland is built; userland.hpp).
std::vector<std::string> evaluation_suite(const std::string& arch);

}  // namespace kpgo::targets
