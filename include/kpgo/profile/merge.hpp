// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/profile/backend.hpp"
#include "kpgo/profile/backends.hpp"
#include "kpgo/profile/format.hpp"
#include "kpgo/system/error.hpp"

namespace kpgo::profile {

// Inputs as llvm-profdata takes them: plain paths (files, or directories searched recursively),
// `W,FILE` weighted inputs, and list files of `[W,]FILE` lines with `#` comments.
Result<std::vector<WeightedInput>> collect_inputs(const std::vector<std::string>& paths,
                                                  const std::vector<std::string>& weighted,
                                                  const std::vector<std::string>& list_files);

Result<WeightedInput> parse_weighted_input(std::string_view spec);
Result<FailureMode> parse_failure_mode(std::string_view text);

// Picks the backend to merge with. With `consumer_major` (the clang that will read the output),
// one whose raw version matches that clang's and whose indexed output it can read; without, the
// oldest backend that reads the inputs, whose output every newer clang of that raw version reads.
Result<unsigned> choose_backend(const std::vector<ProfileIdentity>& inputs,
                                std::optional<unsigned> consumer_major,
                                const std::vector<BackendInfo>& available);

// Why `input` cannot be merged by `backend`, or nullopt when it can; the reason names the fix,
// using `available` to say which backend would take it.
std::optional<std::string> version_problem(const ProfileIdentity& input, const BackendInfo& backend,
                                           const std::vector<BackendInfo>& available);

// Raw inputs whose binary IDs do not include the reference ID: `expected` when given, else the
// ID most inputs carry; when no ID has a majority, every input with an ID. Returns input index
// and reason.
std::vector<std::pair<size_t, std::string>> foreign_inputs(
    const std::vector<ProfileIdentity>& inputs, const std::vector<std::string>& expected);

struct MergeRequest {
  std::vector<WeightedInput> inputs;
  std::filesystem::path output = "vmlinux.profdata";
  unsigned threads = 0;
  FailureMode failure_mode = FailureMode::any;
  bool sparse = false;
  OutputFormat format = OutputFormat::binary;
  std::optional<unsigned> consumer_major;
  // The build IDs raw inputs may carry: vmlinux's and its modules' (one build tree). Empty: the
  // build ID most inputs carry.
  std::vector<std::string> build_tree;
  bool fast_path = true;
};

struct SkippedInput {
  std::string path;
  std::string reason;
};

struct MergeOutcome {
  std::filesystem::path output;
  BackendInfo backend;
  size_t inputs = 0;
  size_t merged = 0;
  std::vector<SkippedInput> skipped;
  std::vector<std::string> warnings;
  size_t fast_inputs = 0;  // merged by the fast path (raw profiles of one binary)
  ProfileStats stats;
};

// Validates every input, merges what may be merged and writes `output` atomically. A failed merge
// leaves no output and keeps any file already there; its Error lists the inputs and reasons.
Result<MergeOutcome> merge_profiles(const MergeRequest& request, BackendSet& backends);

}  // namespace kpgo::profile
