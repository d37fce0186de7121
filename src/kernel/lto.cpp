// SPDX-License-Identifier: MIT
#include "kpgo/kernel/lto.hpp"

#include <charconv>
#include <map>

#include <fmt/format.h>

namespace kpgo::kernel {

namespace {

using Values = std::map<std::string, std::string>;

Values values_of(const std::vector<ConfigEntry>& config) {
  Values values;
  for (const auto& entry : config) {
    if (entry.value) values[entry.name] = *entry.value;
  }
  return values;
}

bool is_set(const Values& values, const std::string& name) {
  auto it = values.find(name);
  return it != values.end() && it->second == "y";
}

}  // namespace

Result<Lto> parse_lto(std::string_view text) {
  if (text == "none") return Lto::none;
  if (text == "thin") return Lto::thin;
  if (text == "full") return Lto::full;
  return fail("--lto {}: not an LTO mode; use thin, full or none", text);
}

std::string lto_name(Lto lto) {
  switch (lto) {
    case Lto::thin:
      return "thin";
    case Lto::full:
      return "full";
    case Lto::none:
      break;
  }
  return "none";
}

std::string lto_fragment(Lto lto) {
  std::string chosen = lto == Lto::thin   ? "CONFIG_LTO_CLANG_THIN"
                       : lto == Lto::full ? "CONFIG_LTO_CLANG_FULL"
                                          : "CONFIG_LTO_NONE";
  std::string fragment;
  for (const char* option : {"CONFIG_LTO_NONE", "CONFIG_LTO_CLANG_THIN", "CONFIG_LTO_CLANG_FULL"}) {
    fragment += option == chosen ? chosen + "=y\n" : fmt::format("# {} is not set\n", option);
  }
  return fragment;
}

Lto config_lto(const std::vector<ConfigEntry>& config) {
  Values values = values_of(config);
  if (is_set(values, "CONFIG_LTO_CLANG_THIN")) return Lto::thin;
  if (is_set(values, "CONFIG_LTO_CLANG_FULL")) return Lto::full;
  return Lto::none;
}

std::vector<std::string> lto_blockers(const std::vector<ConfigEntry>& config, Lto lto) {
  std::vector<std::string> blockers;
  if (lto == Lto::none) return blockers;
  Values values = values_of(config);
  unsigned clang_version = 0;
  if (auto clang = values.find("CONFIG_CLANG_VERSION"); clang != values.end()) {
    std::from_chars(clang->second.data(), clang->second.data() + clang->second.size(),
                    clang_version);
  }
  if (!is_set(values, "CONFIG_CC_IS_CLANG")) blockers.push_back("the compiler is not clang");
  if (!is_set(values, "CONFIG_LD_IS_LLD"))
    blockers.push_back("the linker is not ld.lld (LLVM= must name an LLVM with lld)");
  if (!is_set(values, "CONFIG_AS_IS_LLVM"))
    blockers.push_back("the assembler is not clang's integrated one (LLVM_IAS=0?)");
  if (!is_set(values, "CONFIG_ARCH_SUPPORTS_LTO_CLANG"))
    blockers.push_back("this architecture has no clang LTO in this kernel");
  if (lto == Lto::thin && !is_set(values, "CONFIG_ARCH_SUPPORTS_LTO_CLANG_THIN"))
    blockers.push_back("this architecture has no ThinLTO in this kernel (try --lto full)");
  if (is_set(values, "CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT"))
    blockers.push_back(
        "CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT=y (recordmcount reads objects, "
        "LTO writes bitcode)");
  if (is_set(values, "CONFIG_GCOV_KERNEL")) blockers.push_back("CONFIG_GCOV_KERNEL=y");
  bool debug_info = is_set(values, "CONFIG_DEBUG_INFO");
  if (debug_info && clang_version < 170000) {
    if (is_set(values, "CONFIG_KASAN") && !is_set(values, "CONFIG_KASAN_HW_TAGS"))
      blockers.push_back("CONFIG_KASAN with DEBUG_INFO needs clang 17 or later for LTO");
    if (is_set(values, "CONFIG_KCOV"))
      blockers.push_back("CONFIG_KCOV with DEBUG_INFO needs clang 17 or later for LTO");
  }
  if (lto == Lto::full && is_set(values, "CONFIG_COMPILE_TEST"))
    blockers.push_back("CONFIG_COMPILE_TEST=y rules out full LTO");
  return blockers;
}

std::string lto_refusal(const std::vector<ConfigEntry>& config, Lto lto) {
  auto blockers = lto_blockers(config, lto);
  if (blockers.empty()) return "kbuild did not choose it (is LTO set otherwise in a --fragment?)";
  std::string text;
  for (const auto& blocker : blockers) text += (text.empty() ? "" : "; ") + blocker;
  return text;
}

std::string lto_memory_advice(Lto lto) {
  switch (lto) {
    case Lto::full:
      return "ThinLTO (--lto thin) links the kernel in a fraction of full LTO's memory; or "
             "--lto none, more memory, or swap";
    case Lto::thin:
      return "KLDFLAGS=--thinlto-jobs=1 (the link's backends one at a time instead of one per "
             "CPU), fewer make jobs (-j1), more memory or swap; or --lto none";
    case Lto::none:
      break;
  }
  return "fewer make jobs (-j) or more memory (or swap)";
}

}  // namespace kpgo::kernel
