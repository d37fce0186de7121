// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/state.hpp"

#include <chrono>
#include <climits>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Reading: every field is checked for its type and named by its dotted path when it is wrong.
// A field may be missing (it keeps its default) unless a finished phase needs it: those are the
// ones later phases cannot do without.
namespace {

Result<> wrong_type(const json& value, const std::string& at, const char* wanted) {
  return fail("{} is {}, not {}", at, value.type_name(), wanted);
}

Result<> read(const json& value, const std::string& at, std::string& out) {
  if (!value.is_string()) return wrong_type(value, at, "a string");
  out = value.get<std::string>();
  return {};
}

// Paths inside the workdir are written relative to it, so that the workdir can move (a CI job
// unpacks another job's workdir somewhere else) and stay valid; paths outside stay absolute.
// The manifest being read or written sets the workdir (absolute) for its duration.
thread_local const fs::path* t_workdir = nullptr;

class WorkdirPaths {
 public:
  explicit WorkdirPaths(const fs::path& workdir)
      : workdir_(fs::absolute(workdir).lexically_normal()) {
    t_workdir = &workdir_;
  }
  ~WorkdirPaths() { t_workdir = nullptr; }
  WorkdirPaths(const WorkdirPaths&) = delete;
  WorkdirPaths& operator=(const WorkdirPaths&) = delete;

 private:
  fs::path workdir_;
};

std::string stored(const fs::path& path) {
  if (path.empty() || !t_workdir) return path.string();
  auto inside = path_inside(path, *t_workdir);
  return inside ? inside->string() : fs::absolute(path).lexically_normal().string();
}

Result<> read(const json& value, const std::string& at, fs::path& out) {
  if (!value.is_string()) return wrong_type(value, at, "a string");
  out = value.get<std::string>();
  if (t_workdir && out.is_relative() && !out.empty())
    out = out == "." ? *t_workdir : *t_workdir / out;
  return {};
}

Result<> read(const json& value, const std::string& at, bool& out) {
  if (!value.is_boolean()) return wrong_type(value, at, "true or false");
  out = value.get<bool>();
  return {};
}

Result<> read(const json& value, const std::string& at, double& out) {
  if (!value.is_number()) return wrong_type(value, at, "a number");
  out = value.get<double>();
  return {};
}

Result<> read(const json& value, const std::string& at, uint64_t& out) {
  if (!value.is_number()) return wrong_type(value, at, "a number");
  if (!value.is_number_unsigned())
    return fail("{} is {}, not a whole number of at least 0", at, value.dump());
  out = value.get<uint64_t>();
  return {};
}

Result<> read(const json& value, const std::string& at, std::optional<uint64_t>& out) {
  uint64_t present = 0;
  KPGO_TRY(read(value, at, present));
  out = present;
  return {};
}

Result<> read(const json& value, const std::string& at, unsigned& out) {
  uint64_t wide = 0;
  KPGO_TRY(read(value, at, wide));
  if (wide > UINT_MAX) return fail("{} is {}, too large", at, wide);
  out = static_cast<unsigned>(wide);
  return {};
}

Result<> expect_object(const json& value, const std::string& at) {
  if (!value.is_object()) return wrong_type(value, at, "an object");
  return {};
}

// Declared before field() uses them: the records refer to each other.
template <typename T>
Result<> read(const json& value, const std::string& at, std::vector<T>& out);
Result<> read(const json& value, const std::string& at, LlvmState& out);
Result<> read(const json& value, const std::string& at, InstrumentArtifacts& out);
Result<> read(const json& value, const std::string& at, KernelArtifacts& out);
Result<> read(const json& value, const std::string& at, kernel::BuildCost& out);
Result<> read(const json& value, const std::string& at, kernel::TextLayout& out);
Result<> read(const json& value, const std::string& at, ModuleState& out);
Result<> read(const json& value, const std::string& at, InstrumentState& out);
Result<> read(const json& value, const std::string& at, CollectedProfile& out);
Result<> read(const json& value, const std::string& at, CollectState& out);
Result<> read(const json& value, const std::string& at, MergedInput& out);
Result<> read(const json& value, const std::string& at, MergeState& out);
Result<> read(const json& value, const std::string& at, std::optional<MatchReport>& out);
Result<> read(const json& value, const std::string& at, BinaryMatch& out);
Result<> read(const json& value, const std::string& at, OptimizeState& out);
Result<> read(const json& value, const std::string& at, BaselineState& out);
Result<> read(const json& value, const std::string& at, BenchMetric& out);
Result<> read(const json& value, const std::string& at, BenchVariantState& out);
Result<> read(const json& value, const std::string& at, BenchComparison& out);
Result<> read(const json& value, const std::string& at, BenchWorkloadState& out);
Result<> read(const json& value, const std::string& at, BenchState& out);
Result<> read(const json& value, const std::string& at, VariantBuildState& out);

template <typename T>
Result<> field(const json& object, const std::string& at, const char* key, T& out,
               bool needed = false) {
  std::string path = at.empty() ? key : at + "." + key;
  auto it = object.find(key);
  if (it == object.end()) {
    if (needed) return fail("{} is missing", path);
    return {};
  }
  return read(*it, path, out);
}

Result<> read(const json& value, const std::string& at, LlvmState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "value", out.value));
  KPGO_TRY(field(value, at, "clang", out.clang));
  KPGO_TRY(field(value, at, "major", out.major));
  KPGO_TRY(field(value, at, "raw_version", out.raw_version));
  return field(value, at, "merge_backend", out.merge_backend);
}

