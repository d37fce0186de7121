// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/run.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "kpgo/kernel/arch.hpp"
#include "kpgo/system/data_dir.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

std::string file_hash(const fs::path& path) {
  auto sha = sha256_file(path);
  return sha ? *sha : "missing:" + path.string();
}

std::string instrument_key(const InstrumentOptions& o) {
  nlohmann::json inputs = {{"source", fs::absolute(o.source).string()},
                           {"llvm", o.llvm},
                           {"arch", o.arch},
                           {"atomic", o.atomic_counters},
                           {"make_args", o.make_args}};
  inputs["config"] = o.config ? file_hash(*o.config) : "tinyconfig";
  for (const auto& fragment : o.fragments) inputs["fragments"].push_back(file_hash(fragment));
  if (auto data = data_dir(); data) {
    // kpgo's own kernel files and default configs (the arch's small config) are inputs too.
    // An arch kpgo does not know has no small config; instrument refuses it.
    std::vector<std::string> parts{"kernel/pgo/.kpgo-support"};
    if (auto arch = kernel::kernel_arch(o.arch)) parts.push_back("configs/" + arch->qemu_fragment);
    parts.push_back("configs/pgo.config");
    for (const auto& part : parts) inputs["kpgo"].push_back(file_hash(*data / part));
  }
  return sha256_hex(inputs.dump());
}

std::string collect_key(const CollectOptions& o, const State& state) {
  nlohmann::json inputs = {{"build_id", state.instrument ? state.instrument->vmlinux_build_id : ""},
                           {"workload", file_hash(o.workload.script)},
                           {"runs", o.runs},
                           {"kind", static_cast<int>(o.kind)},
                           {"hosts", o.ssh_hosts},
                           {"label", o.label},
                           {"weight", o.weight}};
  for (const auto& file : o.workload.files) inputs["files"].push_back(file_hash(file));
  // More packages change the guest's userland; none keeps older keys valid.
  if (o.kind == targets::TargetKind::qemu && !o.qemu.packages.empty())
    inputs["packages"] = o.qemu.packages;
  return sha256_hex(inputs.dump());
}

bool profiles_intact(const State& state) {
  if (state.profiles().empty()) return false;
  for (const auto& entry : state.profiles()) {
    if (file_hash(entry.path) != entry.sha256) return false;
  }
  return true;
}

std::string optimize_key(const OptimizeOptions& o, const State& state) {
  nlohmann::json inputs = {{"profile", state.merge ? state.merge->sha256 : ""},
                           {"config", state.instrument ? state.instrument->config_sha256 : ""},
                           {"make_args", o.make_args},
                           {"boot", o.smoke_boot}};
  return sha256_hex(inputs.dump());
}

bool present(const fs::path& path) {
  std::error_code ec;
  return !path.empty() && fs::exists(path, ec);
}

bool instrument_up_to_date(const PipelineOptions& options, const State& state) {
  const InstrumentState* instrument = state.instrumented();
  return instrument && instrument->inputs_key == instrument_key(options.instrument) &&
         present(instrument->artifacts.bzimage);
}

bool collect_up_to_date(const PipelineOptions& options, const State& state) {
  return state.collect && state.collect->inputs_key == collect_key(options.collect, state) &&
         profiles_intact(state);
}

bool optimize_up_to_date(const PipelineOptions& options, const State& state) {
  const auto& optimized = state.optimize;
  return optimized && !optimized->finished.empty() &&
         optimized->inputs_key == optimize_key(options.optimize, state) &&
         present(optimized->artifacts.bzimage);
}

