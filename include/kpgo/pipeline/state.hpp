// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/system/error.hpp"

// WORKDIR/kpgo.json: what each phase did, its inputs and outputs, so that later phases and later
// runs can use, check and skip it. These records are its whole schema (docs/state.md describes
// the file); the phases read and write them, never the JSON.
namespace kpgo::pipeline {

// Written as "version" at the top. A file without it is from kpgo before the field existed and
// has version 1's layout; a larger one is from a newer kpgo and is refused, not guessed at.
// Version 2: bench records several metrics per workload (version 1's bench record is dropped).
// Version 3: bench records any number of kernel variants (version 2's bench record is dropped).
// Version 4: paths inside the workdir are relative to it (the workdir can move); before, a
// relative path was relative to the directory kpgo ran in.
inline constexpr unsigned kStateVersion = 4;

struct LlvmState {
  std::string value;  // LLVM= as given
  std::string clang;  // clang --version's first line
  unsigned major = 0;
  uint64_t raw_version = 0;    // the raw profile version the instrumented kernel writes
  unsigned merge_backend = 0;  // the LLVM major that merges its profiles
};

struct InstrumentArtifacts {
  std::filesystem::path vmlinux, bzimage, config, log;
};

// A loadable module of the instrumented build: its profile is checked against build_id.
struct ModuleState {
  std::string name;  // the kernel's name, as in /sys/kernel/debug/pgo/NAME.profraw
  std::filesystem::path file;
  std::string build_id;
  // Its records in __llvm_prf_data, counted when it was built: an optimize job of a split
  // pipeline gets no instrumented .ko to count them in. Absent in older workdirs.
  std::optional<uint64_t> instrumented_functions;
};

struct InstrumentState {
  std::string started;   // ISO 8601 UTC
  std::string finished;  // empty until the build completed
  std::filesystem::path source;
  std::string kernel_version;
  std::string support;  // "kpgo" or "native"
  std::string arch = "x86_64";
  LlvmState llvm;
  bool atomic_counters = false;
  std::string lto = "none";  // clang LTO, as its .config chose: none, thin or full
  std::string config_sha256;
  std::filesystem::path build_dir;
  InstrumentArtifacts artifacts;
  kernel::BuildCost build_cost;  // of its last make that compiled
  std::string vmlinux_build_id;
  std::vector<ModuleState> modules;
  std::filesystem::path modules_dir;  // INSTALL_MOD_PATH of its modules_install, for guests
  std::vector<std::string> commands;
  std::string inputs_key;  // the inputs it was built from
};

struct CollectedProfile {
  std::filesystem::path path;
  std::string binary = "vmlinux";  // or the module's name
  std::string label;
  uint64_t weight = 1;
  std::string target;  // the machine it came from
  unsigned run = 0;
  uint64_t size = 0;
  std::string sha256;
  std::string kernel_release;
  double seconds = 0;
  std::filesystem::path workload;
  std::string collected;
  std::string inputs_key;  // of the collect that kept it, when all of that collect's runs did
};

struct CollectState {
  std::vector<CollectedProfile> profiles;
  std::string updated;
};

struct MergedInput {
  std::filesystem::path path;
  std::string sha256;
  uint64_t weight = 1;
  bool operator==(const MergedInput&) const = default;
};

struct MergeState {
  std::vector<MergedInput> inputs;
  std::filesystem::path output;
  std::string sha256;
  std::string llvm;  // the LLVM version that merged
  uint64_t functions = 0;
  uint64_t functions_with_counts = 0;
  std::string finished;
};

// How well the profile matched one binary of the optimized build: vmlinux or a module.
struct BinaryMatch {
  std::string binary;
  uint64_t functions = 0;  // its instrumented build's records
  uint64_t matched = 0;
  uint64_t stale = 0;
  uint64_t without_data = 0;
  kernel::TextLayout layout;  // where the optimized binary's functions went
};

// How well the profile matched the optimized build, from clang's per-function diagnostics.
struct MatchReport {
  uint64_t functions = 0;     // functions the kernel has (its instrumented build's records)
  uint64_t matched = 0;       // compiled with profile data
  uint64_t stale = 0;         // profile data with another hash: the code changed
  uint64_t without_data = 0;  // not in the profile at all
  uint64_t hot = 0;           // vmlinux's functions with counts in the profile
  uint64_t hot_matched = 0;
  // With modules: vmlinux, then each module; functions, matched, stale and without_data above
  // are then their total.
  std::vector<BinaryMatch> binaries;
};

struct KernelArtifacts {
  std::filesystem::path vmlinux, bzimage, log;
};

struct OptimizeState {
  std::filesystem::path profile;  // the content-addressed copy it was built with
  std::string profile_sha256;
  // The profile as it was given (the workdir's merge, --profile's file, kpgo run --cs's combined
  // profile) before any rewrite for this clang: what tells which profile a kernel has.
  std::string given_sha256;
  std::filesystem::path build_dir;
  KernelArtifacts artifacts;
  std::optional<MatchReport> report;
  kernel::TextLayout layout;  // of vmlinux.o
  uint64_t promoted_indirect_calls = 0;
  kernel::BuildCost build_cost;  // of its last make that compiled
  std::vector<std::string> commands;
  std::string config_input;  // the configuration build_dir holds (configure_uninstrumented)
  std::string lto = "none";
  std::string vmlinux_build_id;
  std::string booted;  // when the smoke boot passed; empty: not booted
  std::string finished;
  std::string inputs_key;
};

// kpgo run --cs: stage 2 of context-sensitive PGO. Its instrumented kernel, profiles and merge
// are a workdir of their own (with its own kpgo.json, whose merge has `base` as first input).
struct CsState {
  std::filesystem::path workdir;
  std::filesystem::path base;  // the stage-1 profile stage 2 was built with (content-addressed)
  std::string base_sha256;
  std::filesystem::path profile;  // stage 1 and stage 2 merged: what the optimized build uses
  std::string sha256;
  std::string finished;
};

struct BaselineState {
  std::filesystem::path build_dir;
  KernelArtifacts artifacts;
  kernel::BuildCost build_cost;  // of its last make that compiled
  std::string config_input;
  std::string lto = "none";
  std::string finished;
};

// One quantity bench measures for each workload, e.g. kernel_instructions.
struct BenchMetric {
  std::string name;
  std::string unit;  // "instructions", "misses", "branches", "ticks", "nanoseconds"
  std::string what;  // how it is measured, in a sentence
};

// One kernel bench measured: how it was built, and what its build did.
struct BenchVariantState {
  std::string name;              // e.g. baseline, pgo, lto, pgo+lto, cspgo+lto
  std::string lto = "none";      // none, thin or full
  std::string profile = "none";  // none, pgo (stage 1) or cspgo (both stages merged)
  std::string profile_sha256;
  std::filesystem::path build_dir;
  kernel::TextLayout layout;  // of its vmlinux.o
  uint64_t promoted_indirect_calls = 0;
  kernel::BuildCost build_cost;      // of its last make that compiled
  std::vector<double> boot_seconds;  // host wall time of each boot
};

// A ratio bench reports: `variant`'s median over `against`'s.
struct BenchComparison {
  std::string variant;
  std::string against;
  bool operator==(const BenchComparison&) const = default;
};

struct BenchWorkloadState {
  std::string name;
  bool trained = false;
  // By metric name, then by variant name: one figure per round.
  std::map<std::string, std::map<std::string, std::vector<uint64_t>>> figures;
};

struct BenchState {
  unsigned rounds = 0;
  std::string machine;
  std::string method;
  std::vector<BenchMetric> metrics;         // the headline first
  std::vector<BenchVariantState> variants;  // the reference first
  std::vector<BenchComparison> comparisons;
  std::vector<BenchWorkloadState> workloads;
  std::string finished;
};

// A kernel bench builds beside the optimized one: its configuration and profile, so that a
// later bench rebuilds it only when they changed.
struct VariantBuildState {
  std::string name;
  std::filesystem::path build_dir;
  std::string config_input;
  std::string profile_sha256;
  uint64_t promoted_indirect_calls = 0;  // from the last build that compiled with its profile
  kernel::BuildCost build_cost;          // of its last make that compiled
  std::string finished;
};

// One section per phase; a section is absent until its phase first ran.
struct State {
  std::optional<InstrumentState> instrument;
  std::optional<CollectState> collect;
  std::optional<MergeState> merge;
  std::optional<CsState> cs;
  std::optional<OptimizeState> optimize;
  std::optional<BaselineState> baseline;
  std::vector<VariantBuildState> variant_builds;
  std::optional<BenchState> bench;

