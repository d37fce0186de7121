// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/run.hpp"

#include <chrono>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "kpgo/kernel/source.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

// The sha256 of the profile the optimize phase builds with, once merge (and CSPGO's stage 2)
// made it: the given one, else the workdir's merged profile.
std::string optimize_profile_sha256(const OptimizeOptions& options, const State& state) {
  if (options.profile) return sha256_key(*options.profile);
  return state.merge ? state.merge->sha256 : "";
}

bool optimize_up_to_date(const PipelineOptions& options, const State& state) {
  return optimize_up_to_date(options.optimize, state,
                             optimize_profile_sha256(options.optimize, state));
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
Result<bool> instrument_phase(const char* name, const InstrumentOptions& options,
                              ProcessRunner& runner, Manifest& manifest) {
  State& state = manifest.state();
  if (instrument_up_to_date(options, state)) {
    PhaseLine::up_to_date(name);
    return false;
  }
  PhaseLine line(name);
  // instrument_kernel forgets the profiles of a previous kernel of another build ID.
  KPGO_TRY(instrument_kernel(options, runner, manifest)
               .map_error(context(std::string("phase ") + name)));
  KPGO_TRY(manifest.save());
  line.done();
  return true;
}

Result<bool> collect_phase(const char* name, const CollectOptions& options, ProcessRunner& runner,
                           Manifest& manifest) {
  if (collect_up_to_date(options, manifest.state())) {
    PhaseLine::up_to_date(name);
    return false;
  }
  PhaseLine line(name);
  KPGO_TRY_BIND(
      collected,
      collect_profiles(options, runner, manifest).map_error(context(std::string("phase ") + name)));
  if (!collected->failed.empty()) {
    std::string reasons;
    for (const auto& run : collected->failed) {
      reasons += fmt::format("\n  {} run {}: {}", run.machine, run.run, run.problem);
    }
    Error error{fmt::format("{} of {} runs failed:{}", collected->failed.size(),
                            collected->failed.size() + collected->kept.size(), reasons),
                {std::string("phase ") + name}};
    return tl::unexpected(std::move(error));
  }
  line.done();
  return true;
}

// Whether the merge is up to date is for merge_workdir_profiles to find out.
Result<bool> merge_phase(const char* name, profile::BackendSet& backends, Manifest& manifest,
                         const std::optional<MergedInput>& base = {}) {
  PhaseLine line(name);
  KPGO_TRY_BIND(merged, merge_workdir_profiles(manifest, backends, base)
                            .map_error(context(std::string("phase ") + name)));
  line.done();
  return merged->merged;
}

// Stage 2 of context-sensitive PGO, in WORKDIR/cs: a kernel from the same tree and .config,
// optimized with the stage-1 profile and instrumented again after inlining (kpgo's support
// does that for make PGO_CLANG_CS_BASE=...).
InstrumentOptions cs_instrument_options(const InstrumentOptions& stage1,
                                        const InstrumentState& built, const fs::path& base) {
  InstrumentOptions cs = stage1;
  cs.source = built.source;
  cs.workdir = fs::path(stage1.workdir) / "cs";
  cs.config = built.artifacts.config;
  cs.fragments.clear();
  cs.localmod.reset();
  cs.make_args.push_back("PGO_CLANG_CS_BASE=" + fs::absolute(base).string());
  return cs;
}

Result<> check_cs_support(const InstrumentState& built) {
  if (kernel::has_cs_stage(built.source)) return {};
  return fail(
      "--cs: {} has no stage 2 of context-sensitive PGO (make PGO_CLANG_CS_BASE=): its clang "
      "PGO support is {} and predates it; nothing was built",
      built.source.string(), built.support == "kpgo" ? "an older kpgo's" : "the tree's own");
}

// Builds, collects and merges stage 2, each skipped when up to date; returns the merged
// profile of both stages, which the optimized build uses.
Result<fs::path> cs_stage(const PipelineOptions& options, ProcessRunner& runner,
                          profile::BackendSet& backends, Manifest& manifest,
                          PipelineOutcome& outcome) {
  const State& state = manifest.state();
  KPGO_TRY(check_cs_support(*state.instrument));
  KPGO_TRY_BIND(base, store_by_content(state.merge->output, manifest.workdir(), false));
  InstrumentOptions build =
      cs_instrument_options(options.instrument, *state.instrument, base->path);
  KPGO_TRY_BIND(cs_manifest, Manifest::load(build.workdir));
  KPGO_TRY_BIND(built, instrument_phase("cs-instrument", build, runner, *cs_manifest));
  outcome.phases.push_back({"cs-instrument", *built});
  KPGO_TRY_BIND(collected, collect_phase("cs-collect", options.collect, runner, *cs_manifest));
  outcome.phases.push_back({"cs-collect", *collected});
  MergedInput stage1{base->path, base->sha256, 1};
  KPGO_TRY_BIND(merged, merge_phase("cs-merge", backends, *cs_manifest, stage1));
  outcome.phases.push_back({"cs-merge", *merged});
  const MergeState& merge = *cs_manifest->state().merge;
  manifest.state().cs =
      CsState{build.workdir, base->path, base->sha256, merge.output, merge.sha256, utc_timestamp()};
  KPGO_TRY(manifest.save());
  return merge.output;
}

Result<bool> optimize_phase(const PipelineOptions& options, ProcessRunner& runner,
                            profile::BackendSet& backends, Manifest& manifest,
                            OptimizeOutcome& outcome) {
  // Hashed once: a given profile is read whole for it.
  std::string profile_sha256 = optimize_profile_sha256(options.optimize, manifest.state());
  if (optimize_up_to_date(options.optimize, manifest.state(), profile_sha256)) {
    PhaseLine::up_to_date("optimize");
    KPGO_TRY_BIND(recorded, recorded_optimize_outcome(manifest, profile_sha256));
    outcome = *recorded;
    return false;
  }
  PhaseLine line("optimize");
  KPGO_TRY_BIND(
      built,
      optimize(options.optimize, runner, backends, manifest).map_error(context("phase optimize")));
  outcome = *built;
  line.done();
  return true;
}

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, ProcessRunner& runner,
                                     profile::BackendSet& backends, Manifest& manifest) {
  PipelineOutcome outcome;
  KPGO_TRY_BIND(instrumented, instrument_phase("instrument", options.instrument, runner, manifest));
  outcome.phases.push_back({"instrument", *instrumented});
  KPGO_TRY_BIND(collected, collect_phase("collect", options.collect, runner, manifest));
  outcome.phases.push_back({"collect", *collected});
  outcome.profiles = manifest.state().profiles().size();
  KPGO_TRY_BIND(merged, merge_phase("merge", backends, manifest));
  outcome.phases.push_back({"merge", *merged});
  PipelineOptions final_build = options;
  if (options.cs) {
    KPGO_TRY_BIND(combined, cs_stage(options, runner, backends, manifest, outcome));
    final_build.optimize.profile = *combined;
  } else {
    manifest.state().cs.reset();
  }
  KPGO_TRY_BIND(optimized,
                optimize_phase(final_build, runner, backends, manifest, outcome.optimized));
  outcome.phases.push_back({"optimize", *optimized});
  return outcome;
}

