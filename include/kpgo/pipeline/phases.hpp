// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/lto.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/profile/backends.hpp"
#include "kpgo/profile/merge.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"

namespace kpgo::pipeline {

struct WorkdirMerge {
  std::filesystem::path profdata;  // WORKDIR/vmlinux.profdata
  std::string sha256;
  bool merged = false;  // false: it was up to date
  profile::ProfileStats stats;
};

// Merges the workdir's collected profiles (with their weights) into WORKDIR/vmlinux.profdata for
// the clang that built the instrumented kernel, unless the existing one already has exactly
// these inputs. With a `base` (CSPGO's stage-1 profile), that profile goes in first.
Result<WorkdirMerge> merge_workdir_profiles(Manifest& manifest, profile::BackendSet& backends,
                                            const std::optional<MergedInput>& base = {});

struct OptimizeOptions {
  std::optional<std::filesystem::path> profile;  // default: the workdir's merged profile
  std::optional<kernel::Lto> lto;                // default: the instrumented build's
  unsigned jobs = 0;
  bool dry_run = false;
  bool smoke_boot = true;
  bool force = false;  // build even when the optimized kernel is up to date
  targets::QemuOptions qemu;
  std::vector<std::string> make_args;
};

struct OptimizeOutcome {
  std::vector<Command> commands;
  std::filesystem::path profdata;
  std::filesystem::path bzimage;
  std::filesystem::path vmlinux;
  MatchReport report;
  kernel::TextLayout layout;    // of vmlinux.o: functions clang placed by their profile
  uint64_t promoted_calls = 0;  // indirect calls promoted to direct ones (clang's remarks)
  std::string lto = "none";
  bool rebuilt = false;
  kernel::BuildCost build_cost;  // of its last make
  bool booted = false;
  bool up_to_date = false;  // nothing ran: the recorded kernel was built from the same inputs
};

// The combined profile of `kpgo run --cs`, when its stage 2 finished, is intact and was built on
// the stage-1 profile whose sha256 is given (a run without --cs drops the CS state).
std::optional<std::filesystem::path> current_cs_profile(const State& state,
                                                        const std::string& stage1_sha256);

// What decides the optimized kernel: the profile by content (`profile_sha256`: the given file's,
// else the workdir profile's that optimize builds with), the instrumented build's .config, the
// make arguments, LTO and the smoke boot.
std::string optimize_inputs_key(const OptimizeOptions& options, const State& state,
                                const std::string& profile_sha256);

// Whether the workdir's optimized kernel finished, from these inputs, and is still there.
bool optimize_up_to_date(const OptimizeOptions& options, const State& state,
                         const std::string& profile_sha256);

// The optimized kernel as the state records it, for a phase that found it up to date with the
// profile whose sha256 is given: a workdir from before kpgo recorded the given profile's sha256
// (bench tells variants by it) gets it now, since the up-to-date key proves it.
Result<OptimizeOutcome> recorded_optimize_outcome(Manifest& manifest,
                                                  const std::string& profile_sha256);

// Rebuilds the kernel from the instrumented build's source and config, instrumentation off,
// with -fprofile-use; reports how well the profile matched (from clang's own diagnostics) and
// fails when nothing did; smoke-boots the result in QEMU. When the optimized kernel is up to
// date (and neither force nor dry_run is set), nothing is built and the outcome is the recorded
// one.
Result<OptimizeOutcome> optimize(const OptimizeOptions& options, ProcessRunner& runner,
                                 profile::BackendSet& backends, Manifest& manifest);

// Configures kbuild.output with the instrumented build's .config, instrumentation off and `lto`
// chosen (the
// optimized and the baseline builds both start there): writes it and runs `olddefconfig`
// unless `config_input` (the key of the configuration a build directory holds, kept in its
// record) says this one is already in place, and checks that CONFIG_PGO_CLANG stayed off.
// Returns whether it configured; updates `config_input` when it did.
Result<bool> configure_uninstrumented(const std::filesystem::path& instrumented_dir,
                                      kernel::Lto lto, const kernel::Kbuild& kbuild,
                                      std::string& config_input, ProcessRunner& runner,
                                      const kernel::BuildLog& log);

// A profile as a build uses it: copied to WORKDIR/profdata/SHA.profdata, named by content, so
// that kbuild sees new flags when the profile changes and nothing new when it does not, and the
// rebuild is exactly as incremental as it should be. A dry run names the copy it would use when
// it exists already, else a placeholder.
struct StoredProfile {
  std::filesystem::path path;
  std::string sha256;
};
Result<StoredProfile> store_by_content(const std::filesystem::path& profdata,
                                       const std::filesystem::path& workdir, bool dry_run);

// make's arguments for a build with `profdata`: KCFLAGS gets -fprofile-use and the flags that
// make clang report on the profile's match; with `link_flags` (an LTO build with kpgo's support,
// which takes KLDFLAGS) the link gets the profile and reports the calls it promotes. The user's
// own KCFLAGS and KLDFLAGS come first.
std::vector<std::string> profile_make_args(std::vector<std::string> make_args,
                                           const std::filesystem::path& profdata, bool link_flags);

// Counts clang's remarks for indirect calls promoted to direct ones in a build log.
uint64_t count_promotions(std::string_view log);

// Counts clang's per-function PGO diagnostics in a build log: returns (stale, without data)
// function names.
std::pair<std::vector<std::string>, std::vector<std::string>> pgo_diagnostics(std::string_view log);

}  // namespace kpgo::pipeline
