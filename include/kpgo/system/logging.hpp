// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kpgo {

// -q: errors only; default: progress notes and warnings; -v: debug; -vv: trace.
void setup_logging(int verbosity);

// A status line for a long step (a kernel build), rewritten in place on a terminal. Where stderr
// is not a terminal, or with -q, it shows nothing: the phases' start and end lines say enough
// there, and a log file is not filled with carriage returns.
void show_status(std::string_view text);
void clear_status();

// "a, b, c" for a log line; beyond `named` names (unless -v is on) the first `named` and "and N
// more (-v names them all)": a distribution kernel has thousands of modules a line should not
// spell out by default.
std::string name_list(const std::vector<std::string>& names, size_t named);

}  // namespace kpgo