Result<> read(const json& value, const std::string& at, InstrumentArtifacts& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "vmlinux", out.vmlinux));
  KPGO_TRY(field(value, at, "bzImage", out.bzimage));
  KPGO_TRY(field(value, at, "config", out.config));
  return field(value, at, "log", out.log);
}

Result<> read(const json& value, const std::string& at, KernelArtifacts& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "vmlinux", out.vmlinux));
  KPGO_TRY(field(value, at, "bzImage", out.bzimage));
  return field(value, at, "log", out.log);
}

Result<> read(const json& value, const std::string& at, kernel::TextLayout& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "functions", out.functions));
  KPGO_TRY(field(value, at, "hot", out.hot));
  return field(value, at, "unlikely", out.unlikely);
}

Result<> read(const json& value, const std::string& at, ModuleState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "name", out.name, true));
  KPGO_TRY(field(value, at, "file", out.file));
  KPGO_TRY(field(value, at, "instrumented_functions", out.instrumented_functions));
  return field(value, at, "build_id", out.build_id, true);
}

Result<> read(const json& value, const std::string& at, InstrumentState& out) {
  KPGO_TRY(expect_object(value, at));
  bool finished = value.contains("finished");
  KPGO_TRY(field(value, at, "started", out.started));
  KPGO_TRY(field(value, at, "finished", out.finished));
  KPGO_TRY(field(value, at, "source", out.source));
  KPGO_TRY(field(value, at, "kernel_version", out.kernel_version));
  KPGO_TRY(field(value, at, "support", out.support));
  KPGO_TRY(field(value, at, "arch", out.arch));
  KPGO_TRY(field(value, at, "llvm", out.llvm, finished));
  KPGO_TRY(field(value, at, "atomic_counters", out.atomic_counters));
  KPGO_TRY(field(value, at, "lto", out.lto));
  KPGO_TRY(field(value, at, "config_sha256", out.config_sha256));
  KPGO_TRY(field(value, at, "build_dir", out.build_dir));
  KPGO_TRY(field(value, at, "artifacts", out.artifacts, finished));
  KPGO_TRY(field(value, at, "build_cost", out.build_cost));
  KPGO_TRY(field(value, at, "vmlinux_build_id", out.vmlinux_build_id));
  KPGO_TRY(field(value, at, "modules", out.modules));
  KPGO_TRY(field(value, at, "modules_dir", out.modules_dir));
  KPGO_TRY(field(value, at, "commands", out.commands));
  return field(value, at, "inputs_key", out.inputs_key);
}

