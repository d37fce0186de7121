// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/artifacts.hpp"

#include <fstream>

#include "kpgo/kernel/modules.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

class Collector {
 public:
  explicit Collector(const fs::path& workdir) : workdir_(workdir) {}

  // A file or directory the stage needs: must exist.
  Result<> add(const fs::path& path, const std::string& what) {
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec))
      return fail("{} {} is missing", what, path.empty() ? "(none recorded)" : path.string());
    if (auto inside = path_inside(path, workdir_)) {
      files.push_back(*inside);
    } else {
      outside.push_back(fs::absolute(path).lexically_normal());
    }
    return {};
  }

  std::vector<fs::path> files{"kpgo.json"};
  std::vector<fs::path> outside;

 private:
  fs::path workdir_;
};

Result<const InstrumentState*> instrumented(const State& state) {
  if (!state.instrumented())
    return fail("the workdir has no finished instrumented kernel: run kpgo instrument first");
  return state.instrumented();
}

Result<> add_collect(const State& state, Collector& collector) {
  KPGO_TRY_BIND(instrument, instrumented(state));
  KPGO_TRY(collector.add((*instrument)->artifacts.bzimage, "the instrumented kernel's image"));
  if (!(*instrument)->modules.empty())
    KPGO_TRY(collector.add((*instrument)->modules_dir, "the instrumented modules' tree"));
  return {};
}

Result<> add_merge(const State& state, Collector& collector) {
  KPGO_TRY(instrumented(state));
  if (state.profiles().empty()) return fail("the workdir has no profiles: run kpgo collect first");
  for (const auto& profile : state.profiles())
    KPGO_TRY(collector.add(profile.path, "the collected profile"));
  return {};
}

// The merged profile only when there is one: an instrument job hands this over before any
// profile exists, and the optimize job is then given the merge job's with --profile.
Result<> add_optimize(const State& state, Collector& collector) {
  KPGO_TRY_BIND(instrument, instrumented(state));
  KPGO_TRY(collector.add((*instrument)->source, "the kernel source"));
  KPGO_TRY(collector.add((*instrument)->artifacts.config, "the instrumented build's .config"));
  KPGO_TRY(collector.add((*instrument)->build_dir / "System.map", "the instrumented System.map"));
  if (state.merge) KPGO_TRY(collector.add(state.merge->output, "the merged profile"));
  if (state.cs && !state.cs->finished.empty())
    KPGO_TRY(collector.add(state.cs->profile, "the CSPGO profile"));
  return {};
}

Result<> add_bench(const State& state, Collector& collector) {
  KPGO_TRY(add_optimize(state, collector));
  if (!state.optimize || state.optimize->finished.empty())
    return fail("the workdir has no optimized kernel: run kpgo optimize first");
  const auto& optimized = *state.optimize;
  KPGO_TRY(collector.add(optimized.artifacts.bzimage, "the optimized kernel's image"));
  KPGO_TRY(collector.add(optimized.build_dir / "vmlinux.o", "the optimized vmlinux.o"));
  KPGO_TRY(collector.add(optimized.profile, "the profile the optimized kernel was built with"));
  fs::path modules = kernel::staged_modules_dir(optimized.build_dir);
  std::error_code ec;
  if (fs::exists(modules, ec)) KPGO_TRY(collector.add(modules, "the optimized modules' tree"));
  return {};
}

}  // namespace

Result<Stage> parse_stage(std::string_view name) {
  for (Stage stage : {Stage::collect, Stage::merge, Stage::optimize, Stage::bench}) {
    if (stage_name(stage) == name) return stage;
  }
  return fail("--stage {}: not a stage; use collect, merge, optimize or bench", name);
}

std::string stage_name(Stage stage) {
  switch (stage) {
    case Stage::collect:
      return "collect";
    case Stage::merge:
      return "merge";
    case Stage::optimize:
      return "optimize";
    case Stage::bench:
      return "bench";
  }
  return "?";
}

Result<StageArtifacts> stage_artifacts(const Manifest& manifest, Stage stage) {
  Collector collector(manifest.workdir());
  const State& state = manifest.state();
  Result<> added = stage == Stage::collect    ? add_collect(state, collector)
                   : stage == Stage::merge    ? add_merge(state, collector)
                   : stage == Stage::optimize ? add_optimize(state, collector)
                                              : add_bench(state, collector);
  if (!added) {
    return fail("{}: what a {} job needs: {}", manifest.path().string(), stage_name(stage),
                added.error().what());
  }
  return StageArtifacts{stage, std::move(collector.files), std::move(collector.outside)};
}

