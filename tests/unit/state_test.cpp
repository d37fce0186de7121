// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>

#include "kpgo/pipeline/state.hpp"

namespace fs = std::filesystem;
using kpgo::pipeline::Manifest;

namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kpgo-state-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads a kpgo.json of the given text; returns the error message, or "" when it loads.
  std::string load(const std::string& text) {
    std::ofstream(dir_ / "kpgo.json") << text;
    auto manifest = Manifest::load(dir_);
    return manifest ? "" : manifest.error().what();
  }

  fs::path dir_;
};

const char* kFinishedInstrument = R"({"instrument": {
  "source": "/src", "arch": "x86_64", "build_dir": "/b", "vmlinux_build_id": "ab",
  "llvm": {"value": "-19", "major": 19, "raw_version": 10, "merge_backend": 19},
  "artifacts": {"vmlinux": "/b/vmlinux", "bzImage": "/b/bzImage"},
  "finished": "2026-11-25T00:00:00Z"},
  "collect": {"profiles": [{"path": "/p/1.profraw", "sha256": "00", "weight": 1}]}})";

}  // namespace

TEST_F(StateTest, AWholeManifestLoads) {
  EXPECT_EQ(load(kFinishedInstrument), "");
  EXPECT_EQ(load("{}"), "");
  EXPECT_EQ(load(R"({"instrument": {"started": "x"}})"), "") << "an unfinished phase needs nothing";
}

TEST_F(StateTest, AMissingFieldOfAFinishedPhaseIsNamed) {
  std::string text = kFinishedInstrument;
  std::string without_llvm = text;
  size_t start = without_llvm.find("\"llvm\"");
  size_t end = without_llvm.find("},", start) + 2;
  without_llvm.erase(start, end - start);
  std::string message = load(without_llvm);
  EXPECT_NE(message.find("kpgo.json: instrument.llvm is missing"), std::string::npos) << message;
  EXPECT_NE(message.find("remove the phase's section"), std::string::npos) << message;
}

TEST_F(StateTest, AFieldOfTheWrongTypeIsNamed) {
  std::string text = kFinishedInstrument;
  text.replace(text.find("\"major\": 19"), 11, "\"major\": \"19\"");
  EXPECT_NE(load(text).find("instrument.llvm.major is string, not a number"), std::string::npos);
  EXPECT_NE(load(R"({"instrument": []})").find("instrument is array, not an object"),
            std::string::npos);
  EXPECT_NE(load(R"({"collect": {"profiles": [{"path": 5, "sha256": "0"}]}})")
                .find("collect.profiles[0].path is number, not a string"),
            std::string::npos);
  EXPECT_NE(load(R"({"collect": {"profiles": [7]}})").find("collect.profiles[0] is number"),
            std::string::npos);
}

TEST_F(StateTest, NotJsonOrNotAnObjectIsRefused) {
  EXPECT_NE(load("{\"instrument\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load("[1, 2]").find("not a kpgo manifest"), std::string::npos);
}

TEST_F(StateTest, ANewerStateVersionIsRefusedAndAnOlderFileLoads) {
  EXPECT_NE(load(R"({"version": 5})").find("written by a newer kpgo (state version 5"),
            std::string::npos);
  EXPECT_NE(load(R"({"version": "1"})").find("version is string, not a number"), std::string::npos);
  // kpgo before the version field wrote the same layout without it.
  EXPECT_EQ(load(kFinishedInstrument), "");
}

TEST_F(StateTest, AVersionOneBenchRecordIsDroppedAndTheRestKept) {
  // Version 1 held one figure per workload, named by its unit; version 2 has metrics.
  ASSERT_EQ(
      load(R"({"version": 1, "optimize": {"build_dir": "/b"}, "bench": {"unit": "instructions",
    "workloads": [{"name": "default", "baseline_instructions": [5], "pgo_instructions": [4]}]}})"),
      "");
  auto manifest = Manifest::load(dir_);
  ASSERT_TRUE(manifest) << manifest.error().what();
  EXPECT_FALSE(manifest->state().bench);
  ASSERT_TRUE(manifest->state().optimize);
  EXPECT_EQ(manifest->state().optimize->build_dir, "/b");
}

TEST_F(StateTest, AVersionTwoBenchRecordIsDroppedAndTheRestKept) {
  // Version 2 held a baseline and a pgo figure per round; version 3 holds any set of variants.
  ASSERT_EQ(load(R"({"version": 2, "baseline": {"build_dir": "/base"}, "bench": {"rounds": 1,
    "workloads": [{"name": "default", "figures": {"wall_ns": {"baseline": [5], "pgo": [4],
    "ratio": 0.8}}}]}})"),
            "");
  auto manifest = Manifest::load(dir_);
  ASSERT_TRUE(manifest) << manifest.error().what();
  EXPECT_FALSE(manifest->state().bench);
  ASSERT_TRUE(manifest->state().baseline);
  EXPECT_EQ(manifest->state().baseline->build_dir, "/base");
}

