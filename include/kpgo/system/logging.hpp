// SPDX-License-Identifier: MIT
#pragma once

namespace kpgo {

// -q: errors only; default: warnings and progress notes; -v: info; -vv: debug (commands run).
void setup_logging(int verbosity);

}  // namespace kpgo
