// SPDX-License-Identifier: MIT
#include "kpgo/kernel/support.hpp"

#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace kpgo::kernel {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = ".kpgo-support";

// A line's hooks: the generic ones and one patch per architecture (generic.patch, x86.patch,
// arm64.patch, ...), each touching files of its own. All go in: a tree serves every arch kpgo
// knows, so one unpacked tree builds x86_64 and arm64 kernels alike.
std::vector<fs::path> patches_of(const SupportFiles& files, const std::string& line) {
  std::vector<fs::path> patches;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(files.hooks_root / line, ec)) {
    if (entry.path().extension() == ".patch") patches.push_back(entry.path());
  }
  std::sort(patches.begin(), patches.end());
  return patches;
}

bool is_patch_command(const Command& command) {
  return command.argv.front() == "patch";
}

Command patch_command(const fs::path& tree, const fs::path& patch, bool reverse, bool dry_run) {
  // No fuzz: a hook applies exactly where it was written, or not at all.
  Command command{{"patch", "-p1", "--forward", "--batch", "--silent", "--fuzz=0"}, tree, {}};
  if (reverse) command.argv[2] = "--reverse";
  if (dry_run) command.argv.push_back("--dry-run");
  command.argv.push_back("--input=" + patch.string());
  return command;
}

Result<> run_patch(const Command& command, ProcessRunner& runner, std::string_view what) {
  KPGO_TRY_BIND(output, runner.capture(command));
  if (!output->succeeded()) {
    std::string detail = output->out + output->err;
    if (detail.size() > 2000) {
      detail.resize(2000);
      detail += "...";
    }
    return fail("{}: {}", what, detail.empty() ? "patch failed" : detail);
  }
  return {};
}

// Every file of the runtime and the hooks, sorted: the support's content.
std::vector<fs::path> support_contents(const SupportFiles& files) {
  std::vector<fs::path> contents;
  for (const auto& root : {files.runtime_dir, files.hooks_root}) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().filename() != kMarker) contents.push_back(*it);
    }
  }
  std::sort(contents.begin(), contents.end());
  return contents;
}

// A dry run's tree that is yet to be unpacked: the hooks can only be named, not planned.
SupportTree pending_unpack(const fs::path& tree, std::vector<Command>* planned) {
  if (planned)
    planned->push_back(
        {{"#", "then kpgo's hooks for the unpacked kernel's line"}, std::nullopt, {}});
  return {tree, true};
}

}  // namespace

std::string support_version(const SupportFiles& files) {
  std::string content;
  for (const auto& file : support_contents(files)) {
    content += fs::relative(file, files.runtime_dir.parent_path()).string() + '\0' +
               sha256_key(file) + '\n';
  }
  return read_text_or_empty(files.runtime_dir / kMarker) + "files " + sha256_hex(content) + "\n";
}

SupportFiles support_files(const fs::path& data_dir) {
  return {data_dir / "kernel" / "pgo", data_dir / "kernel" / "hooks"};
}

