// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/collect.hpp"

#include <future>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

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
    qemu.arch = instrument.arch;
    qemu.modules = instrument.modules_dir;
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
      targets::RunOutcome failed;
      failed.machine = machines[i]->describe();
      failed.problem = result.error().what();
      outcomes.push_back(std::move(failed));
      continue;
    }
    outcomes.insert(outcomes.end(), result->begin(), result->end());
  }
  return outcomes;
}

// Moves a checked profile to where it is kept.
Result<CollectedProfile> move_to(const fs::path& taken, const fs::path& kept,
                                 const std::string& binary) {
  std::error_code ec;
  fs::rename(taken, kept, ec);
  if (ec) return fail("cannot move {} to {}: {}", taken.string(), kept.string(), ec.message());
  CollectedProfile entry;
  entry.path = kept;
  entry.binary = binary;
  entry.size = fs::file_size(kept, ec);
  entry.sha256 = sha256_file(kept).value_or("");
  return entry;
}

// One profile of a run (vmlinux's or a module's), checked against its binary in the
// instrumented build and moved to its lasting name.
Result<CollectedProfile> keep_one(const fs::path& taken, const std::string& binary,
                                  const std::string& build_id, const InstrumentState& instrument,
                                  const fs::path& kept) {
  KPGO_TRY_BIND(checked, profile::check_collected_profile(taken, binary, build_id,
                                                          instrument.llvm.raw_version));
  if (checked->nonzero_counters == 0) {
    return fail(
        "{}: every counter is zero (the workload ran no instrumented code of {}, or the "
        "profile was read right after a reset)",
        taken.string(), binary);
  }
  return move_to(taken, kept, binary);
}

void describe_run(CollectedProfile& entry, const targets::RunOutcome& outcome,
                  const CollectOptions& options, const std::string& label) {
  entry.label = label;
  entry.weight = options.weight;
  entry.target = outcome.machine;
  entry.run = outcome.run;
  entry.kernel_release = outcome.kernel_release;
  entry.seconds = outcome.seconds;
  entry.workload = options.workload.script;
  entry.collected = utc_timestamp();
}

const ModuleState* find_module(const InstrumentState& instrument, const std::string& name) {
  for (const auto& module : instrument.modules) {
    if (module.name == name) return &module;
  }
  return nullptr;
}

// A run's profiles: vmlinux's must be good for the run to count; a module's that is not of this
// build is left out by name, the rest of the run kept.
Result<std::vector<CollectedProfile>> keep_run(const targets::RunOutcome& outcome,
                                               const InstrumentState& instrument,
                                               const fs::path& kept_stem,
                                               const CollectOptions& options,
                                               const std::string& label, CollectOutcome& report) {
  std::vector<CollectedProfile> kept;
  KPGO_TRY_BIND(vmlinux, keep_one(outcome.profile, "vmlinux", instrument.vmlinux_build_id,
                                  instrument, kept_stem.string() + ".profraw"));
  kept.push_back(std::move(*vmlinux));
  for (const auto& taken : outcome.module_profiles) {
    std::string name = taken.stem().string();
    const ModuleState* module = find_module(instrument, name);
    auto checked = module
                       ? profile::check_collected_profile(taken, "module " + name, module->build_id,
                                                          instrument.llvm.raw_version)
                       : Result<profile::CollectedProfile>(
                             fail("{}: module {} is not one this build made (its modules.order)",
                                  taken.string(), name));
    // Loaded, but none of its code ran since the reset: nothing to keep; it is unprofiled.
    if (checked && checked->nonzero_counters == 0) continue;
    auto entry = checked ? move_to(taken, kept_stem.string() + "." + name + ".profraw", name)
                         : Result<CollectedProfile>(tl::unexpected(checked.error()));
    if (!entry) {
      report.warnings.push_back(fmt::format("{} run {}: {}; left out", outcome.machine, outcome.run,
                                            entry.error().what()));
      continue;
    }
    entry->binary = name;
    kept.push_back(std::move(*entry));
  }
  for (auto& entry : kept) describe_run(entry, outcome, options, label);
  return kept;
}

// The kernel's /sys/kernel/debug/pgo/values after a run: values the pools had no room for, or
// that a module without a slot could not record, are a profile that fell short.
void note_value_stats(const targets::RunOutcome& outcome, std::vector<std::string>& warnings) {
  std::istringstream lines(outcome.value_stats);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string binary;
    uint64_t pool = 0, used = 0, dropped = 0, races = 0;
    if (!(fields >> binary >> pool >> used >> dropped >> races) || dropped == 0) continue;
    warnings.push_back(fmt::format(
        "{} run {}: {} values of {} were not recorded: its value node pool ({} nodes) was full",
        outcome.machine, outcome.run, dropped, binary, pool));
  }
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