Result<> read(const json& value, const std::string& at, kernel::BuildCost& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "seconds", out.seconds));
  return field(value, at, "peak_memory_kib", out.peak_memory_kib);
}

Result<> read(const json& value, const std::string& at, CollectedProfile& out) {
  KPGO_TRY(expect_object(value, at));
  // The merge and the resume keys read every entry back: it must say what and which bytes.
  KPGO_TRY(field(value, at, "path", out.path, true));
  KPGO_TRY(field(value, at, "sha256", out.sha256, true));
  KPGO_TRY(field(value, at, "binary", out.binary));
  KPGO_TRY(field(value, at, "label", out.label));
  KPGO_TRY(field(value, at, "weight", out.weight));
  KPGO_TRY(field(value, at, "target", out.target));
  KPGO_TRY(field(value, at, "run", out.run));
  KPGO_TRY(field(value, at, "size", out.size));
  KPGO_TRY(field(value, at, "kernel_release", out.kernel_release));
  KPGO_TRY(field(value, at, "seconds", out.seconds));
  KPGO_TRY(field(value, at, "workload", out.workload));
  KPGO_TRY(field(value, at, "collected", out.collected));
  return field(value, at, "inputs_key", out.inputs_key);
}

Result<> read(const json& value, const std::string& at, CollectState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "profiles", out.profiles));
  return field(value, at, "updated", out.updated);
}

Result<> read(const json& value, const std::string& at, MergedInput& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "path", out.path, true));
  KPGO_TRY(field(value, at, "sha256", out.sha256));
  return field(value, at, "weight", out.weight);
}

Result<> read(const json& value, const std::string& at, MergeState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "inputs", out.inputs));
  KPGO_TRY(field(value, at, "output", out.output));
  KPGO_TRY(field(value, at, "sha256", out.sha256));
  KPGO_TRY(field(value, at, "llvm", out.llvm));
  KPGO_TRY(field(value, at, "functions", out.functions));
  KPGO_TRY(field(value, at, "functions_with_counts", out.functions_with_counts));
  return field(value, at, "finished", out.finished);
}

Result<> read(const json& value, const std::string& at, BinaryMatch& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "binary", out.binary, true));
  KPGO_TRY(field(value, at, "functions", out.functions));
  KPGO_TRY(field(value, at, "matched", out.matched));
  KPGO_TRY(field(value, at, "stale", out.stale));
  KPGO_TRY(field(value, at, "without_data", out.without_data));
  return field(value, at, "layout", out.layout);
}

Result<> read(const json& value, const std::string& at, MatchReport& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "binaries", out.binaries));
  KPGO_TRY(field(value, at, "functions", out.functions));
  KPGO_TRY(field(value, at, "matched", out.matched));
  KPGO_TRY(field(value, at, "stale", out.stale));
  KPGO_TRY(field(value, at, "without_data", out.without_data));
  KPGO_TRY(field(value, at, "hot", out.hot));
  return field(value, at, "hot_matched", out.hot_matched);
}

Result<> read(const json& value, const std::string& at, std::optional<MatchReport>& out) {
  out.emplace();
  return read(value, at, *out);
}

Result<> read(const json& value, const std::string& at, OptimizeState& out) {
  KPGO_TRY(expect_object(value, at));
  bool finished = value.contains("finished");
  KPGO_TRY(field(value, at, "profile", out.profile));
  KPGO_TRY(field(value, at, "profile_sha256", out.profile_sha256));
  KPGO_TRY(field(value, at, "given_sha256", out.given_sha256));
  KPGO_TRY(field(value, at, "build_dir", out.build_dir));
  KPGO_TRY(field(value, at, "artifacts", out.artifacts, finished));
  KPGO_TRY(field(value, at, "report", out.report));
  KPGO_TRY(field(value, at, "layout", out.layout));
  if (auto layout = value.find("layout"); layout != value.end()) {
    KPGO_TRY(
        field(*layout, at + ".layout", "promoted_indirect_calls", out.promoted_indirect_calls));
  }
  KPGO_TRY(field(value, at, "commands", out.commands));
  KPGO_TRY(field(value, at, "build_cost", out.build_cost));
  KPGO_TRY(field(value, at, "config_input", out.config_input));
  KPGO_TRY(field(value, at, "lto", out.lto));
  KPGO_TRY(field(value, at, "vmlinux_build_id", out.vmlinux_build_id));
  KPGO_TRY(field(value, at, "booted", out.booted));
  KPGO_TRY(field(value, at, "finished", out.finished));
  return field(value, at, "inputs_key", out.inputs_key);
}

