// SPDX-License-Identifier: MIT
#include <algorithm>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/config.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/toolchain/llvm.hpp"
#include "kpgo/workdir/bench.hpp"

namespace kpgo::workdir {

namespace fs = std::filesystem;

namespace {

// The guest's stopwatch: runs a command and writes the time stamp counter's ticks across it and
// the exit status. Under -icount shift=0 QEMU's TSC advances one tick per guest instruction (a
// virtual nanosecond), so the figure is the instructions the guest ran for the workload, kernel
// and user, read at full resolution whatever clocksource the guest kernel picked.
constexpr const char* kTimerSource = R"(#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>
int main(int argc, char** argv) {
  if (argc < 3) return 2;
  unsigned long long start = __rdtsc();
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  long long ns = (long long)(__rdtsc() - start);
  FILE* out = fopen(argv[1], "w");
  if (!out) return 1;
  fprintf(out, "%lld %d\n", ns, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return fclose(out) != 0;
}
)";

Result<fs::path> build_timer(const nlohmann::json& instrument, const fs::path& scratch,
                             ProcessRunner& runner) {
  auto spec = toolchain::parse_llvm_spec(instrument["llvm"].value("value", ""));
  if (!spec) return tl::unexpected(spec.error());
  fs::path source = scratch / "run-timed.c";
  fs::path binary = scratch / "run-timed";
  if (auto written = write_file_atomically(source, kTimerSource); !written) return tl::unexpected(written.error());
  auto built = runner.capture({{spec->tool("clang"), "-static", "-O2", "-o", binary.string(), source.string()}});
  if (!built) return tl::unexpected(built.error());
  if (!built->succeeded()) {
    return fail("cannot build the guest's timer with {} -static (is libc6-dev installed?): {}",
                spec->tool("clang"), built->err);
  }
  return binary;
}

struct Baseline {
  fs::path bzimage;
  fs::path vmlinux_o;
};

// The instrumented build's source and configuration, instrumentation off, no profile.
Result<Baseline> build_baseline(const BenchOptions& options, ProcessRunner& runner, Manifest& manifest) {
  const auto& instrument = manifest.data()["instrument"];
  kernel::Kbuild kbuild{instrument.value("source", ""), fs::absolute(manifest.workdir()) / "build-baseline",
                        instrument["llvm"].value("value", ""), instrument.value("arch", "x86_64"),
                        options.jobs, options.make_args};
  fs::path instrumented_dir = instrument.value("build_dir", "");
  auto instrumented_config = read_text_file(instrumented_dir / ".config");
  if (!instrumented_config) return tl::unexpected(instrumented_config.error());
  std::string wanted = kernel::merge_config(*instrumented_config, {"# CONFIG_PGO_CLANG is not set\n"});
  std::error_code ec;
  fs::create_directories(kbuild.output, ec);
  fs::path dot_config = kbuild.output / ".config";
  auto& record = manifest.data()["baseline"];
  if (!record.is_object()) record = nlohmann::json::object();
  kernel::BuildLog log{manifest.workdir() / "logs" / "baseline.log", "baseline", options.progress};
  std::string config_key = sha256_hex(wanted);
  if (record.value("config_input", "") != config_key || !fs::exists(dot_config, ec)) {
    record.erase("finished");
    if (auto written = write_file_atomically(dot_config, wanted); !written) return tl::unexpected(written.error());
    if (auto made = kernel::run_make(kbuild.make({"olddefconfig"}), runner, log); !made) {
      return tl::unexpected(made.error());
    }
    record["config_input"] = config_key;
    if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  }
  if (auto made = kernel::run_make(kbuild.make({}), runner, log); !made) return tl::unexpected(made.error());
  Baseline baseline{kbuild.output / "arch" / "x86" / "boot" / "bzImage", kbuild.output / "vmlinux.o"};
  record["build_dir"] = kbuild.output.string();
  record["artifacts"] = {{"bzImage", baseline.bzimage.string()}, {"log", log.file.string()}};
  record["finished"] = utc_timestamp();
  if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  return baseline;
}

// Workloads the collected profiles came from: their scripts, and their labels (a workload's
// name unless --label said otherwise).
std::vector<std::string> trained_workloads(const Manifest& manifest) {
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

std::string bench_guest_body(const std::vector<targets::Workload>& workloads) {
  std::string body = "dmesg > $out/dmesg 2>/dev/null\n";
  for (const auto& workload : workloads) {
    body += fmt::format(
        "mkdir -p /tmp/work-{0} && cp -r /kpgo/files/{0}/. /tmp/work-{0}/ 2>/dev/null\n"
        "(cd /tmp/work-{0} && /kpgo/run-timed $out/{0}.time sh /kpgo/w/{0}.sh > $out/{0}.log 2>&1)\n"
        "echo \"KPGO-BENCH {0} $(cat $out/{0}.time)\"\n",
        workload.name);
  }
  return body;
}

Result<BenchOutcome> bench(const BenchOptions& options, ProcessRunner& runner, Manifest& manifest) {
  const auto instrument = manifest.data().value("instrument", nlohmann::json::object());
  const auto optimize = manifest.data().value("optimize", nlohmann::json::object());
  if (!instrument.contains("finished") || !optimize.contains("finished")) {
    return fail("{} has no optimized kernel to measure; run kpgo run (or instrument, collect, "
                "optimize) first", manifest.path().string());
  }
  if (options.workloads.empty()) return fail("no workloads to measure");
  if (options.rounds == 0) return fail("--rounds must be at least 1");
  BenchOutcome outcome;
  fs::path scratch = manifest.workdir() / "scratch" / "bench";
  std::error_code ec;
  fs::create_directories(scratch, ec);

  auto baseline = build_baseline(options, runner, manifest);
  if (!baseline) return tl::unexpected(baseline.error());
  outcome.baseline_bzimage = baseline->bzimage;

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

  auto timer = build_timer(instrument, scratch, runner);
  if (!timer) return tl::unexpected(timer.error());
  auto image = targets::guest_image(targets::guest_init(bench_guest_body(options.workloads)));
  if (!image) return tl::unexpected(image.error());
  for (const char* dir : {"kpgo", "kpgo/w", "kpgo/files"}) image->add_directory(dir);
  if (auto added = image->add_host_file("kpgo/run-timed", *timer, 0755); !added) return tl::unexpected(added.error());
  auto trained = trained_workloads(manifest);
  for (const auto& workload : options.workloads) {
    if (auto added = image->add_host_file("kpgo/w/" + workload.name + ".sh", workload.script, 0755); !added) {
      return tl::unexpected(added.error());
    }
    image->add_directory("kpgo/files/" + workload.name);
    for (const auto& file : workload.files) {
      auto added = image->add_host_file("kpgo/files/" + workload.name + "/" + file.filename().string(), file);
      if (!added) return tl::unexpected(added.error());
    }
    WorkloadFigures figures;
    figures.name = workload.name;
    std::string script = fs::weakly_canonical(workload.script, ec).string();
    figures.trained = std::find(trained.begin(), trained.end(), script) != trained.end() ||
                      std::find(trained.begin(), trained.end(), "label:" + workload.name) != trained.end();
    outcome.workloads.push_back(figures);
  }

  struct Kernel {
    const char* name;
    fs::path bzimage;
  };
  const Kernel kernels[] = {{"baseline", baseline->bzimage}, {"pgo", optimize["artifacts"].value("bzImage", "")}};
  for (unsigned round = 1; round <= options.rounds; ++round) {
    for (unsigned k = 0; k < 2; ++k) {
      const Kernel& kernel = kernels[round % 2 ? k : 1 - k];  // alternate which boots first
      bool is_pgo = std::string(kernel.name) == "pgo";
      spdlog::info("round {} of {}: {} kernel", round, options.rounds, kernel.name);
      targets::QemuOptions qemu = options.qemu;
      qemu.kernel = kernel.bzimage;
      qemu.icount = true;
      qemu.output_disk = false;
      qemu.log = manifest.workdir() / "logs" / fmt::format("bench-{}-{}-console.log", kernel.name, round);
      fs::path boot_scratch = scratch / kernel.name;
      auto seconds = targets::run_guest(qemu, *image, boot_scratch, options.timeout_seconds, runner);
      if (!seconds) return tl::unexpected(seconds.error());
      (is_pgo ? outcome.pgo_boot_seconds : outcome.baseline_boot_seconds).push_back(*seconds);
      std::string console = read_text_or_empty(qemu.log);
      for (auto& figures : outcome.workloads) {
        std::string marker = "KPGO-BENCH " + figures.name + " ";
        size_t at = console.find(marker);
        uint64_t ns = 0;
        int status = -1;
        if (at != std::string::npos) std::istringstream(console.substr(at + marker.size(), 64)) >> ns >> status;
        if (status != 0) {
          return fail("workload {} failed on the {} kernel (exit {}); console {}", figures.name,
                      kernel.name, status, qemu.log.string());
        }
        (is_pgo ? figures.pgo_ns : figures.baseline_ns).push_back(ns);
      }
    }
  }

  auto& record = manifest.data()["bench"];
  record = nlohmann::json::object();
  record["rounds"] = options.rounds;
  record["method"] = "qemu -icount shift=0,sleep=off: guest nanoseconds are instructions";
  record["layout"] = {
      {"baseline", {{"functions", baseline_layout->functions}, {"hot", baseline_layout->hot}, {"unlikely", baseline_layout->unlikely}}},
      {"pgo", {{"functions", pgo_layout->functions}, {"hot", pgo_layout->hot}, {"unlikely", pgo_layout->unlikely}}},
      {"promoted_indirect_calls", outcome.promoted_calls}};
  nlohmann::json workloads = nlohmann::json::array();
  for (const auto& figures : outcome.workloads) {
    uint64_t base = median_of(figures.baseline_ns), pgo = median_of(figures.pgo_ns);
    workloads.push_back({{"name", figures.name}, {"trained", figures.trained},
                         {"baseline_instructions", figures.baseline_ns}, {"pgo_instructions", figures.pgo_ns},
                         {"ratio", base ? static_cast<double>(pgo) / static_cast<double>(base) : 0.0}});
  }
  record["workloads"] = workloads;
  record["boot_seconds"] = {{"baseline", outcome.baseline_boot_seconds}, {"pgo", outcome.pgo_boot_seconds}};
  record["finished"] = utc_timestamp();
  if (auto saved = manifest.save(); !saved) return tl::unexpected(saved.error());
  return outcome;
}

}  // namespace kpgo::workdir
