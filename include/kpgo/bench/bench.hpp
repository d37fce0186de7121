// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/kernel/elf.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::bench {

// Real hardware over ssh: the user's own command installs a kernel and boots it, kpgo waits for
// the machine to answer with that kernel, then times each workload there by the wall clock.
struct SshBenchOptions {
  std::string host;  // [USER@]HOST[:PORT]
  std::vector<std::string> ssh_options;
  // Run here with sh -c, with KPGO_KERNEL (baseline or pgo), KPGO_BZIMAGE, KPGO_BUILD_DIR,
  // KPGO_RELEASE, KPGO_VERSION and KPGO_SSH_HOST set; it may return before the reboot is over.
  std::string boot_command;
  unsigned boot_timeout_seconds = 600;  // for the machine to answer with the kernel
};

struct BenchOptions {
  std::vector<targets::Workload> workloads;
  unsigned rounds = 3;
  unsigned jobs = 0;
  unsigned timeout_seconds = 1800;     // one boot, all workloads
  targets::QemuOptions qemu;           // kernel is set per boot
  std::optional<SshBenchOptions> ssh;  // set: real hardware instead of QEMU
  std::vector<std::string> make_args;
};

struct WorkloadFigures {
  std::string name;
  bool trained = false;  // the collected profiles came from this workload
  // Per metric (BenchOutcome::metrics' names), one figure per round for each kernel.
  std::map<std::string, pipeline::BenchFigures> figures;
};

struct BenchOutcome {
  std::string machine;                         // "qemu" or the ssh host
  std::string method;                          // how the figures were measured, in a sentence
  std::vector<pipeline::BenchMetric> metrics;  // the headline first
  kernel::TextLayout baseline_layout;
  kernel::TextLayout pgo_layout;
  uint64_t promoted_calls = 0;
  std::vector<WorkloadFigures> workloads;
  std::vector<double> baseline_boot_seconds;  // host wall time of each boot (ssh: until it answers)
  std::vector<double> pgo_boot_seconds;
};

// Builds (incrementally) a baseline kernel from the instrumented build's source and config with
// neither instrumentation nor profile, checks that the PGO build's code layout differs from it,
// then boots baseline and PGO kernels alternately, round after round (in QEMU with -icount, or
// on the user's machine over ssh), and times each workload there. Results go into the manifest
// under "bench".
Result<BenchOutcome> bench(const BenchOptions& options, ProcessRunner& runner,
                           pipeline::Manifest& manifest);

// Median of the values (the lower middle one for an even count); 0 for none.
uint64_t median_of(std::vector<uint64_t> values);
// Median pgo over median baseline; 0 when the baseline's median is 0.
double median_ratio(const pipeline::BenchFigures& figures);

// Parses the line the ssh stopwatch prints, "KPGO-BENCH START_NS END_NS STATUS".
struct WallTiming {
  uint64_t ns = 0;
  int status = -1;
};
Result<WallTiming> parse_wall_timing(const std::string& output);

// The guest init's body that times each of `workloads` (installed at /kpgo/w/NAME.sh).
std::string bench_guest_body(const std::vector<targets::Workload>& workloads);

}  // namespace kpgo::bench
