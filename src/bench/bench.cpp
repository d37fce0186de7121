// SPDX-License-Identifier: MIT
#include <algorithm>

#include "kpgo/kernel/build.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/bench/bench.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "rounds.hpp"

namespace kpgo::bench {

namespace fs = std::filesystem;

namespace {

struct Baseline {
  fs::path bzimage;
  fs::path vmlinux_o;
  fs::path build_dir;
};

// The instrumented build's source and configuration, instrumentation off, no profile.
Result<Baseline> build_baseline(const BenchOptions& options, ProcessRunner& runner, pipeline::Manifest& manifest) {
  const auto& instrument = manifest.data()["instrument"];
  kernel::Kbuild kbuild{instrument.value("source", ""), fs::absolute(manifest.workdir()) / "build-baseline",
                        instrument["llvm"].value("value", ""), instrument.value("arch", "x86_64"),
                        options.jobs, options.make_args};
  auto& record = manifest.data()["baseline"];
  if (!record.is_object()) record = nlohmann::json::object();
  kernel::BuildLog log{manifest.workdir() / "logs" / "baseline.log", "baseline", options.progress};
  auto configured = pipeline::configure_uninstrumented(instrument.value("build_dir", ""), kbuild, record, runner, log);
  if (!configured) return tl::unexpected(configured.error());
  if (*configured) {
    record.erase("finished");
    KPGO_TRY(manifest.save());
  }
  KPGO_TRY(kernel::run_make(kbuild.make({}), runner, log));
  Baseline baseline{kbuild.output / "arch" / "x86" / "boot" / "bzImage", kbuild.output / "vmlinux.o",
                    kbuild.output};
  record["build_dir"] = kbuild.output.string();
  record["artifacts"] = {{"bzImage", baseline.bzimage.string()}, {"log", log.file.string()}};
  record["finished"] = pipeline::utc_timestamp();
  KPGO_TRY(manifest.save());
  return baseline;
}

// Workloads the collected profiles came from: their scripts, and their labels (a workload's
// name unless --label said otherwise).
std::vector<std::string> trained_workloads(const pipeline::Manifest& manifest) {
  std::vector<std::string> trained;
  const auto& profiles = manifest.data().value("collect", nlohmann::json::object()).value("profiles", nlohmann::json::array());
  for (const auto& profile : profiles) {
    std::error_code ec;
    trained.push_back(fs::weakly_canonical(profile.value("workload", ""), ec).string());
    trained.push_back("label:" + profile.value("label", ""));
  }
  return trained;
}

}  // namespace

uint64_t median_of(std::vector<uint64_t> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

Result<BenchOutcome> bench(const BenchOptions& options, ProcessRunner& runner, pipeline::Manifest& manifest) {
  const auto instrument = manifest.data().value("instrument", nlohmann::json::object());
  const auto optimize = manifest.data().value("optimize", nlohmann::json::object());
  if (!instrument.contains("finished") || !optimize.contains("finished")) {
    return fail("{} has no optimized kernel to measure; run kpgo run (or instrument, collect, "
                "optimize) first", manifest.path().string());
  }
  if (options.workloads.empty()) return fail("no workloads to measure");
  if (options.rounds == 0) return fail("--rounds must be at least 1");
  if (options.ssh && options.ssh->boot_command.empty()) {
    return fail("--ssh needs --boot-command: how to install and boot a kernel on {}", options.ssh->host);
  }
  BenchOutcome outcome;
  std::error_code ec;

  auto baseline = build_baseline(options, runner, manifest);
  if (!baseline) return tl::unexpected(baseline.error());

  // The layout check: a profile that shaped nothing leaves the code where the baseline has it.
  fs::path optimized_dir = optimize.value("build_dir", "");
  auto baseline_layout = kernel::read_text_layout(baseline->vmlinux_o);
  if (!baseline_layout) return tl::unexpected(baseline_layout.error());
  auto pgo_layout = kernel::read_text_layout(optimized_dir / "vmlinux.o");
  if (!pgo_layout) return tl::unexpected(pgo_layout.error());
  outcome.baseline_layout = *baseline_layout;
  outcome.pgo_layout = *pgo_layout;
  outcome.promoted_calls = optimize.value("layout", nlohmann::json::object()).value("promoted_indirect_calls", 0);
  if (pgo_layout->hot == baseline_layout->hot && pgo_layout->unlikely == baseline_layout->unlikely) {
    return fail("the PGO kernel's code layout is the baseline's ({} hot, {} unlikely functions): "
                "the profile shaped nothing; see {}",
                pgo_layout->hot, pgo_layout->unlikely, optimize["artifacts"].value("log", ""));
  }

  auto trained = trained_workloads(manifest);
  for (const auto& workload : options.workloads) {
    WorkloadFigures figures;
    figures.name = workload.name;
    std::string script = fs::weakly_canonical(workload.script, ec).string();
    figures.trained = std::find(trained.begin(), trained.end(), script) != trained.end() ||
                      std::find(trained.begin(), trained.end(), "label:" + workload.name) != trained.end();
    outcome.workloads.push_back(figures);
  }

  const BenchKernels kernels{{{"baseline", baseline->bzimage, baseline->build_dir, false},
                              {"pgo", optimize["artifacts"].value("bzImage", ""),
                               optimize.value("build_dir", ""), true}}};
  auto measured = options.ssh ? run_ssh_rounds(options, kernels, runner, manifest, outcome)
                              : run_qemu_rounds(options, kernels, runner, manifest, outcome);
  if (!measured) return tl::unexpected(measured.error());

  auto& record = manifest.data()["bench"];
  record = nlohmann::json::object();
  record["rounds"] = options.rounds;
  record["machine"] = outcome.machine;
  record["method"] = options.ssh ? "ssh: wall nanoseconds of each workload, read on the machine (date +%s%N)"
                                 : "qemu -icount shift=0,sleep=off: guest nanoseconds are instructions";
  record["unit"] = options.ssh ? "nanoseconds" : "instructions";
  record["layout"] = {
      {"baseline", {{"functions", baseline_layout->functions}, {"hot", baseline_layout->hot}, {"unlikely", baseline_layout->unlikely}}},
      {"pgo", {{"functions", pgo_layout->functions}, {"hot", pgo_layout->hot}, {"unlikely", pgo_layout->unlikely}}},
      {"promoted_indirect_calls", outcome.promoted_calls}};
  const char* base_key = options.ssh ? "baseline_wall_ns" : "baseline_instructions";
  const char* pgo_key = options.ssh ? "pgo_wall_ns" : "pgo_instructions";
  nlohmann::json workloads = nlohmann::json::array();
  for (const auto& figures : outcome.workloads) {
    uint64_t base = median_of(figures.baseline_ns), pgo = median_of(figures.pgo_ns);
    workloads.push_back({{"name", figures.name}, {"trained", figures.trained},
                         {base_key, figures.baseline_ns}, {pgo_key, figures.pgo_ns},
                         {"ratio", base ? static_cast<double>(pgo) / static_cast<double>(base) : 0.0}});
  }
  record["workloads"] = workloads;
  record["boot_seconds"] = {{"baseline", outcome.baseline_boot_seconds}, {"pgo", outcome.pgo_boot_seconds}};
  record["finished"] = pipeline::utc_timestamp();
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::bench
