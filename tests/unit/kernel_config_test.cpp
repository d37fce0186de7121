// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/kernel/config.hpp"
#include "kpgo/kernel/lto.hpp"
#include "kpgo/kernel/modules.hpp"
#include "raw_builder.hpp"

using namespace kpgo::kernel;

TEST(KernelConfig, ParsesSetUnsetAndStrings) {
  auto entries = parse_config(
      "#\n# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=0x10\n");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0], (ConfigEntry{"CONFIG_A", "y"}));
  EXPECT_EQ(entries[1], (ConfigEntry{"CONFIG_B", std::nullopt}));
  EXPECT_EQ(entries[2].value, "\"x y\"");
}

TEST(KernelConfig, MergeReplacesInPlaceAndAppendsNew) {
  std::string merged =
      merge_config("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n",
                   {"CONFIG_B=y\nCONFIG_NEW=y\n", "CONFIG_A=n\n# CONFIG_NEW is not set\n"});
  EXPECT_EQ(merged, "CONFIG_A=n\nCONFIG_B=y\nCONFIG_C=m\n# CONFIG_NEW is not set\n");
}

TEST(KernelConfig, UnmetRequestsNameTheOptionAndFragment) {
  auto final_config = parse_config("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\n");
  auto unmet = unmet_requests(final_config,
                              {{"one.config", "CONFIG_A=y\nCONFIG_B=y\nCONFIG_D=y\n"},
                               {"two.config", "# CONFIG_C is not set\n# CONFIG_E is not set\n"}});
  ASSERT_EQ(unmet.size(), 2u);
  EXPECT_EQ(unmet[0].name, "CONFIG_B");
  EXPECT_EQ(unmet[0].got, "m");
  EXPECT_EQ(unmet[1].name, "CONFIG_D");
  EXPECT_FALSE(unmet[1].got);
  EXPECT_NE(describe(unmet[1]).find("one.config asks for y"), std::string::npos);
}

TEST(KernelConfig, LaterFragmentWinsInVerification) {
  auto final_config = parse_config("# CONFIG_A is not set\n");
  EXPECT_TRUE(
      unmet_requests(final_config, {{"a", "CONFIG_A=y\n"}, {"b", "# CONFIG_A is not set\n"}})
          .empty());
}

TEST(KernelConfig, ConfigTargetsAreMakeTargetsNotPaths) {
  EXPECT_TRUE(is_config_target("defconfig"));
  EXPECT_TRUE(is_config_target("x86_64_defconfig"));
  EXPECT_TRUE(is_config_target("tinyconfig"));
  EXPECT_FALSE(is_config_target("configs/my.config"));
  EXPECT_FALSE(is_config_target("my.conf"));
  EXPECT_FALSE(is_config_target(".config"));
}

TEST(KernelModules, NamesAreTheKernelsAndObjectsMapToTheirModule) {
  EXPECT_EQ(module_name("fs/ext4/ext4.ko"), "ext4");
  EXPECT_EQ(module_name("crypto/crc32c-generic.ko"), "crc32c_generic");
  kpgo::testing::TempDir dir;
  std::filesystem::create_directories(dir / "fs" / "ext4");
  kpgo::testing::write_text(dir / "fs" / "ext4" / "ext4.mod", "fs/ext4/super.o\nfs/ext4/inode.o\n");
  kpgo::testing::write_text(dir / "loop.mod", "drivers/block/loop.o\n");
  auto owner = module_objects(
      {{"ext4", dir / "fs" / "ext4" / "ext4.ko", "aa"}, {"loop", dir / "loop.ko", "bb"}});
  EXPECT_EQ(owner.size(), 3u);
  EXPECT_EQ(owner["fs/ext4/inode.o"], "ext4");
  EXPECT_EQ(owner["drivers/block/loop.o"], "loop");
}

TEST(KernelModules, ABuildWithoutModulesOrderHasNone) {
  kpgo::testing::TempDir dir;
  auto modules = built_modules(dir.path());
  ASSERT_TRUE(modules);
  EXPECT_TRUE(modules->empty());
  kpgo::testing::write_text(dir / "modules.order", "fs/ext4/ext4.o\n");
  auto missing = built_modules(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("not built"), std::string::npos);
}

TEST(KernelLto, ParsesTheThreeModesAndRefusesOthers) {
  EXPECT_EQ(parse_lto("thin").value(), Lto::thin);
  EXPECT_EQ(parse_lto("full").value(), Lto::full);
  EXPECT_EQ(parse_lto("none").value(), Lto::none);
  auto bad = parse_lto("fat");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("fat"), std::string::npos);
  EXPECT_EQ(lto_name(Lto::thin), "thin");
}

TEST(KernelLto, FragmentPicksOneChoiceAndConfigReadsItBack) {
  for (Lto lto : {Lto::none, Lto::thin, Lto::full}) {
    auto merged = parse_config(merge_config("CONFIG_LTO_NONE=y\n", {lto_fragment(lto)}));
    EXPECT_EQ(config_lto(merged), lto) << lto_name(lto);
    int chosen = 0;
    for (const auto& entry : merged) chosen += entry.value == "y";
    EXPECT_EQ(chosen, 1) << lto_name(lto);
  }
}

TEST(KernelLto, BlockersNameWhatKbuildNeeds) {
  auto ready = parse_config(
      "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=190107\nCONFIG_LD_IS_LLD=y\nCONFIG_AS_IS_LLVM=y\n"
      "CONFIG_ARCH_SUPPORTS_LTO_CLANG=y\nCONFIG_ARCH_SUPPORTS_LTO_CLANG_THIN=y\n");
  EXPECT_TRUE(lto_blockers(ready, Lto::thin).empty());
  EXPECT_TRUE(lto_blockers(ready, Lto::none).empty());

  auto gcov = ready;
  gcov.push_back({"CONFIG_GCOV_KERNEL", "y"});
  gcov.push_back({"CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT", "y"});
  auto blockers = lto_blockers(gcov, Lto::full);
  ASSERT_EQ(blockers.size(), 2u);
  EXPECT_NE(lto_refusal(gcov, Lto::full).find("GCOV_KERNEL"), std::string::npos);

  auto old_kasan = parse_config(
      "CONFIG_CC_IS_CLANG=y\nCONFIG_CLANG_VERSION=160006\nCONFIG_AS_IS_LLVM=y\n"
      "CONFIG_ARCH_SUPPORTS_LTO_CLANG=y\nCONFIG_DEBUG_INFO=y\nCONFIG_KASAN=y\n");
  auto reasons = lto_refusal(old_kasan, Lto::thin);
  EXPECT_NE(reasons.find("ld.lld"), std::string::npos);
  EXPECT_NE(reasons.find("ThinLTO"), std::string::npos);
  EXPECT_NE(reasons.find("clang 17"), std::string::npos);
  // kbuild chose otherwise for a reason kpgo does not know: say where to look.
  EXPECT_NE(lto_refusal(ready, Lto::thin).find("--fragment"), std::string::npos);
}
