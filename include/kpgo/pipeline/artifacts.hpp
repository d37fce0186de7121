// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

// What one stage of the pipeline needs from the workdir when it runs as a CI job of its own, on
// another machine: the files to hand over as the job's artifact.
namespace kpgo::pipeline {

enum class Stage { collect, merge, optimize, bench };

// "collect", "merge", "optimize" or "bench"; anything else is refused with the four.
Result<Stage> parse_stage(std::string_view name);
std::string stage_name(Stage stage);

struct StageArtifacts {
  Stage stage;
  // Inside the workdir, relative to it: kpgo.json first, then files and whole directories.
  std::vector<std::filesystem::path> files;
  // Outside the workdir: the job needs them at the same absolute path (a kernel tarball, a
  // workload script).
  std::vector<std::filesystem::path> outside;
};

// Reads the state: a stage whose inputs the workdir does not have yet is refused with the
// phase that makes them.
//   collect:  the instrumented kernel's image and its modules tree (no kernel tree, no clang)
//   merge:    the collected profiles
//   optimize: the kernel source (when inside), the instrumented build's .config and System.map,
//             and the merged profile when there is one
//   bench:    what optimize needs, and the optimized kernel's image, vmlinux.o and modules
Result<StageArtifacts> stage_artifacts(const Manifest& manifest, Stage stage);

// The state a stage's job starts from: what the earlier phases made, nothing of this stage or
// later ones (a collect job's kpgo.json has no collected profiles of the build host).
State stage_state(const State& state, Stage stage);

// A tar archive of the files, relative to the workdir, written to a temporary file and renamed;
// its kpgo.json is the stage's state (stage_state), not the workdir's file.
Result<> pack_artifacts(const StageArtifacts& artifacts, const Manifest& manifest,
                        const std::filesystem::path& archive, ProcessRunner& runner);

struct UnpackOutcome {
  // Sections of the workdir's own kpgo.json kept beside the archive's (same instrumented kernel).
  std::vector<std::string> kept_sections;
};

// Unpacks an archive pack_artifacts made into the workdir. The archive's kpgo.json becomes the
// workdir's, except that when the workdir already has one of the same instrumented kernel (a CI
// cache of this job's last run), the sections the archive lacks are kept from it: the phase this
// job runs then finds its earlier result and skips when its inputs did not change.
Result<UnpackOutcome> unpack_artifacts(const std::filesystem::path& archive,
                                       const std::filesystem::path& workdir, ProcessRunner& runner);

}  // namespace kpgo::pipeline
