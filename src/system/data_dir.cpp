// SPDX-License-Identifier: MIT
#include "kpgo/system/data_dir.hpp"

#include <cstdlib>

namespace kpgo {

namespace fs = std::filesystem;

namespace {
fs::path executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}
}  // namespace

Result<fs::path> data_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("KPGO_DATA_DIR"); env && *env) candidates.emplace_back(env);
  candidates.push_back(executable_dir() / ".." / "share" / "kpgo");
#ifdef KPGO_SOURCE_DIR
  candidates.emplace_back(KPGO_SOURCE_DIR);
#endif
  std::error_code ec;
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "kernel" / "pgo" / "Kconfig", ec)) return fs::weakly_canonical(dir);
  }
  return fail(
      "kpgo's data files (kernel/, configs/) were not found; set KPGO_DATA_DIR to the "
      "directory holding them");
}

std::vector<fs::path> library_dirs() {
  std::vector<fs::path> dirs;
  if (const char* dir = std::getenv("KPGO_BACKEND_DIR"); dir && *dir) dirs.emplace_back(dir);
  fs::path exe_dir = executable_dir();
  dirs.push_back(exe_dir);
  dirs.push_back(exe_dir / ".." / "lib" / "kpgo");
  return dirs;
}

}  // namespace kpgo
