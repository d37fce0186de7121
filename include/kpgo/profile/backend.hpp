// SPDX-License-Identifier: MIT
#pragma once

// The interface between kpgo and its merge backends: one shared library per LLVM major
// (libkpgo-profile-llvmNN.so), each linked against that LLVM's ProfileData, loaded at run time.
// Both sides are built together by one compiler, so plain C++ types cross the boundary; the ABI
// number guards against a stale library from another build.

#include <cstdint>
#include <string>
#include <vector>

namespace kpgo::profile {

inline constexpr unsigned kBackendAbi = 4;

enum class FailureMode { any, all, warn };
enum class OutputFormat { binary, text };

struct BackendInfo {
  unsigned llvm_major = 0;
  std::string llvm_version;
  uint64_t raw_version = 0;      // the one raw version this LLVM reads
  uint64_t indexed_version = 0;  // the indexed version it writes (and the newest it reads)
};

struct WeightedInput {
  std::string path;
  uint64_t weight = 1;
};

struct MergeJob {
  std::vector<WeightedInput> inputs;
  std::string output_path;
  unsigned threads = 0;  // 0: as llvm-profdata picks, min(cores, (inputs + 1) / 2)
  bool sparse = false;
  OutputFormat format = OutputFormat::binary;
  FailureMode failure_mode = FailureMode::any;
  // Raw inputs of one binary are folded by kpgo and handed to LLVM's writer once; off, every
  // input goes through LLVM's reader and writer as in llvm-profdata. The output is the same.
  bool fast_path = true;
};

struct ProfileStats {
  uint64_t functions = 0;
  uint64_t functions_with_counts = 0;
  uint64_t counters = 0;
  uint64_t max_count = 0;
  uint64_t value_sites = 0;
  uint64_t indirect_call_sites = 0;
  uint64_t memop_sites = 0;
  uint64_t cs_functions = 0;  // context-sensitive records (CSPGO's stage 2), among `functions`
};

// What an indexed profile holds, as far as kpgo reports on it.
struct ProfileContents {
  ProfileStats stats;
  std::vector<std::string> functions;      // every function's name
  std::vector<std::string> hot_functions;  // names of functions with a non-zero count
  std::string error;                       // set when the profile cannot be read
};

struct InputFailure {
  size_t input = 0;  // index into MergeJob::inputs
  std::string reason;
};

struct MergeReport {
  std::vector<InputFailure> failures;  // inputs that contributed nothing
  std::vector<std::string> warnings;   // merged, but something is worth saying
  size_t fast_inputs = 0;              // inputs folded by the fast path
  std::vector<std::string> notes;      // why inputs took the generic path
  ProfileStats stats;
  bool wrote_output = false;
  std::string write_error;
};

// Whether a merge writes its output. `any` writes only when every input merged; `all` and
// `warn` write whatever did merge. Nothing merged means nothing is written in any mode.
inline bool merge_should_write(FailureMode mode, size_t merged, size_t failed) {
  if (merged == 0) return false;
  return mode != FailureMode::any || failed == 0;
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;
  // Checks each input whole before adding any of it, so that a corrupt file contributes nothing
  // (raw inputs: every record in bounds, see validate_raw_records), and merges as the matching
  // llvm-profdata merges the inputs that passed, byte for byte.
  virtual MergeReport merge(const MergeJob& job) = 0;
  // Reads an indexed (or raw) profile of this LLVM's formats.
  virtual ProfileContents read(const std::string& path) = 0;
};

}  // namespace kpgo::profile

// Each backend library exports this; it returns nullptr when `abi` is not its own.
extern "C" kpgo::profile::Backend* kpgo_profile_backend_create(unsigned abi);