TEST_F(StateTest, ABenchFigureOfTheWrongTypeIsNamed) {
  EXPECT_NE(load(R"({"version": 3, "bench": {"workloads": [{"name": "w", "figures": {"wall_ns":
    {"pgo+lto": [1, "x"]}}}]}})")
                .find("bench.workloads[0].figures.wall_ns.pgo+lto"),
            std::string::npos);
}

TEST_F(StateTest, ANegativeOrFractionalCountIsNamed) {
  std::string text = kFinishedInstrument;
  text.replace(text.find("\"major\": 19"), 11, "\"major\": -19");
  EXPECT_NE(load(text).find("instrument.llvm.major is -19, not a whole number"), std::string::npos);
  EXPECT_NE(load(R"({"collect": {"profiles": [{"path": "/p", "sha256": "0", "weight": 1.5}]}})")
                .find("collect.profiles[0].weight is 1.5, not a whole number"),
            std::string::npos);
}

TEST_F(StateTest, WhatIsSavedLoadsBackTheSame) {
  ASSERT_EQ(load(kFinishedInstrument), "");
  auto manifest = Manifest::load(dir_);
  ASSERT_TRUE(manifest);
  auto& state = manifest->state();
  ASSERT_NE(state.instrumented(), nullptr);
  EXPECT_EQ(state.instrumented()->llvm.merge_backend, 19u);
  EXPECT_EQ(state.profiles().size(), 1u);
  // A module counted when built, and one of a workdir from before kpgo counted them.
  state.instrument->modules.push_back({"ext4", "/b/fs/ext4/ext4.ko", "cd", 2345});
  state.instrument->modules.push_back({"loop", "/b/drivers/block/loop.ko", "ef", std::nullopt});
  kpgo::pipeline::OptimizeState optimized;
  optimized.report = kpgo::pipeline::MatchReport{10, 9, 1, 0, 5, 5, {}};
  optimized.layout = {100, 7, 3};
  optimized.promoted_indirect_calls = 2;
  optimized.given_sha256 = "given";
  optimized.build_cost = {326.5, 1650000};
  optimized.finished = "2026-11-25T01:00:00Z";
  state.optimize = optimized;
  // What kpgo bench --show prints again: all of it, as measured.
  kpgo::pipeline::BenchState bench;
  bench.rounds = 3;
  bench.machine = "qemu";
  bench.method = "qemu -icount with kpgo's plugin";
  bench.finished = "2026-11-25T02:00:00Z";
  bench.metrics.push_back({"wall_ns", "nanoseconds", "wall time"});
  bench.variants.push_back(
      {"lto", "thin", "none", "", "/w/build-baseline", {100, 0, 3}, 0, {300, 1500000}, {4.5}});
  bench.variants.push_back({"pgo+lto",
                            "thin",
                            "pgo",
                            "ab",
                            "/w/build-optimized",
                            {100, 7, 30},
                            2,
                            {326.5, 1650000},
                            {4.4}});
  bench.comparisons.push_back({"pgo+lto", "lto"});
  bench.workloads.push_back({"web", true, {{"wall_ns", {{"lto", {5, 6}}, {"pgo+lto", {4, 5}}}}}});
  state.bench = bench;
  state.variant_builds.push_back(
      {"cspgo", "/w/build-variant-cspgo", "key", "cd", 3, {280.25, 900000}, "now"});
  ASSERT_TRUE(manifest->save());

  std::ifstream in(dir_ / "kpgo.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"version\": 4"), std::string::npos);
  EXPECT_EQ(text.find("\"booted\""), std::string::npos) << "an event that did not happen is absent";

  auto again = Manifest::load(dir_);
  ASSERT_TRUE(again) << again.error().what();
  const auto& reloaded = again->state();
  ASSERT_TRUE(reloaded.optimize && reloaded.optimize->report);
  EXPECT_EQ(reloaded.optimize->report->matched, 9u);
  EXPECT_EQ(reloaded.optimize->layout.hot, 7u);
  EXPECT_EQ(reloaded.optimize->promoted_indirect_calls, 2u);
  EXPECT_EQ(reloaded.optimize->given_sha256, "given");
  EXPECT_EQ(reloaded.optimize->build_cost.seconds, 326.5);
  EXPECT_EQ(reloaded.optimize->build_cost.peak_memory_kib, 1650000u);
  ASSERT_TRUE(reloaded.bench);
  EXPECT_EQ(reloaded.bench->rounds, 3u);
  EXPECT_EQ(reloaded.bench->machine, "qemu");
  EXPECT_EQ(reloaded.bench->method, bench.method);
  EXPECT_EQ(reloaded.bench->finished, bench.finished);
  ASSERT_EQ(reloaded.bench->workloads.size(), 1u);
  EXPECT_TRUE(reloaded.bench->workloads[0].trained);
  ASSERT_EQ(reloaded.bench->workloads[0].figures.count("wall_ns"), 1u);
  EXPECT_EQ(reloaded.bench->workloads[0].figures.at("wall_ns").at("pgo+lto"),
            (std::vector<uint64_t>{4, 5}));
  ASSERT_EQ(reloaded.bench->variants.size(), 2u);
  EXPECT_EQ(reloaded.bench->variants[1].layout.unlikely, 30u);
  EXPECT_EQ(reloaded.bench->variants[1].boot_seconds, (std::vector<double>{4.4}));
  EXPECT_EQ(reloaded.bench->variants[0].build_cost.peak_memory_kib, 1500000u);
  EXPECT_EQ(reloaded.bench->comparisons, bench.comparisons);
  ASSERT_EQ(reloaded.variant_builds.size(), 1u);
  EXPECT_EQ(reloaded.variant_builds[0].promoted_indirect_calls, 3u);
  EXPECT_EQ(reloaded.variant_builds[0].build_cost.seconds, 280.25);
  ASSERT_EQ(reloaded.bench->metrics.size(), 1u);
  EXPECT_EQ(reloaded.bench->metrics[0].unit, "nanoseconds");
  EXPECT_EQ(reloaded.instrumented()->vmlinux_build_id, "ab");
  ASSERT_EQ(reloaded.instrumented()->modules.size(), 2u);
  EXPECT_EQ(reloaded.instrumented()->modules[0].instrumented_functions, 2345u);
  EXPECT_EQ(reloaded.instrumented()->modules[1].instrumented_functions, std::nullopt);
  EXPECT_EQ(reloaded.instrumented()->modules[1].build_id, "ef");
  EXPECT_EQ(reloaded.profiles()[0].path, "/p/1.profraw");
}

