// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/instrument.hpp"

#include <map>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "kpgo/kernel/arch.hpp"
#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/config.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/source.hpp"
#include "kpgo/kernel/support.hpp"
#include "kpgo/profile/backends.hpp"
#include "kpgo/profile/format.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/data_dir.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"
#include "kpgo/toolchain/checks.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

Result<toolchain::ToolchainReport> check_toolchain_first(const std::string& llvm,
                                                         ProcessRunner& runner) {
  KPGO_TRY_BIND(spec, toolchain::parse_llvm_spec(llvm));
  auto backends = profile::BackendSet::discover();
  auto report = toolchain::check_toolchain(*spec, runner, backends);
  if (!report.usable()) {
    std::string problems;
    for (const auto& finding : report.findings) {
      if (finding.level == toolchain::Finding::Level::problem) problems += "\n  " + finding.message;
    }
    return fail(
        "the toolchain LLVM={} cannot build an instrumented kernel (kpgo doctor --llvm {} "
        "tells more):{}",
        llvm, llvm, problems);
  }
  return report;
}

// Kernel support: the tree's own, or kpgo's hooks for its line (known once it is unpacked).
Result<> add_support(const kernel::SupportTree& tree, const fs::path& data, bool dry_run,
                     ProcessRunner& runner, InstrumentOutcome& outcome) {
  if (tree.unpack_pending) return {};  // named in the plan by resolve_source_for_support
  auto files = kernel::support_files(data);
  KPGO_TRY_BIND(plan, kernel::plan_support(tree.path, files, runner));
  outcome.support = plan->before == kernel::PgoSupport::native ? "native" : "kpgo";
  outcome.support_added = plan->changes_tree;
  outcome.commands.insert(outcome.commands.end(), plan->commands.begin(), plan->commands.end());
  if (dry_run) return {};
  return kernel::apply_support(tree.path, files, *plan, runner);
}

// The configuration: a base (a .config file, possibly xz-compressed as Debian ships them, a
// kbuild target, or tinyconfig plus kpgo's QEMU fragment), trimmed to an lsmod listing's
// modules when asked (localmodconfig), then kpgo's and the user's fragments, then olddefconfig.
struct ConfigPlan {
  std::optional<fs::path> base_file;  // a .config given as --config
  Command base_command;               // else: the kbuild target that makes the base
  std::optional<Command> localmod;    // make LSMOD=... localmodconfig
  std::vector<std::pair<std::string, std::string>> fragments;  // name, text
  std::optional<kernel::Lto> lto;                              // asked for with --lto
};

// --config debian / debian-cloud: the linux-config-LINE package's amd64 config.
Result<std::optional<fs::path>> distribution_config(const std::string& name,
                                                    const std::string& line) {
  static const std::map<std::string, std::string> kFlavours = {
      {"debian", "config.amd64_none_amd64.xz"},
      {"debian-cloud", "config.amd64_none_cloud-amd64.xz"}};
  auto flavour = kFlavours.find(name);
  if (flavour == kFlavours.end()) return std::optional<fs::path>{};
  fs::path config =
      fs::path("/usr/src") / ("linux-config-" + (line.empty() ? "LINE" : line)) / flavour->second;
  std::error_code ec;
  if (!line.empty() && !fs::exists(config, ec)) {
    return fail("--config {}: {} missing; apt-get install linux-config-{} (scripts/setup.sh does)",
                name, config.string(), line);
  }
  return std::optional<fs::path>{config};
}

