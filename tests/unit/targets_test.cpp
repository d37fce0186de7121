// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "kpgo/pipeline/phases.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/shell.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo;
using namespace kpgo::targets;
using kpgo::testing::TempDir;

TEST(SshHost, ParsesUserHostAndPort) {
  auto plain = parse_ssh_host("testbox");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "testbox");
  EXPECT_EQ(plain->port, 0u);
  auto full = parse_ssh_host("root@10.0.0.7:2222");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->user, "root");
  EXPECT_EQ(full->host, "10.0.0.7");
  EXPECT_EQ(full->port, 2222u);
  auto v6 = parse_ssh_host("me@[::1]:22");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->display(), "me@::1:22");
}

TEST(SshHost, RejectsWhatSshWouldMisread) {
  for (const char* bad :
       {"", "-oProxyCommand=x", "host:0", "host:65536", "host:x", "[::1", "[::1]22", "@host"}) {
    EXPECT_FALSE(parse_ssh_host(bad)) << bad;
  }
}

TEST(PgoDiagnostics, CountsEachFunctionOnce) {
  std::string log =
      "warning: a.c: function control flow change detected (hash mismatch) foo Hash = 1 up to 5 "
      "count discarded [-Wbackend-plugin]\n"
      "warning: b.c: no profile data available for function bar Hash = 2 up to 0 count discarded "
      "[-Wbackend-plugin]\n"
      "warning: b.c: no profile data available for function bar Hash = 2 up to 0 count discarded "
      "[-Wbackend-plugin]\n"
      "  CC      kernel/fork.o\n";
  auto [stale, missing] = pipeline::pgo_diagnostics(log);
  EXPECT_EQ(stale, std::vector<std::string>{"foo"});
  EXPECT_EQ(missing, std::vector<std::string>{"bar"});
}

