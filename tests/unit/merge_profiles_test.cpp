// SPDX-License-Identifier: MIT
// merge_profiles with a fake backend: what kpgo itself decides (which inputs reach LLVM, when an
// output is written, that a failure never touches an existing file), apart from LLVM's part.
#include <gtest/gtest.h>

#include "kpgo/profile/merge.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo::profile;
using kpgo::testing::build_raw;
using kpgo::testing::read_text;
using kpgo::testing::TempDir;
using kpgo::testing::write_bytes;

namespace {

// Stands in for LLVM: inputs whose name contains "unreadable" fail as a reader error would.
class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(std::vector<MergeJob>* jobs) : jobs_(jobs) {}
  BackendInfo info() const override { return {19, "19-fake", 10, 12}; }
  ProfileContents read(const std::string&) override { return {}; }
  MergeReport merge(const MergeJob& job) override {
    jobs_->push_back(job);
    MergeReport report;
    for (size_t i = 0; i < job.inputs.size(); ++i) {
      if (job.inputs[i].path.find("unreadable") != std::string::npos) {
        report.failures.push_back({i, "malformed instrumentation profile data"});
      }
    }
    size_t merged = job.inputs.size() - report.failures.size();
    if (merge_should_write(job.failure_mode, merged, report.failures.size())) {
      std::ofstream(job.output_path) << "merged " << merged;
      report.wrote_output = true;
    }
    report.stats.functions = merged;
    return report;
  }

 private:
  std::vector<MergeJob>* jobs_;
};

class MergeProfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::unique_ptr<Backend>> list;
    list.push_back(std::make_unique<FakeBackend>(&jobs));
    backends = std::make_unique<BackendSet>(BackendSet::from_backends(std::move(list)));
  }

  std::string profile(const std::string& name, uint64_t version = 10,
                      std::vector<uint8_t> build_id = {0xaa}) {
    auto path = dir / name;
    write_bytes(
        path,
        build_raw(
            {.version = version, .num_data = 1, .num_counters = 2, .binary_ids = {build_id}}));
    return path.string();
  }

  MergeRequest request(std::vector<std::string> paths, FailureMode mode = FailureMode::any) {
    MergeRequest r;
    for (auto& p : paths) r.inputs.push_back({p, 1});
    r.output = dir / "out.profdata";
    r.failure_mode = mode;
    return r;
  }

  size_t files_in_dir() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir.path()), {}));
  }

  TempDir dir;
  std::vector<MergeJob> jobs;
  std::unique_ptr<BackendSet> backends;
};

}  // namespace

TEST_F(MergeProfiles, WritesThroughATemporaryAndReportsCounts) {
  auto outcome = merge_profiles(request({profile("a.profraw"), profile("b.profraw")}), *backends);
  ASSERT_TRUE(outcome) << outcome.error().what();
  EXPECT_EQ(outcome->merged, 2u);
  EXPECT_EQ(read_text(dir / "out.profdata"), "merged 2");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(jobs[0].output_path, (dir / "out.profdata").string());
  EXPECT_EQ(files_in_dir(), 3u);  // two inputs and the output, no temporary left
}

TEST_F(MergeProfiles, AnyModeFailureKeepsTheExistingOutput) {
  std::ofstream(dir / "out.profdata") << "precious";
  auto bad = (dir / "bad.profraw").string();
  std::ofstream(bad) << "";
  auto outcome = merge_profiles(request({profile("a.profraw"), bad}), *backends);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().what().find("bad.profraw: empty file"), std::string::npos)
      << outcome.error().what();
  EXPECT_EQ(read_text(dir / "out.profdata"), "precious");
  EXPECT_TRUE(jobs.empty()) << "LLVM need not read anything once the outcome is decided";
  EXPECT_EQ(files_in_dir(), 3u);
}

TEST_F(MergeProfiles, ReaderFailureInAnyModeWritesNothing) {
  auto outcome =
      merge_profiles(request({profile("a.profraw"), profile("unreadable.profraw")}), *backends);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().what().find("unreadable.profraw: malformed"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.profdata"));
}

TEST_F(MergeProfiles, AllAndWarnModesSkipBadInputsOnly) {
  for (FailureMode mode : {FailureMode::all, FailureMode::warn}) {
    jobs.clear();
    auto outcome = merge_profiles(request({profile("a.profraw"), profile("old.profraw", 8),
                                           profile("unreadable.profraw"), profile("b.profraw")},
                                          mode),
                                  *backends);
    ASSERT_TRUE(outcome) << outcome.error().what();
    EXPECT_EQ(outcome->merged, 2u);
    ASSERT_EQ(outcome->skipped.size(), 2u);
    EXPECT_NE(outcome->skipped[0].reason.find("version 8"), std::string::npos);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].inputs.size(), 3u) << "the wrong-version input never reaches LLVM";
    EXPECT_EQ(read_text(dir / "out.profdata"), "merged 2");
  }
}

TEST_F(MergeProfiles, NothingMergedFailsInEveryMode) {
  for (FailureMode mode : {FailureMode::any, FailureMode::all, FailureMode::warn}) {
    auto outcome = merge_profiles(request({profile("unreadable.profraw")}, mode), *backends);
    ASSERT_FALSE(outcome);
    EXPECT_NE(outcome.error().what().find("no profile could be merged"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir / "out.profdata"));
  }
}

TEST_F(MergeProfiles, ForeignBinaryIsRefused) {
  auto outcome = merge_profiles(
      request({profile("a.profraw"), profile("b.profraw"), profile("other.profraw", 10, {0xbb})},
              FailureMode::all),
      *backends);
  ASSERT_TRUE(outcome);
  ASSERT_EQ(outcome->skipped.size(), 1u);
  EXPECT_NE(outcome->skipped[0].path.find("other.profraw"), std::string::npos);
  EXPECT_NE(outcome->skipped[0].reason.find("another binary"), std::string::npos);
}

TEST_F(MergeProfiles, MissingOutputDirectoryIsAnError) {
  auto r = request({profile("a.profraw")});
  r.output = dir / "no" / "such" / "out.profdata";
  auto outcome = merge_profiles(r, *backends);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().what().find("does not exist"), std::string::npos);
}
