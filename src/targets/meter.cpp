// SPDX-License-Identifier: MIT
#include "kpgo/targets/meter.hpp"

#include <fstream>
#include <sstream>

#include "kpgo/system/data_dir.hpp"
#include "kpgo/targets/qemu.hpp"

namespace kpgo::targets {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginName = "libkpgo-qemu-meter.so";

// One "window ..." or "total ..." line's eight counts, in the order the meter writes them.
bool parse_counts(std::istringstream& line, MeterCounts& counts) {
  line >> counts.kernel_instructions >> counts.user_instructions >> counts.kernel_taken_branches >>
      counts.user_taken_branches >> counts.kernel_icache_misses >> counts.user_icache_misses >>
      counts.kernel_itlb_misses >> counts.user_itlb_misses;
  std::string rest;
  return !line.fail() && !(line >> rest);
}

}  // namespace

Result<fs::path> meter_plugin() {
  std::error_code ec;
  std::string searched;
  for (const auto& dir : library_dirs()) {
    if (fs::is_regular_file(dir / kPluginName, ec)) return fs::weakly_canonical(dir / kPluginName);
    searched += " " + dir.string();
  }
  return fail("kpgo's QEMU meter plugin {} was not found in{}; rebuild or reinstall kpgo",
              kPluginName, searched);
}

std::string meter_plugin_option(const fs::path& plugin, const fs::path& report) {
  return fmt::format("{},out={},start={:#x},stop={:#x}", plugin.string(), report.string(),
                     kWindowStartAddress, kWindowStopAddress);
}

Result<MeterReport> read_meter_report(const fs::path& report) {
  std::ifstream in(report);
  if (!in) return fail("the meter wrote no report {} (did QEMU exit cleanly?)", report.string());
  MeterReport out;
  std::string text;
  bool header = false, total = false;
  for (unsigned number = 1; std::getline(in, text); ++number) {
    std::istringstream line(text);
    std::string kind;
    line >> kind;
    if (kind.empty() || kind[0] == '#') continue;
    if (kind == "kpgo-meter" && number == 1) {
      unsigned version = 0;
      line >> version;
      // Version 2 added the iTLB model; a report is read by the kpgo whose meter wrote it.
      if (version != 2)
        return fail("{}: meter report version {} is not 2", report.string(), version);
      std::string models;
      std::getline(line >> std::ws, models);
      size_t itlb = models.find(" itlb=");
      if (itlb == std::string::npos)
        return fail("{}:{}: the header names no iTLB model: {}", report.string(), number, text);
      out.cache = models.substr(0, itlb);
      out.itlb = models.substr(itlb + 1);
      header = true;
      continue;
    }
    MeterCounts counts;
    if (!header || (kind != "window" && kind != "total") || !parse_counts(line, counts))
      return fail("{}:{}: not a meter report line: {}", report.string(), number, text);
    if (kind == "total") {
      out.total = counts;
      total = true;
    } else {
      out.windows.push_back(counts);
    }
  }
  if (!total) return fail("{}: the meter report has no total line: cut short", report.string());
  return out;
}

Result<fs::path> build_stopwatch(const std::string& clang, const std::string& arch,
                                 const fs::path& output, ProcessRunner& runner) {
  KPGO_TRY_BIND(data, data_dir());
  fs::path source = *data / "guest" / "stopwatch.c";
  Command command{{clang, "--target=" + guest_triple(arch), "-O2", "-static", "-nostdlib",
                   "-ffreestanding", "-fno-stack-protector", "-fno-pic", "-fuse-ld=lld",
                   fmt::format("-Wl,--section-start=.kpgo_window_start={:#x}", kWindowStartAddress),
                   fmt::format("-Wl,--section-start=.kpgo_window_stop={:#x}", kWindowStopAddress),
                   "-o", output.string(), source.string()}};
  KPGO_TRY_BIND(built, runner.capture(command));
  if (!built->succeeded())
    return fail("cannot build the guest stopwatch {} for {}: {}", source.string(), arch,
                built->err);
  return output;
}

}  // namespace kpgo::targets
