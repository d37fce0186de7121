// SPDX-License-Identifier: MIT
#include <spdlog/spdlog.h>

#include "kpgo/system/data_dir.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::targets {

namespace fs = std::filesystem;

Result<Workload> find_workload(const std::string& name_or_path,
                               const std::vector<fs::path>& files) {
  Workload workload;
  workload.files = files;
  std::error_code ec;
  fs::path script = name_or_path;
  if (!fs::exists(script, ec) && name_or_path.find('/') == std::string::npos) {
    KPGO_TRY_BIND(data, data_dir());
    script = *data / "configs" / "workloads" / (name_or_path + ".sh");
    if (!fs::exists(script, ec)) {
      std::string known;
      for (const auto& entry : fs::directory_iterator(*data / "configs" / "workloads", ec)) {
        known += (known.empty() ? "" : ", ") + entry.path().stem().string();
      }
      return fail("--workload {}: no such script, nor a workload kpgo ships ({})", name_or_path,
                  known);
    }
  }
  if (!fs::is_regular_file(script, ec)) return fail("--workload {}: not a file", script.string());
  for (const auto& file : files) {
    if (!fs::is_regular_file(file, ec)) return fail("--file {}: no such file", file.string());
  }
  workload.script = fs::absolute(script);
  workload.name = script.stem().string();
  return workload;
}

std::vector<std::string> evaluation_suite(const std::string& arch) {
  // Not yet the whole suite on arm64: its Debian userland builds (through qemu-user-static), but
  // a bench of the five userland workloads under TCG's arm64 emulation has not been measured.
  if (arch != "x86_64") return {"default", "archive"};
  return {"default", "archive", "sched", "net", "io", "exec", "mm"};
}

}  // namespace kpgo::targets