Result<ConfigPlan> plan_config(const InstrumentOptions& options, const kernel::KernelArch& arch,
                               const kernel::Kbuild& kbuild, const fs::path& data,
                               const std::string& line) {
  ConfigPlan plan;
  auto add_fragment = [&](const fs::path& path) -> Result<> {
    KPGO_TRY_BIND(text, read_text_file(path));
    plan.fragments.emplace_back(path.string(), *text);
    return {};
  };
  std::optional<fs::path> config = options.config;
  if (config) {
    KPGO_TRY_BIND(distribution, distribution_config(config->string(), line));
    if (*distribution) {
      config = *distribution;
      KPGO_TRY(add_fragment(data / "configs" / "distribution.config"));
    }
  }
  // --config names a .config file, or a kbuild target that makes one (defconfig, tinyconfig...).
  bool config_is_target =
      config && !fs::exists(*config) && kernel::is_config_target(config->string());
  if (config && !config_is_target) plan.base_file = *config;
  plan.base_command = kbuild.make({config_is_target ? config->string() : "tinyconfig"});
  if (options.localmod) {
    plan.localmod =
        kbuild.make({"LSMOD=" + fs::absolute(*options.localmod).string(), "localmodconfig"});
  }
  if (!options.config) KPGO_TRY(add_fragment(data / "configs" / arch.qemu_fragment));
  KPGO_TRY(add_fragment(data / "configs" / "pgo.config"));
  if (options.atomic_counters) KPGO_TRY(add_fragment(data / "configs" / "pgo-atomic.config"));
  for (const auto& fragment : options.fragments) KPGO_TRY(add_fragment(fragment));
  // After the user's fragments: --lto is the more explicit of the two.
  if (options.lto) {
    plan.fragments.emplace_back("--lto " + kernel::lto_name(*options.lto),
                                kernel::lto_fragment(*options.lto));
    plan.lto = options.lto;
  }
  return plan;
}

// A .config as given, or decompressed when it is .xz (Debian's linux-config packages).
Result<std::string> read_base_config(const fs::path& path, ProcessRunner& runner) {
  if (path.extension() != ".xz") return read_text_file(path);
  KPGO_TRY_BIND(output, runner.capture({{"xz", "-dc", path.string()}}));
  if (!output->succeeded()) return fail("{}: xz -dc failed: {}", path.string(), output->err);
  return output->out;
}

// Writes base + fragments as .config, runs olddefconfig and checks that every option the
// fragments ask for landed (kbuild drops what its dependencies do not allow, silently).
Result<> configure(const ConfigPlan& plan, const kernel::Kbuild& kbuild, ProcessRunner& runner,
                   const kernel::BuildLog& log) {
  std::error_code ec;
  fs::create_directories(kbuild.output, ec);
  fs::path dot_config = kbuild.output / ".config";
  if (!plan.base_file) KPGO_TRY(kernel::run_make(plan.base_command, runner, log));
  if (plan.base_file) {
    KPGO_TRY_BIND(given, read_base_config(*plan.base_file, runner));
    KPGO_TRY(write_file_atomically(dot_config, *given));
  }
  if (plan.localmod) KPGO_TRY(kernel::run_make(*plan.localmod, runner, log));
  KPGO_TRY_BIND(base, read_text_file(dot_config));
  std::vector<std::string> texts;
  for (const auto& fragment : plan.fragments) texts.push_back(fragment.second);
  KPGO_TRY(write_file_atomically(dot_config, kernel::merge_config(*base, texts)));
  KPGO_TRY(kernel::run_make(kbuild.make({"olddefconfig"}), runner, log));
  KPGO_TRY_BIND(final_config, kernel::read_config(dot_config));
  auto unmet = kernel::unmet_requests(*final_config, plan.fragments);
  if (unmet.empty()) return {};
  if (plan.lto && kernel::config_lto(*final_config) != *plan.lto) {
    return fail("--lto {}: this kernel cannot be built with it: {}. Nothing was built",
                kernel::lto_name(*plan.lto), kernel::lto_refusal(*final_config, *plan.lto));
  }
  std::string list;
  for (const auto& request : unmet) list += "\n  " + kernel::describe(request);
  return fail("{} options did not land in {}:{}", unmet.size(), dot_config.string(), list);
}

void record_build(const InstrumentOptions& options, const toolchain::ToolchainReport& report,
                  const fs::path& tree, const std::string& kernel_version,
                  const kernel::Kbuild& kbuild, const kernel::BuildLog& log,
                  const InstrumentOutcome& outcome, InstrumentState& record) {
  fs::path dot_config = kbuild.output / ".config";
  record.source = tree;
  record.kernel_version = kernel_version;
  record.support = outcome.support;
  record.arch = kbuild.arch;
  record.llvm = {options.llvm, report.chain.clang.version_line, report.chain.clang.major,
                 report.chain.raw_version.value_or(0), report.merge_backend.value_or(0)};
  record.atomic_counters = options.atomic_counters;
  auto final_config = kernel::read_config(dot_config);
  record.lto = final_config ? kernel::lto_name(kernel::config_lto(*final_config)) : "none";
  record.config_sha256 = sha256_file(dot_config).value_or("");
  record.build_dir = kbuild.output;
  record.artifacts = {outcome.vmlinux, outcome.bzimage, dot_config, log.file};
  record.vmlinux_build_id = outcome.build_id;
  record.modules.clear();
  for (const auto& module : outcome.modules) {
    auto functions = instrumented_function_count(module.file, record.llvm.raw_version);
    record.modules.push_back({module.name, module.file, module.build_id,
                              functions ? std::optional<uint64_t>(*functions) : std::nullopt});
  }
  record.modules_dir = outcome.modules_dir;
  record.commands.clear();
  for (const auto& command : outcome.commands) record.commands.push_back(render_command(command));
  record.finished = utc_timestamp();
}

