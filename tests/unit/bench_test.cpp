// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kpgo/bench/bench.hpp"
#include "kpgo/bench/html_report.hpp"
#include "kpgo/kernel/bzimage.hpp"
#include "kpgo/pipeline/phases.hpp"

using namespace kpgo::bench;
using kpgo::pipeline::count_promotions;

TEST(Bench, MedianTakesTheLowerMiddle) {
  EXPECT_EQ(median_of({}), 0u);
  EXPECT_EQ(median_of({7}), 7u);
  EXPECT_EQ(median_of({9, 1, 5}), 5u);
  EXPECT_EQ(median_of({4, 1, 3, 2}), 2u);
}

TEST(Bench, GuestBodyTimesEveryWorkloadInItsOwnDirectory) {
  std::string body =
      bench_guest_body({{"default", "/x/default.sh", {}}, {"archive", "/x/archive.sh", {}}});
  EXPECT_NE(
      body.find("/kpgo/stopwatch $out/default.time /bin/sh /kpgo/run-in-guest /tmp/work-default "
                "/kpgo/w/default.sh"),
      std::string::npos);
  EXPECT_NE(body.find("cp -r /kpgo/files/archive/. /tmp/work-archive/"), std::string::npos);
  EXPECT_LT(body.find("default.time"), body.find("archive.time"));
}

TEST(Bench, PromotionsAreCountedFromClangRemarks) {
  std::string log =
      "fs/read_write.c:10:3: remark: Promote indirect call to ext4_file_read_iter with count 12 "
      "out of 12 [-Rpass=pgo-icall-prom]\n"
      "  CC      fs/open.o\n"
      "fs/open.c:5:1: remark: Promote indirect call to shmem_open with count 3 out of 9 "
      "[-Rpass=pgo-icall-prom]\n";
  EXPECT_EQ(count_promotions(log), 2u);
  EXPECT_EQ(count_promotions("  CC      fs/open.o\n"), 0u);
}

TEST(Bench, WallTimingIsTheDifferenceOfTheMachinesClock) {
  auto timing = parse_wall_timing("noise\nKPGO-BENCH 1700000000000000000 1700000002500000000 0\n");
  ASSERT_TRUE(timing) << timing.error().what();
  EXPECT_EQ(timing->ns, 2500000000u);
  EXPECT_EQ(timing->status, 0);
  auto failed = parse_wall_timing("KPGO-BENCH 10 20 3\n");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 3);
}

TEST(Bench, WallTimingRefusesAClockWithoutNanoseconds) {
  auto busybox = parse_wall_timing("KPGO-BENCH 1700000000N 1700000002N 0\n");
  ASSERT_FALSE(busybox);
  EXPECT_NE(busybox.error().what().find("date +%s%N"), std::string::npos);
  EXPECT_FALSE(parse_wall_timing("sh: mktemp: not found\n"));
  EXPECT_FALSE(parse_wall_timing("KPGO-BENCH 20 10 0\n"));
}

TEST(Bench, KernelVersionStringSplitsIntoUnameFields) {
  auto id = kpgo::kernel::parse_kernel_version_string(
      "6.12.117 (root@build (x86)) #3 SMP PREEMPT_DYNAMIC Tue Nov 24 05:02:48 UTC 2026");
  EXPECT_EQ(id.release, "6.12.117");
  EXPECT_EQ(id.version, "#3 SMP PREEMPT_DYNAMIC Tue Nov 24 05:02:48 UTC 2026");
  EXPECT_TRUE(kpgo::kernel::parse_kernel_version_string("not a kernel").release.empty());
}

TEST(Bench, AnUncompressedImageIsKnownByItsBanner) {
  // arm64's Image: code, then linux_banner as the kernel prints it, with the compiler in it.
  auto image = std::filesystem::temp_directory_path() / "kpgo-banner-test-Image";
  {
    std::ofstream out(image, std::ios::binary);
    out << std::string(4096, '\x7f') << "Linux version %s" << '\0'
        << "Linux version 6.12.48 (root@build) (Debian clang version 19.1.7 (3+b1), LLD 19.1.7) "
           "#1 SMP PREEMPT Tue Nov 24 05:02:48 UTC 2026\n"
        << '\0' << std::string(100, '\0');
  }
  auto id = kpgo::kernel::read_bzimage_identity(image);
  std::filesystem::remove(image);
  ASSERT_TRUE(id) << id.error().what();
  EXPECT_EQ(id->release, "6.12.48");
  EXPECT_EQ(id->version, "#1 SMP PREEMPT Tue Nov 24 05:02:48 UTC 2026");
  auto missing = kpgo::kernel::read_bzimage_identity("/proc/self/status");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("neither an x86 bzImage"), std::string::npos);
}

