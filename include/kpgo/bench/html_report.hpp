// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "kpgo/bench/bench.hpp"

namespace kpgo::bench {

// Variants' bar colours in the report, the reference's first (a palette that stays apart for
// colour-blind readers); variants past the last reuse them in turn.
inline constexpr const char* kVariantColours[] = {"#4477aa", "#ee6677", "#228833",
                                                  "#ccbb44", "#66ccee", "#aa3377"};
// The band behind a workload the profile was trained on.
inline constexpr const char* kTrainedBand = "#fbe9a6";

// A one-page, self-contained HTML report of a bench (no script, no outside file): the kernels
// and how they were built, then per metric a bar chart in which each workload is a group with one
// bar per kernel, its median over the reference kernel's (the reference is 1), the ratio written
// on it, and the workloads the profile was trained on marked.
std::string html_report(const pipeline::BenchState& outcome);

}  // namespace kpgo::bench
