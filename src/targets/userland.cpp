// SPDX-License-Identifier: MIT
#include "kpgo/targets/userland.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::targets {

namespace fs = std::filesystem;

namespace {

// What kpgo's image holds besides the packages asked for: what its init uses in the chroot.
// Bump kRecipe when the recipe changes, so cached images are rebuilt.
constexpr const char* kRecipe =
    "kpgo debian userland 2: bookworm essential+kmod,procps as /debian in cpio";
const char* const kBasePackages[] = {"kmod", "procps"};
constexpr const char* kSuite = "bookworm";

// The host's apt sources that name Debian: mmdebstrap reads them as they are, so the guest
// comes from the same mirrors (and snapshot) as this machine's own packages.
// Each with its text, read once: the text also goes into the image's cache key.
struct AptSource {
  fs::path file;
  std::string text;
};

std::vector<AptSource> debian_sources() {
  std::vector<AptSource> files;
  std::error_code ec;
  auto consider = [&](const fs::path& file) {
    std::string ext = file.extension().string();
    if (ext != ".list" && ext != ".sources") return;
    std::string text = read_text_or_empty(file);
    if (text.find("debian") != std::string::npos) files.push_back({file, std::move(text)});
  };
  consider("/etc/apt/sources.list");
  std::vector<fs::path> parts;
  for (const auto& entry : fs::directory_iterator("/etc/apt/sources.list.d", ec))
    parts.push_back(entry.path());
  std::sort(parts.begin(), parts.end());
  for (const auto& part : parts) consider(part);
  return files;
}

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "kpgo" / "userland";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "kpgo" / "userland";
  return fs::temp_directory_path() / "kpgo-userland";
}

std::string debian_arch(const std::string& arch) {
  return arch == "x86_64" ? "amd64" : arch;
}

// The kernel's name for an arch (uname -m, binfmt_misc's qemu-NAME), from kbuild's.
std::string machine_name(const std::string& arch) {
  return arch == "arm64" ? "aarch64" : arch;
}

Result<> run_step(ProcessRunner& runner, const Command& command, const std::string& what) {
  spdlog::debug("{}", render_command(command));
  KPGO_TRY_BIND(ran, runner.capture(command));
  if (!ran->succeeded()) {
    std::string err = ran->err.size() > 2000 ? ran->err.substr(ran->err.size() - 2000) : ran->err;
    return fail("{} failed ({}):\n{}", what, render_command(command), err);
  }
  return {};
}

}  // namespace

std::vector<std::string> declared_packages(const std::string& script_text) {
  static const std::regex header(R"(^#\s*kpgo-packages:(.*)$)");
  std::vector<std::string> packages;
  std::istringstream lines(script_text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (!std::regex_match(line, match, header)) continue;
    std::string list = match[1];
    std::replace(list.begin(), list.end(), ',', ' ');
    std::istringstream names(list);
    for (std::string name; names >> name;) packages.push_back(name);
  }
  return packages;
}

Result<std::vector<std::string>> userland_packages(const std::vector<std::string>& extra,
                                                   const std::vector<Workload>& workloads) {
  // Debian policy's package names: lower case letters, digits, + - . and at least two long.
  static const std::regex valid("[a-z0-9][a-z0-9+.-]+");
  std::set<std::string> all(extra.begin(), extra.end());
  for (const auto& workload : workloads) {
    for (const auto& name : declared_packages(read_text_or_empty(workload.script))) {
      if (!std::regex_match(name, valid)) {
        return fail("{}: '{}' in its kpgo-packages line is not a Debian package name",
                    workload.script.string(), name);
      }
      all.insert(name);
    }
  }
  for (const auto& name : extra) {
    if (!std::regex_match(name, valid))
      return fail("--packages: '{}' is not a Debian package name", name);
  }
  return std::vector<std::string>(all.begin(), all.end());
}

Result<> check_runs_programs_of(const std::string& arch) {
  struct utsname host{};
  if (::uname(&host) == 0 && machine_name(arch) == host.machine) return {};
  // The handler qemu-user-static installs; "enabled" first, its flags further down. F (fix
  // binary) opens the interpreter once, so that it also runs inside the root mmdebstrap
  // chroots into, where /usr/libexec/qemu-binfmt is not.
  fs::path handler = fs::path("/proc/sys/fs/binfmt_misc") / ("qemu-" + machine_name(arch));
  std::string text = read_text_or_empty(handler);
  std::string why;
  if (text.empty()) {
    why = fmt::format("{} is not there", handler.string());
  } else if (text.rfind("enabled", 0) != 0) {
    why = fmt::format("{} is disabled", handler.string());
  } else if (std::smatch flags; !std::regex_search(text, flags, std::regex("flags: *([A-Z]*)")) ||
                                flags[1].str().find('F') == std::string::npos) {
    why = fmt::format("{} lacks the F flag (fix binary), without which it fails in a chroot",
                      handler.string());
  } else if (!find_program("arch-test")) {
    why = "arch-test is not installed (mmdebstrap asks it whether a foreign arch runs here)";
  } else {
    return {};
  }
  return fail(
      "building a Debian userland for {} guests runs {} programs on this {} machine, which "
      "needs qemu-user-static registered with binfmt_misc, and {}: bash scripts/setup.sh "
      "installs and registers it (or: apt-get install qemu-user-static binfmt-support arch-test; "
      "update-binfmts --enable qemu-{})",
      arch, arch, host.machine, why, machine_name(arch));
}

