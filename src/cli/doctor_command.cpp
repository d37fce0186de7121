// SPDX-License-Identifier: MIT
#include <memory>

#include <sys/utsname.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/kernel/source.hpp"
#include "kpgo/kernel/support.hpp"
#include "kpgo/system/data_dir.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/meter.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/userland.hpp"
#include "kpgo/toolchain/checks.hpp"

namespace kpgo::cli {

namespace {

struct DoctorOptions {
  std::string llvm = toolchain::default_llvm_value();
  std::string source;
};

nlohmann::json tool_json(const toolchain::Tool& tool) {
  return {{"name", tool.name},
          {"path", tool.path ? tool.path->string() : ""},
          {"version", tool.version_line},
          {"major", tool.major}};
}

std::string tool_line(const toolchain::Tool& tool) {
  if (!tool.path) return fmt::format("  {:<18} not found\n", tool.name);
  return fmt::format("  {:<18} {}  ({})\n", tool.name, tool.path->string(), tool.version_line);
}

// LTO and context-sensitive PGO: what this toolchain can build, and why not.
std::string optimizations_text(const toolchain::OptimizationSupport& support,
                               nlohmann::json& json) {
  auto entry = [&](const char* key, const std::string& problem) {
    json["optimizations"][key] = {{"ok", problem.empty()}, {"problem", problem}};
    return problem.empty() ? std::string("yes") : "no: " + problem;
  };
  std::string text = "optimizations\n";
  text += fmt::format("  LTO (--lto)        {}\n", entry("lto", support.lto_problem));
  text += fmt::format("  CSPGO              {}\n", entry("cspgo", support.cspgo_problem));
  text += fmt::format("  CSPGO with LTO     {}\n", entry("cspgo_lto", support.cspgo_lto_problem));
  return text;
}

Result<int> run_doctor(const DoctorOptions& options, const GlobalOptions& globals) {
  KPGO_TRY_BIND(spec, toolchain::parse_llvm_spec(options.llvm));
  auto backends = profile::BackendSet::discover();
  auto report = toolchain::check_toolchain(*spec, system_runner(), backends);

  nlohmann::json json;
  std::string text = fmt::format("toolchain LLVM={}\n", spec->value);
  json["llvm"] = spec->value;
  json["clang"] = tool_json(report.chain.clang);
  json["ld.lld"] = tool_json(report.chain.lld);
  json["llvm-profdata"] = tool_json(report.chain.profdata);
  text += tool_line(report.chain.clang) + tool_line(report.chain.lld) +
          tool_line(report.chain.profdata);
  if (report.chain.raw_version) json["raw_version_written"] = *report.chain.raw_version;
  if (report.clang_formats) {
    json["indexed_version_read"] = report.clang_formats->indexed;
    text += fmt::format(
        "  profiles           clang writes raw version {}, reads indexed versions up "
        "to {}\n",
        report.chain.raw_version ? std::to_string(*report.chain.raw_version) : "?",
        report.clang_formats->indexed);
  }
  nlohmann::json backend_list = nlohmann::json::array();
  std::string backend_text;
  for (const auto& info : report.backends) {
    backend_list.push_back({{"major", info.llvm_major},
                            {"version", info.llvm_version},
                            {"raw_version", info.raw_version},
                            {"indexed_version", info.indexed_version}});
    backend_text += fmt::format("{}LLVM {} (raw {}, indexed {})", backend_text.empty() ? "" : ", ",
                                info.llvm_version, info.raw_version, info.indexed_version);
  }
  json["merge_backends"] = backend_list;
  text += fmt::format("  kpgo merges        {}\n",
                      backend_text.empty() ? "nothing (no backend found)" : backend_text);
  if (report.merge_backend) {
    json["merge_backend"] = *report.merge_backend;
    text += fmt::format("  merge with         LLVM {} backend\n", *report.merge_backend);
  }

  text += optimizations_text(toolchain::optimization_support(report.chain, system_runner()), json);

  bool source_ok = true;
  if (!options.source.empty()) {
    auto version = kernel::read_kernel_version(options.source);
    if (!version) {
      source_ok = false;
      report.findings.push_back({toolchain::Finding::Level::problem, version.error().what()});
    } else {
      auto support = kernel::detect_pgo_support(options.source);
      bool cs_stage = kernel::has_cs_stage(options.source);
      auto data = data_dir();
      bool outdated =
          data && kernel::has_outdated_support(options.source, kernel::support_files(*data));
      json["source"] = {{"path", options.source},
                        {"kernel_version", version->to_string()},
                        {"pgo_support", kernel::to_string(support)},
                        {"support_outdated", outdated},
                        {"cs_stage", cs_stage}};
      text += fmt::format(
          "kernel source {}\n  version            {}\n  clang PGO          {}\n", options.source,
          version->to_string(),
          support == kernel::PgoSupport::none ? "none (kpgo instrument adds kpgo's support)"
          : outdated ? "kpgo's support of another kpgo version (--remove-support with the kpgo "
                       "that put it in, then kpgo instrument)"
          : support == kernel::PgoSupport::kpgo ? "kpgo's support is in the tree"
                                                : "the tree has its own");
      text += fmt::format("  CSPGO stage 2      {}\n",
                          cs_stage ? "yes (make PGO_CLANG_CS_BASE=, KLDFLAGS=)"
                          : support == kernel::PgoSupport::none
                              ? "once kpgo instrument added its support"
                              : "no: this support predates it (kpgo instrument --remove-support, "
                                "then instrument again)");
    }
  }

  utsname uts{};
  ::uname(&uts);
  auto profile_file = kernel::running_kernel_profile();
  json["running_kernel"] = {{"release", uts.release}, {"profile", profile_file.string()}};
  text += fmt::format("running kernel {}\n  profile            {}\n", uts.release,
                      profile_file.empty() ? "none exported (not an instrumented kernel, or "
                                             "debugfs not mounted)"
                                           : profile_file.string());

  // QEMU guests kpgo can boot, per arch: kernels are cross-built with clang and lld alone
  // (kbuild's LLVM=), so a guest needs only its QEMU and a static busybox of its arch.
  nlohmann::json guests = nlohmann::json::array();
  text += "guests (kernels cross-build with clang and lld alone, no GNU cross toolchain)\n";
  for (const auto& arch : targets::guest_arches()) {
    std::string qemu = targets::qemu_binary(arch);
    auto qemu_path = find_program(qemu);
    auto busybox = targets::static_busybox(arch);
    std::string missing = !qemu_path ? qemu + " not found" : !busybox ? busybox.error().what() : "";
    guests.push_back({{"arch", arch},
                      {"qemu", qemu_path ? qemu_path->string() : ""},
                      {"busybox", busybox ? busybox->string() : ""},
                      {"ready", missing.empty()}});
    text += fmt::format("  {:<18} {}\n", arch,
                        missing.empty()
                            ? fmt::format("ready ({}, {})", qemu_path->string(), busybox->string())
                            : "not ready: " + missing);
  }
  json["guests"] = guests;

  // What bench adds: the meter plugin QEMU loads, and what builds the Debian userland.
  auto meter = targets::meter_plugin();
  auto mmdebstrap = find_program("mmdebstrap");
  text += fmt::format("bench\n  meter plugin       {}\n",
                      meter ? meter->string() : "not found: " + meter.error().what());
  // A guest arch's Debian root is built by running its programs here.
  nlohmann::json userland_arches = nlohmann::json::array();
  if (!mmdebstrap) {
    text +=
        "  Debian userland    mmdebstrap not found (apt-get install mmdebstrap): workloads "
        "that name packages cannot run\n";
  }
  for (const char* arch : {"x86_64", "arm64"}) {
    if (!mmdebstrap) break;
    auto runs = targets::check_runs_programs_of(arch);
    if (runs) userland_arches.push_back(arch);
    text += fmt::format(
        "  {:<18} {}\n", fmt::format("userland {}", arch),
        runs ? "mmdebstrap " + mmdebstrap->string() : "not here: " + runs.error().what());
  }
  json["bench"] = {{"meter", meter ? meter->string() : ""},
                   {"mmdebstrap", mmdebstrap ? mmdebstrap->string() : ""},
                   {"userland_arches", userland_arches}};

  nlohmann::json findings = nlohmann::json::array();
  for (const auto& finding : report.findings) {
    const char* level = finding.level == toolchain::Finding::Level::problem ? "problem" : "warning";
    findings.push_back({{"level", level}, {"message", finding.message}});
    text += fmt::format("{}: {}\n", level, finding.message);
  }
  bool ok = report.usable() && source_ok;
  json["findings"] = findings;
  json["verdict"] = ok ? "ok" : "broken";
  text += ok ? fmt::format(
                   "verdict: ok: clang {} builds instrumented kernels and reads what kpgo "
                   "merges\n",
                   report.chain.clang.major)
             : "verdict: this combination cannot work; fix the problems above\n";
  if (globals.json) {
    print_json(json);
    globals.json_written = true;
  } else {
    fmt::print("{}", text);
  }
  if (ok) return 0;
  // The report is data on stdout; the failure is also said where errors go.
  std::string problems;
  for (const auto& finding : report.findings) {
    if (finding.level == toolchain::Finding::Level::problem) problems += "; " + finding.message;
  }
  return fail("LLVM={}{}: this combination cannot work{}", spec->value,
              options.source.empty() ? "" : " with " + options.source, problems);
}

}  // namespace

Subcommand add_doctor_command(CLI::App& parent, const GlobalOptions& globals) {
  auto options = std::make_shared<DoctorOptions>();
  CLI::App* app = parent.add_subcommand(
      "doctor", "Check that the toolchain, kpgo's merge backends and a kernel tree fit together");
  app->add_option("--llvm", options->llvm,
                  "Toolchain in kbuild's LLVM= form: 1, -N (e.g. -19) or /path/to/bin/")
      ->capture_default_str();
  app->add_option("--source", options->source, "Kernel source tree to inspect");
  return {app, [options, &globals] { return run_doctor(*options, globals); }};
}

}  // namespace kpgo::cli
