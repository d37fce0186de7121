// SPDX-License-Identifier: MIT
#include "cli/json_output.hpp"

#include <fmt/format.h>

namespace kpgo::cli {

namespace {

using json = nlohmann::json;

json commands_json(const std::vector<Command>& commands) {
  json out = json::array();
  for (const auto& command : commands) out.push_back(render_command(command));
  return out;
}

json layout_json(const kernel::TextLayout& layout) {
  return {{"functions", layout.functions}, {"hot", layout.hot}, {"unlikely", layout.unlikely}};
}

json report_json(const pipeline::MatchReport& r) {
  json binaries = json::array();
  for (const auto& b : r.binaries) {
    binaries.push_back({{"binary", b.binary},
                        {"functions", b.functions},
                        {"matched", b.matched},
                        {"stale", b.stale},
                        {"without_data", b.without_data},
                        {"layout",
                         {{"functions", b.layout.functions},
                          {"hot", b.layout.hot},
                          {"unlikely", b.layout.unlikely}}}});
  }
  return {{"functions", r.functions},
          {"matched", r.matched},
          {"stale", r.stale},
          {"without_data", r.without_data},
          {"hot", r.hot},
          {"hot_matched", r.hot_matched},
          {"binaries", binaries}};
}

}  // namespace

json instrument_json(const pipeline::InstrumentOutcome& outcome) {
  return {{"build_dir", outcome.build_dir.string()},
          {"vmlinux", outcome.vmlinux.string()},
          {"bzImage", outcome.bzimage.string()},
          {"build_id", outcome.build_id},
          {"support", outcome.support},
          {"support_added", outcome.support_added},
          {"lto", outcome.lto},
          {"up_to_date", outcome.up_to_date},
          {"commands", commands_json(outcome.commands)}};
}

json collect_json(const pipeline::CollectOutcome& outcome) {
  json kept = json::array();
  for (const auto& profile : outcome.kept) {
    json modules = json::array();
    for (const auto& module : profile.modules) modules.push_back(module.string());
    kept.push_back({{"path", profile.path.string()},
                    {"modules", modules},
                    {"machine", profile.machine},
                    {"run", profile.run},
                    {"size", profile.size},
                    {"sha256", profile.sha256},
                    {"seconds", profile.seconds}});
  }
  json failed = json::array();
  for (const auto& run : outcome.failed) {
    failed.push_back({{"machine", run.machine}, {"run", run.run}, {"problem", run.problem}});
  }
  return {{"kept", kept},
          {"failed", failed},
          {"unprofiled_modules", outcome.unprofiled_modules},
          {"warnings", outcome.warnings},
          {"up_to_date", outcome.up_to_date}};
}

json merge_json(const profile::MergeOutcome& outcome) {
  json skipped = json::array();
  for (const auto& skip : outcome.skipped)
    skipped.push_back({{"path", skip.path}, {"reason", skip.reason}});
  const auto& s = outcome.stats;
  return {
      {"output", outcome.output.string()},
      {"llvm", {{"major", outcome.backend.llvm_major}, {"version", outcome.backend.llvm_version}}},
      {"raw_version", outcome.backend.raw_version},
      {"indexed_version", outcome.backend.indexed_version},
      {"inputs", outcome.inputs},
      {"merged", outcome.merged},
      {"fast_path_inputs", outcome.fast_inputs},
      {"skipped", skipped},
      {"warnings", outcome.warnings},
      {"functions", s.functions},
      {"functions_with_counts", s.functions_with_counts},
      {"counters", s.counters},
      {"max_count", s.max_count},
      {"value_sites", s.value_sites},
      {"indirect_call_sites", s.indirect_call_sites},
      {"memop_sites", s.memop_sites},
      {"cs_functions", s.cs_functions},
  };
}

json optimize_json(const pipeline::OptimizeOutcome& outcome) {
  json layout = layout_json(outcome.layout);
  layout["promoted_indirect_calls"] = outcome.promoted_calls;
  return {{"profile", outcome.profdata.string()},
          {"vmlinux", outcome.vmlinux.string()},
          {"bzImage", outcome.bzimage.string()},
          {"rebuilt", outcome.rebuilt},
          {"up_to_date", outcome.up_to_date},
          {"booted", outcome.booted},
          {"lto", outcome.lto},
          {"build_seconds", outcome.build_cost.seconds},
          {"build_peak_memory_kib", outcome.build_cost.peak_memory_kib},
          {"report", report_json(outcome.report)},
          {"layout", layout},
          {"commands", commands_json(outcome.commands)}};
}

json run_json(const pipeline::PipelineOutcome& outcome) {
  json phases = json::object();
  for (const auto& phase : outcome.phases) phases[phase.name] = phase.ran ? "ran" : "up to date";
  return {{"phases", phases},
          {"profiles", outcome.profiles},
          {"optimized", optimize_json(outcome.optimized)}};
}

json plan_json(const std::vector<pipeline::PlannedPhase>& plan) {
  json phases = json::array();
  for (const auto& phase : plan) {
    phases.push_back({{"name", phase.name},
                      {"runs", phase.runs},
                      {"what", phase.what},
                      {"commands", commands_json(phase.commands)}});
  }
  return {{"phases", phases}};
}

json bench_json(const pipeline::BenchState& outcome) {
  json metrics = json::array();
  for (const auto& m : outcome.metrics)
    metrics.push_back({{"name", m.name}, {"unit", m.unit}, {"what", m.what}});
  json variants = json::array();
  for (const auto& v : outcome.variants) {
    variants.push_back({{"name", v.name},
                        {"lto", v.lto},
                        {"profile", v.profile},
                        {"build_dir", v.build_dir.string()},
                        {"layout", layout_json(v.layout)},
                        {"promoted_indirect_calls", v.promoted_indirect_calls},
                        {"build_seconds", v.build_cost.seconds},
                        {"build_peak_memory_kib", v.build_cost.peak_memory_kib},
                        {"boot_seconds", v.boot_seconds}});
  }
  json comparisons = json::array();
  for (const auto& c : outcome.comparisons)
    comparisons.push_back({{"variant", c.variant}, {"against", c.against}});
  json workloads = json::array();
  for (const auto& w : outcome.workloads) {
    json figures = json::array();
    for (const auto& metric : outcome.metrics) {
      auto found = w.figures.find(metric.name);
      if (found == w.figures.end()) continue;
      json rounds = json::array();
      for (const auto& v : outcome.variants) {
        auto per_round = found->second.find(v.name);
        if (per_round == found->second.end()) continue;
        rounds.push_back({{"variant", v.name},
                          {"figures", per_round->second},
                          {"median", bench::median_of(per_round->second)}});
      }
      json ratios = json::array();
      for (const auto& c : outcome.comparisons) {
        ratios.push_back({{"variant", c.variant},
                          {"against", c.against},
                          {"ratio", bench::median_ratio(found->second, c.variant, c.against)}});
      }
      figures.push_back({{"metric", metric.name}, {"rounds", rounds}, {"ratios", ratios}});
    }
    workloads.push_back({{"name", w.name}, {"trained", w.trained}, {"figures", figures}});
  }
  return {{"machine", outcome.machine}, {"method", outcome.method},   {"metrics", metrics},
          {"variants", variants},       {"comparisons", comparisons}, {"workloads", workloads}};
}

void print_json(json document) {
  document["schema"] = kJsonSchema;
  fmt::print("{}\n", document.dump(2));
}

}  // namespace kpgo::cli
