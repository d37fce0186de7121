// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo {

// Where kpgo's own files live (kernel/ support and hooks, configs/): $KPGO_DATA_DIR, then
// ../share/kpgo beside the executable (an install), then the source tree it was built from.
Result<std::filesystem::path> data_dir();

// Where kpgo's own libraries live (its merge backends, its QEMU plugin), most preferred first:
// $KPGO_BACKEND_DIR when set, the executable's directory (a build tree), ../lib/kpgo beside it
// (an install).
std::vector<std::filesystem::path> library_dirs();

}  // namespace kpgo
