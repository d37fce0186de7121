// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/system/atomic_file.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo;
using kpgo::testing::read_text;
using kpgo::testing::TempDir;

TEST(AtomicFile, TargetAppearsOnlyOnCommit) {
  TempDir dir;
  auto target = dir / "out";
  std::ofstream(target) << "old";
  {
    auto file = AtomicFile::create(target);
    ASSERT_TRUE(file);
    std::ofstream(file->temp_path()) << "new";
    EXPECT_EQ(read_text(target), "old");
    ASSERT_TRUE(file->commit());
  }
  EXPECT_EQ(read_text(target), "new");
}

TEST(AtomicFile, AbandonedTemporaryIsRemovedAndTargetKept) {
  TempDir dir;
  auto target = dir / "out";
  std::ofstream(target) << "old";
  std::filesystem::path temp;
  {
    auto file = AtomicFile::create(target);
    ASSERT_TRUE(file);
    temp = file->temp_path();
    std::ofstream(temp) << "half";
  }
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_EQ(read_text(target), "old");
}

TEST(AtomicFile, WriteFileAtomically) {
  TempDir dir;
  ASSERT_TRUE(write_file_atomically(dir / "f", "content"));
  EXPECT_EQ(read_text(dir / "f"), "content");
  auto failed = write_file_atomically(dir / "missing" / "f", "x");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().what().find("missing"), std::string::npos);
}

TEST(AtomicFile, RefusesToReplaceADevice) {
  auto file = kpgo::AtomicFile::create("/dev/null");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().what().find("not a regular file"), std::string::npos);
}
