// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace kpgo {

// -q: errors only; default: progress notes and warnings; -v: debug; -vv: trace.
void setup_logging(int verbosity);

// A status line for a long step (a kernel build), rewritten in place on a terminal. Where stderr
// is not a terminal, or with -q, it shows nothing: the phases' start and end lines say enough
// there, and a log file is not filled with carriage returns.
void show_status(std::string_view text);
void clear_status();

}  // namespace kpgo
