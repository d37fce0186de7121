// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kpgo/system/process.hpp"

using namespace kpgo;

TEST(Process, CapturesOutputAndExitCode) {
  auto output = system_runner().capture({{"sh", "-c", "echo out; echo err >&2; exit 3"}});
  ASSERT_TRUE(output);
  EXPECT_EQ(output->out, "out\n");
  EXPECT_EQ(output->err, "err\n");
  EXPECT_EQ(output->exit_code, 3);
  EXPECT_FALSE(output->succeeded());
}

TEST(Process, StreamsLinesFromBothStreams) {
  std::vector<std::string> lines;
  auto output = system_runner().stream({{"sh", "-c", "echo a; echo b >&2; printf c"}},
                                       [&](std::string_view line) { lines.emplace_back(line); });
  ASSERT_TRUE(output);
  EXPECT_TRUE(output->succeeded());
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Process, EnvironmentAndDirectoryApply) {
  Command command{{"sh", "-c", "echo $KPGO_TEST_VALUE; pwd"}, "/tmp", {{"KPGO_TEST_VALUE", "x y"}}};
  auto output = system_runner().capture(command);
  ASSERT_TRUE(output);
  EXPECT_EQ(output->out, "x y\n/tmp\n");
}

TEST(Process, MissingProgramIsAnError) {
  auto output = system_runner().capture({{"kpgo-no-such-program"}});
  ASSERT_FALSE(output);
  EXPECT_NE(output.error().what().find("kpgo-no-such-program"), std::string::npos);
}

TEST(Process, ChildRunsInItsOwnProcessGroup) {
  auto output = system_runner().capture({{"sh", "-c", "ps -o pgid= -p $$; ps -o pid= -p $$"}});
  ASSERT_TRUE(output);
  std::istringstream in(output->out);
  long group = 0, pid = 0;
  in >> group >> pid;
  EXPECT_EQ(group, pid);
  EXPECT_NE(group, static_cast<long>(::getpgrp()));
}

TEST(Process, SignalToKpgoReachesTheWholeChildTree) {
  // In a child process: the signal marks kpgo as interrupted for good, which other tests must
  // not inherit. A grandchild that would outlive a plain kill of the child must end too.
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    install_signal_handling();  // as kpgo's main does
    std::thread killer([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ::kill(::getpid(), SIGTERM);
    });
    auto output = system_runner().capture({{"sh", "-c", "sleep 30 & sleep 30; wait"}});
    killer.join();
    bool right = output && output->signal == SIGTERM && interrupted();
    ::_exit(right ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// True while `pid` runs (a zombie waiting for its reaper has ended).
bool process_runs(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

TEST(Process, CtrlCStopsEveryChildGroupRunningAtOnce) {
  // As collect runs one ssh per host: four children in four threads, each with a grandchild in
  // the background. One SIGINT to kpgo ends all of them within 5 seconds.
  constexpr int kChildren = 4;
  auto dir = std::filesystem::temp_directory_path() / ("kpgo-ctrl-c-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    install_signal_handling();  // as kpgo's main does
    std::vector<std::thread> threads;
    std::atomic<int> ended_by_sigint{0};
    for (int i = 0; i < kChildren; ++i) {
      threads.emplace_back([&, i] {
        std::string script =
            "sleep 60 & echo $! > " + (dir / std::to_string(i)).string() + "; wait";
        auto output = system_runner().capture({{"sh", "-c", script}});
        // sh itself ends by the SIGINT; its background sleep ignores SIGINT, as background
        // jobs of a non-interactive shell do, and must be ended all the same.
        if (output && output->signal == SIGINT) ++ended_by_sigint;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ::kill(::getpid(), SIGINT);
    for (auto& thread : threads) thread.join();
    ::_exit(ended_by_sigint == kChildren && interrupted() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  for (int i = 0; i < kChildren; ++i) {
    std::ifstream file(dir / std::to_string(i));
    pid_t grandchild = 0;
    ASSERT_TRUE(file >> grandchild) << "child " << i << " never started";
    for (int tries = 0; tries < 50 && process_runs(grandchild); ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_FALSE(process_runs(grandchild))
        << "child " << i << "'s background process outlived Ctrl-C";
  }
  std::filesystem::remove_all(dir);
}

TEST(ShellQuote, RoundTripsThroughTheShell) {
  EXPECT_EQ(shell_quote("plain-word_1.0"), "plain-word_1.0");
  EXPECT_EQ(shell_quote(""), "''");
  for (std::string word : {"a b", "it's", "$HOME", "a;b", "\"q\"", "x\ny"}) {
    auto output = system_runner().capture({{"sh", "-c", "printf %s " + shell_quote(word)}});
    ASSERT_TRUE(output);
    EXPECT_EQ(output->out, word);
  }
}

TEST(RenderCommand, ShowsDirectoryEnvironmentAndQuotedWords) {
  Command command{{"make", "KCFLAGS=-O2 -g"}, "/src dir", {{"ARCH", "x86_64"}}};
  EXPECT_EQ(render_command(command), "cd '/src dir' && ARCH=x86_64 make 'KCFLAGS=-O2 -g'");
}

TEST(Process, TimeoutEndsTheWholeGroup) {
  Command command{{"sh", "-c", "sleep 30 & sleep 30; wait"}};
  command.timeout_seconds = 1;
  auto start = std::chrono::steady_clock::now();
  auto output = system_runner().capture(command);
  ASSERT_TRUE(output);
  EXPECT_TRUE(output->timed_out);
  EXPECT_EQ(output->signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Process, StdinAndStdoutFiles) {
  char dir_template[] = "/tmp/kpgo-process-XXXXXX";
  std::filesystem::path dir = ::mkdtemp(dir_template);
  std::ofstream(dir / "in") << "from a file\n";
  Command command{{"tr", "a-z", "A-Z"}};
  command.stdin_file = dir / "in";
  command.stdout_file = dir / "out";
  auto output = system_runner().capture(command);
  ASSERT_TRUE(output);
  EXPECT_TRUE(output->succeeded());
  std::ifstream in(dir / "out");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "FROM A FILE\n");
  std::filesystem::remove_all(dir);
}

TEST(Process, PeakMemoryIsThatOfTheLargestProcessOfTheTree) {
  // python is the shell's child (the shell does not exec it: a command follows), and writes
  // 512 MiB, so those pages are resident: more than this test program's own size.
  auto output =
      system_runner().capture({{"sh", "-c", "python3 -c 'x = b\"x\" * (512 << 20)'; true"}});
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_GE(output->peak_memory_kib, 512u * 1024);
  auto small = system_runner().capture({{"sh", "-c", "true; true"}});
  ASSERT_TRUE(small) << small.error().message;
  // Both count from this process's own size (the child starts in its address space), so only
  // the difference is the python's.
  EXPECT_LT(small->peak_memory_kib + 256u * 1024, output->peak_memory_kib);
}
