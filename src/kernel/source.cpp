// SPDX-License-Identifier: MIT
#include "kpgo/kernel/source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <regex>
#include <sstream>

#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::kernel {

namespace fs = std::filesystem;

namespace {

bool is_tarball(const fs::path& path) {
  std::string name = path.filename().string();
  for (const char* suffix : {".tar", ".tar.xz", ".tar.gz", ".tgz", ".tar.bz2", ".tar.zst"}) {
    std::string_view s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

}  // namespace

std::string KernelVersion::to_string() const {
  return fmt::format("{}.{}.{}{}", version, patchlevel, sublevel, extraversion);
}

Result<KernelVersion> read_kernel_version(const fs::path& tree) {
  std::ifstream makefile(tree / "Makefile");
  if (!makefile) return fail("{}: not a kernel tree (no Makefile)", tree.string());
  KernelVersion version;
  bool seen_version = false;
  static const std::regex assignment(R"(^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*))");
  std::string line;
  for (int n = 0; n < 20 && std::getline(makefile, line); ++n) {
    std::smatch match;
    if (!std::regex_search(line, match, assignment)) continue;
    std::string key = match[1];
    std::string value = match[2];
    if (key == "EXTRAVERSION") {
      version.extraversion = value;
    } else if (!value.empty()) {
      int number = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (error != std::errc() || end != value.data() + value.size() || number < 0) {
        return fail("{}/Makefile line {}: {} = {} is not a version number", tree.string(), n + 1,
                    key, value);
      }
      if (key == "VERSION") {
        version.version = number;
        seen_version = true;
      } else if (key == "PATCHLEVEL") {
        version.patchlevel = number;
      } else {
        version.sublevel = number;
      }
    }
  }
  if (!seen_version) return fail("{}/Makefile: no VERSION line; not a kernel tree", tree.string());
  return version;
}

const char* to_string(PgoSupport support) {
  switch (support) {
    case PgoSupport::none:
      return "none";
    case PgoSupport::kpgo:
      return "kpgo";
    case PgoSupport::native:
      return "native";
  }
  return "unknown";
}

PgoSupport detect_pgo_support(const fs::path& tree) {
  std::error_code ec;
  if (fs::exists(tree / "kernel" / "pgo" / ".kpgo-support", ec)) return PgoSupport::kpgo;
  std::ifstream kconfig(tree / "kernel" / "pgo" / "Kconfig");
  if (kconfig) {
    std::stringstream text;
    text << kconfig.rdbuf();
    if (text.str().find("config PGO_CLANG") != std::string::npos) return PgoSupport::native;
  }
  return PgoSupport::none;
}

bool has_cs_stage(const fs::path& tree) {
  std::ifstream makefile(tree / "Makefile");
  std::stringstream text;
  text << makefile.rdbuf();
  return text.str().find("ifdef PGO_CLANG_CS_BASE") != std::string::npos &&
         text.str().find("$(KLDFLAGS)") != std::string::npos;
}

fs::path running_kernel_profile() {
  for (const char* candidate :
       {"/sys/kernel/debug/pgo/vmlinux.profraw", "/proc/pgo/vmlinux.profraw"}) {
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
  }
  return {};
}

namespace {

constexpr const char* kUnpackedStamp = ".kpgo-unpacked-from";
constexpr const char* kStaleTree = ".source-stale";

bool unpacked_by_kpgo(const fs::path& tree) {
  std::error_code ec;
  return fs::exists(tree / kUnpackedStamp, ec);
}

}  // namespace

Result<> discard_unpacked_tree(const fs::path& tree) {
  if (!unpacked_by_kpgo(tree))
    return fail("{}: not a tree kpgo unpacked; left alone", tree.string());
  // Renamed out of the way first, in one step: a removal that stops halfway leaves a
  // .source-stale that resolve_source clears, never a half tree in the tree's place.
  fs::path stale = tree.parent_path() / kStaleTree;
  std::error_code ec;
  fs::remove_all(stale, ec);
  fs::rename(tree, stale, ec);
  if (ec) return fail("cannot move {} aside: {}", tree.string(), ec.message());
  fs::remove_all(stale, ec);
  if (ec) return fail("cannot remove {}: {}", stale.string(), ec.message());
  return {};
}

Command unpack_command(const fs::path& tarball, const fs::path& workdir) {
  // --touch: files dated now, not by the tarball. A tree unpacked again (after kpgo's support
  // changed) must be newer than every object built from the old one, or make would keep the
  // objects of files the old hooks had changed and the new ones do not.
  return {{"tar", "--touch", "-xf", fs::absolute(tarball).string(), "-C",
           (fs::absolute(workdir) / ".source-partial").string()},
          std::nullopt,
          {}};
}

Result<fs::path> resolve_source(const fs::path& source, const fs::path& workdir, bool dry_run,
                                ProcessRunner& runner, std::vector<Command>* planned) {
  std::error_code ec;
  if (fs::is_directory(source, ec)) return fs::absolute(source);
  if (!fs::exists(source, ec))
    return fail("--source {}: no such file or directory", source.string());
  if (!is_tarball(source)) {
    return fail(
        "--source {}: neither a kernel tree nor a tarball (.tar, .tar.xz, .tar.gz, "
        ".tar.bz2, .tar.zst)",
        source.string());
  }
  fs::path target = fs::absolute(workdir) / "source";
  fs::path stamp = target / kUnpackedStamp;
  std::string origin =
      fmt::format("{} {}", fs::absolute(source).string(), fs::file_size(source, ec));
  if (fs::exists(stamp, ec)) {
    auto previous = read_text_file(stamp);
    if (previous && *previous == origin) return target;
    return fail("{} holds another tarball's tree; use another --workdir", target.string());
  }
  Command unpack = unpack_command(source, workdir);
  if (planned) planned->push_back(unpack);
  if (dry_run) return target;
  // Unpacked beside and renamed when complete, so an interrupted unpack is redone, not used.
  fs::path partial = fs::absolute(workdir) / ".source-partial";
  fs::remove_all(partial, ec);
  fs::remove_all(fs::absolute(workdir) / kStaleTree, ec);
  fs::create_directories(partial, ec);
  spdlog::info("unpacking {} into {} (once per workdir)", source.string(), target.string());
  KPGO_TRY_BIND(output, runner.capture(unpack));
  if (!output->succeeded()) return fail("cannot unpack {}: {}", source.string(), output->err);
  fs::path top = partial;
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(partial, ec)) entries.push_back(entry.path());
  if (entries.size() == 1 && fs::is_directory(entries.front())) top = entries.front();
  if (!fs::exists(top / "Makefile")) return fail("{}: holds no kernel tree", source.string());
  fs::rename(top, target, ec);
  if (ec) return fail("cannot move the unpacked tree to {}: {}", target.string(), ec.message());
  fs::remove_all(partial, ec);
  KPGO_TRY(write_file_atomically(stamp, origin));
  return target;
}

std::string source_fingerprint(const fs::path& source) {
  std::error_code ec;
  if (!fs::is_directory(source, ec)) return sha256_key(source);
  // Sorted: directory order differs between file systems and copies of one tree.
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(source, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto size = it->file_size(ec);
    auto mtime = it->last_write_time(ec).time_since_epoch().count();
    entries.push_back(
        fmt::format("{}\t{}\t{}", it->path().lexically_relative(source).string(), size, mtime));
  }
  if (ec) return "unreadable:" + source.string();
  std::sort(entries.begin(), entries.end());
  std::string listing;
  for (const auto& entry : entries) listing.append(entry).push_back('\n');
  return sha256_hex(listing);
}

}  // namespace kpgo::kernel
