// SPDX-License-Identifier: MIT
#pragma once

namespace kpgo {

// -q: errors only; default: progress notes and warnings; -v: debug; -vv: trace.
void setup_logging(int verbosity);

}  // namespace kpgo
