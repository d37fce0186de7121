// SPDX-License-Identifier: MIT
// kpgo's make runner through real make: what a failed build says.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
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

TEST(Kbuild, AppendsTheNameOptionToTheUsersOwnFlagsInOneVariableEach) {
  kernel::Kbuild kbuild{"/a/tree", "/a/build", "-19", "x86_64", 2, {"KCFLAGS=-O2 -g", "V=1"}};
  auto argv = kbuild.make({"vmlinux"}).argv;
  EXPECT_EQ(std::count_if(argv.begin(), argv.end(),
                          [](const std::string& a) { return a.rfind("KCFLAGS=", 0) == 0; }),
            1);
  EXPECT_NE(std::find(argv.begin(), argv.end(),
                      "KCFLAGS=-O2 -g -mllvm -static-func-strip-dirname-prefix=3"),
            argv.end());
  EXPECT_NE(
      std::find(argv.begin(), argv.end(), "KLDFLAGS=-mllvm -static-func-strip-dirname-prefix=3"),
      argv.end());
  EXPECT_EQ(argv.back(), "vmlinux");
}

// Through the real compiler: the same file in two trees, compiled as kbuild compiles it (by its
// absolute path, from the build directory), gives a static function the same profile name.
TEST_F(RunMakeTest, AStaticFunctionHasOneProfileNameWhereverTheTreeIs) {
  auto names_of = [&](const fs::path& tree) {
    fs::create_directories(tree / "kernel");
    std::ofstream(tree / "kernel" / "fork.c")
        << "static int __attribute__((noinline)) copy(int x) { return x + 1; }\n"
           "int entry(int x) { return copy(x); }\n";
    fs::path object = tree / "fork.o";
    std::string command =
        "clang-19 -O1 -fprofile-generate " + kernel::source_relative_names_option(tree) + " -c " +
        (tree / "kernel" / "fork.c").string() + " -o " + object.string() +
        " && llvm-objcopy-19 --dump-section __llvm_prf_names=" + (tree / "names").string() + " " +
        object.string();
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream in(tree / "names", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  std::string here = names_of(dir_ / "one");
  std::string there = names_of(dir_ / "elsewhere" / "deeper" / "two");
  ASSERT_FALSE(here.empty());
  EXPECT_EQ(here, there);
  // Without the option the names differ (the test would pass vacuously otherwise).
  std::string plain =
      "clang-19 -O1 -fprofile-generate -c " + (dir_ / "one" / "kernel" / "fork.c").string() +
      " -o " + (dir_ / "plain.o").string() + " && llvm-objcopy-19 --dump-section " +
      "__llvm_prf_names=" + (dir_ / "plain-names").string() + " " + (dir_ / "plain.o").string();
  ASSERT_EQ(std::system(plain.c_str()), 0);
  std::ifstream in(dir_ / "plain-names", std::ios::binary);
  EXPECT_NE(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()),
            here);
}
