// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/kernel/config.hpp"
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