State stage_state(const State& state, Stage stage) {
  State kept;
  kept.instrument = state.instrument;
  if (stage == Stage::merge) kept.collect = state.collect;
  if (stage == Stage::optimize || stage == Stage::bench) {
    kept.merge = state.merge;
    kept.cs = state.cs;
  }
  if (stage == Stage::bench) kept.optimize = state.optimize;
  return kept;
}

namespace {

// The later stages' sections of `from`, where `into` lacks them.
std::vector<std::string> keep_later_sections(const State& from, State& into) {
  std::vector<std::string> kept;
  auto keep = [&kept](const auto& section, auto& target, const char* name) {
    if (section && !target) {
      target = section;
      kept.push_back(name);
    }
  };
  keep(from.collect, into.collect, "collect");
  keep(from.merge, into.merge, "merge");
  keep(from.cs, into.cs, "cs");
  keep(from.optimize, into.optimize, "optimize");
  keep(from.baseline, into.baseline, "baseline");
  keep(from.bench, into.bench, "bench");
  if (!from.variant_builds.empty() && into.variant_builds.empty()) {
    into.variant_builds = from.variant_builds;
    kept.push_back("variant_builds");
  }
  return kept;
}

}  // namespace

Result<UnpackOutcome> unpack_artifacts(const fs::path& archive, const fs::path& workdir,
                                       ProcessRunner& runner) {
  std::error_code ec;
  if (!fs::is_regular_file(archive, ec)) return fail("{}: no such archive", archive.string());
  fs::create_directories(workdir, ec);
  if (ec) return fail("cannot create {}: {}", workdir.string(), ec.message());
  KPGO_TRY_BIND(current, Manifest::load(workdir));
  // The archive's kpgo.json beside the workdir's until the two are reconciled.
  KPGO_TRY_BIND(state_file, TemporaryFile::create("kpgo-unpack"));
  Command state{{"tar", "-xOf", archive.string(), "kpgo.json"}};
  state.stdout_file = state_file->path();
  KPGO_TRY_BIND(read, runner.capture(state));
  if (!read->succeeded())
    return fail("{}: not an archive of kpgo artifacts (no kpgo.json): tar: {}", archive.string(),
                read->err);
  KPGO_TRY_BIND(
      unpacked,
      Manifest::load_file(state_file->path(), workdir).map_error(context(archive.string())));
  KPGO_TRY_BIND(files, runner.capture({{"tar", "-xf", archive.string(), "-C", workdir.string(),
                                        "--anchored", "--exclude=kpgo.json"}}));
  if (!files->succeeded()) return fail("cannot unpack {}: tar: {}", archive.string(), files->err);

  UnpackOutcome outcome;
  const InstrumentState* ours = current->state().instrumented();
  const InstrumentState* theirs = unpacked->state().instrumented();
  if (ours && theirs && !theirs->vmlinux_build_id.empty() &&
      ours->vmlinux_build_id == theirs->vmlinux_build_id) {
    outcome.kept_sections = keep_later_sections(current->state(), unpacked->state());
  }
  KPGO_TRY(unpacked->save());
  return outcome;
}

Result<> pack_artifacts(const StageArtifacts& artifacts, const Manifest& manifest,
                        const fs::path& archive, ProcessRunner& runner) {
  // The stage's kpgo.json, from a temporary file renamed as tar stores it.
  KPGO_TRY_BIND(state_file, TemporaryFile::create("kpgo-artifacts"));
  {
    std::ofstream out(state_file->path());
    out << manifest.text_of(stage_state(manifest.state(), artifacts.stage));
    if (!out.flush()) return fail("cannot write {}", state_file->path().string());
  }
  std::string name = state_file->path().filename().string();
  KPGO_TRY_BIND(file, AtomicFile::create(archive));
  Command tar{{"tar", "-cf", file->temp_path().string(), "--transform=s|^" + name + "$|kpgo.json|",
               "-C", state_file->path().parent_path().string(), name,
               // absolute: tar takes a relative -C from the one before
               "-C", fs::absolute(manifest.workdir()).string()}};
  for (const auto& path : artifacts.files) {
    if (path != "kpgo.json") tar.argv.push_back(path.string());
  }
  KPGO_TRY_BIND(output, runner.capture(tar));
  if (!output->succeeded()) return fail("cannot write {}: tar: {}", archive.string(), output->err);
  return file->commit();
}

}  // namespace kpgo::pipeline