// With CONFIG_MODULES, the modules go through modules_install (depmod included) into a tree of
// their own, which guests get as /lib/modules; their build IDs are what module profiles must
// carry.
Result<> install_modules(const kernel::Kbuild& kbuild, ProcessRunner& runner,
                         const kernel::BuildLog& log, InstrumentOutcome& outcome) {
  KPGO_TRY_BIND(modules, kernel::built_modules(kbuild.output));
  outcome.modules = std::move(*modules);
  KPGO_TRY_BIND(staged, kernel::install_modules(kbuild, runner, log));
  outcome.modules_dir = *staged;
  if (!staged->empty()) {
    outcome.commands.push_back(
        kbuild.make({"modules_install", "INSTALL_MOD_PATH=" + staged->string()}));
  }
  return {};
}

}  // namespace

Result<uint64_t> instrumented_function_count(const fs::path& binary, uint64_t raw_version) {
  uint64_t record = profile::raw_data_record_size(raw_version);
  if (!record) return fail("raw profile version {}: no known record size", raw_version);
  KPGO_TRY_BIND(bytes, kernel::section_size(binary, "__llvm_prf_data"));
  return *bytes / record;
}

std::string instrument_inputs_key(const InstrumentOptions& o) {
  // The source by content: a tarball apt upgraded in place, or a tree edited, is another input.
  nlohmann::json inputs = {{"source", kernel::source_fingerprint(o.source)},
                           {"llvm", o.llvm},
                           {"arch", o.arch},
                           {"atomic", o.atomic_counters},
                           {"make_args", o.make_args}};
  inputs["config"] = o.config ? sha256_key(*o.config) : "tinyconfig";
  // Only when given, so that keys from before --lto and --localmod stay valid.
  if (o.lto) inputs["lto"] = kernel::lto_name(*o.lto);
  if (o.localmod) inputs["localmod"] = sha256_key(*o.localmod);
  // The profile's names for static functions, relative to the tree (kernel::Kbuild::make): a
  // kernel whose profile named them by absolute path (kpgo before 3180271) is built again,
  // since the builds that use its profile would no longer find them.
  inputs["static_names"] = "tree-relative";
  for (const auto& fragment : o.fragments) inputs["fragments"].push_back(sha256_key(fragment));
  if (auto data = data_dir(); data) {
    // kpgo's own kernel files and default configs (the arch's small config) are inputs too.
    // An arch kpgo does not know has no small config; instrument refuses it.
    inputs["kpgo"].push_back(sha256_hex(kernel::support_version(kernel::support_files(*data))));
    std::vector<std::string> parts;
    if (auto arch = kernel::kernel_arch(o.arch)) parts.push_back("configs/" + arch->qemu_fragment);
    parts.push_back("configs/pgo.config");
    for (const auto& part : parts) inputs["kpgo"].push_back(sha256_key(*data / part));
  }
  return sha256_hex(inputs.dump());
}

bool instrument_up_to_date(const InstrumentOptions& options, const State& state) {
  const InstrumentState* instrument = state.instrumented();
  std::error_code ec;
  return instrument && !instrument->inputs_key.empty() &&
         fs::exists(instrument->artifacts.bzimage, ec) &&
         instrument->inputs_key == instrument_inputs_key(options);
}

namespace {

// A kernel of another build ID: the old one's profiles and their merge are of no use to it (a
// collect would add to them and a merge refuse them), whichever command rebuilt it.
void forget_profiles_of_other_kernel(State& state, const std::string& old_build_id) {
  if (old_build_id.empty() || state.instrument->vmlinux_build_id == old_build_id) return;
  size_t dropped = state.profiles().size();
  std::error_code ec;
  for (const auto& entry : state.profiles()) fs::remove(entry.path, ec);
  state.collect.reset();
  state.merge.reset();
  if (dropped) {
    spdlog::info("the kernel's build ID changed ({} -> {}): its {} profile(s) removed",
                 old_build_id, state.instrument->vmlinux_build_id, dropped);
  }
}

InstrumentOutcome recorded_outcome(const InstrumentState& built) {
  InstrumentOutcome outcome;
  outcome.build_dir = built.build_dir;
  outcome.vmlinux = built.artifacts.vmlinux;
  outcome.bzimage = built.artifacts.bzimage;
  outcome.build_id = built.vmlinux_build_id;
  outcome.modules_dir = built.modules_dir;
  outcome.support = built.support;
  outcome.lto = built.lto;
  outcome.up_to_date = true;
  return outcome;
}

}  // namespace

