// SPDX-License-Identifier: MIT
#include <algorithm>

#include "kpgo/bench/bench.hpp"
#include "kpgo/kernel/arch.hpp"
#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/modules.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/files.hpp"
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
Result<Baseline> build_baseline(const BenchOptions& options, ProcessRunner& runner,
                                pipeline::Manifest& manifest) {
  const pipeline::InstrumentState& instrument = *manifest.state().instrument;
  kernel::Kbuild kbuild{instrument.source,     fs::absolute(manifest.workdir()) / "build-baseline",
                        instrument.llvm.value, instrument.arch,
                        options.jobs,          options.make_args};
  pipeline::BaselineState& record = pipeline::ensure(manifest.state().baseline);
  kernel::BuildLog log{manifest.workdir() / "logs" / "baseline.log", "baseline"};
  kernel::Lto lto = kernel::parse_lto(instrument.lto).value_or(kernel::Lto::none);
  KPGO_TRY_BIND(configured, pipeline::configure_uninstrumented(instrument.build_dir, lto, kbuild,
                                                               record.config_input, runner, log));
  record.lto = kernel::lto_name(lto);
  if (*configured) {
    record.finished.clear();
    KPGO_TRY(manifest.save());
  }
  KPGO_TRY(kernel::run_make(kbuild.make({}), runner, log));
  KPGO_TRY(kernel::install_modules(kbuild, runner, log));
  KPGO_TRY_BIND(arch, kernel::kernel_arch(instrument.arch));
  Baseline baseline{kbuild.output / arch->image, kbuild.output / "vmlinux.o", kbuild.output};
  record.build_dir = kbuild.output;
  record.artifacts = {kbuild.output / "vmlinux", baseline.bzimage, log.file};
  record.finished = pipeline::utc_timestamp();
  KPGO_TRY(manifest.save());
  return baseline;
}

// Workloads the collected profiles came from: their scripts, and their labels (a workload's
// name unless --label said otherwise).
std::vector<std::string> trained_workloads(const pipeline::State& state) {
  std::vector<std::string> trained;
  for (const auto& profile : state.profiles()) {
    std::error_code ec;
    trained.push_back(fs::weakly_canonical(profile.workload, ec).string());
    trained.push_back("label:" + profile.label);
  }
  return trained;
}

// The layout check: a profile that shaped nothing leaves the code where the baseline has it.
Result<> check_layouts(const fs::path& baseline_object, const pipeline::OptimizeState& optimized,
                       BenchOutcome& outcome) {
  KPGO_TRY_BIND(baseline_layout, kernel::read_text_layout(baseline_object));
  KPGO_TRY_BIND(pgo_layout, kernel::read_text_layout(optimized.build_dir / "vmlinux.o"));
  outcome.baseline_layout = *baseline_layout;
  outcome.pgo_layout = *pgo_layout;
  outcome.promoted_calls = optimized.promoted_indirect_calls;
  if (pgo_layout->hot != baseline_layout->hot || pgo_layout->unlikely != baseline_layout->unlikely)
    return {};
  return fail(
      "the PGO kernel's code layout is the baseline's ({} hot, {} unlikely functions): "
      "the profile shaped nothing; see {}",
      pgo_layout->hot, pgo_layout->unlikely, optimized.artifacts.log.string());
}

pipeline::BenchState bench_record(const BenchOptions& options, const BenchOutcome& outcome) {
  pipeline::BenchState record;
  record.rounds = options.rounds;
  record.machine = outcome.machine;
  record.method = outcome.method;
  record.metrics = outcome.metrics;
  record.baseline_layout = outcome.baseline_layout;
  record.pgo_layout = outcome.pgo_layout;
  record.promoted_indirect_calls = outcome.promoted_calls;
  for (const auto& measured : outcome.workloads) {
    pipeline::BenchWorkloadState workload{measured.name, measured.trained, measured.figures};
    for (auto& [metric, figures] : workload.figures) figures.ratio = median_ratio(figures);
    record.workloads.push_back(std::move(workload));
  }
  record.baseline_boot_seconds = outcome.baseline_boot_seconds;
  record.pgo_boot_seconds = outcome.pgo_boot_seconds;
  record.finished = pipeline::utc_timestamp();
  return record;
}

}  // namespace

uint64_t median_of(std::vector<uint64_t> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

double median_ratio(const pipeline::BenchFigures& figures) {
  uint64_t base = median_of(figures.baseline);
  return base ? static_cast<double>(median_of(figures.pgo)) / static_cast<double>(base) : 0.0;
}

Result<BenchOutcome> bench(const BenchOptions& options, ProcessRunner& runner,
                           pipeline::Manifest& manifest) {
  const auto& optimized = manifest.state().optimize;
  if (!manifest.state().instrumented() || !optimized || optimized->finished.empty()) {
    return fail(
        "{} has no optimized kernel to measure; run kpgo run (or instrument, collect, "
        "optimize) first",
        manifest.path().string());
  }
  if (options.workloads.empty()) return fail("no workloads to measure");
  if (options.rounds == 0) return fail("--rounds must be at least 1");
  if (options.ssh && options.ssh->boot_command.empty()) {
    return fail("--ssh needs --boot-command: how to install and boot a kernel on {}",
                options.ssh->host);
  }
  BenchOptions measured = options;
  measured.qemu.arch = manifest.state().instrument->arch;
  BenchOutcome outcome;
  KPGO_TRY_BIND(baseline, build_baseline(options, runner, manifest));
  KPGO_TRY(check_layouts(baseline->vmlinux_o, *optimized, outcome));

  auto trained = trained_workloads(manifest.state());
  for (const auto& workload : options.workloads) {
    WorkloadFigures figures;
    figures.name = workload.name;
    std::error_code ec;
    std::string script = fs::weakly_canonical(workload.script, ec).string();
    figures.trained =
        std::find(trained.begin(), trained.end(), script) != trained.end() ||
        std::find(trained.begin(), trained.end(), "label:" + workload.name) != trained.end();
    outcome.workloads.push_back(figures);
  }

  const BenchKernels kernels{{{"baseline", baseline->bzimage, baseline->build_dir, false},
                              {"pgo", optimized->artifacts.bzimage, optimized->build_dir, true}}};
  KPGO_TRY(options.ssh ? run_ssh_rounds(measured, kernels, runner, manifest, outcome)
                       : run_qemu_rounds(measured, kernels, runner, manifest, outcome));
  manifest.state().bench = bench_record(options, outcome);
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::bench