namespace {

// Two kernels, two workloads (one trained), one metric; a workload name that needs escaping.
kpgo::pipeline::BenchState two_kernel_outcome() {
  kpgo::pipeline::BenchState outcome;
  outcome.rounds = 2;
  outcome.machine = "qemu";
  outcome.method = "qemu -icount";
  outcome.metrics = {{"kernel_instructions", "instructions", "guest instructions in the kernel"}};
  outcome.variants.resize(2);
  outcome.variants[0].name = "baseline";
  outcome.variants[1].name = "pgo";
  outcome.variants[1].profile = "pgo";
  outcome.comparisons = {{"pgo", "baseline"}};
  outcome.workloads.push_back(
      {"default",
       true,
       {{"kernel_instructions", {{"baseline", {1000, 1000}}, {"pgo", {900, 900}}}}}});
  outcome.workloads.push_back(
      {"a<b>&c",
       false,
       {{"kernel_instructions", {{"baseline", {400, 400}}, {"pgo", {420, 420}}}}}});
  return outcome;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

}  // namespace

TEST(BenchHtml, OneChartPerMetricWithABarPerKernelAndWorkload) {
  kpgo::pipeline::BenchState outcome = two_kernel_outcome();
  outcome.metrics.push_back({"kernel_taken_branches", "branches", "taken branches"});
  outcome.workloads[0].figures["kernel_taken_branches"] = {{"baseline", {50}}, {"pgo", {40}}};
  std::string html = html_report(outcome);
  EXPECT_EQ(count_of(html, "<svg class=\"chart\""), 2u);
  EXPECT_EQ(count_of(html, "data-metric=\"kernel_instructions\""), 1u);
  // Bars: 2 kernels x 2 workloads in the first chart, 2 x 1 in the second (the other workload
  // lacks the metric), each drawn in its kernel's colour.
  EXPECT_EQ(count_of(html, std::string("fill=\"") + kVariantColours[0] + "\"><title>"), 3u);
  EXPECT_EQ(count_of(html, std::string("fill=\"") + kVariantColours[1] + "\"><title>"), 3u);
  EXPECT_NE(html.find(">0.900<"), std::string::npos) << "pgo over baseline on default";
  EXPECT_NE(html.find(">1.050<"), std::string::npos) << "pgo over baseline on the other";
  EXPECT_NE(html.find(">0.800<"), std::string::npos) << "taken branches";
}

TEST(BenchHtml, TrainedWorkloadsAreMarkedAndNamesEscaped) {
  std::string html = html_report(two_kernel_outcome());
  // The legend's swatch and one band behind the trained workload.
  EXPECT_EQ(count_of(html, std::string("fill=\"") + kTrainedBand + "\""), 2u);
  EXPECT_EQ(count_of(html, "class=\"trained\">trained<"), 1u);
  EXPECT_EQ(count_of(html, "class=\"untrained\">not trained<"), 1u);
  EXPECT_EQ(html.find("a<b>&c"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;&amp;c"), std::string::npos);
  EXPECT_NE(html.find("are not time"), std::string::npos) << "what QEMU's figures are not";
}

TEST(BenchHtml, AReferenceWithoutFiguresDrawsNoBarsAndNoNumbers) {
  kpgo::pipeline::BenchState outcome = two_kernel_outcome();
  outcome.workloads.resize(1);
  outcome.workloads[0].figures["kernel_instructions"]["baseline"] = {0};
  std::string html = html_report(outcome);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
  EXPECT_NE(html.find(">0.000<"), std::string::npos);
}

namespace {
// A workdir's state after kpgo run: instrumented without LTO, optimized with `lto` and the
// profile given as `given` (its rewrite for clang has other bytes: "rewritten").
kpgo::pipeline::State optimized_state(const std::string& lto, const std::string& given) {
  kpgo::pipeline::State state;
  state.instrument.emplace().lto = "none";
  auto& optimized = state.optimize.emplace();
  optimized.lto = lto;
  optimized.profile_sha256 = "rewritten";
  optimized.given_sha256 = given;
  return state;
}
}  // namespace

TEST(BenchVariants, TheOptimizedKernelIsTheVariantWhoseProfileItWasGivenNotTheRewrite) {
  auto state = optimized_state("thin", "combined");
  EXPECT_EQ(kernel_for_variant(*parse_variant("cspgo+lto"), "combined", state),
            VariantKernel::optimized);
  // The rewrite's sha256 names no profile of the workdir: matching on it rebuilt cspgo+lto.
  EXPECT_EQ(kernel_for_variant(*parse_variant("cspgo+lto"), "rewritten", state),
            VariantKernel::own_build);
  EXPECT_EQ(kernel_for_variant(*parse_variant("pgo+lto"), "stage1", state),
            VariantKernel::own_build);
  EXPECT_EQ(kernel_for_variant(*parse_variant("cspgo"), "combined", state),
            VariantKernel::own_build);
}

TEST(BenchVariants, NoProfileIsTheBaselineBuildOnlyWithTheInstrumentedBuildsLto) {
  auto state = optimized_state("thin", "combined");
  EXPECT_EQ(kernel_for_variant(*parse_variant("baseline"), "", state), VariantKernel::baseline);
  EXPECT_EQ(kernel_for_variant(*parse_variant("lto"), "", state), VariantKernel::own_build);
}

TEST(BenchVariants, AWorkdirFromBeforeGivenSha256ComparesTheCopy) {
  auto state = optimized_state("none", "");
  state.optimize->profile_sha256 = "merged";
  EXPECT_EQ(kernel_for_variant(*parse_variant("pgo"), "merged", state), VariantKernel::optimized);
}

TEST(BenchVariants, DefaultsNameTheOptimizedKernelByTheProfileItWasGiven) {
  auto names = [](const std::vector<Variant>& variants) {
    std::vector<std::string> out;
    for (const auto& variant : variants) out.push_back(variant.name);
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names(default_variants(optimized_state("thin", "combined"), "combined")),
            (Names{"lto", "cspgo+lto"}));
  EXPECT_EQ(names(default_variants(optimized_state("thin", "stage1"), "combined")),
            (Names{"lto", "pgo+lto"}));
  EXPECT_EQ(names(default_variants(optimized_state("none", "stage1"), "")),
            (Names{"baseline", "pgo"}));
  EXPECT_EQ(names(default_variants(optimized_state("full", "combined"), "combined")),
            (Names{"full-lto", "cspgo+full-lto"}));
}
