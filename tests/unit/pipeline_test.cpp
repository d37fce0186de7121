// SPDX-License-Identifier: MIT
// The pipeline's phases, resume keys and kpgo.json transitions, without a kernel build: kbuild is
// faked (a `make` that writes what a kernel build leaves behind), everything else is real. The
// "kernel" is a small program clang 19 instruments here and now; the workload runs it on this
// machine (collect --local), and its profile is merged by the real LLVM 19 backend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "kpgo/pipeline/run.hpp"
#include "kpgo/profile/format.hpp"
#include "kpgo/profile/merge.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"

namespace fs = std::filesystem;
using namespace kpgo;
using namespace kpgo::pipeline;

namespace {

constexpr const char* kProgram = R"(#include <stdlib.h>
volatile int sink;
int work_a(int n) { int s = 0; for (int i = 0; i < n; ++i) s += i; return s; }
int work_b(int n) { return n * 3; }
#ifdef OTHER_BUILD
int other_build(void) { return 7; }
#endif
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  sink = work_a(n) + (n > 4 ? work_b(n) : 0);
  return 0;
}
)";

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// kbuild as far as kpgo can tell: `make tinyconfig` writes a .config, `olddefconfig` keeps it,
// a build writes vmlinux (an ELF with a build ID), System.map, vmlinux.o and bzImage, and says
// "  CC" like kbuild. Every other command runs for real.
class FakeKbuild final : public ProcessRunner {
 public:
  FakeKbuild(fs::path instrumented_elf, fs::path optimized_elf, fs::path object)
      : instrumented_elf_(std::move(instrumented_elf)),
        optimized_elf_(std::move(optimized_elf)),
        object_(std::move(object)) {}

  std::vector<std::string> makes;  // "TARGET in DIR" per make run, the build as "build"
  bool fail_builds = false;
  fs::path instrumented_elf_override;  // another "kernel" for the next instrumented builds

  Result<ProcessOutput> capture(const Command& command) override {
    return system_runner().capture(command);
  }

  Result<ProcessOutput> stream(const Command& command, const LineSink& sink) override {
    if (command.argv.empty() || command.argv[0] != "make")
      return system_runner().stream(command, sink);
    fs::path output;
    std::string target = "build";
    for (const auto& arg : command.argv) {
      if (arg.rfind("O=", 0) == 0) output = arg.substr(2);
      if (arg == "tinyconfig" || arg == "olddefconfig") target = arg;
    }
    makes.push_back(target + " in " + output.filename().string());
    ProcessOutput result;
    result.exit_code = 0;
    if (target == "tinyconfig") write(output / ".config", "CONFIG_64BIT=y\n");
    if (target != "build") return result;
    if (fail_builds) {
      sink("kernel/fork.c:1:1: error: fake failure");
      result.exit_code = 2;
      return result;
    }
    sink("  CC      kernel/fork.o");
    bool instrumented = output.filename() == "build-instrumented";
    fs::path elf = instrumented ? (instrumented_elf_override.empty() ? instrumented_elf_
                                                                     : instrumented_elf_override)
                                : optimized_elf_;
    fs::copy_file(elf, output / "vmlinux", fs::copy_options::overwrite_existing);
    fs::copy_file(object_, output / "vmlinux.o", fs::copy_options::overwrite_existing);
    write(output / "arch" / "x86" / "boot" / "bzImage", "bzImage of " + output.string());
    uint64_t records = 3 * profile::raw_data_record_size(10);
    write(output / "System.map", fmt::format("ffffffff81000000 D __llvm_prf_data_start\n"
                                             "{:x} D __llvm_prf_data_end\n"
                                             "ffffffff81001000 T main\n"
                                             "ffffffff81001100 T work_a\n"
                                             "ffffffff81001200 T work_b\n",
                                             0xffffffff81000000ull + records));
    return result;
  }

 private:
  fs::path instrumented_elf_, optimized_elf_, object_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("KPGO_BACKEND_DIR", KPGO_TEST_BACKEND_DIR, 0);
    backends_ = profile::BackendSet::discover();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write(dir_ / "program.c", kProgram);
    compile({"-O1", "-fprofile-generate", "-o", "kernel"});
    compile({"-O1", "-fprofile-generate", "-DOTHER_BUILD=1", "-o", "other-kernel"});
    compile({"-O2", "-o", "optimized"});
    compile({"-O2", "-ffunction-sections", "-c", "-o", "kernel.o"});
    // A tree with clang PGO support of its own: kpgo patches nothing.
    write(dir_ / "src" / "Makefile",
          "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n");
    write(dir_ / "src" / "kernel" / "pgo" / "Kconfig", "config PGO_CLANG\n\tbool \"PGO\"\n");
    set_workload("5");

