// SPDX-License-Identifier: MIT
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/kernel/modules.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/toolchain/llvm.hpp"
#include "rounds.hpp"

namespace kpgo::bench {

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

Result<fs::path> build_timer(const std::string& llvm, const fs::path& scratch,
                             ProcessRunner& runner) {
  KPGO_TRY_BIND(spec, toolchain::parse_llvm_spec(llvm));
  fs::path source = scratch / "run-timed.c";
  fs::path binary = scratch / "run-timed";
  KPGO_TRY(write_file_atomically(source, kTimerSource));
  KPGO_TRY_BIND(built, runner.capture({{spec->tool("clang"), "-static", "-O2", "-o",
                                        binary.string(), source.string()}}));
  if (!built->succeeded()) {
    return fail("cannot build the guest's timer with {} -static (is libc6-dev installed?): {}",
                spec->tool("clang"), built->err);
  }
  return binary;
}

// The guest image: the stopwatch, each workload's script at /kpgo/w/NAME.sh and its files, and
// the kernel's own modules.
Result<targets::Initramfs> bench_image(const BenchOptions& options, const fs::path& timer,
                                       const fs::path& build_dir) {
  KPGO_TRY_BIND(image,
                targets::guest_image(targets::guest_init(bench_guest_body(options.workloads)),
                                     options.qemu.arch));
  KPGO_TRY(targets::add_guest_modules(*image, kernel::staged_modules_of(build_dir)));
  for (const char* dir : {"kpgo", "kpgo/w", "kpgo/files"}) image->add_directory(dir);
  KPGO_TRY(image->add_host_file("kpgo/run-timed", timer, 0755));
  for (const auto& workload : options.workloads) {
    KPGO_TRY(image->add_host_file("kpgo/w/" + workload.name + ".sh", workload.script, 0755));
    image->add_directory("kpgo/files/" + workload.name);
    for (const auto& file : workload.files) {
      KPGO_TRY_BIND(added,
                    image->add_host_file(
                        "kpgo/files/" + workload.name + "/" + file.filename().string(), file));
    }
  }
  return image;
}

}  // namespace

std::string bench_guest_body(const std::vector<targets::Workload>& workloads) {
  std::string body = "dmesg > $out/dmesg 2>/dev/null\n";
  for (const auto& workload : workloads) {
    body += fmt::format(
        "mkdir -p /tmp/work-{0} && cp -r /kpgo/files/{0}/. /tmp/work-{0}/ 2>/dev/null\n"
        "(cd /tmp/work-{0} && /kpgo/run-timed $out/{0}.time sh /kpgo/w/{0}.sh > $out/{0}.log "
        "2>&1)\n"
        "echo \"KPGO-BENCH {0} $(cat $out/{0}.time)\"\n",
        workload.name);
  }
  return body;
}

Result<> run_qemu_rounds(const BenchOptions& options, const BenchKernels& kernels,
                         ProcessRunner& runner, pipeline::Manifest& manifest,
                         BenchOutcome& outcome) {
  outcome.machine = "qemu";
  fs::path scratch = manifest.workdir() / "scratch" / "bench";
  std::error_code ec;
  fs::create_directories(scratch, ec);
  KPGO_TRY_BIND(timer, build_timer(manifest.state().instrument->llvm.value, scratch, runner));
  // One image per kernel: each guest gets the modules of its own build.
  std::vector<targets::Initramfs> images;
  for (const auto& kernel : kernels) {
    KPGO_TRY_BIND(image, bench_image(options, *timer, kernel.build_dir));
    images.push_back(std::move(*image));
  }

  for (unsigned round = 1; round <= options.rounds; ++round) {
    for (unsigned slot = 0; slot < 2; ++slot) {
      const BenchKernel& kernel = kernel_for(kernels, round, slot);
      spdlog::info("round {} of {}: {} kernel", round, options.rounds, kernel.name);
      targets::QemuOptions qemu = options.qemu;
      qemu.kernel = kernel.bzimage;
      qemu.icount = true;
      // One vCPU: under -icount QEMU runs vCPUs in turn on one thread, and with two the main
      // job's PGO kernel stalled for good in a cross-CPU call (module init memory freed after
      // loading loop: on_each_cpu_cond_mask, RCU stall on the other vCPU) where the baseline
      // did not; with one, rounds also repeat exactly without depending on vCPU interleaving.
      qemu.cpus = 1;
      qemu.output_disk = false;
      qemu.log =
          manifest.workdir() / "logs" / fmt::format("bench-{}-{}-console.log", kernel.name, round);
      targets::Initramfs& image = images[&kernel - kernels.data()];
      KPGO_TRY_BIND(seconds, targets::run_guest(qemu, image, scratch / kernel.name,
                                                options.timeout_seconds, runner));
      (kernel.pgo ? outcome.pgo_boot_seconds : outcome.baseline_boot_seconds).push_back(*seconds);
      std::string console = read_text_or_empty(qemu.log);
      for (auto& figures : outcome.workloads) {
        std::string marker = "KPGO-BENCH " + figures.name + " ";
        size_t at = console.find(marker);
        uint64_t ns = 0;
        int status = -1;
        if (at != std::string::npos)
          std::istringstream(console.substr(at + marker.size(), 64)) >> ns >> status;
        if (status != 0) {
          return fail("workload {} failed on the {} kernel (exit {}); console {}", figures.name,
                      kernel.name, status, qemu.log.string());
        }
        (kernel.pgo ? figures.pgo_ns : figures.baseline_ns).push_back(ns);
      }
    }
  }
  return {};
}

}  // namespace kpgo::bench
