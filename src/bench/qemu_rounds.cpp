// SPDX-License-Identifier: MIT
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/kernel/modules.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/meter.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/userland.hpp"
#include "kpgo/toolchain/llvm.hpp"
#include "rounds.hpp"

namespace kpgo::bench {

namespace fs = std::filesystem;

namespace {

// What bench reports from a QEMU guest: the meter's counts (the headline first), then the
// stopwatch's clock.
std::vector<pipeline::BenchMetric> qemu_metrics(const std::string& arch, const std::string& cache,
                                                const std::string& itlb) {
  std::string model = fmt::format("a first-level instruction cache model ({})", cache);
  std::string tlb = fmt::format("a first-level instruction TLB model ({})", itlb);
  return {
      {"kernel_instructions", "instructions", "guest instructions executed in kernel code"},
      {"kernel_icache_misses", "misses",
       "fetches of kernel code that miss in " + model + ", looked up by virtual address"},
      {"kernel_taken_branches", "branches",
       "executed kernel blocks that do not continue where the previous block ended: taken "
       "branches, calls, returns, entries from user space and interrupts"},
      {"kernel_itlb_misses", "misses",
       "fetches of kernel code whose page misses in " + tlb +
           " (x86_64 and arm64 map most kernel text with larger pages, which this model does not: "
           "it counts how many of its pages the code's path touches)"},
      {"user_instructions", "instructions", "guest instructions executed in user code"},
      {"user_icache_misses", "misses", "fetches of user code that miss in " + model},
      {"guest_clock_ticks", "ticks",
       "the guest's own clock across the workload, " + targets::guest_clock(arch) +
           " (an instruction, or an idle nanosecond skipped)"},
  };
}

void add_round(pipeline::BenchWorkloadState& figures, const std::string& variant,
               const targets::MeterCounts& counts, uint64_t clock_ticks) {
  const std::pair<const char*, uint64_t> values[] = {
      {"kernel_instructions", counts.kernel_instructions},
      {"kernel_icache_misses", counts.kernel_icache_misses},
      {"kernel_taken_branches", counts.kernel_taken_branches},
      {"kernel_itlb_misses", counts.kernel_itlb_misses},
      {"user_instructions", counts.user_instructions},
      {"user_icache_misses", counts.user_icache_misses},
      {"guest_clock_ticks", clock_ticks},
  };
  for (const auto& [metric, value] : values) figures.figures[metric][variant].push_back(value);
}

// The guest image: the stopwatch, each workload's script at /kpgo/w/NAME.sh and its files, and
// the kernel's own modules.
Result<targets::Initramfs> bench_image(const BenchOptions& options, const fs::path& stopwatch,
                                       const fs::path& build_dir) {
  KPGO_TRY_BIND(image,
                targets::guest_image(targets::guest_init(bench_guest_body(options.workloads)),
                                     options.qemu.arch));
  KPGO_TRY(targets::add_guest_modules(*image, kernel::staged_modules_of(build_dir)));
  for (const char* dir : {"kpgo/w", "kpgo/files"}) image->add_directory(dir);
  KPGO_TRY(image->add_host_file("kpgo/stopwatch", stopwatch, 0755));
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
        "/kpgo/stopwatch $out/{0}.time /bin/sh /kpgo/run-in-guest /tmp/work-{0} /kpgo/w/{0}.sh "
        "> $out/{0}.log 2>&1\n"
        "echo \"KPGO-BENCH {0} $(cat $out/{0}.time)\"\n"
        // The results stay in the guest: a failed workload's last words go to the console.
        "[ \"$(cut -d' ' -f2 $out/{0}.time)\" = 0 ] || tail -n 20 $out/{0}.log\n",
        workload.name);
  }
  return body;
}