    options_.instrument.source = dir_ / "src";
    options_.instrument.workdir = dir_ / "work";
    options_.instrument.llvm = "-19";
    options_.instrument.jobs = 1;
    options_.collect.kind = targets::TargetKind::local;
    options_.collect.workload = {"busy", dir_ / "workload.sh", {}};
    options_.collect.runs = 1;
    options_.collect.files = {(dir_ / "served.profraw").string(), (dir_ / "reset").string()};
    options_.optimize.jobs = 1;
    options_.optimize.smoke_boot = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void compile(std::vector<std::string> args) {
    std::string line = "cd " + shell_quote(dir_.string()) + " && clang-19 program.c";
    for (const auto& arg : args) line += " " + shell_quote(arg);
    ASSERT_EQ(std::system(line.c_str()), 0) << line;
  }

  // The workload runs the "kernel" with this argument; its profile is the one collect fetches.
  void set_workload(const std::string& argument) {
    write(dir_ / "workload.sh",
          "#!/bin/sh\nLLVM_PROFILE_FILE=" + shell_quote((dir_ / "served.profraw").string()) + " " +
              shell_quote((dir_ / "kernel").string()) + " " + argument + "\n");
  }

  Result<PipelineOutcome> run() {
    KPGO_TRY_BIND(manifest, Manifest::load(options_.instrument.workdir));
    return run_pipeline(options_, kbuild_, backends_, *manifest);
  }

  State state() {
    auto manifest = Manifest::load(options_.instrument.workdir);
    EXPECT_TRUE(manifest) << manifest.error().what();
    return manifest ? manifest->state() : State{};
  }

  static std::vector<bool> ran(const PipelineOutcome& outcome) {
    std::vector<bool> flags;
    for (const auto& phase : outcome.phases) flags.push_back(phase.ran);
    return flags;
  }

  fs::path dir_ = fs::temp_directory_path() / ("kpgo-pipeline-" + std::to_string(::getpid()));
  FakeKbuild kbuild_{dir_ / "kernel", dir_ / "optimized", dir_ / "kernel.o"};
  profile::BackendSet backends_ = profile::BackendSet::from_backends({});
  PipelineOptions options_;
};

}  // namespace

TEST_F(PipelineTest, AFirstRunDoesEveryPhaseAndRecordsIt) {
  auto outcome = run();
  ASSERT_TRUE(outcome) << outcome.error().what();
  EXPECT_EQ(ran(*outcome), (std::vector<bool>{true, true, true, true}));
  EXPECT_EQ(kbuild_.makes, (std::vector<std::string>{
                               "tinyconfig in build-instrumented",
                               "olddefconfig in build-instrumented", "build in build-instrumented",
                               "olddefconfig in build-optimized", "build in build-optimized"}));
  State s = state();
  ASSERT_NE(s.instrumented(), nullptr);
  EXPECT_EQ(s.instrument->llvm.major, 19u);
  EXPECT_EQ(s.instrument->llvm.raw_version, 10u);
  EXPECT_EQ(s.instrument->support, "native");
  EXPECT_EQ(s.instrument->vmlinux_build_id.size(), 40u);
  EXPECT_FALSE(s.instrument->inputs_key.empty());
  ASSERT_EQ(s.profiles().size(), 1u);
  EXPECT_TRUE(fs::exists(s.profiles()[0].path));
  ASSERT_TRUE(s.merge);
  EXPECT_EQ(s.merge->inputs.size(), 1u);
  ASSERT_TRUE(s.optimize && s.optimize->report);
  EXPECT_FALSE(s.optimize->finished.empty());
  EXPECT_EQ(s.optimize->report->functions, 3u);
  EXPECT_GE(s.optimize->report->hot_matched, 1u);
  EXPECT_NE(s.optimize->profile.string().find("/profdata/"), std::string::npos);
}

