// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>

#include "kpgo/profile/merge.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo::profile;
using kpgo::testing::TempDir;

TEST(WeightedInput, ParsesWeightAndFile) {
  auto parsed = parse_weighted_input("3,dir/a.profraw");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->weight, 3u);
  EXPECT_EQ(parsed->path, "dir/a.profraw");
}

TEST(WeightedInput, RejectsZeroGarbageAndMissingFile) {
  for (const char* bad : {"0,a", "x,a", "-1,a", "3", "3,", "1.5,a"}) {
    auto parsed = parse_weighted_input(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().what().find(bad), std::string::npos) << parsed.error().what();
  }
}

TEST(FailureMode, KnowsTheThreeModes) {
  EXPECT_EQ(*parse_failure_mode("any"), FailureMode::any);
  EXPECT_EQ(*parse_failure_mode("all"), FailureMode::all);
  EXPECT_EQ(*parse_failure_mode("warn"), FailureMode::warn);
  EXPECT_FALSE(parse_failure_mode("some"));
}

TEST(CollectInputs, OrderIsPlainThenWeightedThenLists) {
  TempDir dir;
  for (const char* name : {"a", "b", "c", "d"}) std::ofstream(dir / name) << "x";
  std::ofstream(dir / "list") << "# a comment\n\n5," << (dir / "d").string() << "\n"
                              << (dir / "c").string() << "\n";
  auto inputs = collect_inputs({(dir / "a").string()}, {"2," + (dir / "b").string()},
                               {(dir / "list").string()});
  ASSERT_TRUE(inputs) << inputs.error().what();
  ASSERT_EQ(inputs->size(), 4u);
  EXPECT_EQ((*inputs)[0].path, (dir / "a").string());
  EXPECT_EQ((*inputs)[1].weight, 2u);
  EXPECT_EQ((*inputs)[2].path, (dir / "d").string());
  EXPECT_EQ((*inputs)[2].weight, 5u);
  EXPECT_EQ((*inputs)[3].weight, 1u);
}

TEST(CollectInputs, DirectoriesAreSearchedRecursivelyInSortedOrder) {
  TempDir dir;
  std::filesystem::create_directories(dir / "p" / "sub");
  for (const char* name : {"p/z.profraw", "p/a.profraw", "p/sub/m.profraw"}) {
    std::ofstream(dir / name) << "x";
  }
  auto inputs = collect_inputs({(dir / "p").string()}, {}, {});
  ASSERT_TRUE(inputs);
  ASSERT_EQ(inputs->size(), 3u);
  EXPECT_EQ((*inputs)[0].path, (dir / "p" / "a.profraw").string());
  EXPECT_EQ((*inputs)[1].path, (dir / "p" / "sub" / "m.profraw").string());
  EXPECT_EQ((*inputs)[2].path, (dir / "p" / "z.profraw").string());
}

TEST(CollectInputs, ErrorsNameWhatIsWrong) {
  TempDir dir;
  auto missing = collect_inputs({(dir / "nope").string()}, {}, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("nope: no such file"), std::string::npos);

  std::filesystem::create_directories(dir / "empty");
  auto empty = collect_inputs({(dir / "empty").string()}, {}, {});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().what().find("holds no profiles"), std::string::npos);

  std::ofstream(dir / "list") << "\n0,x\n";
  auto bad_list = collect_inputs({}, {}, {(dir / "list").string()});
  ASSERT_FALSE(bad_list);
  EXPECT_NE(bad_list.error().what().find("list:2:"), std::string::npos) << bad_list.error().what();

  EXPECT_FALSE(collect_inputs({}, {}, {}));
}