Result<fs::path> debian_userland(const UserlandRequest& request, ProcessRunner& runner) {
  auto sources = debian_sources();
  if (sources.empty())
    return fail("no Debian entries in this machine's apt sources (/etc/apt/sources.list{{,.d}})");
  std::vector<std::string> packages(std::begin(kBasePackages), std::end(kBasePackages));
  packages.insert(packages.end(), request.packages.begin(), request.packages.end());
  std::sort(packages.begin(), packages.end());
  packages.erase(std::unique(packages.begin(), packages.end()), packages.end());

  std::string recipe = fmt::format("{}\narch {}\n", kRecipe, request.arch);
  for (const auto& name : packages) recipe += "package " + name + "\n";
  for (const auto& source : sources)
    recipe += "sources " + source.file.string() + "\n" + source.text;
  fs::path cache = request.cache_dir.empty() ? default_cache_dir() : request.cache_dir;
  fs::path image = cache / ("debian-" + sha256_hex(recipe).substr(0, 16) + ".cpio");
  std::error_code ec;
  if (fs::is_regular_file(image, ec)) {
    spdlog::info("Debian userland: {} (cached)", image.string());
    return image;
  }
  KPGO_TRY(check_runs_programs_of(request.arch));
  fs::create_directories(cache, ec);
  if (ec) return fail("cannot create {}: {}", cache.string(), ec.message());

  std::string partial = fmt::format("{}.partial-{}", image.string(), ::getpid());
  fs::path top = partial + ".root";
  fs::path root = top / "debian";
  fs::path staged = partial + ".cpio";
  struct Cleanup {
    fs::path root, staged;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(root, ignored);
      fs::remove(staged, ignored);
    }
  } cleanup{top, staged};

  fs::create_directories(top, ec);  // mmdebstrap makes `root` itself, in a directory that exists
  if (ec) return fail("cannot create {}: {}", top.string(), ec.message());
  std::string include;
  for (const auto& name : packages) include += (include.empty() ? "" : ",") + name;
  spdlog::info("Debian userland: building with mmdebstrap ({} packages asked for: {})",
               packages.size(), include);
  Command bootstrap{{"mmdebstrap", "--variant=essential", "--mode=root",
                     "--architectures=" + debian_arch(request.arch), "--include=" + include,
                     // what no workload reads: documentation and translations
                     "--dpkgopt=path-exclude=/usr/share/doc/*",
                     "--dpkgopt=path-exclude=/usr/share/man/*",
                     "--dpkgopt=path-exclude=/usr/share/locale/*", kSuite, root.string()}};
  for (const auto& source : sources) bootstrap.argv.push_back(source.file.string());
  KPGO_TRY(run_step(runner, bootstrap, "building the Debian userland"));
  fs::create_directories(root / "kpgo", ec);  // the init binds the initramfs's /kpgo here

  // The archive lists /debian and everything below it, sorted, owned as in the root.
  KPGO_TRY(run_step(
      runner,
      {{"sh", "-c", "cd \"$1\" && find debian | LC_ALL=C sort | cpio --quiet -o -H newc > \"$2\"",
        "sh", top.string(), staged.string()}},
      "archiving the Debian userland"));
  fs::rename(staged, image, ec);
  if (ec) return fail("cannot rename {} to {}: {}", staged.string(), image.string(), ec.message());
  spdlog::info("Debian userland: {}", image.string());
  return image;
}

Result<> attach_userland(QemuOptions& options, const std::vector<Workload>& workloads,
                         ProcessRunner& runner) {
  KPGO_TRY_BIND(packages, userland_packages(options.packages, workloads));
  if (packages->empty()) return {};
  KPGO_TRY_BIND(image, debian_userland({options.arch, *packages, {}}, runner));
  options.userland_image = *image;
  if (options.memory_mb < kUserlandMemoryMb) {
    spdlog::info("the guest gets {} MiB, not {}: the Debian userland lives in its memory",
                 kUserlandMemoryMb, options.memory_mb);
    options.memory_mb = kUserlandMemoryMb;
  }
  return {};
}

}  // namespace kpgo::targets