Result<> read(const json& value, const std::string& at, CsState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "workdir", out.workdir, true));
  KPGO_TRY(field(value, at, "base", out.base));
  KPGO_TRY(field(value, at, "base_sha256", out.base_sha256));
  KPGO_TRY(field(value, at, "profile", out.profile));
  KPGO_TRY(field(value, at, "sha256", out.sha256));
  return field(value, at, "finished", out.finished);
}

Result<> read(const json& value, const std::string& at, BaselineState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "build_dir", out.build_dir));
  KPGO_TRY(field(value, at, "artifacts", out.artifacts, value.contains("finished")));
  KPGO_TRY(field(value, at, "build_cost", out.build_cost));
  KPGO_TRY(field(value, at, "config_input", out.config_input));
  KPGO_TRY(field(value, at, "lto", out.lto));
  return field(value, at, "finished", out.finished);
}

// Per-round figures are named by their unit: "baseline_instructions" or "baseline_wall_ns".
Result<> read(const json& value, const std::string& at, BenchMetric& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "name", out.name, true));
  KPGO_TRY(field(value, at, "unit", out.unit));
  return field(value, at, "what", out.what);
}

Result<> read(const json& value, const std::string& at, BenchVariantState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "name", out.name, true));
  KPGO_TRY(field(value, at, "lto", out.lto));
  KPGO_TRY(field(value, at, "profile", out.profile));
  KPGO_TRY(field(value, at, "profile_sha256", out.profile_sha256));
  KPGO_TRY(field(value, at, "build_dir", out.build_dir));
  KPGO_TRY(field(value, at, "layout", out.layout));
  KPGO_TRY(field(value, at, "promoted_indirect_calls", out.promoted_indirect_calls));
  KPGO_TRY(field(value, at, "build_cost", out.build_cost));
  return field(value, at, "boot_seconds", out.boot_seconds);
}

Result<> read(const json& value, const std::string& at, BenchComparison& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "variant", out.variant, true));
  return field(value, at, "against", out.against, true);
}

// figures: {METRIC: {VARIANT: [one figure per round]}}
Result<> read(const json& value, const std::string& at, BenchWorkloadState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "name", out.name, true));
  KPGO_TRY(field(value, at, "trained", out.trained));
  auto figures = value.find("figures");
  if (figures == value.end()) return {};
  std::string where = at + ".figures";
  KPGO_TRY(expect_object(*figures, where));
  for (const auto& [metric, variants] : figures->items()) {
    KPGO_TRY(expect_object(variants, where + "." + metric));
    for (const auto& [variant, rounds] : variants.items())
      KPGO_TRY(
          field(variants, where + "." + metric, variant.c_str(), out.figures[metric][variant]));
  }
  return {};
}

Result<> read(const json& value, const std::string& at, BenchState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "rounds", out.rounds));
  KPGO_TRY(field(value, at, "machine", out.machine));
  KPGO_TRY(field(value, at, "method", out.method));
  KPGO_TRY(field(value, at, "metrics", out.metrics));
  KPGO_TRY(field(value, at, "variants", out.variants));
  KPGO_TRY(field(value, at, "comparisons", out.comparisons));
  KPGO_TRY(field(value, at, "workloads", out.workloads));
  return field(value, at, "finished", out.finished);
}