// A CI job hands its workdir to the next one, which unpacks it elsewhere: paths inside the
// workdir are stored relative to it and come back under the new place; others stay absolute.
TEST_F(StateTest, AWorkdirMovedElsewhereKeepsItsPaths) {
  fs::path first = dir_ / "first";
  auto manifest = Manifest::load(first);
  ASSERT_TRUE(manifest);
  auto& instrument = kpgo::pipeline::ensure(manifest->state().instrument);
  instrument.build_dir = first / "build-instrumented";
  instrument.artifacts.bzimage = first / "build-instrumented" / "arch/x86/boot/bzImage";
  instrument.source = "/usr/src/linux-source-6.12.tar.xz";
  kpgo::pipeline::CsState cs;
  cs.workdir = first / "cs";
  manifest->state().cs = cs;
  ASSERT_TRUE(manifest->save());
  std::ifstream in(first / "kpgo.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"build_dir\": \"build-instrumented\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"workdir\": \"cs\""), std::string::npos) << text;
  EXPECT_EQ(text.find(first.string()), std::string::npos) << "no absolute path into the workdir";

  fs::path second = dir_ / "elsewhere" / "second";
  fs::create_directories(second.parent_path());
  fs::rename(first, second);
  auto moved = Manifest::load(second);
  ASSERT_TRUE(moved) << moved.error().what();
  const auto& reloaded = *moved->state().instrument;
  EXPECT_EQ(reloaded.build_dir, second / "build-instrumented");
  EXPECT_EQ(reloaded.artifacts.bzimage, second / "build-instrumented/arch/x86/boot/bzImage");
  EXPECT_EQ(reloaded.source, "/usr/src/linux-source-6.12.tar.xz");
  EXPECT_EQ(moved->state().cs->workdir, second / "cs");
}

TEST_F(StateTest, ARelativeWorkdirIsResolvedAndOldRelativePathsKeepTheirMeaning) {
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  auto manifest = Manifest::load("work");
  ASSERT_TRUE(manifest);
  kpgo::pipeline::MergeState merge;
  merge.output = fs::path("work") / "vmlinux.profdata";  // as kpgo makes it from --workdir work
  manifest->state().merge = merge;
  ASSERT_TRUE(manifest->save());
  auto again = Manifest::load("work");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().merge->output, dir_ / "work" / "vmlinux.profdata");
  // Version 3 wrote the same path as given: relative to where kpgo ran, not to the workdir.
  std::ofstream(dir_ / "work" / "kpgo.json")
      << R"({"version": 3, "merge": {"output": "work/vmlinux.profdata"}})";
  auto old = Manifest::load("work");
  fs::current_path(cwd);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->state().merge->output, fs::path("work") / "vmlinux.profdata");
}