std::vector<std::string> supported_lines(const SupportFiles& files) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(files.hooks_root, ec)) {
    if (!patches_of(files, entry.path().filename().string()).empty())
      lines.push_back(entry.path().filename().string());
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

bool has_outdated_support(const fs::path& tree, const SupportFiles& files) {
  return detect_pgo_support(tree) == PgoSupport::kpgo &&
         read_text_or_empty(tree / "kernel" / "pgo" / kMarker) != support_version(files);
}

Result<SupportTree> resolve_source_for_support(const fs::path& source, const fs::path& workdir,
                                               const SupportFiles& files, bool dry_run,
                                               ProcessRunner& runner,
                                               std::vector<Command>* planned) {
  KPGO_TRY_BIND(tree, resolve_source(source, workdir, dry_run, runner, planned));
  std::error_code ec;
  // A tree given as --source is the user's, whatever it holds (a copy of an unpacked one too,
  // or no kernel at all: refused further on by name).
  if (fs::is_directory(source, ec)) return SupportTree{*tree, false};
  // For a tarball, resolve_source gave the tree it unpacked, or in a dry run would unpack.
  if (dry_run && !fs::exists(*tree / "Makefile", ec)) return pending_unpack(*tree, planned);
  if (!has_outdated_support(*tree, files)) return SupportTree{*tree, false};
  spdlog::info("{} has another version of kpgo's kernel support: {}unpacking it again",
               tree->string(), dry_run ? "a run would start by " : "");
  if (dry_run) {
    if (planned) {
      planned->push_back(
          {{"#", "remove " + tree->string() + " (another kpgo's support)"}, std::nullopt, {}});
      planned->push_back(unpack_command(source, workdir));
    }
    return pending_unpack(*tree, planned);
  }
  KPGO_TRY(discard_unpacked_tree(*tree));
  KPGO_TRY_BIND(fresh, resolve_source(source, workdir, false, runner, planned));
  return SupportTree{*fresh, false};
}

Result<SupportPlan> plan_support(const fs::path& tree, const SupportFiles& files,
                                 ProcessRunner& runner) {
  KPGO_TRY_BIND(version, read_kernel_version(tree));
  SupportPlan plan;
  plan.before = detect_pgo_support(tree);
  plan.line = fmt::format("{}.{}", version->version, version->patchlevel);
  if (plan.before == PgoSupport::native) return plan;
  if (plan.before == PgoSupport::kpgo) {
    if (!has_outdated_support(tree, files)) return plan;
    return fail(
        "{} has another version of kpgo's support; take it out first with "
        "kpgo instrument --remove-support (using the kpgo that put it in)",
        tree.string());
  }
  auto lines = supported_lines(files);
  if (std::find(lines.begin(), lines.end(), plan.line) == lines.end()) {
    std::string known;
    for (const auto& line : lines) known += (known.empty() ? "" : ", ") + line;
    return fail(
        "kpgo has no hooks for Linux {} (it has them for {}); a tree with its own clang "
        "PGO support (CONFIG_PGO_CLANG) works too",
        version->to_string(), known);
  }
  std::error_code ec;
  if (fs::exists(tree / "kernel" / "pgo", ec)) {
    return fail("{}/kernel/pgo exists but is not kpgo's; refusing to overwrite it", tree.string());
  }
  for (const auto& patch : patches_of(files, plan.line)) {
    KPGO_TRY(run_patch(patch_command(tree, patch, false, true), runner,
                       fmt::format("kpgo's hooks for {} ({}) do not apply to {}; nothing was "
                                   "changed",
                                   plan.line, patch.filename().string(), tree.string())));
    plan.commands.push_back(patch_command(tree, patch, false, false));
  }
  plan.changes_tree = true;
  plan.commands.push_back(
      Command{{"cp", "-r", files.runtime_dir.string(), (tree / "kernel" / "pgo").string()},
              std::nullopt,
              {}});
  return plan;
}

Result<> apply_support(const fs::path& tree, const SupportFiles& files, const SupportPlan& plan,
                       ProcessRunner& runner) {
  if (!plan.changes_tree) return {};
  // Runtime files first, marker last: an interrupted run leaves no marker, and the next run
  // sees a kernel/pgo that is not kpgo's rather than a half-done one it would trust.
  fs::path target = tree / "kernel" / "pgo";
  std::error_code ec;
  fs::create_directories(target, ec);
  for (const auto& entry : fs::directory_iterator(files.runtime_dir, ec)) {
    if (entry.path().filename() == kMarker) continue;
    fs::copy_file(entry.path(), target / entry.path().filename(),
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      return fail("cannot copy {} into {}: {}", entry.path().string(), target.string(),
                  ec.message());
  }
  // Each patch was checked to apply; should one still fail, those before it are taken out.
  std::vector<const Command*> applied;
  for (const auto& command : plan.commands) {
    if (!is_patch_command(command)) continue;
    auto patched =
        run_patch(command, runner, fmt::format("applying kpgo's hooks to {}", tree.string()));
    if (!patched) {
      for (auto it = applied.rbegin(); it != applied.rend(); ++it) {
        Command reverse = **it;
        reverse.argv[2] = "--reverse";
        (void)run_patch(reverse, runner, "taking out kpgo's hooks again");
      }
      fs::remove_all(target, ec);
      return tl::unexpected(patched.error());
    }
    applied.push_back(&command);
  }
  return write_file_atomically(target / kMarker, support_version(files));
}

Result<> remove_support(const fs::path& tree, const SupportFiles& files, ProcessRunner& runner) {
  if (detect_pgo_support(tree) != PgoSupport::kpgo) {
    return fail("{} does not have kpgo's support; nothing to remove", tree.string());
  }
  KPGO_TRY_BIND(version, read_kernel_version(tree));
  std::string line = fmt::format("{}.{}", version->version, version->patchlevel);
  auto patches = patches_of(files, line);
  for (const auto& patch : patches) {
    KPGO_TRY(run_patch(patch_command(tree, patch, true, true), runner,
                       fmt::format("kpgo's hooks ({}) cannot be taken out of {} cleanly; nothing "
                                   "was changed",
                                   patch.filename().string(), tree.string())));
  }
  for (const auto& patch : patches) {
    KPGO_TRY(run_patch(patch_command(tree, patch, true, false), runner, "taking out kpgo's hooks"));
  }
  std::error_code ec;
  fs::remove_all(tree / "kernel" / "pgo", ec);
  if (ec) return fail("cannot remove {}: {}", (tree / "kernel" / "pgo").string(), ec.message());
  return {};
}

}  // namespace kpgo::kernel
