// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/run.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "kpgo/system/data_dir.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

std::string file_hash(const fs::path& path) {
  auto sha = sha256_file(path);
  return sha ? *sha : "missing:" + path.string();
}

std::string instrument_key(const InstrumentOptions& o) {
  nlohmann::json inputs = {{"source", fs::absolute(o.source).string()}, {"llvm", o.llvm}, {"arch", o.arch},
                           {"atomic", o.atomic_counters}, {"make_args", o.make_args}};
  inputs["config"] = o.config ? file_hash(*o.config) : "tinyconfig";
  for (const auto& fragment : o.fragments) inputs["fragments"].push_back(file_hash(fragment));
  if (auto data = data_dir(); data) {
    // kpgo's own kernel files and default configs are inputs too.
    for (const char* part : {"kernel/pgo/.kpgo-support", "configs/qemu-x86_64.config", "configs/pgo.config"}) {
      inputs["kpgo"].push_back(file_hash(*data / part));
    }
  }
  return sha256_hex(inputs.dump());
}

std::string collect_key(const CollectOptions& o, const Manifest& manifest) {
  const auto& instrument = manifest.data().value("instrument", nlohmann::json::object());
  nlohmann::json inputs = {{"build_id", instrument.value("vmlinux_build_id", "")},
                           {"workload", file_hash(o.workload.script)},
                           {"runs", o.runs},
                           {"kind", static_cast<int>(o.kind)},
                           {"hosts", o.ssh_hosts},
                           {"label", o.label},
                           {"weight", o.weight}};
  for (const auto& file : o.workload.files) inputs["files"].push_back(file_hash(file));
  return sha256_hex(inputs.dump());
}

bool profiles_intact(const Manifest& manifest) {
  const auto& profiles = manifest.data().value("collect", nlohmann::json::object()).value("profiles", nlohmann::json::array());
  if (profiles.empty()) return false;
  for (const auto& entry : profiles) {
    if (file_hash(entry.value("path", "")) != entry.value("sha256", "")) return false;
  }
  return true;
}

std::string optimize_key(const OptimizeOptions& o, const Manifest& manifest) {
  const auto& data = manifest.data();
  nlohmann::json inputs = {{"profile", data.value("merge", nlohmann::json::object()).value("sha256", "")},
                           {"config", data["instrument"].value("config_sha256", "")},
                           {"make_args", o.make_args},
                           {"boot", o.smoke_boot}};
  return sha256_hex(inputs.dump());
}

bool exists(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::exists(path, ec);
}

bool instrument_up_to_date(const PipelineOptions& options, const Manifest& manifest) {
  const auto& instrument = manifest.data().value("instrument", nlohmann::json::object());
  return instrument.value("inputs_key", "") == instrument_key(options.instrument) &&
         instrument.contains("finished") &&
         exists(instrument.value("artifacts", nlohmann::json::object()).value("bzImage", ""));
}

bool collect_up_to_date(const PipelineOptions& options, const Manifest& manifest) {
  const auto& collect = manifest.data().value("collect", nlohmann::json::object());
  return collect.value("inputs_key", "") == collect_key(options.collect, manifest) &&
         profiles_intact(manifest);
}

bool optimize_up_to_date(const PipelineOptions& options, const Manifest& manifest) {
  const auto& optimized = manifest.data().value("optimize", nlohmann::json::object());
  return optimized.value("inputs_key", "") == optimize_key(options.optimize, manifest) &&
         optimized.contains("finished") &&
         exists(optimized.value("artifacts", nlohmann::json::object()).value("bzImage", ""));
}

// A line as each phase starts and one as it ends, with its time: a CI log read later shows
// where the time went, and a 15-minute kernel build is not taken for a hang.
class PhaseLine {
 public:
  explicit PhaseLine(std::string name) : name_(std::move(name)) {
    spdlog::info("phase {}: started", name_);
  }
  ~PhaseLine() {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    spdlog::info("phase {}: {} after {:.0f} s", name_, done_ ? "finished" : "stopped", seconds);
  }
  void done() { done_ = true; }
  static void up_to_date(const char* name) { spdlog::info("phase {}: up to date", name); }

