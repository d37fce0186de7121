// SPDX-License-Identifier: MIT
#include "kpgo/workdir/pipeline.hpp"

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/system/data_dir.hpp"

namespace kpgo::workdir {

namespace fs = std::filesystem;

namespace {

std::string file_hash(const fs::path& path) {
  auto sha = sha256_file(path);
  return sha ? *sha : "missing:" + path.string();
}

std::string instrument_key(const kernel::InstrumentOptions& o) {
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

std::string collect_key(const targets::CollectOptions& o, const Manifest& manifest) {
  nlohmann::json inputs = {{"build_id", manifest.data()["instrument"].value("vmlinux_build_id", "")},
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

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, ProcessRunner& runner,
                                     profile::BackendSet& backends, Manifest& manifest) {
  PipelineOutcome outcome;
  auto& data = manifest.data();

  std::string key = instrument_key(options.instrument);
  const auto& instrument = data.value("instrument", nlohmann::json::object());
  bool instrument_done = instrument.value("inputs_key", "") == key && instrument.contains("finished") &&
                         exists(instrument["artifacts"].value("bzImage", ""));
  if (!instrument_done) {
    spdlog::info("instrument: building the instrumented kernel");
    std::string old_build_id = instrument.value("vmlinux_build_id", "");
    auto built = kernel::instrument(options.instrument, runner, manifest);
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
    if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  }
  outcome.phases.push_back({"instrument", !instrument_done});

  key = collect_key(options.collect, manifest);
  bool collect_done = data.value("collect", nlohmann::json::object()).value("inputs_key", "") == key &&
                      profiles_intact(manifest);
  if (!collect_done) {
    auto collected = targets::collect_profiles(options.collect, runner, manifest);
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
    if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  }
  outcome.phases.push_back({"collect", !collect_done});
  outcome.profiles = data["collect"]["profiles"].size();

  auto merged = merge_workdir_profiles(manifest, backends);
  if (!merged) return tl::unexpected(merged.error());
  outcome.phases.push_back({"merge", merged->merged});

  key = optimize_key(options.optimize, manifest);
  const auto& optimized = data.value("optimize", nlohmann::json::object());
  bool optimize_done = optimized.value("inputs_key", "") == key && optimized.contains("finished") &&
                       exists(optimized["artifacts"].value("bzImage", ""));
  if (optimize_done) {
    const auto& report = optimized["report"];
    outcome.optimized.bzimage = optimized["artifacts"].value("bzImage", "");
    outcome.optimized.vmlinux = optimized["artifacts"].value("vmlinux", "");
    outcome.optimized.profdata = optimized.value("profile", "");
    outcome.optimized.booted = optimized.contains("booted");
    outcome.optimized.report = {report.value("functions", 0ull), report.value("matched", 0ull),
                                report.value("stale", 0ull),     report.value("without_data", 0ull),
                                report.value("hot", 0ull),       report.value("hot_matched", 0ull)};
  } else {
    auto built = optimize(options.optimize, runner, backends, manifest);
    if (!built) return tl::unexpected(built.error());
    outcome.optimized = *built;
    data["optimize"]["inputs_key"] = key;
    if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  }
  outcome.phases.push_back({"optimize", !optimize_done});
  return outcome;
}

}  // namespace kpgo::workdir