namespace {

// The stopwatch's line for `workload` on the console: its clock ticks, and its exit status.
Result<uint64_t> clock_ticks_of(const std::string& console, const std::string& workload,
                                const BenchKernel& kernel, const fs::path& log) {
  std::string marker = "KPGO-BENCH " + workload + " ";
  size_t at = console.find(marker);
  uint64_t ticks = 0;
  int status = -1;
  if (at != std::string::npos)
    std::istringstream(console.substr(at + marker.size(), 64)) >> ticks >> status;
  if (status != 0) {
    return fail("workload {} failed on the {} kernel (exit {}); console {}", workload, kernel.name,
                status, log.string());
  }
  return ticks;
}

fs::path meter_report_path(const fs::path& scratch, const BenchKernel& kernel, unsigned round) {
  return scratch / fmt::format("meter-{}-{}.txt", kernel.name, round);
}

// One boot of `kernel` that runs every workload under the meter; adds its figures.
Result<> measure_boot(const BenchOptions& options, const BenchKernel& kernel, unsigned round,
                      targets::Initramfs& image, const fs::path& plugin,
                      pipeline::Manifest& manifest, ProcessRunner& runner,
                      pipeline::BenchState& outcome) {
  fs::path scratch = manifest.workdir() / "scratch" / "bench";
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
  fs::path report = meter_report_path(scratch, kernel, round);
  std::error_code ec;
  fs::remove(report, ec);
  qemu.plugin = targets::meter_plugin_option(plugin, report);
  KPGO_TRY_BIND(seconds, targets::run_guest(qemu, image, scratch / kernel.name,
                                            options.timeout_seconds, runner));
  outcome.variants[kernel.index].boot_seconds.push_back(*seconds);
  KPGO_TRY_BIND(meter, targets::read_meter_report(report));
  if (meter->windows.size() != outcome.workloads.size()) {
    return fail("the meter saw {} workload windows on the {} kernel, not {}; report {}",
                meter->windows.size(), kernel.name, outcome.workloads.size(), report.string());
  }
  std::string console = read_text_or_empty(qemu.log);
  for (size_t w = 0; w < outcome.workloads.size(); ++w) {
    pipeline::BenchWorkloadState& figures = outcome.workloads[w];
    KPGO_TRY_BIND(ticks, clock_ticks_of(console, figures.name, kernel, qemu.log));
    add_round(figures, kernel.name, meter->windows[w], *ticks);
  }
  if (outcome.metrics.empty())
    outcome.metrics = qemu_metrics(options.qemu.arch, meter->cache, meter->itlb);
  return {};
}

}  // namespace

Result<> run_qemu_rounds(const BenchOptions& options, const BenchKernels& kernels,
                         ProcessRunner& runner, pipeline::Manifest& manifest,
                         pipeline::BenchState& outcome) {
  outcome.machine = "qemu";
  outcome.method =
      "qemu -icount shift=0,sleep=off with one vCPU; kpgo's meter plugin counts over each "
      "workload's run";
  fs::path scratch = manifest.workdir() / "scratch" / "bench";
  std::error_code ec;
  fs::create_directories(scratch, ec);
  KPGO_TRY_BIND(plugin, targets::meter_plugin());
  BenchOptions with_userland = options;
  KPGO_TRY(targets::attach_userland(with_userland.qemu, options.workloads, runner));
  KPGO_TRY_BIND(spec, toolchain::parse_llvm_spec(manifest.state().instrument->llvm.value));
  KPGO_TRY_BIND(stopwatch, targets::build_stopwatch(spec->tool("clang"), options.qemu.arch,
                                                    scratch / "stopwatch", runner));
  // One image per kernel: each guest gets the modules of its own build.
  std::vector<targets::Initramfs> images;
  for (const auto& kernel : kernels) {
    KPGO_TRY_BIND(image, bench_image(options, *stopwatch, kernel.build_dir));
    images.push_back(std::move(*image));
  }
  for (unsigned round = 1; round <= options.rounds; ++round) {
    for (size_t slot = 0; slot < kernels.size(); ++slot) {
      const BenchKernel& kernel = kernel_for(kernels, round, slot);
      spdlog::info("round {} of {}: {} kernel", round, options.rounds, kernel.name);
      KPGO_TRY(measure_boot(with_userland, kernel, round, images[&kernel - kernels.data()], *plugin,
                            manifest, runner, outcome));
    }
  }
  return {};
}

}  // namespace kpgo::bench
