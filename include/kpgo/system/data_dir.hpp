// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>

#include "kpgo/system/error.hpp"

namespace kpgo {

// Where kpgo's own files live (kernel/ support and hooks, configs/): $KPGO_DATA_DIR, then
// ../share/kpgo beside the executable (an install), then the source tree it was built from.
Result<std::filesystem::path> data_dir();

}  // namespace kpgo
