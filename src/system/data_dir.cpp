// SPDX-License-Identifier: MIT
#include "kpgo/system/data_dir.hpp"

#include <cstdlib>

namespace kpgo {

namespace fs = std::filesystem;

Result<fs::path> data_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("KPGO_DATA_DIR"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / ".." / "share" / "kpgo");
#ifdef KPGO_SOURCE_DIR
  candidates.emplace_back(KPGO_SOURCE_DIR);
#endif
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "kernel" / "pgo" / "Kconfig", ec)) return fs::weakly_canonical(dir);
  }
  return fail(
      "kpgo's data files (kernel/, configs/) were not found; set KPGO_DATA_DIR to the "
      "directory holding them");
}

}  // namespace kpgo
