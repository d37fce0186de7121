// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "kpgo/toolchain/llvm.hpp"

using namespace kpgo::toolchain;

TEST(LlvmSpec, KbuildForms) {
  auto plain = parse_llvm_spec("1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->tool("clang"), "clang");
  auto suffixed = parse_llvm_spec("-19");
  ASSERT_TRUE(suffixed);
  EXPECT_EQ(suffixed->tool("ld.lld"), "ld.lld-19");
  auto prefixed = parse_llvm_spec("/usr/lib/llvm-19/bin/");
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->tool("clang"), "/usr/lib/llvm-19/bin/clang");
  EXPECT_EQ(prefixed->value, "/usr/lib/llvm-19/bin/");
}

TEST(LlvmSpec, RejectsWhatKbuildWouldMisread) {
  for (const char* bad : {"", "19", "-x", "yes", "/no/such/dir/"}) {
    auto spec = parse_llvm_spec(bad);
    ASSERT_FALSE(spec) << bad;
    EXPECT_NE(spec.error().what().find(std::string("LLVM=") + bad), std::string::npos);
  }
}

TEST(LlvmMajor, ParsedFromVersionBanners) {
  EXPECT_EQ(parse_llvm_major("Debian clang version 19.1.7 (3~deb12u1)"), 19u);
  EXPECT_EQ(parse_llvm_major("Debian LLD 16.0.6 (compatible with GNU linkers)"), 16u);
  EXPECT_EQ(parse_llvm_major("LLVM (http://llvm.org/):\n  LLVM version 14.0.6\n"), 14u);
  EXPECT_FALSE(parse_llvm_major("gcc (Debian 12.2.0-14) 12.2.0"));
}