Result<> read(const json& value, const std::string& at, VariantBuildState& out) {
  KPGO_TRY(expect_object(value, at));
  KPGO_TRY(field(value, at, "name", out.name, true));
  KPGO_TRY(field(value, at, "build_dir", out.build_dir));
  KPGO_TRY(field(value, at, "config_input", out.config_input));
  KPGO_TRY(field(value, at, "profile_sha256", out.profile_sha256));
  KPGO_TRY(field(value, at, "promoted_indirect_calls", out.promoted_indirect_calls));
  KPGO_TRY(field(value, at, "build_cost", out.build_cost));
  return field(value, at, "finished", out.finished);
}

template <typename T>
Result<> read(const json& value, const std::string& at, std::vector<T>& out) {
  if (!value.is_array()) return wrong_type(value, at, "an array");
  out.clear();
  for (size_t i = 0; i < value.size(); ++i) {
    T item{};
    KPGO_TRY(read(value[i], fmt::format("{}[{}]", at, i), item));
    out.push_back(std::move(item));
  }
  return {};
}

template <typename T>
Result<> section(const json& top, const char* key, std::optional<T>& out) {
  auto it = top.find(key);
  if (it == top.end()) return {};
  out.emplace();
  return read(*it, key, *out);
}

Result<> read_sections(const json& top, unsigned version, State& state) {
  KPGO_TRY(section(top, "instrument", state.instrument));
  KPGO_TRY(section(top, "collect", state.collect));
  KPGO_TRY(section(top, "merge", state.merge));
  KPGO_TRY(section(top, "cs", state.cs));
  KPGO_TRY(section(top, "optimize", state.optimize));
  KPGO_TRY(section(top, "baseline", state.baseline));
  KPGO_TRY(field(top, "", "variant_builds", state.variant_builds));
  // Versions 1 and 2 held a bench section of another layout (one figure per workload; then
  // baseline and pgo only); it is a record of a past measurement, not an input of any phase, so
  // it is dropped (bench makes a new one).
  if (version >= 3) KPGO_TRY(section(top, "bench", state.bench));
  return {};
}

Result<State> read_state(const json& top) {
  if (!top.is_object()) return fail("not a kpgo manifest (a JSON object)");
  unsigned version = 0;  // 0: from kpgo before the field; the same layout as version 1
  KPGO_TRY(field(top, "", "version", version));
  if (version > kStateVersion) {
    return fail(
        "written by a newer kpgo (state version {}; this kpgo reads up to {}): use that "
        "kpgo, or another --workdir",
        version, kStateVersion);
  }
  // Before version 4 a relative path was relative to kpgo's working directory, as given.
  const fs::path* workdir = t_workdir;
  if (version < 4) t_workdir = nullptr;
  State state;
  auto sections = read_sections(top, version, state);
  t_workdir = workdir;
  if (!sections) return tl::unexpected(sections.error());
  return state;
}

// Writing: the same names. Timestamps that mark an event ("finished", "booted") are written only
// once it happened.
void put_when(json& object, const char* key, const std::string& timestamp) {
  if (!timestamp.empty()) object[key] = timestamp;
}

json to_json(const kernel::BuildCost& cost) {
  return {{"seconds", cost.seconds}, {"peak_memory_kib", cost.peak_memory_kib}};
}

json layout_json(const kernel::TextLayout& layout) {
  return {{"functions", layout.functions}, {"hot", layout.hot}, {"unlikely", layout.unlikely}};
}

