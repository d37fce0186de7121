// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "kpgo/system/logging.hpp"

using kpgo::name_list;

namespace {

std::vector<std::string> modules(size_t count) {
  std::vector<std::string> names;
  for (size_t i = 1; i <= count; ++i) names.push_back("m" + std::to_string(i));
  return names;
}

// Restores the default logger's level after a test changes it.
struct LevelGuard {
  spdlog::level::level_enum saved = spdlog::get_level();
  ~LevelGuard() { spdlog::set_level(saved); }
};

}  // namespace

TEST(NameList, NamesEveryOneUpToTheLimit) {
  LevelGuard guard;
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(name_list({}, 3), "");
  EXPECT_EQ(name_list(modules(3), 3), "m1, m2, m3");
}

TEST(NameList, BeyondTheLimitNamesTheFirstAndCountsTheRest) {
  LevelGuard guard;
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(name_list(modules(4230), 3), "m1, m2, m3, and 4227 more (-v names them all)");
}

TEST(NameList, VerboseNamesThemAll) {
  LevelGuard guard;
  spdlog::set_level(spdlog::level::debug);
  EXPECT_EQ(name_list(modules(5), 3), "m1, m2, m3, m4, m5");
}