std::vector<std::string> unprofiled_modules(const InstrumentState& instrument,
                                            const std::set<std::string>& profiled) {
  std::vector<std::string> missing;
  for (const auto& module : instrument.modules) {
    if (!profiled.count(module.name)) missing.push_back(module.name);
  }
  return missing;
}

// What an earlier collect of the label kept, for a collect that found it up to date.
CollectOutcome recorded_outcome(const State& state, const std::string& label) {
  CollectOutcome outcome;
  outcome.up_to_date = true;
  std::set<std::string> profiled;
  for (const auto& entry : state.profiles()) {
    if (entry.label != label || entry.binary != "vmlinux") continue;
    KeptProfile run{entry.path, {},           entry.target, entry.run,
                    entry.size, entry.sha256, entry.seconds};
    for (const auto& module : state.profiles()) {
      if (module.label == label && module.binary != "vmlinux" && module.target == entry.target &&
          module.run == entry.run) {
        run.modules.push_back(module.path);
        profiled.insert(module.binary);
      }
    }
    outcome.kept.push_back(std::move(run));
  }
  outcome.unprofiled_modules = unprofiled_modules(*state.instrumented(), profiled);
  return outcome;
}

}  // namespace

std::string collect_label(const CollectOptions& options) {
  return options.label.empty() ? options.workload.name : options.label;
}

std::string collect_inputs_key(const CollectOptions& o, const State& state) {
  nlohmann::json inputs = {{"build_id", state.instrument ? state.instrument->vmlinux_build_id : ""},
                           {"workload", sha256_key(o.workload.script)},
                           {"runs", o.runs},
                           {"kind", static_cast<int>(o.kind)},
                           {"hosts", o.ssh_hosts},
                           {"label", collect_label(o)},
                           {"weight", o.weight}};
  for (const auto& file : o.workload.files) inputs["files"].push_back(sha256_key(file));
  // More packages change the guest's userland; none keeps older keys valid.
  if (o.kind == targets::TargetKind::qemu && !o.qemu.packages.empty())
    inputs["packages"] = o.qemu.packages;
  return sha256_hex(inputs.dump());
}

bool collect_up_to_date(const CollectOptions& options, const State& state) {
  if (!state.instrumented()) return false;
  std::string label = collect_label(options);
  std::string key = collect_inputs_key(options, state);
  bool any = false;
  for (const auto& entry : state.profiles()) {
    if (entry.label != label) continue;
    if (entry.inputs_key != key || sha256_key(entry.path) != entry.sha256) return false;
    any = true;
  }
  return any;
}

Result<CollectOutcome> collect_profiles(const CollectOptions& options, ProcessRunner& runner,
                                        Manifest& manifest) {
  const InstrumentState* instrument = manifest.state().instrumented();
  if (!instrument) {
    return fail("{} has no instrumented kernel; run kpgo instrument --workdir {} first",
                manifest.path().string(), manifest.workdir().string());
  }
  std::string label = collect_label(options);
  if (label.empty() || file_safe(label) != label) {
    return fail("--label '{}': use letters, digits, '-', '_' and '.'", label);
  }
  if (!options.force && collect_up_to_date(options, manifest.state()))
    return recorded_outcome(manifest.state(), label);
  std::string key = collect_inputs_key(options, manifest.state());
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
  std::set<std::string> profiled;
  for (auto& outcome : run_everywhere(*machines, request)) {
    std::string stem = several
                           ? fmt::format("{}-{}-{}", label, file_safe(outcome.machine), outcome.run)
                           : fmt::format("{}-{}", label, outcome.run);
    auto entries =
        outcome.profile.empty()
            ? Result<std::vector<CollectedProfile>>(fail("{}", outcome.problem))
            : keep_run(outcome, *instrument, profiles_dir / stem, options, label, collected);
    if (!entries) {
      outcome.problem = entries.error().what();
      collected.failed.push_back(std::move(outcome));
      continue;
    }
    const CollectedProfile& vmlinux = entries->front();
    KeptProfile run{vmlinux.path,   {}, vmlinux.target, vmlinux.run, vmlinux.size, vmlinux.sha256,
                    vmlinux.seconds};
    for (auto& entry : *entries) {
      if (entry.binary != "vmlinux") {
        run.modules.push_back(entry.path);
        profiled.insert(entry.binary);
      }
      kept.push_back(std::move(entry));
    }
    note_value_stats(outcome, collected.warnings);
    collected.kept.push_back(std::move(run));
  }
  if (!collected.kept.empty())
    collected.unprofiled_modules = unprofiled_modules(*instrument, profiled);
  // Only a collect whose every run was kept stands for its inputs; a partial one is redone.
  if (collected.failed.empty()) {
    for (auto& entry : kept) entry.inputs_key = key;
  }
  replace_label(ensure(manifest.state().collect), label, std::move(kept));
  KPGO_TRY(manifest.save());
  return collected;
}

}  // namespace kpgo::pipeline