  // The instrumented kernel, when its build finished; nullptr otherwise.
  const InstrumentState* instrumented() const;
  // The collected profiles (none before collect ran).
  const std::vector<CollectedProfile>& profiles() const;
};

// A section of the state, made empty first when the phase has none yet.
template <typename T>
T& ensure(std::optional<T>& section) {
  if (!section) section.emplace();
  return *section;
}

// The file: loaded, checked field by field (a damaged or hand-edited one is refused with the
// field's name, never crashes a phase later), written atomically (a crash leaves the previous
// version).
class Manifest {
 public:
  static Result<Manifest> load(const std::filesystem::path& workdir);
  // A kpgo.json kept elsewhere (e.g. unpacked from an artifact), read as the state of `workdir`:
  // its relative paths are taken relative to `workdir`.
  static Result<Manifest> load_file(const std::filesystem::path& file,
                                    const std::filesystem::path& workdir);

  const std::filesystem::path& workdir() const { return workdir_; }
  std::filesystem::path path() const { return workdir_ / "kpgo.json"; }
  State& state() { return state_; }
  const State& state() const { return state_; }
  Result<> save() const;
  // What save() would write for `state` in this workdir (paths relative to it).
  std::string text_of(const State& state) const;

 private:
  std::filesystem::path workdir_;
  State state_;
};

// Current UTC time as ISO 8601, for the manifest's timestamps.
std::string utc_timestamp();

}  // namespace kpgo::pipeline
