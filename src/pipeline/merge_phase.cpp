// SPDX-License-Identifier: MIT
#include <spdlog/spdlog.h>

#include "kpgo/pipeline/phases.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

// The merge's inputs as kpgo.json records them: path, bytes and weight of every profile.
std::vector<MergedInput> merge_inputs(const State& state, const std::optional<MergedInput>& base) {
  std::vector<MergedInput> inputs;
  if (base) inputs.push_back(*base);
  for (const auto& entry : state.profiles())
    inputs.push_back({entry.path, entry.sha256, entry.weight});
  return inputs;
}

// The merged profile is still exactly what merging these inputs made.
bool merged_already(const State& state, const std::vector<MergedInput>& inputs,
                    const fs::path& profdata) {
  std::error_code ec;
  if (!state.merge || state.merge->inputs != inputs || !fs::exists(profdata, ec)) return false;
  auto sha = sha256_file(profdata);
  return sha && *sha == state.merge->sha256;
}

}  // namespace

Result<WorkdirMerge> merge_workdir_profiles(Manifest& manifest, profile::BackendSet& backends,
                                            const std::optional<MergedInput>& base) {
  const InstrumentState* instrument = manifest.state().instrumented();
  if (!instrument) {
    return fail("{} has no instrumented kernel; run kpgo instrument first",
                manifest.path().string());
  }
  auto inputs = merge_inputs(manifest.state(), base);
  if (inputs.size() == (base ? 1u : 0u)) {
    return fail("{} holds no collected profiles; run kpgo collect first",
                manifest.workdir().string());
  }
  WorkdirMerge result;
  result.profdata = manifest.workdir() / "vmlinux.profdata";
  if (merged_already(manifest.state(), inputs, result.profdata)) {
    result.sha256 = manifest.state().merge->sha256;
    return result;
  }

  profile::MergeRequest request;
  for (const auto& input : inputs) request.inputs.push_back({input.path.string(), input.weight});
  request.output = result.profdata;
  request.consumer_major = instrument->llvm.major;
  request.build_tree.push_back(instrument->vmlinux_build_id);
  for (const auto& module : instrument->modules) request.build_tree.push_back(module.build_id);
  KPGO_TRY_BIND(outcome, profile::merge_profiles(request, backends));
  for (const auto& warning : outcome->warnings) spdlog::warn("{}", warning);
  KPGO_TRY_BIND(sha, sha256_file(result.profdata));
  result.sha256 = *sha;
  result.merged = true;
  result.stats = outcome->stats;
  manifest.state().merge = MergeState{inputs,
                                      result.profdata,
                                      result.sha256,
                                      outcome->backend.llvm_version,
                                      outcome->stats.functions,
                                      outcome->stats.functions_with_counts,
                                      utc_timestamp()};
  KPGO_TRY(manifest.save());
  return result;
}

}  // namespace kpgo::pipeline