namespace {

// Stage 2 of CSPGO in a plan: it runs again when stage 1's profile changed or it never finished.
bool plan_cs_stage(const PipelineOptions& options, const Manifest& manifest, bool merge_runs,
                   std::vector<PlannedPhase>& plan) {
  const auto& merge = manifest.state().merge;
  bool runs = merge_runs || !merge || !current_cs_profile(manifest.state(), merge->sha256);
  fs::path workdir = manifest.workdir() / "cs";
  plan.push_back(
      {"cs-instrument",
       runs,
       fmt::format("build {} from the same tree and .config, optimized with the "
                   "stage-1 profile and instrumented after inlining (make "
                   "PGO_CLANG_CS_BASE={}/profdata/SHA.profdata)",
                   (workdir / "build-instrumented").string(), manifest.workdir().string()),
       {}});
  plan.push_back({"cs-collect",
                  runs,
                  fmt::format("run workload {} {} times on the stage-2 kernel, as collect did",
                              options.collect.workload.name, options.collect.runs),
                  {}});
  plan.push_back({"cs-merge",
                  runs,
                  fmt::format("merge the stage-1 profile and the stage-2 profiles into {}, the "
                              "profile of the optimized build",
                              (workdir / "vmlinux.profdata").string()),
                  {}});
  return runs;
}

}  // namespace

Result<std::vector<PlannedPhase>> plan_pipeline(const PipelineOptions& options,
                                                ProcessRunner& runner,
                                                profile::BackendSet& backends, Manifest& manifest) {
  std::vector<PlannedPhase> plan;
  bool instrument_runs = !instrument_up_to_date(options.instrument, manifest.state());
  PlannedPhase instrument{"instrument", instrument_runs, "", {}};
  if (instrument_runs) {
    InstrumentOptions dry = options.instrument;
    dry.dry_run = true;
    KPGO_TRY_BIND(outcome, instrument_kernel(dry, runner, manifest));
    instrument.commands = outcome->commands;
  }
  plan.push_back(instrument);

  // A new kernel makes every profile of the old one useless.
  bool collect_runs = instrument_runs || !collect_up_to_date(options.collect, manifest.state());
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
  bool merge_runs = collect_runs || !merge || merge->sha256 != sha256_key(merged);
  plan.push_back({"merge",
                  merge_runs,
                  fmt::format("merge the collected profiles into {} with the LLVM of the "
                              "instrumenting clang",
                              merged.string()),
                  {}});

  PipelineOptions final_build = options;
  bool cs_runs = false;
  if (options.cs) {
    cs_runs = plan_cs_stage(options, manifest, merge_runs, plan);
    final_build.optimize.profile = manifest.workdir() / "cs" / "vmlinux.profdata";
  }
  bool optimize_runs = merge_runs || cs_runs || !optimize_up_to_date(final_build, manifest.state());
  PlannedPhase optimize_phase{"optimize", optimize_runs, "", {}};
  if (optimize_runs && !instrument_runs && !cs_runs) {
    OptimizeOptions dry = final_build.optimize;
    dry.dry_run = true;
    KPGO_TRY_BIND(outcome, optimize(dry, runner, backends, manifest));
    optimize_phase.commands = outcome->commands;
  } else if (optimize_runs && cs_runs) {
    optimize_phase.what =
        "rebuild the kernel from the instrumented build's source and .config with "
        "-fprofile-use of both stages' merged profile (with LTO also given to the link)";
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