json to_json(const InstrumentState& s) {
  json modules = json::array();
  for (const auto& m : s.modules) {
    json module = {{"name", m.name}, {"file", stored(m.file)}, {"build_id", m.build_id}};
    if (m.instrumented_functions) module["instrumented_functions"] = *m.instrumented_functions;
    modules.push_back(std::move(module));
  }
  json out = {{"source", stored(s.source)},
              {"kernel_version", s.kernel_version},
              {"support", s.support},
              {"arch", s.arch},
              {"llvm",
               {{"value", s.llvm.value},
                {"clang", s.llvm.clang},
                {"major", s.llvm.major},
                {"raw_version", s.llvm.raw_version},
                {"merge_backend", s.llvm.merge_backend}}},
              {"atomic_counters", s.atomic_counters},
              {"lto", s.lto},
              {"config_sha256", s.config_sha256},
              {"build_dir", stored(s.build_dir)},
              {"artifacts",
               {{"vmlinux", stored(s.artifacts.vmlinux)},
                {"bzImage", stored(s.artifacts.bzimage)},
                {"config", stored(s.artifacts.config)},
                {"log", stored(s.artifacts.log)}}},
              {"build_cost", to_json(s.build_cost)},
              {"vmlinux_build_id", s.vmlinux_build_id},
              {"modules", modules},
              {"modules_dir", stored(s.modules_dir)},
              {"commands", s.commands},
              {"inputs_key", s.inputs_key}};
  put_when(out, "started", s.started);
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const CollectState& s) {
  json profiles = json::array();
  for (const auto& p : s.profiles) {
    profiles.push_back({{"path", stored(p.path)},
                        {"binary", p.binary},
                        {"label", p.label},
                        {"weight", p.weight},
                        {"target", p.target},
                        {"run", p.run},
                        {"size", p.size},
                        {"sha256", p.sha256},
                        {"kernel_release", p.kernel_release},
                        {"seconds", p.seconds},
                        {"workload", stored(p.workload)},
                        {"collected", p.collected},
                        {"inputs_key", p.inputs_key}});
  }
  return {{"profiles", profiles}, {"updated", s.updated}};
}

json to_json(const MergeState& s) {
  json inputs = json::array();
  for (const auto& input : s.inputs) {
    inputs.push_back(
        {{"path", stored(input.path)}, {"sha256", input.sha256}, {"weight", input.weight}});
  }
  json out = {{"inputs", inputs},         {"output", stored(s.output)},
              {"sha256", s.sha256},       {"llvm", s.llvm},
              {"functions", s.functions}, {"functions_with_counts", s.functions_with_counts}};
  put_when(out, "finished", s.finished);
  return out;
}

json artifacts_json(const KernelArtifacts& a) {
  return {{"vmlinux", stored(a.vmlinux)}, {"bzImage", stored(a.bzimage)}, {"log", stored(a.log)}};
}

json to_json(const kernel::TextLayout& l) {
  return {{"functions", l.functions}, {"hot", l.hot}, {"unlikely", l.unlikely}};
}

json to_json(const MatchReport& r) {
  json binaries = json::array();
  for (const auto& b : r.binaries) {
    binaries.push_back({{"binary", b.binary},
                        {"functions", b.functions},
                        {"matched", b.matched},
                        {"stale", b.stale},
                        {"without_data", b.without_data},
                        {"layout", to_json(b.layout)}});
  }
  return {{"functions", r.functions},
          {"matched", r.matched},
          {"stale", r.stale},
          {"without_data", r.without_data},
          {"hot", r.hot},
          {"hot_matched", r.hot_matched},
          {"binaries", binaries}};
}