Result<InstrumentOutcome> instrument_kernel(const InstrumentOptions& options, ProcessRunner& runner,
                                            Manifest& manifest) {
  KPGO_TRY_BIND(arch, kernel::kernel_arch(options.arch));
  if (!options.dry_run && !options.force && instrument_up_to_date(options, manifest.state()))
    return recorded_outcome(*manifest.state().instrumented());
  InstrumentOutcome outcome;
  KPGO_TRY_BIND(report, check_toolchain_first(options.llvm, runner));
  KPGO_TRY_BIND(data, data_dir());
  KPGO_TRY_BIND(tree, kernel::resolve_source_for_support(
                          options.source, options.workdir, kernel::support_files(*data),
                          options.dry_run, runner, &outcome.commands));
  auto version = kernel::read_kernel_version(tree->path);
  if (!version && !options.dry_run) return tl::unexpected(version.error());
  KPGO_TRY(add_support(*tree, *data, options.dry_run, runner, outcome));

  kernel::Kbuild kbuild{tree->path,   fs::absolute(options.workdir) / "build-instrumented",
                        options.llvm, arch->name,
                        options.jobs, options.make_args};
  outcome.build_dir = kbuild.output;
  // The kernel line picks a distribution's config; a dry run may not have unpacked the tree yet.
  std::string line = version ? fmt::format("{}.{}", version->version, version->patchlevel) : "";
  KPGO_TRY_BIND(config, plan_config(options, *arch, kbuild, *data, line));
  if (!config->base_file) outcome.commands.push_back(config->base_command);
  if (config->base_file) {
    outcome.commands.push_back(
        {{"#", ".config from " + config->base_file->string()}, std::nullopt, {}});
  }
  if (config->localmod) outcome.commands.push_back(*config->localmod);
  Command build = kbuild.make({});
  outcome.commands.push_back(kbuild.make({"olddefconfig"}));
  outcome.commands.push_back(build);
  if (options.dry_run) {
    outcome.commands.push_back(
        {{"#", "then, when the config has CONFIG_MODULES=y:"}, std::nullopt, {}});
    outcome.commands.push_back(
        kbuild.make({"modules_install",
                     "INSTALL_MOD_PATH=" + kernel::staged_modules_dir(kbuild.output).string()}));
    return outcome;
  }

  kernel::BuildLog log{fs::absolute(options.workdir) / "logs" / "instrument.log", "instrument",
                       kernel::lto_memory_advice(config->lto.value_or(kernel::Lto::none))};
  KPGO_TRY(configure(*config, kbuild, runner, log));
  // From here until it finishes, the workdir has no instrumented kernel it vouches for.
  std::string old_build_id =
      manifest.state().instrument ? manifest.state().instrument->vmlinux_build_id : "";
  InstrumentState& record = ensure(manifest.state().instrument);
  record.started = utc_timestamp();
  record.finished.clear();
  KPGO_TRY(manifest.save());

  KPGO_TRY_BIND(made, kernel::run_make(build, runner, log));
  outcome.vmlinux = kbuild.output / "vmlinux";
  outcome.bzimage = kbuild.output / arch->image;
  KPGO_TRY_BIND(build_id, kernel::read_build_id(outcome.vmlinux));
  outcome.build_id = *build_id;
  KPGO_TRY(install_modules(kbuild, runner, log, outcome));
  record_build(options, *report, tree->path, version ? version->to_string() : "", kbuild, log,
               outcome, record);
  record.build_cost = made->cost;
  // Recorded by kpgo instrument as by kpgo run: a run after an instrument with the same inputs
  // finds this kernel up to date.
  record.inputs_key = instrument_inputs_key(options);
  outcome.lto = record.lto;
  forget_profiles_of_other_kernel(manifest.state(), old_build_id);
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::pipeline
