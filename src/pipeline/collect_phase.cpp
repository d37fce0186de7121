// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/collect.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "kpgo/profile/format.hpp"
#include "kpgo/system/data_dir.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

std::string file_safe(std::string text) {
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  }
  return text;
}

}  // namespace

Result<CollectOutcome> collect_profiles(const CollectOptions& options, ProcessRunner& runner,
                                        Manifest& manifest) {
  const auto& instrument = manifest.data().value("instrument", nlohmann::json::object());
  if (!instrument.contains("finished")) {
    return fail("{} has no instrumented kernel; run kpgo instrument --workdir {} first",
                manifest.path().string(), manifest.workdir().string());
  }
  std::string build_id = instrument.value("vmlinux_build_id", "");
  uint64_t raw_version = instrument["llvm"].value("raw_version", 0);
  std::string label = options.label.empty() ? options.workload.name : options.label;
  if (label.empty() || file_safe(label) != label) {
    return fail("--label '{}': use letters, digits, '-', '_' and '.'", label);
  }

  std::vector<std::unique_ptr<targets::Target>> machines;
  if (options.kind == targets::TargetKind::qemu) {
    targets::QemuOptions qemu = options.qemu;
    qemu.kernel = instrument["artifacts"].value("bzImage", "");
    if (qemu.log.empty()) qemu.log = manifest.workdir() / "logs" / "collect-qemu-console.log";
    machines.push_back(std::make_unique<targets::QemuTarget>(qemu, runner));
  } else if (options.kind == targets::TargetKind::local) {
    machines.push_back(std::make_unique<targets::ShellTarget>(targets::local_transport(runner), options.files));
  } else {
    if (options.ssh_hosts.empty()) return fail("--ssh needs at least one host");
    for (const auto& text : options.ssh_hosts) {
      auto host = targets::parse_ssh_host(text);
      if (!host) return tl::unexpected(host.error());
      machines.push_back(std::make_unique<targets::ShellTarget>(
          targets::ssh_transport(*host, runner, options.ssh_options), options.files));
    }
  }

  std::error_code ec;
  fs::path scratch = manifest.workdir() / "scratch" / "collect";
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  fs::create_directories(manifest.workdir() / "logs", ec);
  targets::CollectRequest request{options.workload, options.runs, options.timeout_seconds, scratch};

  // Machines run at once: each has its own transport and scratch directory.
  std::vector<std::future<Result<std::vector<targets::RunOutcome>>>> running;
  for (auto& target : machines) {
    spdlog::info("collecting {} run(s) of {} on {}", options.runs, options.workload.name, target->describe());
    running.push_back(std::async(std::launch::async, [&target, &request] { return target->collect(request); }));
  }
  std::vector<targets::RunOutcome> outcomes;
  for (size_t i = 0; i < running.size(); ++i) {
    auto result = running[i].get();
    if (!result) {
      // The machine as a whole failed: one outcome for it, run 0.
      outcomes.push_back({machines[i]->describe(), 0, {}, result.error().what(), 0, {}});
      continue;
    }
    outcomes.insert(outcomes.end(), result->begin(), result->end());
  }

  fs::path profiles_dir = manifest.workdir() / "profiles";
  fs::create_directories(profiles_dir, ec);
  bool several = machines.size() > 1;
  CollectOutcome collected;
  auto& record = manifest.data()["collect"];
  if (!record.is_object()) record = nlohmann::json::object();
  if (!record.contains("profiles")) record["profiles"] = nlohmann::json::array();
  nlohmann::json kept_entries = nlohmann::json::array();
  for (auto& outcome : outcomes) {
    if (outcome.profile.empty()) {
      collected.failed.push_back(outcome);
      continue;
    }
    auto checked = profile::check_collected_profile(outcome.profile, build_id, raw_version);
    if (!checked) {
      outcome.problem = checked.error().what();
      collected.failed.push_back(outcome);
      continue;
    }
    std::string name = several ? fmt::format("{}-{}-{}.profraw", label, file_safe(outcome.machine), outcome.run)
                               : fmt::format("{}-{}.profraw", label, outcome.run);
    fs::path kept = profiles_dir / name;
    fs::rename(outcome.profile, kept, ec);
    if (ec) return fail("cannot move {} to {}: {}", outcome.profile.string(), kept.string(), ec.message());
    auto sha = sha256_file(kept);
    KeptProfile entry{kept, outcome.machine, outcome.run, fs::file_size(kept, ec), sha ? *sha : "", outcome.seconds};
    kept_entries.push_back({{"path", kept.string()},
                            {"label", label},
                            {"weight", options.weight},
                            {"target", outcome.machine},
                            {"run", outcome.run},
                            {"size", entry.size},
                            {"sha256", entry.sha256},
                            {"kernel_release", outcome.kernel_release},
                            {"seconds", outcome.seconds},
                            {"workload", options.workload.script.string()},
                            {"collected", utc_timestamp()}});
    collected.kept.push_back(std::move(entry));
  }

  // This label's profiles are now the ones just kept; earlier ones of it go.
  nlohmann::json remaining = nlohmann::json::array();
  for (const auto& entry : record["profiles"]) {
    if (entry.value("label", "") != label) {
      remaining.push_back(entry);
      continue;
    }
    bool replaced = false;
    for (const auto& kept : collected.kept) replaced |= kept.path.string() == entry.value("path", "");
    if (!replaced) fs::remove(entry.value("path", ""), ec);
  }
  for (auto& entry : kept_entries) remaining.push_back(std::move(entry));
  record["profiles"] = remaining;
  record["updated"] = utc_timestamp();
  KPGO_TRY(manifest.save());

  return collected;
}

}  // namespace kpgo::pipeline
