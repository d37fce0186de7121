// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include <vector>

#include "kpgo/system/error.hpp"
#include "kpgo/system/process.hpp"

namespace kpgo::kernel {

struct KernelVersion {
  int version = 0;
  int patchlevel = 0;
  int sublevel = 0;
  std::string extraversion;
  std::string to_string() const;
};

// From the top-level Makefile's VERSION, PATCHLEVEL, SUBLEVEL and EXTRAVERSION.
Result<KernelVersion> read_kernel_version(const std::filesystem::path& tree);

enum class PgoSupport {
  none,    // stock kernel: kpgo instrument has to add its support
  kpgo,    // kpgo's support is in the tree
  native,  // the tree carries clang PGO support of its own (the 2021 series or a descendant)
};
const char* to_string(PgoSupport support);

PgoSupport detect_pgo_support(const std::filesystem::path& tree);

// Whether the tree's support builds stage 2 of context-sensitive PGO (make PGO_CLANG_CS_BASE=,
// kpgo's support from version 7) and takes link flags with KLDFLAGS=, which LTO kernels need
// for the context-sensitive profile.
bool has_cs_stage(const std::filesystem::path& tree);

// The profile file of the kernel kpgo runs on, if that kernel exports one.
std::filesystem::path running_kernel_profile();

// A kernel tree to build from: SOURCE itself when it is a directory, else the tarball SOURCE
// unpacked once into WORKDIR/source (beside, then renamed, so an interrupted unpack is redone).
// The unpack command is added to `planned` when it runs (or would, with dry_run).
Result<std::filesystem::path> resolve_source(const std::filesystem::path& source,
                                             const std::filesystem::path& workdir, bool dry_run,
                                             ProcessRunner& runner,
                                             std::vector<Command>* planned = nullptr);

// The command resolve_source unpacks a tarball with (into WORKDIR/.source-partial).
Command unpack_command(const std::filesystem::path& tarball, const std::filesystem::path& workdir);

// Removes a tree resolve_source unpacked (refusing any other), so that the next resolve_source
// unpacks it afresh.
Result<> discard_unpacked_tree(const std::filesystem::path& tree);

// What identifies SOURCE for resume keys: a tarball's SHA-256; for a tree, a hash of every
// file's path, size and modification time (.git left out), so an edit in place changes it too.
// Reading the listing of a kernel tree (about 90,000 files) takes under a second.
std::string source_fingerprint(const std::filesystem::path& source);

}  // namespace kpgo::kernel
