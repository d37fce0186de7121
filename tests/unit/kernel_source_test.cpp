// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>

#include "kpgo/kernel/source.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo::kernel;
using kpgo::testing::TempDir;

TEST(KernelVersion, ReadFromTheTopMakefile) {
  TempDir tree;
  std::ofstream(tree / "Makefile") << "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\n"
                                      "PATCHLEVEL = 12\nSUBLEVEL = 57\nEXTRAVERSION = -rc1\n"
                                      "NAME = Baby Opossum Posse\n";
  auto version = read_kernel_version(tree.path());
  ASSERT_TRUE(version) << version.error().what();
  EXPECT_EQ(version->to_string(), "6.12.57-rc1");
}

TEST(KernelVersion, NotAKernelTree) {
  TempDir tree;
  auto version = read_kernel_version(tree.path());
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().what().find("not a kernel tree"), std::string::npos);
  std::ofstream(tree / "Makefile") << "all:\n\ttrue\n";
  EXPECT_FALSE(read_kernel_version(tree.path()));
}

TEST(KernelVersion, ANumberThatIsNotOneIsNamed) {
  TempDir tree;
  std::ofstream(tree / "Makefile") << "VERSION = six\nPATCHLEVEL = 12\n";
  auto version = read_kernel_version(tree.path());
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().what().find("Makefile line 1: VERSION = six is not a version number"),
            std::string::npos)
      << version.error().what();
  std::ofstream(tree / "Makefile") << "VERSION = 6\nPATCHLEVEL = 12x\n";
  EXPECT_FALSE(read_kernel_version(tree.path()));
}

TEST(PgoSupport, TellsStockNativeAndKpgoTreesApart) {
  TempDir tree;
  EXPECT_EQ(detect_pgo_support(tree.path()), PgoSupport::none);
  std::filesystem::create_directories(tree / "kernel" / "pgo");
  std::ofstream(tree / "kernel" / "pgo" / "Kconfig") << "config PGO_CLANG\n\tbool\n";
  EXPECT_EQ(detect_pgo_support(tree.path()), PgoSupport::native);
  std::ofstream(tree / "kernel" / "pgo" / ".kpgo-support") << "1\n";
  EXPECT_EQ(detect_pgo_support(tree.path()), PgoSupport::kpgo);
}
