// SPDX-License-Identifier: MIT
#include <spdlog/spdlog.h>

#include "kpgo/pipeline/phases.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

Result<WorkdirMerge> merge_workdir_profiles(Manifest& manifest, profile::BackendSet& backends) {
  const auto& data = manifest.data();
  const auto& instrument = data.value("instrument", nlohmann::json::object());
  if (!instrument.contains("finished")) {
    return fail("{} has no instrumented kernel; run kpgo instrument first", manifest.path().string());
  }
  nlohmann::json inputs = nlohmann::json::array();
  std::vector<profile::WeightedInput> weighted;
  for (const auto& entry : data.value("collect", nlohmann::json::object())
                               .value("profiles", nlohmann::json::array())) {
    std::string path = entry.value("path", "");
    inputs.push_back({{"path", path}, {"sha256", entry.value("sha256", "")},
                      {"weight", entry.value("weight", 1)}});
    weighted.push_back({path, entry.value("weight", uint64_t{1})});
  }
  if (weighted.empty()) {
    return fail("{} holds no collected profiles; run kpgo collect first", manifest.workdir().string());
  }

  WorkdirMerge result;
  result.profdata = manifest.workdir() / "vmlinux.profdata";
  const auto& previous = data.value("merge", nlohmann::json::object());
  std::error_code ec;
  if (previous.value("inputs", nlohmann::json::array()) == inputs && fs::exists(result.profdata, ec)) {
    auto sha = sha256_file(result.profdata);
    if (sha && *sha == previous.value("sha256", "")) {
      result.sha256 = *sha;
      return result;
    }
  }

  profile::MergeRequest request;
  request.inputs = weighted;
  request.output = result.profdata;
  request.consumer_major = instrument["llvm"].value("major", 0u);
  request.expected_binary_id = instrument.value("vmlinux_build_id", "");
  auto outcome = profile::merge_profiles(request, backends);
  if (!outcome) return tl::unexpected(outcome.error());
  for (const auto& warning : outcome->warnings) spdlog::warn("{}", warning);
  auto sha = sha256_file(result.profdata);
  if (!sha) return tl::unexpected(sha.error());
  result.sha256 = *sha;
  result.merged = true;
  result.stats = outcome->stats;
  manifest.data()["merge"] = {{"inputs", inputs},
                              {"output", result.profdata.string()},
                              {"sha256", result.sha256},
                              {"llvm", outcome->backend.llvm_version},
                              {"functions", outcome->stats.functions},
                              {"functions_with_counts", outcome->stats.functions_with_counts},
                              {"finished", utc_timestamp()}};
  KPGO_TRY(manifest.save());
  return result;
}

}  // namespace kpgo::pipeline
