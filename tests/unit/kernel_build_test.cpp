// SPDX-License-Identifier: MIT
// kpgo's make runner through real make: what a failed build says.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/lto.hpp"

using namespace kpgo;
namespace fs = std::filesystem;

namespace {

class RunMakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A Makefile whose one target runs `recipe`.
  Command make_running(const std::string& recipe) {
    std::ofstream(dir_ / "Makefile") << "all:\n\t" << recipe << "\n";
    return {{"make", "-C", dir_.string(), "all"}};
  }

  fs::path dir_ = fs::temp_directory_path() / ("kpgo-run-make-" + std::to_string(::getpid()));
};

}  // namespace

TEST_F(RunMakeTest, ASuccessfulBuildReportsItsTimeAndPeakMemory) {
  kernel::BuildLog log{dir_ / "build.log", "test build"};
  auto cost =
      kernel::run_make(make_running("python3 -c 'x = b\"x\" * (96 << 20)'"), system_runner(), log);
  ASSERT_TRUE(cost) << cost.error().message;
  EXPECT_GE(cost->cost.peak_memory_kib, 96u * 1024);
  EXPECT_GT(cost->cost.seconds, 0);
  EXPECT_FALSE(cost->compiled) << "kbuild's \"  CC \" lines say it compiled, and there were none";
}

// What the kernel's OOM killer does to a link: SIGKILL, and make says "Killed".
TEST_F(RunMakeTest, AProcessKilledForMemoryIsReportedWithItsPeakAndTheAdvice) {
  kernel::BuildLog log{dir_ / "build.log", "optimize",
                       kernel::lto_memory_advice(kernel::Lto::full)};
  auto cost =
      kernel::run_make(make_running("python3 -c 'import os, signal; x = b\"x\" * (128 << 20); "
                                    "os.kill(os.getpid(), signal.SIGKILL)'"),
                       system_runner(), log);
  ASSERT_FALSE(cost);
  const std::string& message = cost.error().message;
  EXPECT_NE(message.find("optimize ran out of memory"), std::string::npos) << message;
  EXPECT_TRUE(std::regex_search(
      message, std::regex("its largest process peaked at [0-9.]+ [MG]iB of the [0-9.]+ GiB "
                          "this machine has")))
      << message;
  EXPECT_NE(message.find("--lto thin"), std::string::npos) << message;
  EXPECT_NE(message.find((dir_ / "build.log").string()), std::string::npos) << message;
}

TEST_F(RunMakeTest, AnOrdinaryFailureSaysNothingOfMemory) {
  kernel::BuildLog log{dir_ / "build.log", "optimize"};
  auto cost = kernel::run_make(make_running("echo 'fork.c:1: error: broken' >&2; false"),
                               system_runner(), log);
  ASSERT_FALSE(cost);
  EXPECT_EQ(cost.error().message.find("memory"), std::string::npos) << cost.error().message;
  EXPECT_NE(cost.error().message.find("fork.c:1: error: broken"), std::string::npos);
}

TEST(MemoryText, ReadsAsAPersonWouldWriteIt) {
  EXPECT_EQ(kernel::memory_text(850 * 1024), "850 MiB");
  EXPECT_EQ(kernel::memory_text(3 * 1024 * 1024 + 512 * 1024), "3.5 GiB");
}

TEST(OutOfMemory, KnowsTheSignsInABuildLog) {
  EXPECT_TRUE(
      kernel::says_out_of_memory("make[2]: *** [scripts/Makefile.vmlinux_o:61: vmlinux.o] Killed"));
  EXPECT_TRUE(kernel::says_out_of_memory("LLVM ERROR: out of memory"));
  EXPECT_TRUE(kernel::says_out_of_memory(
      "terminate called after throwing an instance of 'std::bad_alloc'"));
  EXPECT_FALSE(kernel::says_out_of_memory("  LD      vmlinux.o"));
}

TEST_F(RunMakeTest, ABuildThatCompiledSaysSo) {
  kernel::BuildLog log{dir_ / "build.log", "test build"};
  auto made =
      kernel::run_make(make_running("@echo '  CC      kernel/fork.o'"), system_runner(), log);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(made->compiled);
}
