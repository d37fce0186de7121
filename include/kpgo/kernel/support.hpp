// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/kernel/source.hpp"
#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::kernel {

// kpgo's kernel-side support: the common runtime (data/kernel/pgo, copied to kernel/pgo/) and
// one folder of hooks per kernel line (data/kernel/hooks/MAJOR.MINOR/): generic.patch and one
// patch per architecture (x86.patch, arm64.patch), all applied to a tree.
struct SupportFiles {
  std::filesystem::path runtime_dir;  // kernel/pgo in kpgo's data
  std::filesystem::path hooks_root;   // kernel/hooks in kpgo's data
};
SupportFiles support_files(const std::filesystem::path& data_dir);

// The kernel lines kpgo has hooks for, e.g. {"6.1", "6.12"}.
std::vector<std::string> supported_lines(const SupportFiles& files);

struct SupportPlan {
  PgoSupport before = PgoSupport::none;
  std::string line;               // hooks folder used
  std::vector<Command> commands;  // what applying does, for --dry-run
  bool changes_tree = false;
};

// The version a tree records (kernel/pgo/.kpgo-support): kpgo's version line, and a fingerprint
// of every runtime and hook file, so that any change to them counts, even one that forgot to
// raise the version line.
std::string support_version(const SupportFiles& files);

// Whether `tree` has kpgo's support in another version than `files` (an older kpgo's).
bool has_outdated_support(const std::filesystem::path& tree, const SupportFiles& files);

// A kernel tree to put kpgo's support into. In a dry run it may not be there yet in the form
// the build will see (a tarball not unpacked yet, or due to be unpacked again): then the support
// cannot be planned from it, only named.
struct SupportTree {
  std::filesystem::path path;
  bool unpack_pending = false;
};

// resolve_source, for a tree kpgo's support goes into: a tree kpgo unpacked with an older
// kpgo's support is unpacked afresh, since only the kpgo that patched a tree can take its hooks
// out again (and the builds from it start over anyway: the support changed). A dry run plans
// that in `planned` and changes nothing.
Result<SupportTree> resolve_source_for_support(const std::filesystem::path& source,
                                               const std::filesystem::path& workdir,
                                               const SupportFiles& files, bool dry_run,
                                               ProcessRunner& runner,
                                               std::vector<Command>* planned = nullptr);

// What it takes to give `tree` clang PGO support: nothing when it has kpgo's current support or
// its own; else kpgo's hooks for its kernel line. Refuses (touching nothing) when there are none
// or they do not apply.
Result<SupportPlan> plan_support(const std::filesystem::path& tree, const SupportFiles& files,
                                 ProcessRunner& runner);
Result<> apply_support(const std::filesystem::path& tree, const SupportFiles& files,
                       const SupportPlan& plan, ProcessRunner& runner);

// Takes kpgo's support out again (reverse patch, runtime files removed).
Result<> remove_support(const std::filesystem::path& tree, const SupportFiles& files,
                        ProcessRunner& runner);

}  // namespace kpgo::kernel
