// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kpgo/kernel/config.hpp"
#include "kpgo/system/error.hpp"

// Clang LTO in kbuild's terms: a kconfig choice (LTO_NONE, LTO_CLANG_THIN, LTO_CLANG_FULL) that
// kbuild offers only when HAS_LTO_CLANG's conditions hold.
namespace kpgo::kernel {

enum class Lto { none, thin, full };

// "none", "thin" or "full"; anything else is refused with the three.
Result<Lto> parse_lto(std::string_view text);
std::string lto_name(Lto lto);

// The config fragment that picks it.
std::string lto_fragment(Lto lto);

// What a configuration chose.
Lto config_lto(const std::vector<ConfigEntry>& config);

// Why a final configuration could not take `lto`: each of HAS_LTO_CLANG's conditions it
// fails, in words a user can act on. Empty when the reason is not one kpgo knows (e.g. another
// fragment chose otherwise).
std::vector<std::string> lto_blockers(const std::vector<ConfigEntry>& config, Lto lto);

// What to change when a build with `lto` runs out of memory: the link of vmlinux.o holds the
// whole kernel's IR at once (full) or runs one backend per CPU (thin).
std::string lto_memory_advice(Lto lto);

// The blockers in one line, or what else to look at when kpgo knows none.
std::string lto_refusal(const std::vector<ConfigEntry>& config, Lto lto);

}  // namespace kpgo::kernel