// A line as each phase starts and one as it ends, with its time: a CI log read later shows
// where the time went, and a 15-minute kernel build is not taken for a hang.
class PhaseLine {
 public:
  explicit PhaseLine(std::string name) : name_(std::move(name)) {
    spdlog::info("phase {}: started", name_);
  }
  ~PhaseLine() {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
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

namespace {

// Each phase of run: skipped when up to date, else run and given its inputs' key. Each returns
// whether it ran.
Result<bool> instrument_phase(const PipelineOptions& options, ProcessRunner& runner,
                              Manifest& manifest) {
  State& state = manifest.state();
  if (instrument_up_to_date(options, state)) {
    PhaseLine::up_to_date("instrument");
    return false;
  }
  PhaseLine line("instrument");
  std::string old_build_id = state.instrument ? state.instrument->vmlinux_build_id : "";
  KPGO_TRY_BIND(built, instrument_kernel(options.instrument, runner, manifest)
                           .map_error(context("phase instrument")));
  state.instrument->inputs_key = instrument_key(options.instrument);
  if (built->build_id != old_build_id) {
    // Another kernel: the profiles of the old one are of no use to it.
    std::error_code ec;
    for (const auto& entry : state.profiles()) fs::remove(entry.path, ec);
    state.collect.reset();
    state.merge.reset();
  }
  KPGO_TRY(manifest.save());
  line.done();
  return true;
}

Result<bool> collect_phase(const PipelineOptions& options, ProcessRunner& runner,
                           Manifest& manifest) {
  if (collect_up_to_date(options, manifest.state())) {
    PhaseLine::up_to_date("collect");
    return false;
  }
  PhaseLine line("collect");
  std::string key = collect_key(options.collect, manifest.state());
  KPGO_TRY_BIND(
      collected,
      collect_profiles(options.collect, runner, manifest).map_error(context("phase collect")));
  if (!collected->failed.empty()) {
    std::string reasons;
    for (const auto& run : collected->failed) {
      reasons += fmt::format("\n  {} run {}: {}", run.machine, run.run, run.problem);
    }
    Error error{fmt::format("{} of {} runs failed:{}", collected->failed.size(),
                            collected->failed.size() + collected->kept.size(), reasons),
                {"phase collect"}};
    return tl::unexpected(std::move(error));
  }
  manifest.state().collect->inputs_key = key;
  KPGO_TRY(manifest.save());
  line.done();
  return true;
}

// Whether the merge is up to date is for merge_workdir_profiles to find out.
Result<bool> merge_phase(profile::BackendSet& backends, Manifest& manifest) {
  PhaseLine line("merge");
  KPGO_TRY_BIND(merged,
                merge_workdir_profiles(manifest, backends).map_error(context("phase merge")));
  line.done();
  return merged->merged;
}

// The optimized kernel as the state records it, for a run that found it up to date.
OptimizeOutcome recorded_outcome(const OptimizeState& optimized) {
  OptimizeOutcome outcome;
  outcome.bzimage = optimized.artifacts.bzimage;
  outcome.vmlinux = optimized.artifacts.vmlinux;
  outcome.profdata = optimized.profile;
  outcome.booted = !optimized.booted.empty();
  outcome.report = optimized.report.value_or(MatchReport{});
  outcome.layout = optimized.layout;
  outcome.promoted_calls = optimized.promoted_indirect_calls;
  return outcome;
}

Result<bool> optimize_phase(const PipelineOptions& options, ProcessRunner& runner,
                            profile::BackendSet& backends, Manifest& manifest,
                            OptimizeOutcome& outcome) {
  if (optimize_up_to_date(options, manifest.state())) {
    PhaseLine::up_to_date("optimize");
    outcome = recorded_outcome(*manifest.state().optimize);
    return false;
  }
  PhaseLine line("optimize");
  std::string key = optimize_key(options.optimize, manifest.state());
  KPGO_TRY_BIND(
      built,
      optimize(options.optimize, runner, backends, manifest).map_error(context("phase optimize")));
  outcome = *built;
  manifest.state().optimize->inputs_key = key;
  KPGO_TRY(manifest.save());
  line.done();
  return true;
}

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, ProcessRunner& runner,
                                     profile::BackendSet& backends, Manifest& manifest) {
  PipelineOutcome outcome;
  KPGO_TRY_BIND(instrumented, instrument_phase(options, runner, manifest));
  outcome.phases.push_back({"instrument", *instrumented});
  KPGO_TRY_BIND(collected, collect_phase(options, runner, manifest));
  outcome.phases.push_back({"collect", *collected});
  outcome.profiles = manifest.state().profiles().size();
  KPGO_TRY_BIND(merged, merge_phase(backends, manifest));
  outcome.phases.push_back({"merge", *merged});
  KPGO_TRY_BIND(optimized, optimize_phase(options, runner, backends, manifest, outcome.optimized));
  outcome.phases.push_back({"optimize", *optimized});
  return outcome;
}

Result<std::vector<PlannedPhase>> plan_pipeline(const PipelineOptions& options,
                                                ProcessRunner& runner,
                                                profile::BackendSet& backends, Manifest& manifest) {
  std::vector<PlannedPhase> plan;
  bool instrument_runs = !instrument_up_to_date(options, manifest.state());
  PlannedPhase instrument{"instrument", instrument_runs, "", {}};
  if (instrument_runs) {
    InstrumentOptions dry = options.instrument;
    dry.dry_run = true;
    KPGO_TRY_BIND(outcome, instrument_kernel(dry, runner, manifest));
    instrument.commands = outcome->commands;
  }
  plan.push_back(instrument);

  // A new kernel makes every profile of the old one useless.
  bool collect_runs = instrument_runs || !collect_up_to_date(options, manifest.state());
  const auto& c = options.collect;
  std::string where = c.kind == targets::TargetKind::qemu
                          ? "a QEMU guest of the instrumented kernel"
                      : c.kind == targets::TargetKind::ssh
                          ? fmt::format("{} over ssh", fmt::join(c.ssh_hosts, ", "))
                          : "this machine";
  plan.push_back({"collect",
                  collect_runs,
                  fmt::format("reset the counters, run workload {} ({}) {} times on {}, take each "
                              "profile out and check it against the instrumented vmlinux",
                              c.workload.name, c.workload.script.string(), c.runs, where),
                  {}});

  fs::path merged = manifest.workdir() / "vmlinux.profdata";
  const auto& merge = manifest.state().merge;
  bool merge_runs = collect_runs || !merge || merge->sha256 != file_hash(merged);
  plan.push_back({"merge",
                  merge_runs,
                  fmt::format("merge the collected profiles into {} with the LLVM of the "
                              "instrumenting clang",
                              merged.string()),
                  {}});

  bool optimize_runs = merge_runs || !optimize_up_to_date(options, manifest.state());
  PlannedPhase optimize_phase{"optimize", optimize_runs, "", {}};
  if (optimize_runs && !instrument_runs) {
    OptimizeOptions dry = options.optimize;
    dry.dry_run = true;
    KPGO_TRY_BIND(outcome, optimize(dry, runner, backends, manifest));
    optimize_phase.commands = outcome->commands;
  } else if (optimize_runs) {
    optimize_phase.what =
        "rebuild the kernel from the instrumented build's source and .config with "
        "-fprofile-use (its make commands are known once the instrumented build "
        "exists: kpgo optimize --dry-run)";
  }
  plan.push_back(optimize_phase);
  return plan;
}

}  // namespace kpgo::pipeline