TEST_F(PipelineTest, ASecondRunRedoesNothing) {
  ASSERT_TRUE(run());
  kbuild_.makes.clear();
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(ran(*again), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(kbuild_.makes.empty());
  EXPECT_EQ(again->optimized.report.functions, 3u) << "the recorded report, not a blank one";
}

// A workdir from before kpgo recorded the profile optimize was given: an up-to-date run records
// it (bench tells the optimized kernel's variant by it), and builds nothing.
TEST_F(PipelineTest, AnUpToDateOptimizeRecordsTheGivenProfileAWorkdirLacked) {
  ASSERT_TRUE(run());
  std::string given = state().optimize->given_sha256;
  ASSERT_EQ(given, state().merge->sha256);
  auto document = nlohmann::json::parse(std::ifstream(options_.instrument.workdir / "kpgo.json"));
  document["optimize"].erase("given_sha256");
  std::ofstream(options_.instrument.workdir / "kpgo.json") << document.dump();
  ASSERT_TRUE(state().optimize->given_sha256.empty());
  kbuild_.makes.clear();
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(ran(*again), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(kbuild_.makes.empty());
  EXPECT_EQ(state().optimize->given_sha256, given);
}

// A CI pipeline hands the workdir from job to job, each unpacking it somewhere else.
TEST_F(PipelineTest, AWorkdirMovedBetweenStagesResumesWhereItIsNow) {
  ASSERT_TRUE(run());
  fs::path moved = dir_ / "elsewhere" / "work";
  fs::create_directories(moved.parent_path());
  fs::rename(options_.instrument.workdir, moved);
  options_.instrument.workdir = moved;
  kbuild_.makes.clear();
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(ran(*again), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(kbuild_.makes.empty());

  set_workload("7");
  auto changed = run();
  ASSERT_TRUE(changed) << changed.error().what();
  EXPECT_EQ(ran(*changed), (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(kbuild_.makes, (std::vector<std::string>{"build in build-optimized"}));
  State s = state();
  ASSERT_EQ(s.profiles().size(), 1u);
  EXPECT_EQ(s.profiles()[0].path.string().rfind(moved.string(), 0), 0u) << s.profiles()[0].path;
  EXPECT_EQ(s.optimize->build_dir, moved / "build-optimized");
  // The commands are a record of what ran, where it ran; every path is relative.
  auto document = nlohmann::json::parse(std::ifstream(moved / "kpgo.json"));
  for (auto& [name, section] : document.items()) {
    if (section.is_object()) section.erase("commands");
  }
  std::string text = document.dump();
  EXPECT_EQ(text.find((dir_ / "work").string() + "/"), std::string::npos) << "the old place";
  EXPECT_EQ(text.find(moved.string()), std::string::npos) << "an absolute path into the workdir";
}

// CI jobs run the phases one by one, each in a workdir its cache kept: a phase whose inputs did
// not change does nothing, whichever command runs it.
TEST_F(PipelineTest, StandalonePhasesSkipWhatIsUpToDateAndForceRedoesIt) {
  auto manifest = Manifest::load(options_.instrument.workdir);
  ASSERT_TRUE(manifest);
  auto built = instrument_kernel(options_.instrument, kbuild_, *manifest);
  ASSERT_TRUE(built) << built.error().what();
  EXPECT_FALSE(built->up_to_date);
  auto collected = collect_profiles(options_.collect, kbuild_, *manifest);
  ASSERT_TRUE(collected) << collected.error().what();
  EXPECT_FALSE(collected->up_to_date);
  auto optimized = optimize(options_.optimize, kbuild_, backends_, *manifest);
  ASSERT_TRUE(optimized) << optimized.error().what();
  EXPECT_FALSE(optimized->up_to_date);

  kbuild_.makes.clear();
  built = instrument_kernel(options_.instrument, kbuild_, *manifest);
  ASSERT_TRUE(built) << built.error().what();
  EXPECT_TRUE(built->up_to_date);
  EXPECT_EQ(built->build_id, manifest->state().instrument->vmlinux_build_id);
  collected = collect_profiles(options_.collect, kbuild_, *manifest);
  ASSERT_TRUE(collected) << collected.error().what();
  EXPECT_TRUE(collected->up_to_date);
  ASSERT_EQ(collected->kept.size(), 1u) << "the recorded profile is listed";
  EXPECT_EQ(collected->kept[0].path, manifest->state().profiles()[0].path);
  optimized = optimize(options_.optimize, kbuild_, backends_, *manifest);
  ASSERT_TRUE(optimized) << optimized.error().what();
  EXPECT_TRUE(optimized->up_to_date);
  EXPECT_EQ(optimized->report.functions, 3u) << "the recorded report";
  EXPECT_TRUE(kbuild_.makes.empty());

  // A run after the standalone phases finds them up to date too: one key per phase.
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(ran(*again), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(kbuild_.makes.empty());

  options_.instrument.force = options_.collect.force = options_.optimize.force = true;
  ASSERT_TRUE(instrument_kernel(options_.instrument, kbuild_, *manifest));
  collected = collect_profiles(options_.collect, kbuild_, *manifest);
  ASSERT_TRUE(collected) << collected.error().what();
  EXPECT_FALSE(collected->up_to_date);
  ASSERT_TRUE(optimize(options_.optimize, kbuild_, backends_, *manifest));
  EXPECT_EQ(kbuild_.makes,
            (std::vector<std::string>{"tinyconfig in build-instrumented",
                                      "olddefconfig in build-instrumented",
                                      "build in build-instrumented", "build in build-optimized"}));
}

// The source is keyed by content: a file edited in place in the tree is a new kernel.
TEST_F(PipelineTest, AnEditedSourceTreeRebuildsTheInstrumentedKernel) {
  ASSERT_TRUE(run());
  write(dir_ / "src" / "kernel" / "pgo" / "Kconfig",
        "config PGO_CLANG\n\tbool \"PGO\"\n\thelp\n\t  edited\n");
  kbuild_.makes.clear();
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_TRUE(again->phases[0].ran) << "instrument";
  EXPECT_EQ(kbuild_.makes, (std::vector<std::string>{"tinyconfig in build-instrumented",
                                                     "olddefconfig in build-instrumented",
                                                     "build in build-instrumented"}))
      << "the same kernel came out (a fake build): its profiles and optimized kernel stand";
}

TEST_F(PipelineTest, AChangedWorkloadRedoesCollectAndWhatFollows) {
  ASSERT_TRUE(run());
  std::string old_profile = state().merge->sha256;
  set_workload("9");  // other counts: work_b runs too
  kbuild_.makes.clear();
  auto again = run();
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(ran(*again), (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(kbuild_.makes, (std::vector<std::string>{"build in build-optimized"}))
      << "the configuration is the same: only the build runs";
  EXPECT_NE(state().merge->sha256, old_profile);
}

TEST_F(PipelineTest, ANewKernelDropsTheOldKernelsProfiles) {
  ASSERT_TRUE(run());
  fs::path old_profile = state().profiles()[0].path;
  // Another instrumented build (another build ID); the workload still runs the old program, so
  // its profile is refused: collect fails, and nothing of the old kernel's is left to merge.
  options_.instrument.atomic_counters = true;
  kbuild_.instrumented_elf_override = dir_ / "other-kernel";
  auto again = run();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().what().find("phase collect"), std::string::npos) << again.error().what();
  EXPECT_NE(again.error().what().find("1 of 1 runs failed"), std::string::npos)
      << again.error().what();
  EXPECT_FALSE(fs::exists(old_profile));
  State s = state();
  EXPECT_TRUE(s.instrument->atomic_counters);
  EXPECT_TRUE(s.profiles().empty());
  EXPECT_FALSE(s.merge);
  EXPECT_FALSE(collect_up_to_date(options_.collect, s)) << "a failed collect is not up to date";
}

// kpgo instrument alone as kpgo run: a rebuilt kernel of another build ID leaves no profile of
// the old one for a collect to add to or a merge to refuse.
TEST_F(PipelineTest, AStandaloneInstrumentOfANewKernelDropsTheOldKernelsProfiles) {
  ASSERT_TRUE(run());
  fs::path old_profile = state().profiles()[0].path;
  auto manifest = Manifest::load(options_.instrument.workdir);
  ASSERT_TRUE(manifest);
  options_.instrument.force = true;
  // The same kernel built again keeps what was collected on it.
  ASSERT_TRUE(instrument_kernel(options_.instrument, kbuild_, *manifest));
  EXPECT_TRUE(fs::exists(old_profile));
  EXPECT_EQ(state().profiles().size(), 1u);

  kbuild_.instrumented_elf_override = dir_ / "other-kernel";
  auto built = instrument_kernel(options_.instrument, kbuild_, *manifest);
  ASSERT_TRUE(built) << built.error().what();
  EXPECT_FALSE(fs::exists(old_profile));
  State s = state();
  EXPECT_EQ(s.instrument->vmlinux_build_id, built->build_id);
  EXPECT_TRUE(s.profiles().empty());
  EXPECT_FALSE(s.merge);
}

TEST_F(PipelineTest, AFailedBuildLeavesNothingVouchedForAndTheNextRunRedoesIt) {
  ASSERT_TRUE(run());
  set_workload("9");
  kbuild_.fail_builds = true;
  auto failed = run();
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().what().find("phase optimize: optimize failed (make exited with 2)"),
            std::string::npos)
      << failed.error().what();
  EXPECT_NE(failed.error().what().find("fake failure"), std::string::npos)
      << "the error line is quoted";
  State s = state();
  ASSERT_TRUE(s.optimize);
  EXPECT_TRUE(s.optimize->finished.empty());
  EXPECT_TRUE(s.optimize->inputs_key.empty());
  EXPECT_FALSE(s.optimize->report);

  kbuild_.fail_builds = false;
  kbuild_.makes.clear();
  auto resumed = run();
  ASSERT_TRUE(resumed) << resumed.error().what();
  EXPECT_EQ(ran(*resumed), (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(kbuild_.makes, (std::vector<std::string>{"build in build-optimized"}));
}

TEST_F(PipelineTest, AnInterruptedInstrumentBuildIsNotFinished) {
  kbuild_.fail_builds = true;
  ASSERT_FALSE(run());
  State s = state();
  ASSERT_TRUE(s.instrument);
  EXPECT_FALSE(s.instrument->started.empty());
  EXPECT_EQ(s.instrumented(), nullptr);
  kbuild_.fail_builds = false;
  kbuild_.makes.clear();
  auto resumed = run();
  ASSERT_TRUE(resumed) << resumed.error().what();
  EXPECT_EQ(ran(*resumed), (std::vector<bool>{true, true, true, true}));
}

// After `kpgo run --cs`, a plain `kpgo optimize` builds with both stages' profile, as run's own
// optimize phase did; once stage 1 is another profile, the CS one no longer fits and stage 1 is
// used alone.
TEST_F(PipelineTest, OptimizeUsesTheCombinedProfileWhileItsStageOneIsCurrent) {
  ASSERT_TRUE(run());
  fs::path workdir = options_.instrument.workdir;
  // Stands for stage 1 + 2 merged: a profile of this build with other counts than stage 1's.
  profile::MergeRequest request;
  request.inputs = {{state().profiles()[0].path.string(), 3}};
  request.output = workdir / "cs" / "vmlinux.profdata";
  fs::create_directories(request.output.parent_path());
  ASSERT_TRUE(profile::merge_profiles(request, backends_));
  std::string combined = *sha256_file(request.output);
  {
    auto manifest = Manifest::load(workdir);
    ASSERT_TRUE(manifest);
    std::string stage1 = manifest->state().merge->sha256;
    manifest->state().cs =
        CsState{workdir / "cs", workdir / "vmlinux.profdata", stage1, request.output,
                combined,       "2026-12-03T00:00:00Z"};
    ASSERT_TRUE(manifest->save());
  }
  auto optimize_here = [&] {
    auto manifest = Manifest::load(workdir);
    EXPECT_TRUE(manifest);
    auto outcome = optimize(options_.optimize, kbuild_, backends_, *manifest);
    EXPECT_TRUE(outcome) << outcome.error().what();
    return outcome ? *sha256_file(outcome->profdata) : std::string();
  };
  EXPECT_EQ(optimize_here(), combined);

  {
    auto manifest = Manifest::load(workdir);
    ASSERT_TRUE(manifest);
    manifest->state().cs->base_sha256 = std::string(64, '0');  // built on another stage 1
    ASSERT_TRUE(manifest->save());
  }
  EXPECT_EQ(optimize_here(), state().merge->sha256);
}

TEST_F(PipelineTest, TheDryRunPlanRunsNothing) {
  auto manifest = Manifest::load(options_.instrument.workdir);
  ASSERT_TRUE(manifest);
  auto plan = plan_pipeline(options_, kbuild_, backends_, *manifest);
  ASSERT_TRUE(plan) << plan.error().what();
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_TRUE((*plan)[0].runs);
  ASSERT_FALSE((*plan)[0].commands.empty());
  EXPECT_NE(render_command((*plan)[0].commands.back()).find("LLVM=-19 ARCH=x86_64 -j1"),
            std::string::npos);
  EXPECT_TRUE(kbuild_.makes.empty());
  EXPECT_FALSE(fs::exists(options_.instrument.workdir / "kpgo.json"));
}
