// SPDX-License-Identifier: MIT
#pragma once

// The two ways kpgo bench boots its kernels, round after round: QEMU with -icount, or the user's
// own machine over ssh. Both fill the outcome's per-round figures.

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/bench/bench.hpp"

namespace kpgo::bench {

struct BenchKernel {
  std::string name;  // the variant's
  std::filesystem::path bzimage;
  std::filesystem::path build_dir;
  size_t index = 0;  // into pipeline::BenchState::variants
};
using BenchKernels = std::vector<BenchKernel>;

// The kernel that boots `slot` of `round` (1-based): the order rotates by one per round, so that
// no kernel always runs first (two alternate).
inline const BenchKernel& kernel_for(const BenchKernels& kernels, unsigned round, size_t slot) {
  return kernels[(slot + round - 1) % kernels.size()];
}

Result<> run_qemu_rounds(const BenchOptions& options, const BenchKernels& kernels,
                         ProcessRunner& runner, pipeline::Manifest& manifest,
                         pipeline::BenchState& outcome);

Result<> run_ssh_rounds(const BenchOptions& options, const BenchKernels& kernels,
                        ProcessRunner& runner, pipeline::Manifest& manifest,
                        pipeline::BenchState& outcome);

}  // namespace kpgo::bench
