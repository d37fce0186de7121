// SPDX-License-Identifier: MIT
// The meter report reader and the plugin's QEMU argument; the plugin itself runs under real
// QEMU in tests/integration/meter_test.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "kpgo/bench/bench.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/meter.hpp"
#include "kpgo/targets/userland.hpp"

namespace fs = std::filesystem;
using namespace kpgo::targets;

namespace {

class MeterReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kpgo-meter-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& text) {
    fs::path file = dir_ / "report.txt";
    std::ofstream(file) << text;
    return file;
  }
  fs::path dir_;
};

constexpr const char* kHeader =
    "kpgo-meter 2 cache=32768 ways=8 line=64 itlb=128 itlb_ways=8 page=4096\n"
    "# kernel-instructions user-instructions kernel-taken-branches user-taken-branches "
    "kernel-icache-misses user-icache-misses kernel-itlb-misses user-itlb-misses\n";

}  // namespace

TEST_F(MeterReportTest, WindowsInOrderAndTheTotal) {
  auto report =
      read_meter_report(write(std::string(kHeader) + "window 1 2 3 4 5 6 7 8\n"
                                                     "window 10 20 30 40 50 60 70 80\n"
                                                     "total 100 200 300 400 500 600 700 800\n"));
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_EQ(report->cache, "cache=32768 ways=8 line=64");
  EXPECT_EQ(report->itlb, "itlb=128 itlb_ways=8 page=4096");
  EXPECT_EQ(report->windows[0].kernel_itlb_misses, 7u);
  EXPECT_EQ(report->total.user_itlb_misses, 800u);
  ASSERT_EQ(report->windows.size(), 2u);
  EXPECT_EQ(report->windows[0].kernel_instructions, 1u);
  EXPECT_EQ(report->windows[0].user_icache_misses, 6u);
  EXPECT_EQ(report->windows[1].kernel_taken_branches, 30u);
  EXPECT_EQ(report->total.user_taken_branches, 400u);
}

TEST_F(MeterReportTest, MissingCutShortOrDamagedIsNamed) {
  auto missing = read_meter_report(dir_ / "none.txt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("wrote no report"), std::string::npos);

  auto cut = read_meter_report(write(std::string(kHeader) + "window 1 2 3 4 5 6 7 8\n"));
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().what().find("no total line"), std::string::npos);

  auto short_line =
      read_meter_report(write(std::string(kHeader) + "window 1 2 3\ntotal 1 2 3 4 5 6 7 8\n"));
  ASSERT_FALSE(short_line);
  EXPECT_NE(short_line.error().what().find("report.txt:3: not a meter report line"),
            std::string::npos)
      << short_line.error().what();

  auto extra = read_meter_report(write(std::string(kHeader) + "total 1 2 3 4 5 6 7 8 9\n"));
  EXPECT_FALSE(extra);
  auto six = read_meter_report(write(std::string(kHeader) + "total 1 2 3 4 5 6\n"));
  EXPECT_FALSE(six) << "a version 1 line has no iTLB counts";
  auto no_header = read_meter_report(write("total 1 2 3 4 5 6 7 8\n"));
  EXPECT_FALSE(no_header);
  auto older = read_meter_report(write("kpgo-meter 1 cache=1\ntotal 1 2 3 4 5 6\n"));
  ASSERT_FALSE(older);
  EXPECT_NE(older.error().what().find("version 1 is not 2"), std::string::npos);
  auto no_tlb =
      read_meter_report(write("kpgo-meter 2 cache=1 ways=1 line=64\ntotal 1 2 3 4 5 6 7 8\n"));
  ASSERT_FALSE(no_tlb);
  EXPECT_NE(no_tlb.error().what().find("names no iTLB model"), std::string::npos);
}

TEST(MeterPlugin, OptionNamesTheReportAndTheStopwatchMarks) {
  std::string option = meter_plugin_option("/lib/kpgo/libkpgo-qemu-meter.so", "/w/m.txt");
  EXPECT_EQ(option,
            "/lib/kpgo/libkpgo-qemu-meter.so,out=/w/m.txt,start=0x4b50470000,"
            "stop=0x4b50471000");
}

TEST(Bench, MedianRatioIsOneVariantsMedianOverAnothers) {
  std::map<std::string, std::vector<uint64_t>> figures = {
      {"baseline", {100, 90, 110}}, {"pgo", {95, 80, 85}}, {"empty", {}}};
  EXPECT_DOUBLE_EQ(kpgo::bench::median_ratio(figures, "pgo", "baseline"), 0.85);
  EXPECT_DOUBLE_EQ(kpgo::bench::median_ratio(figures, "pgo", "empty"), 0.0);
  EXPECT_DOUBLE_EQ(kpgo::bench::median_ratio(figures, "pgo", "missing"), 0.0);
}

