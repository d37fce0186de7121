// SPDX-License-Identifier: MIT
#pragma once

// The two ways kpgo bench boots its kernels, round after round: QEMU with -icount, or the user's
// own machine over ssh. Both fill the outcome's per-round figures.

#include <array>
#include <filesystem>
#include <string>

#include "kpgo/bench/bench.hpp"

namespace kpgo::bench {

struct BenchKernel {
  std::string name;  // "baseline" or "pgo"
  std::filesystem::path bzimage;
  std::filesystem::path build_dir;
  bool pgo = false;
};
using BenchKernels = std::array<BenchKernel, 2>;

// The kernel that boots `slot` (0 or 1) of `round` (1-based): the order alternates per round, so
// that neither kernel always runs first.
inline const BenchKernel& kernel_for(const BenchKernels& kernels, unsigned round, unsigned slot) {
  return kernels[round % 2 ? slot : 1 - slot];
}

Result<> run_qemu_rounds(const BenchOptions& options, const BenchKernels& kernels,
                         ProcessRunner& runner, pipeline::Manifest& manifest,
                         BenchOutcome& outcome);

Result<> run_ssh_rounds(const BenchOptions& options, const BenchKernels& kernels,
                        ProcessRunner& runner, pipeline::Manifest& manifest, BenchOutcome& outcome);

}  // namespace kpgo::bench
