// SPDX-License-Identifier: MIT
#include "kpgo/profile/versions.hpp"

#include <array>

#include <fmt/format.h>

namespace kpgo::profile {

namespace {
// From each major's InstrProfData.inc (INSTR_PROF_RAW_VERSION, INSTR_PROF_INDEX_VERSION).
constexpr std::array<FormatVersions, 9> kTable{{
    {14, 8, 7},
    {15, 8, 8},
    {16, 8, 9},
    {17, 8, 10},
    {18, 9, 11},
    {19, 10, 12},
    {20, 10, 12},
    {21, 10, 12},
    {22, 10, 13},  // the raw layout of 19; indexed 13 ("frontend PGO stable hash V4")
}};
}  // namespace

std::optional<FormatVersions> known_format_versions(unsigned llvm_major) {
  for (const auto& row : kTable) {
    if (row.llvm_major == llvm_major) return row;
  }
  return std::nullopt;
}

std::string majors_writing_raw(uint64_t raw) {
  std::vector<unsigned> majors;
  for (const auto& row : kTable) {
    if (row.raw == raw) majors.push_back(row.llvm_major);
  }
  if (majors.empty()) return "an LLVM kpgo does not know";
  if (raw == kTable.back().raw) return fmt::format("{} or newer", majors.front());
  if (majors.size() == 1) return fmt::format("{}", majors.front());
  return fmt::format("{} to {}", majors.front(), majors.back());
}

}  // namespace kpgo::profile
