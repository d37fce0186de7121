// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/kernel/elf.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/target.hpp"
#include "kpgo/workdir/manifest.hpp"

namespace kpgo::workdir {

struct BenchOptions {
  std::vector<targets::Workload> workloads;
  unsigned rounds = 3;
  unsigned jobs = 0;
  bool progress = false;
  unsigned timeout_seconds = 1800;  // one boot, all workloads
  targets::QemuOptions qemu;        // kernel is set per boot
  std::vector<std::string> make_args;
};

struct WorkloadFigures {
  std::string name;
  bool trained = false;                  // the collected profiles came from this workload
  std::vector<uint64_t> baseline_ns;     // guest nanoseconds = instructions, per round
  std::vector<uint64_t> pgo_ns;
};

struct BenchOutcome {
  std::filesystem::path baseline_bzimage;
  kernel::TextLayout baseline_layout;
  kernel::TextLayout pgo_layout;
  uint64_t promoted_calls = 0;
  std::vector<WorkloadFigures> workloads;
  std::vector<double> baseline_boot_seconds;  // host wall time of each boot
  std::vector<double> pgo_boot_seconds;
};

// Builds (incrementally) a baseline kernel from the instrumented build's source and config with
// neither instrumentation nor profile, checks that the PGO build's code layout differs from it,
// then boots baseline and PGO kernels alternately in QEMU with -icount, round after round, and
// times each workload inside the guest. Results go into the manifest under "bench".
Result<BenchOutcome> bench(const BenchOptions& options, ProcessRunner& runner, Manifest& manifest);

// Median of the values (the lower middle one for an even count); 0 for none.
uint64_t median_of(std::vector<uint64_t> values);

// The guest init's body that times each of `workloads` (installed at /kpgo/w/NAME.sh).
std::string bench_guest_body(const std::vector<targets::Workload>& workloads);

}  // namespace kpgo::workdir
