// SPDX-License-Identifier: MIT
#pragma once

// kpgo's measurement in QEMU guests: the meter, a TCG plugin (src/targets/meter/meter.c) that
// counts instructions, taken branches, i-cache and iTLB misses apart for kernel and user code, over
// windows the guest's stopwatch (guest/stopwatch.c) opens and closes around each workload.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/process.hpp"

namespace kpgo::targets {

// Where the stopwatch's marks are linked, and where the meter watches for them: user addresses
// no other guest program maps (below 2^39, so also under arm64's smallest user address space).
inline constexpr uint64_t kWindowStartAddress = 0x4b50470000;
inline constexpr uint64_t kWindowStopAddress = 0x4b50471000;

struct MeterCounts {
  uint64_t kernel_instructions = 0;
  uint64_t user_instructions = 0;
  uint64_t kernel_taken_branches = 0;
  uint64_t user_taken_branches = 0;
  uint64_t kernel_icache_misses = 0;
  uint64_t user_icache_misses = 0;
  uint64_t kernel_itlb_misses = 0;
  uint64_t user_itlb_misses = 0;
};

struct MeterReport {
  std::string cache;                 // the i-cache model's geometry, "cache=32768 ways=8 line=64"
  std::string itlb;                  // the iTLB model's, "itlb=128 itlb_ways=8 page=4096"
  std::vector<MeterCounts> windows;  // in the order the guest closed them
  MeterCounts total;                 // the whole run, boot included
};

// The meter plugin library, libkpgo-qemu-meter.so, from kpgo's library directories.
Result<std::filesystem::path> meter_plugin();
// QEMU's -plugin argument for the meter writing its report to `report`.
std::string meter_plugin_option(const std::filesystem::path& plugin,
                                const std::filesystem::path& report);
Result<MeterReport> read_meter_report(const std::filesystem::path& report);

// Builds the guest stopwatch for `arch` (kbuild's name) with `clang` (lld beside it), its
// marks at the meter's addresses.
Result<std::filesystem::path> build_stopwatch(const std::string& clang, const std::string& arch,
                                              const std::filesystem::path& output,
                                              ProcessRunner& runner);

}  // namespace kpgo::targets