 private:
  std::string name_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  bool done_ = false;
};

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, ProcessRunner& runner,
                                     profile::BackendSet& backends, Manifest& manifest) {
  PipelineOutcome outcome;
  auto& data = manifest.data();

  std::string key = instrument_key(options.instrument);
  const auto& instrument = data.value("instrument", nlohmann::json::object());
  bool instrument_done = instrument_up_to_date(options, manifest);
  if (instrument_done) PhaseLine::up_to_date("instrument");
  if (!instrument_done) {
    PhaseLine line("instrument");
    std::string old_build_id = instrument.value("vmlinux_build_id", "");
    auto built = instrument_kernel(options.instrument, runner, manifest)
                       .map_error(context("phase instrument"));
    if (!built) return tl::unexpected(built.error());
    data["instrument"]["inputs_key"] = key;
    if (built->build_id != old_build_id) {
      // Another kernel: the profiles of the old one are of no use to it.
      std::error_code ec;
      for (const auto& entry : data.value("collect", nlohmann::json::object())
                                   .value("profiles", nlohmann::json::array())) {
        fs::remove(entry.value("path", ""), ec);
      }
      data.erase("collect");
      data.erase("merge");
    }
    KPGO_TRY(manifest.save());
    line.done();
  }
  outcome.phases.push_back({"instrument", !instrument_done});

  key = collect_key(options.collect, manifest);
  bool collect_done = collect_up_to_date(options, manifest);
  if (collect_done) PhaseLine::up_to_date("collect");
  if (!collect_done) {
    PhaseLine line("collect");
    auto collected = collect_profiles(options.collect, runner, manifest)
                       .map_error(context("phase collect"));
    if (!collected) return tl::unexpected(collected.error());
    if (!collected->failed.empty()) {
      std::string reasons;
      for (const auto& run : collected->failed) {
        reasons += fmt::format("\n  {} run {}: {}", run.machine, run.run, run.problem);
      }
      return fail("collect: {} of {} runs failed:{}", collected->failed.size(),
                  collected->failed.size() + collected->kept.size(), reasons);
    }
    data["collect"]["inputs_key"] = key;
    KPGO_TRY(manifest.save());
    line.done();
  }
  outcome.phases.push_back({"collect", !collect_done});
  outcome.profiles = data["collect"]["profiles"].size();

  {
    // Whether the merge is up to date is for merge_workdir_profiles to find out.
    PhaseLine line("merge");
    auto merged = merge_workdir_profiles(manifest, backends).map_error(context("phase merge"));
    if (!merged) return tl::unexpected(merged.error());
    outcome.phases.push_back({"merge", merged->merged});
    line.done();
  }

  key = optimize_key(options.optimize, manifest);
  const auto& optimized = data.value("optimize", nlohmann::json::object());
  bool optimize_done = optimize_up_to_date(options, manifest);
  if (optimize_done) {
    PhaseLine::up_to_date("optimize");
    const auto& report = optimized["report"];
    outcome.optimized.bzimage = optimized["artifacts"].value("bzImage", "");
    outcome.optimized.vmlinux = optimized["artifacts"].value("vmlinux", "");
    outcome.optimized.profdata = optimized.value("profile", "");
    outcome.optimized.booted = optimized.contains("booted");
    outcome.optimized.report = {report.value("functions", 0ull), report.value("matched", 0ull),
                                report.value("stale", 0ull),     report.value("without_data", 0ull),
                                report.value("hot", 0ull),       report.value("hot_matched", 0ull)};
  } else {
    PhaseLine line("optimize");
    auto built = optimize(options.optimize, runner, backends, manifest)
                       .map_error(context("phase optimize"));
    if (!built) return tl::unexpected(built.error());
    outcome.optimized = *built;
    data["optimize"]["inputs_key"] = key;
    KPGO_TRY(manifest.save());
    line.done();
  }
  outcome.phases.push_back({"optimize", !optimize_done});
  return outcome;
}

Result<std::vector<PlannedPhase>> plan_pipeline(const PipelineOptions& options,
                                                ProcessRunner& runner, profile::BackendSet& backends,
                                                Manifest& manifest) {
  std::vector<PlannedPhase> plan;
  bool instrument_runs = !instrument_up_to_date(options, manifest);
  PlannedPhase instrument{"instrument", instrument_runs, "", {}};
  if (instrument_runs) {
    InstrumentOptions dry = options.instrument;
    dry.dry_run = true;
    auto outcome = instrument_kernel(dry, runner, manifest);
    if (!outcome) return tl::unexpected(outcome.error());
    instrument.commands = outcome->commands;
  }
  plan.push_back(instrument);

  // A new kernel makes every profile of the old one useless.
  bool collect_runs = instrument_runs || !collect_up_to_date(options, manifest);
  const auto& c = options.collect;
  std::string where = c.kind == targets::TargetKind::qemu  ? "a QEMU guest of the instrumented kernel"
                      : c.kind == targets::TargetKind::ssh ? fmt::format("{} over ssh", fmt::join(c.ssh_hosts, ", "))
                                                           : "this machine";
  plan.push_back({"collect", collect_runs,
                  fmt::format("reset the counters, run workload {} ({}) {} times on {}, take each "
                              "profile out and check it against the instrumented vmlinux",
                              c.workload.name, c.workload.script.string(), c.runs, where),
                  {}});

  const auto& merge = manifest.data().value("merge", nlohmann::json::object());
  fs::path merged = manifest.workdir() / "vmlinux.profdata";
  bool merge_runs = collect_runs || merge.value("sha256", "") != file_hash(merged);
  plan.push_back({"merge", merge_runs,
                  fmt::format("merge the collected profiles into {} with the LLVM of the "
                              "instrumenting clang",
                              merged.string()),
                  {}});

  bool optimize_runs = merge_runs || !optimize_up_to_date(options, manifest);
  PlannedPhase optimize_phase{"optimize", optimize_runs, "", {}};
  if (optimize_runs && !instrument_runs) {
    OptimizeOptions dry = options.optimize;
    dry.dry_run = true;
    auto outcome = optimize(dry, runner, backends, manifest);
    if (!outcome) return tl::unexpected(outcome.error());
    optimize_phase.commands = outcome->commands;
  } else if (optimize_runs) {
    optimize_phase.what = "rebuild the kernel from the instrumented build's source and .config with "
                          "-fprofile-use (its make commands are known once the instrumented build "
                          "exists: kpgo optimize --dry-run)";
  }
  plan.push_back(optimize_phase);
  return plan;
}

}  // namespace kpgo::pipeline