json to_json(const OptimizeState& s) {
  json layout = layout_json(s.layout);
  layout["promoted_indirect_calls"] = s.promoted_indirect_calls;
  json out = {{"profile", stored(s.profile)},
              {"profile_sha256", s.profile_sha256},
              {"given_sha256", s.given_sha256},
              {"build_dir", stored(s.build_dir)},
              {"artifacts", artifacts_json(s.artifacts)},
              {"layout", layout},
              {"commands", s.commands},
              {"build_cost", to_json(s.build_cost)},
              {"config_input", s.config_input},
              {"lto", s.lto},
              {"vmlinux_build_id", s.vmlinux_build_id},
              {"inputs_key", s.inputs_key}};
  if (s.report) out["report"] = to_json(*s.report);
  put_when(out, "booted", s.booted);
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const CsState& s) {
  json out = {{"workdir", stored(s.workdir)},
              {"base", stored(s.base)},
              {"base_sha256", s.base_sha256},
              {"profile", stored(s.profile)},
              {"sha256", s.sha256}};
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const BaselineState& s) {
  json out = {{"build_dir", stored(s.build_dir)},
              {"artifacts", artifacts_json(s.artifacts)},
              {"build_cost", to_json(s.build_cost)},
              {"config_input", s.config_input},
              {"lto", s.lto}};
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const BenchState& s) {
  json metrics = json::array();
  for (const auto& m : s.metrics)
    metrics.push_back({{"name", m.name}, {"unit", m.unit}, {"what", m.what}});
  json variants = json::array();
  for (const auto& v : s.variants) {
    variants.push_back({{"name", v.name},
                        {"lto", v.lto},
                        {"profile", v.profile},
                        {"profile_sha256", v.profile_sha256},
                        {"build_dir", stored(v.build_dir)},
                        {"layout", layout_json(v.layout)},
                        {"promoted_indirect_calls", v.promoted_indirect_calls},
                        {"build_cost", to_json(v.build_cost)},
                        {"boot_seconds", v.boot_seconds}});
  }
  json comparisons = json::array();
  for (const auto& c : s.comparisons)
    comparisons.push_back({{"variant", c.variant}, {"against", c.against}});
  json workloads = json::array();
  for (const auto& w : s.workloads)
    workloads.push_back({{"name", w.name}, {"trained", w.trained}, {"figures", w.figures}});
  json out = {{"rounds", s.rounds},    {"machine", s.machine}, {"method", s.method},
              {"metrics", metrics},    {"variants", variants}, {"comparisons", comparisons},
              {"workloads", workloads}};
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const VariantBuildState& s) {
  json out = {{"name", s.name},
              {"build_dir", stored(s.build_dir)},
              {"config_input", s.config_input},
              {"profile_sha256", s.profile_sha256},
              {"promoted_indirect_calls", s.promoted_indirect_calls},
              {"build_cost", to_json(s.build_cost)}};
  put_when(out, "finished", s.finished);
  return out;
}

json to_json(const State& state) {
  json top = {{"version", kStateVersion}};
  if (state.instrument) top["instrument"] = to_json(*state.instrument);
  if (state.collect) top["collect"] = to_json(*state.collect);
  if (state.merge) top["merge"] = to_json(*state.merge);
  if (state.cs) top["cs"] = to_json(*state.cs);
  if (state.optimize) top["optimize"] = to_json(*state.optimize);
  if (state.baseline) top["baseline"] = to_json(*state.baseline);
  if (!state.variant_builds.empty()) {
    top["variant_builds"] = json::array();
    for (const auto& build : state.variant_builds) top["variant_builds"].push_back(to_json(build));
  }
  if (state.bench) top["bench"] = to_json(*state.bench);
  return top;
}

}  // namespace

const InstrumentState* State::instrumented() const {
  return instrument && !instrument->finished.empty() ? &*instrument : nullptr;
}

const std::vector<CollectedProfile>& State::profiles() const {
  static const std::vector<CollectedProfile> none;
  return collect ? collect->profiles : none;
}

Result<Manifest> Manifest::load(const fs::path& workdir) {
  return load_file(workdir / "kpgo.json", workdir);
}

Result<Manifest> Manifest::load_file(const fs::path& file, const fs::path& workdir) {
  Manifest manifest;
  manifest.workdir_ = workdir;
  std::ifstream in(file);
  if (!in) return manifest;
  json top;
  WorkdirPaths paths(workdir);
  try {
    top = json::parse(in);
  } catch (const json::exception& e) {
    return fail("{}: not valid JSON ({}); move it away to start over", file.string(), e.what());
  }
  auto state = read_state(top);
  if (!state) {
    return fail(
        "{}: {}; the file was edited or damaged: fix that field, or remove the phase's "
        "section (or the file) to redo it",
        file.string(), state.error().what());
  }
  manifest.state_ = std::move(*state);
  return manifest;
}

Result<> Manifest::save() const {
  std::error_code ec;
  fs::create_directories(workdir_, ec);
  return write_file_atomically(path(), text_of(state_));
}

std::string Manifest::text_of(const State& state) const {
  WorkdirPaths paths(workdir_);
  return to_json(state).dump(2) + "\n";
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace kpgo::pipeline
