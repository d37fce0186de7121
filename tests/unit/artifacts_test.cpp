// SPDX-License-Identifier: MIT
// What kpgo artifacts hands a stage's CI job, read from a workdir's state.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kpgo/pipeline/artifacts.hpp"

using namespace kpgo;
using namespace kpgo::pipeline;
namespace fs = std::filesystem;

namespace {

class ArtifactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    touch(work_ / "build-instrumented/arch/x86/boot/bzImage");
    touch(work_ / "build-instrumented/kpgo-modules/lib/modules/6.12.0/modules.dep");
    touch(work_ / "profiles/default-1.profraw");
    touch(dir_ / "workload.sh");
    auto manifest = Manifest::load(work_);
    EXPECT_TRUE(manifest);
    manifest_ = std::move(*manifest);
    InstrumentState& instrument = ensure(manifest_.state().instrument);
    instrument.finished = "now";
    instrument.build_dir = work_ / "build-instrumented";
    instrument.artifacts.bzimage = work_ / "build-instrumented/arch/x86/boot/bzImage";
    instrument.modules = {{"loop", work_ / "build-instrumented/drivers/block/loop.ko", "ab"}};
    instrument.modules_dir = work_ / "build-instrumented/kpgo-modules";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void touch(const fs::path& path) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "x";
  }

  fs::path dir_ = fs::temp_directory_path() / ("kpgo-artifacts-" + std::to_string(::getpid()));
  fs::path work_ = dir_ / "work";
  Manifest manifest_ = *Manifest::load(dir_ / "unused");
};

}  // namespace

TEST_F(ArtifactsTest, ACollectJobGetsTheImageAndTheModulesOnly) {
  auto artifacts = stage_artifacts(manifest_, Stage::collect);
  ASSERT_TRUE(artifacts) << artifacts.error().what();
  EXPECT_EQ(artifacts->files,
            (std::vector<fs::path>{"kpgo.json", "build-instrumented/arch/x86/boot/bzImage",
                                   "build-instrumented/kpgo-modules"}));
  EXPECT_TRUE(artifacts->outside.empty());
}

TEST_F(ArtifactsTest, AMergeJobGetsTheProfilesAndNamesWhatLiesOutside) {
  CollectedProfile inside;
  inside.path = work_ / "profiles/default-1.profraw";
  CollectedProfile outside;
  outside.path = dir_ / "workload.sh";  // stands for a file kept outside the workdir
  ensure(manifest_.state().collect).profiles = {inside, outside};
  auto artifacts = stage_artifacts(manifest_, Stage::merge);
  ASSERT_TRUE(artifacts) << artifacts.error().what();
  EXPECT_EQ(artifacts->files, (std::vector<fs::path>{"kpgo.json", "profiles/default-1.profraw"}));
  EXPECT_EQ(artifacts->outside, (std::vector<fs::path>{dir_ / "workload.sh"}));
}

TEST_F(ArtifactsTest, AStageWhoseInputsAreMissingIsRefusedWithThePhaseThatMakesThem) {
  auto merge = stage_artifacts(manifest_, Stage::merge);
  ASSERT_FALSE(merge);
  EXPECT_NE(merge.error().message.find("run kpgo collect first"), std::string::npos);
  fs::remove(work_ / "build-instrumented/arch/x86/boot/bzImage");
  auto collect = stage_artifacts(manifest_, Stage::collect);
  ASSERT_FALSE(collect);
  EXPECT_NE(collect.error().message.find("the instrumented kernel's image"), std::string::npos);
  EXPECT_NE(collect.error().message.find("is missing"), std::string::npos);
  EXPECT_FALSE(parse_stage("deploy"));
  EXPECT_EQ(*parse_stage("bench"), Stage::bench);
}

TEST_F(ArtifactsTest, AStagesJobStartsFromWhatTheEarlierPhasesMadeOnly) {
  ensure(manifest_.state().collect).profiles.emplace_back().path = work_ / "profiles/x.profraw";
  manifest_.state().merge.emplace().output = work_ / "vmlinux.profdata";
  State collect = stage_state(manifest_.state(), Stage::collect);
  EXPECT_TRUE(collect.instrument);
  EXPECT_FALSE(collect.collect) << "the build host's profiles are not the collect job's";
  EXPECT_FALSE(collect.merge);
  State merge = stage_state(manifest_.state(), Stage::merge);
  EXPECT_TRUE(merge.collect);
  EXPECT_FALSE(merge.merge);
  State optimize = stage_state(manifest_.state(), Stage::optimize);
  EXPECT_FALSE(optimize.collect);
  EXPECT_TRUE(optimize.merge);
}

