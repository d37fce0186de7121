// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/collect.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "kpgo/profile/format.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

std::string file_safe(std::string text) {
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  }
  return text;
}

using Machines = std::vector<std::unique_ptr<targets::Target>>;

Result<Machines> machines_for(const CollectOptions& options, const InstrumentState& instrument,
                              const fs::path& workdir, ProcessRunner& runner) {
  Machines machines;
  if (options.kind == targets::TargetKind::qemu) {
    targets::QemuOptions qemu = options.qemu;
    qemu.kernel = instrument.artifacts.bzimage;
    if (qemu.log.empty()) qemu.log = workdir / "logs" / "collect-qemu-console.log";
    machines.push_back(std::make_unique<targets::QemuTarget>(qemu, runner));
  } else if (options.kind == targets::TargetKind::local) {
    machines.push_back(
        std::make_unique<targets::ShellTarget>(targets::local_transport(runner), options.files));
  } else {
    if (options.ssh_hosts.empty()) return fail("--ssh needs at least one host");
    for (const auto& text : options.ssh_hosts) {
      KPGO_TRY_BIND(host, targets::parse_ssh_host(text));
      machines.push_back(std::make_unique<targets::ShellTarget>(
          targets::ssh_transport(*host, runner, options.ssh_options), options.files));
    }
  }
  return machines;
}

// Machines run at once: each has its own transport and scratch directory. A machine that fails
// as a whole gives one outcome, run 0.
std::vector<targets::RunOutcome> run_everywhere(Machines& machines,
                                                const targets::CollectRequest& request) {
  std::vector<std::future<Result<std::vector<targets::RunOutcome>>>> running;
  for (auto& target : machines) {
    spdlog::info("collecting {} run(s) of {} on {}", request.runs, request.workload.name,
                 target->describe());
    running.push_back(
        std::async(std::launch::async, [&target, &request] { return target->collect(request); }));
  }
  std::vector<targets::RunOutcome> outcomes;
  for (size_t i = 0; i < running.size(); ++i) {
    auto result = running[i].get();
    if (!result) {
      outcomes.push_back({machines[i]->describe(), 0, {}, result.error().what(), 0, {}});
      continue;
    }
    outcomes.insert(outcomes.end(), result->begin(), result->end());
  }
  return outcomes;
}

// A run's profile, checked against the instrumented build and moved to its lasting name.
Result<CollectedProfile> keep(const targets::RunOutcome& outcome, const InstrumentState& instrument,
                              const fs::path& kept, const CollectOptions& options,
                              const std::string& label) {
  KPGO_TRY(profile::check_collected_profile(outcome.profile, instrument.vmlinux_build_id,
                                            instrument.llvm.raw_version));
  std::error_code ec;
  fs::rename(outcome.profile, kept, ec);
  if (ec)
    return fail("cannot move {} to {}: {}", outcome.profile.string(), kept.string(), ec.message());
  CollectedProfile entry;
  entry.path = kept;
  entry.label = label;
  entry.weight = options.weight;
  entry.target = outcome.machine;
  entry.run = outcome.run;
  entry.size = fs::file_size(kept, ec);
  entry.sha256 = sha256_file(kept).value_or("");
  entry.kernel_release = outcome.kernel_release;
  entry.seconds = outcome.seconds;
  entry.workload = options.workload.script;
  entry.collected = utc_timestamp();
  return entry;
}

// This label's profiles are now the ones just kept; earlier ones of it go, files included.
void replace_label(CollectState& record, const std::string& label,
                   std::vector<CollectedProfile> kept) {
  std::vector<CollectedProfile> remaining;
  for (auto& entry : record.profiles) {
    if (entry.label != label) {
      remaining.push_back(std::move(entry));
      continue;
    }
    bool replaced = false;
    for (const auto& now : kept) replaced |= now.path == entry.path;
    std::error_code ec;
    if (!replaced) fs::remove(entry.path, ec);
  }
  for (auto& entry : kept) remaining.push_back(std::move(entry));
  record.profiles = std::move(remaining);
  record.updated = utc_timestamp();
}

}  // namespace

Result<CollectOutcome> collect_profiles(const CollectOptions& options, ProcessRunner& runner,
                                        Manifest& manifest) {
  const InstrumentState* instrument = manifest.state().instrumented();
  if (!instrument) {
    return fail("{} has no instrumented kernel; run kpgo instrument --workdir {} first",
                manifest.path().string(), manifest.workdir().string());
  }
  std::string label = options.label.empty() ? options.workload.name : options.label;
  if (label.empty() || file_safe(label) != label) {
    return fail("--label '{}': use letters, digits, '-', '_' and '.'", label);
  }
  KPGO_TRY_BIND(machines, machines_for(options, *instrument, manifest.workdir(), runner));

  std::error_code ec;
  fs::path scratch = manifest.workdir() / "scratch" / "collect";
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  fs::create_directories(manifest.workdir() / "logs", ec);
  fs::path profiles_dir = manifest.workdir() / "profiles";
  fs::create_directories(profiles_dir, ec);
  targets::CollectRequest request{options.workload, options.runs, options.timeout_seconds, scratch};

  bool several = machines->size() > 1;
  CollectOutcome collected;
  std::vector<CollectedProfile> kept;
  for (auto& outcome : run_everywhere(*machines, request)) {
    std::string name =
        several ? fmt::format("{}-{}-{}.profraw", label, file_safe(outcome.machine), outcome.run)
                : fmt::format("{}-{}.profraw", label, outcome.run);
    auto entry = outcome.profile.empty()
                     ? Result<CollectedProfile>(fail("{}", outcome.problem))
                     : keep(outcome, *instrument, profiles_dir / name, options, label);
    if (!entry) {
      outcome.problem = entry.error().what();
      collected.failed.push_back(std::move(outcome));
      continue;
    }
    collected.kept.push_back(
        {entry->path, entry->target, entry->run, entry->size, entry->sha256, entry->seconds});
    kept.push_back(std::move(*entry));
  }
  replace_label(ensure(manifest.state().collect), label, std::move(kept));
  KPGO_TRY(manifest.save());
  return collected;
}

}  // namespace kpgo::pipeline