TEST(Bench, VariantsParseAndAreComparedWithWhatSeparatesTheirGains) {
  using kpgo::bench::parse_variant;
  auto cs = parse_variant("cspgo+lto");
  ASSERT_TRUE(cs);
  EXPECT_EQ(cs->profile, kpgo::bench::Variant::Profile::cspgo);
  EXPECT_EQ(cs->lto, kpgo::kernel::Lto::thin);
  auto bad = parse_variant("pgo+thin");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pgo+lto"), std::string::npos) << "names the known ones";

  std::vector<kpgo::bench::Variant> variants;
  for (const char* name : {"baseline", "pgo", "lto", "pgo+lto", "cspgo+lto"})
    variants.push_back(*parse_variant(name));
  std::vector<std::string> got;
  for (const auto& c : kpgo::bench::comparisons_of(variants))
    got.push_back(c.variant + "/" + c.against);
  // Each against the reference; the profile's share under LTO; the second stage's share.
  EXPECT_EQ(got, (std::vector<std::string>{"pgo/baseline", "lto/baseline", "pgo+lto/baseline",
                                           "cspgo+lto/baseline", "pgo+lto/lto", "cspgo+lto/lto",
                                           "cspgo+lto/pgo+lto"}));
}

// The real clang and lld build the stopwatch for each guest arch, freestanding, its marks where
// the meter looks for them (tests/integration/meter_test.sh runs it).
TEST_F(MeterReportTest, TheStopwatchBuildsForEveryGuestArch) {
  const std::string clang = "clang-" + std::to_string(KPGO_LLVM_DEFAULT);
  const std::pair<const char*, unsigned char> machines[] = {{"x86_64", 0x3e}, {"arm64", 0xb7}};
  for (const auto& [arch, elf_machine] : machines) {
    fs::path output = dir_ / (std::string("stopwatch-") + arch);
    auto built = build_stopwatch(clang, arch, output, kpgo::system_runner());
    ASSERT_TRUE(built) << arch << ": " << built.error().what();
    std::ifstream in(*built, std::ios::binary);
    char header[20] = {};
    in.read(header, sizeof(header));
    EXPECT_EQ(std::string(header + 1, 3), "ELF") << arch;
    EXPECT_EQ(static_cast<unsigned char>(header[18]), elf_machine) << arch;
  }
  auto refused = build_stopwatch("/nonexistent/clang", "x86_64", dir_ / "s", kpgo::system_runner());
  EXPECT_FALSE(refused);
}

TEST(Userland, PackagesComeFromHeaderLines) {
  EXPECT_EQ(
      declared_packages("#!/bin/sh\n# kpgo-packages: stress-ng fio\n#kpgo-packages:a,b c\necho\n"),
      (std::vector<std::string>{"stress-ng", "fio", "a", "b", "c"}));
  EXPECT_TRUE(
      declared_packages("#!/bin/sh\n# needs kpgo-packages: x\necho kpgo-packages: y\n").empty());
}

// This machine's own arch needs nothing; arm64 needs qemu-user-static registered with the F
// flag and mmdebstrap's arch-test, and the answer follows what this machine has
// (scripts/setup.sh installs and registers both).
TEST(Userland, AForeignRootNeedsQemuUserRegisteredWithBinfmt) {
  EXPECT_TRUE(check_runs_programs_of("x86_64"));
  std::ifstream handler("/proc/sys/fs/binfmt_misc/qemu-aarch64");
  std::string text((std::istreambuf_iterator<char>(handler)), std::istreambuf_iterator<char>());
  bool usable = text.rfind("enabled", 0) == 0 &&
                text.find('F', text.find("flags:")) < text.find('\n', text.find("flags:")) &&
                kpgo::find_program("arch-test");
  auto arm64 = check_runs_programs_of("arm64");
  EXPECT_EQ(static_cast<bool>(arm64), usable) << text;
  if (!arm64) {
    EXPECT_NE(arm64.error().what().find("bash scripts/setup.sh installs and registers it"),
              std::string::npos)
        << arm64.error().what();
  }
}

TEST_F(MeterReportTest, UserlandPackagesAreUnitedSortedAndChecked) {
  fs::path one = dir_ / "one.sh", two = dir_ / "two.sh", bad = dir_ / "bad.sh";
  std::ofstream(one) << "# kpgo-packages: stress-ng fio\n";
  std::ofstream(two) << "# kpgo-packages: fio iperf3\n";
  std::ofstream(bad) << "# kpgo-packages: Fio;rm\n";
  auto packages = userland_packages({"rt-tests"}, {{"one", one, {}}, {"two", two, {}}});
  ASSERT_TRUE(packages) << packages.error().what();
  EXPECT_EQ(*packages, (std::vector<std::string>{"fio", "iperf3", "rt-tests", "stress-ng"}));
  auto refused = userland_packages({}, {{"bad", bad, {}}});
  ASSERT_FALSE(refused);
  EXPECT_NE(
      refused.error().what().find("'Fio;rm' in its kpgo-packages line is not a Debian package"),
      std::string::npos)
      << refused.error().what();
  EXPECT_FALSE(userland_packages({"a b"}, {}));
  auto none = userland_packages({}, {{"plain", dir_ / "missing.sh", {}}});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}