TEST(Initramfs, RealCpioReadsWhatItWrites) {
  TempDir dir;
  Initramfs image;
  image.add_directory("bin");
  image.add_file("init", "#!/bin/sh\necho hi\n", 0755);
  image.add_file("bin/odd size", std::string(1001, 'x'));
  ASSERT_TRUE(image.write(dir / "image.cpio"));
  std::string command =
      "cd " + (dir / "out").string() + " && cpio -id --quiet < " + (dir / "image.cpio").string();
  std::filesystem::create_directories(dir / "out");
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(kpgo::testing::read_text(dir / "out" / "init"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(std::filesystem::file_size(dir / "out" / "bin" / "odd size"), 1001u);
  auto perms = std::filesystem::status(dir / "out" / "init").permissions();
  EXPECT_TRUE((perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
}

TEST(Initramfs, HostTreeCarriesFilesAndLeavesOutLinks) {
  TempDir dir;
  namespace fs = std::filesystem;
  fs::path tree = dir / "modules" / "lib" / "modules" / "6.12.0";
  fs::create_directories(tree / "kernel" / "fs");
  kpgo::testing::write_text(tree / "modules.dep", "kernel/fs/ext4.ko:\n");
  kpgo::testing::write_text(tree / "kernel" / "fs" / "ext4.ko", std::string(513, 'k'));
  fs::create_directory_symlink("/usr/src", tree / "build");
  Initramfs image;
  image.add_directory("lib");
  ASSERT_TRUE(image.add_host_tree("lib/modules", dir / "modules" / "lib" / "modules"));
  ASSERT_TRUE(image.write(dir / "image.cpio"));
  fs::create_directories(dir / "out");
  std::string command =
      "cd " + (dir / "out").string() + " && cpio -id --quiet < " + (dir / "image.cpio").string();
  ASSERT_EQ(std::system(command.c_str()), 0);
  fs::path unpacked = dir / "out" / "lib" / "modules" / "6.12.0";
  EXPECT_EQ(kpgo::testing::read_text(unpacked / "modules.dep"), "kernel/fs/ext4.ko:\n");
  EXPECT_EQ(fs::file_size(unpacked / "kernel" / "fs" / "ext4.ko"), 513u);
  EXPECT_FALSE(fs::exists(unpacked / "build"));
  EXPECT_FALSE(image.add_host_tree("x", dir / "missing"));
}

namespace {

// Answers like a machine would, and keeps what it was asked to run.
class FakeTransport final : public Transport {
 public:
  std::vector<std::string> lines;
  int workload_exit = 0;
  std::string listing;  // what ls of the profiles' directory says
  std::string machine() const override { return "fake"; }
  Result<ProcessOutput> run(const std::string& line, const std::optional<std::filesystem::path>& in,
                            const std::optional<std::filesystem::path>& out, unsigned) override {
    lines.push_back(line);
    ProcessOutput output;
    output.exit_code = 0;
    if (line == "uname -r") output.out = "6.12.0-test\n";
    if (line == "sh -s") {
      EXPECT_TRUE(in.has_value());
      output.exit_code = workload_exit;
      output.err = "boom\n";
    }
    if (line.rfind("ls ", 0) == 0) output.out = listing;
    if (line.rfind("cat ", 0) == 0 && out) std::ofstream(*out) << "profile of " << line.substr(4);
    return output;
  }
};

}  // namespace

TEST(ShellTarget, ResetsRunsAndFetchesWithQuotedPaths) {
  TempDir dir;
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport* fake = transport.get();
  ShellTarget target(std::move(transport),
                     {"/sys/kernel/debug/pgo/vmlinux.profraw", "/tmp/my reset"});
  std::ofstream(dir / "w.sh") << "true\n";
  auto outcomes = target.collect({{"w", dir / "w.sh", {}}, 2, 60, dir.path()});
  ASSERT_TRUE(outcomes);
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_EQ((*outcomes)[1].kernel_release, "6.12.0-test");
  EXPECT_EQ(kpgo::testing::read_text((*outcomes)[0].profile),
            "profile of /sys/kernel/debug/pgo/vmlinux.profraw");
  std::vector<std::string> expected = {"uname -r", "echo 1 > '/tmp/my reset'", "sh -s",
                                       "cat /sys/kernel/debug/pgo/vmlinux.profraw"};
  EXPECT_EQ(std::vector<std::string>(fake->lines.begin(), fake->lines.begin() + 4), expected);
}

TEST(ShellTarget, FetchesEveryModuleProfileBesideVmlinux) {
  TempDir dir;
  auto transport = std::make_unique<FakeTransport>();
  transport->listing = "ext4.profraw\nreset\nvalues\nvmlinux.profraw\nloop.profraw\n";
  ShellTarget target(std::move(transport), {});
  std::ofstream(dir / "w.sh") << "true\n";
  auto outcomes = target.collect({{"w", dir / "w.sh", {}}, 1, 60, dir.path()});
  ASSERT_TRUE(outcomes);
  const auto& modules = (*outcomes)[0].module_profiles;
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0].filename(), "ext4.profraw");
  EXPECT_EQ(kpgo::testing::read_text(modules[1]), "profile of /sys/kernel/debug/pgo/loop.profraw");
}

TEST(ShellTarget, FailedWorkloadIsReportedAndNotFetched) {
  TempDir dir;
  auto transport = std::make_unique<FakeTransport>();
  transport->workload_exit = 3;
  FakeTransport* fake = transport.get();
  ShellTarget target(std::move(transport), {});
  std::ofstream(dir / "w.sh") << "false\n";
  auto outcomes = target.collect({{"w", dir / "w.sh", {}}, 1, 60, dir.path()});
  ASSERT_TRUE(outcomes);
  EXPECT_TRUE((*outcomes)[0].profile.empty());
  EXPECT_NE((*outcomes)[0].problem.find("the workload: exit 3: boom"), std::string::npos)
      << (*outcomes)[0].problem;
  for (const auto& line : fake->lines) EXPECT_NE(line.rfind("cat ", 0), 0u);
}

namespace {

// A machine whose workload takes `workload_ms` and that records the timeout of each command.
class SlowMachine final : public Transport {
 public:
  SlowMachine(int workload_ms, std::vector<unsigned>& timeouts)
      : workload_ms_(workload_ms), timeouts_(timeouts) {}
  std::string machine() const override { return "slow"; }
  Result<ProcessOutput> run(const std::string& command_line,
                            const std::optional<std::filesystem::path>&,
                            const std::optional<std::filesystem::path>& stdout_file,
                            unsigned timeout_seconds) override {
    ProcessOutput output;
    output.exit_code = 0;
    if (command_line == "sh -s") {
      timeouts_.push_back(timeout_seconds);
      std::this_thread::sleep_for(std::chrono::milliseconds(workload_ms_));
    }
    if (stdout_file) std::ofstream(*stdout_file) << "profile";
    return output;
  }

 private:
  int workload_ms_;
  std::vector<unsigned>& timeouts_;
};

}  // namespace

TEST(ShellTarget, TheTimeoutCoversAllRunsOnAMachine) {
  TempDir scratch;
  std::vector<unsigned> timeouts;
  ShellTarget target(std::make_unique<SlowMachine>(1100, timeouts), ProfileFiles{});
  Workload workload{"w", scratch.path() / "w.sh", {}};
  auto outcomes = target.collect({workload, 3, 2, scratch.path()});
  ASSERT_TRUE(outcomes);
  ASSERT_EQ(outcomes->size(), 3u);
  // The first run may take both seconds, the second what is left, the third nothing.
  ASSERT_EQ(timeouts.size(), 2u);
  EXPECT_EQ(timeouts[0], 2u);
  EXPECT_EQ(timeouts[1], 1u);
  EXPECT_TRUE((*outcomes)[0].problem.empty());
  EXPECT_NE((*outcomes)[2].problem.find("timeout of 2 s for all runs was used up"),
            std::string::npos)
      << (*outcomes)[2].problem;
}
