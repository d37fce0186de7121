// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/profile/merge.hpp"

using namespace kpgo::profile;

namespace {

const std::vector<BackendInfo> kBackends = {
    {16, "16.0.6", 8, 9},
    {19, "19.1.7", 10, 12},
    {22, "22.1.8", 10, 13},
};

ProfileIdentity raw(uint64_t version, std::vector<std::string> ids = {}) {
  ProfileIdentity id;
  id.kind = ProfileKind::raw;
  id.version = version;
  id.binary_ids = std::move(ids);
  return id;
}

ProfileIdentity indexed(uint64_t version) {
  ProfileIdentity id;
  id.kind = ProfileKind::indexed;
  id.version = version;
  return id;
}

}  // namespace

TEST(ChooseBackend, RawInputsPickTheLlvmOfTheirFormat) {
  EXPECT_EQ(*choose_backend({raw(8), raw(8)}, std::nullopt, kBackends), 16u);
  EXPECT_EQ(*choose_backend({raw(10)}, std::nullopt, kBackends), 19u);
  // The majority format decides; the minority is then refused per input.
  EXPECT_EQ(*choose_backend({raw(8), raw(10), raw(10)}, std::nullopt, kBackends), 19u);
}

TEST(ChooseBackend, RawVersionWithoutBackendExplainsTheFix) {
  auto chosen = choose_backend({raw(9)}, std::nullopt, kBackends);
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().what().find("version 9, written by clang 18"), std::string::npos)
      << chosen.error().what();
  EXPECT_NE(chosen.error().what().find("llvm-N-dev"), std::string::npos);
}

TEST(ChooseBackend, IndexedInputsKeepTheOldestReadableFormat) {
  // A profile for clang 16 must stay readable by clang 16: merging it with LLVM 19 would not.
  EXPECT_EQ(*choose_backend({indexed(9)}, std::nullopt, kBackends), 16u);
  EXPECT_EQ(*choose_backend({indexed(12)}, std::nullopt, kBackends), 19u);
  EXPECT_EQ(*choose_backend({indexed(13)}, std::nullopt, kBackends), 22u);
  EXPECT_FALSE(choose_backend({indexed(14)}, std::nullopt, kBackends));
  // Raw v10 with an indexed 13 input: only LLVM 22 reads both.
  EXPECT_EQ(*choose_backend({raw(10), indexed(13)}, std::nullopt, kBackends), 22u);
}

TEST(ChooseBackend, ConsumerDecidesWhenGiven) {
  EXPECT_EQ(*choose_backend({}, 19u, kBackends), 19u);
  EXPECT_EQ(*choose_backend({}, 16u, kBackends), 16u);
  // clang 19 and 22 share raw v10 but not the indexed version: each gets its own.
  EXPECT_EQ(*choose_backend({}, 22u, kBackends), 22u);
  // clang 20 and 21 read indexed up to 12: LLVM 19 writes it, LLVM 22 would write 13.
  EXPECT_EQ(*choose_backend({}, 20u, kBackends), 19u);
  EXPECT_EQ(*choose_backend({}, 21u, kBackends), 19u);
  // clang 17 writes raw 8 and reads indexed up to 10: the LLVM 16 backend serves it.
  EXPECT_EQ(*choose_backend({}, 17u, kBackends), 16u);
  // clang 14 reads indexed up to 7: nothing built here writes that.
  auto chosen = choose_backend({}, 14u, kBackends);
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().what().find("llvm-14-dev"), std::string::npos);
  EXPECT_FALSE(choose_backend({}, 18u, kBackends));
}

TEST(VersionProblem, NamesBothVersionsAndTheFix) {
  auto problem = version_problem(raw(8), kBackends[1], kBackends);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("version 8"), std::string::npos);
  EXPECT_NE(problem->find("only version 10"), std::string::npos);
  EXPECT_NE(problem->find("--llvm -16"), std::string::npos) << *problem;
  EXPECT_FALSE(version_problem(raw(10), kBackends[1], kBackends));
  EXPECT_TRUE(version_problem(indexed(12), kBackends[0], kBackends));
  EXPECT_FALSE(version_problem(indexed(7), kBackends[0], kBackends));
}

TEST(ForeignInputs, MajorityBuildIdWinsWhateverTheOrder) {
  std::vector<ProfileIdentity> inputs = {raw(10, {"bb"}), raw(10, {"aa"}), raw(10, {"aa"}),
                                         raw(10)};
  auto foreign = foreign_inputs(inputs, {});
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0].first, 0u);
  EXPECT_NE(foreign[0].second.find("build ID bb"), std::string::npos);
}

TEST(ForeignInputs, WithoutAMajorityEveryBuildIsInDoubt) {
  std::vector<ProfileIdentity> tie = {raw(10, {"bb"}), raw(10, {"aa"}), raw(10)};
  auto foreign = foreign_inputs(tie, {});
  ASSERT_EQ(foreign.size(), 2u);
  EXPECT_NE(foreign[0].second.find("none has a majority"), std::string::npos);
  EXPECT_NE(foreign[0].second.find("--binary-id"), std::string::npos);
  EXPECT_TRUE(foreign_inputs(tie, {"aa"}).size() == 1);
}

TEST(ForeignInputs, ExpectedIdOverridesTheVote) {
  std::vector<ProfileIdentity> inputs = {raw(10, {"aa"}), raw(10, {"aa"}), raw(10, {"cc"})};
  auto foreign = foreign_inputs(inputs, {"cc"});
  ASSERT_EQ(foreign.size(), 2u);
  EXPECT_NE(foreign[0].second.find("expected cc"), std::string::npos);
}

TEST(ForeignInputs, ABuildTreeAcceptsVmlinuxAndItsModules) {
  std::vector<ProfileIdentity> inputs = {raw(10, {"aa"}), raw(10, {"m1"}), raw(10, {"m2"}),
                                         raw(10, {"zz"})};
  auto foreign = foreign_inputs(inputs, {"aa", "m1", "m2"});
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0].first, 3u);
  EXPECT_NE(foreign[0].second.find("build ID zz is none of the 3"), std::string::npos);
}