// A relative --workdir (pipeline.sh's default) and a relative archive: both from where kpgo runs.
TEST_F(ArtifactsTest, APackFromARelativeWorkdirHoldsTheStagesStateAndFiles) {
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  auto relative = Manifest::load("work");
  ASSERT_TRUE(relative);
  relative->state() = manifest_.state();
  auto artifacts = stage_artifacts(*relative, Stage::collect);
  ASSERT_TRUE(artifacts) << artifacts.error().what();
  auto packed = pack_artifacts(*artifacts, *relative, "collect.tar", system_runner());
  auto listing = system_runner().capture({{"tar", "-tf", "collect.tar"}});
  fs::current_path(cwd);
  ASSERT_TRUE(packed) << packed.error().what();
  ASSERT_TRUE(listing && listing->succeeded());
  EXPECT_EQ(
      listing->out,
      "kpgo.json\nbuild-instrumented/arch/x86/boot/bzImage\nbuild-instrumented/kpgo-modules/\n"
      "build-instrumented/kpgo-modules/lib/\nbuild-instrumented/kpgo-modules/lib/modules/\n"
      "build-instrumented/kpgo-modules/lib/modules/6.12.0/\n"
      "build-instrumented/kpgo-modules/lib/modules/6.12.0/modules.dep\n");
}

// A CI job's cache keeps its workdir from the last run; the job's artifact is unpacked over it.
TEST_F(ArtifactsTest, AnUnpackKeepsTheWorkdirsLaterRecordsOfTheSameKernelOnly) {
  manifest_.state().instrument->vmlinux_build_id = "aa";
  ASSERT_TRUE(manifest_.save());
  auto pack = [&](const char* name) {
    auto artifacts = stage_artifacts(manifest_, Stage::collect);
    ASSERT_TRUE(artifacts) << artifacts.error().what();
    ASSERT_TRUE(pack_artifacts(*artifacts, manifest_, dir_ / name, system_runner()));
  };
  pack("collect.tar");
  fs::path job = dir_ / "job";
  auto first = unpack_artifacts(dir_ / "collect.tar", job, system_runner());
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_TRUE(first->kept_sections.empty());
  EXPECT_TRUE(fs::exists(job / "build-instrumented/arch/x86/boot/bzImage"));
  auto unpacked = Manifest::load(job);
  ASSERT_TRUE(unpacked) << unpacked.error().what();
  EXPECT_EQ(unpacked->state().instrument->artifacts.bzimage,
            job / "build-instrumented/arch/x86/boot/bzImage")
      << "paths are the job's own";
  // The job collects, and its workdir is cached.
  ensure(unpacked->state().collect).profiles.emplace_back().path = job / "profiles/job-1.profraw";
  ASSERT_TRUE(unpacked->save());

  auto again = unpack_artifacts(dir_ / "collect.tar", job, system_runner());
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->kept_sections, std::vector<std::string>{"collect"});
  ASSERT_TRUE(Manifest::load(job)->state().collect);

  manifest_.state().instrument->vmlinux_build_id = "bb";  // another kernel
  pack("collect.tar");
  auto other = unpack_artifacts(dir_ / "collect.tar", job, system_runner());
  ASSERT_TRUE(other) << other.error().what();
  EXPECT_TRUE(other->kept_sections.empty());
  EXPECT_FALSE(Manifest::load(job)->state().collect) << "the old kernel's profiles are not kept";

  touch(dir_ / "not-an-archive.tar");
  auto bad = unpack_artifacts(dir_ / "not-an-archive.tar", job, system_runner());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("not-an-archive.tar: not an archive of kpgo artifacts"),
            std::string::npos)
      << bad.error().what();
  EXPECT_EQ(Manifest::load(job)->state().instrument->vmlinux_build_id, "bb") << "left as it was";
}
