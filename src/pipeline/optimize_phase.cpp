// SPDX-License-Identifier: MIT
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "kpgo/kernel/arch.hpp"
#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/config.hpp"
#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/modules.hpp"
#include "kpgo/pipeline/instrument.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "kpgo/profile/format.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

// Clang's per-function diagnostics, as -mllvm -pgo-warn-missing-function makes it print them.
constexpr const char* kProfileFlags[] = {
    "-mllvm", "-pgo-warn-missing-function",
    // A remark per indirect call promoted to a direct one: the layout check counts them.
    "-Rpass=pgo-icall-prom",
    // A partly stale profile is normal (the tree moved on since the profile was taken) and
    // must not fail the build, CONFIG_WERROR or not.
    "-Wno-error=backend-plugin", "-Wno-profile-instr-unprofiled", "-Wno-profile-instr-out-of-date"};

// Static functions are "file;name" (or "file:name" before LLVM 19) in a profile and plain names in
// clang's diagnostics.
std::string plain_name(const std::string& name) {
  auto cut = name.find_last_of(";:");
  return cut == std::string::npos ? name : name.substr(cut + 1);
}

// How many functions the instrumented kernel has: its __llvm_prf_data records, from System.map.
Result<uint64_t> instrumented_functions(const fs::path& system_map, uint64_t raw_version) {
  std::ifstream in(system_map);
  if (!in) return fail("{}: cannot read", system_map.string());
  uint64_t start = 0, end = 0;
  std::string address, type, name;
  while (in >> address >> type >> name) {
    if (name == "__llvm_prf_data_start") start = std::stoull(address, nullptr, 16);
    if (name == "__llvm_prf_data_end") end = std::stoull(address, nullptr, 16);
  }
  uint64_t record = profile::raw_data_record_size(raw_version);
  if (!start || end < start || !record) {
    return fail("{}: no __llvm_prf_data range; not an instrumented build", system_map.string());
  }
  return (end - start) / record;
}

// KCFLAGS: the user's own (from make arguments) first, kpgo's profile flags after.
std::vector<std::string> with_profile_flags(std::vector<std::string> make_args,
                                            const fs::path& profdata) {
  std::string flags = "-fprofile-use=" + profdata.string();
  for (const char* flag : kProfileFlags) flags += std::string(" ") + flag;
  kernel::append_to_variable(make_args, "KCFLAGS", flags);
  return make_args;
}

// With LTO the link generates code: it promotes indirect calls to other files' functions (the
// compile step promotes those within a file, and reports on the profile's match), and it uses
// the context-sensitive part of a profile. KLDFLAGS comes with kpgo's kernel support.
std::vector<std::string> with_link_flags(std::vector<std::string> make_args,
                                         const fs::path& profdata) {
  kernel::append_to_variable(
      make_args, "KLDFLAGS",
      "-mllvm -pass-remarks=pgo-icall-prom --lto-cs-profile-file=" + profdata.string());
  return make_args;
}

// The kernel's own functions, by name, from a profile it wrote: clang also reports on code that
// never was in vmlinux (host helpers, the vDSO), which must not count against the profile.
std::set<std::string> instrumented_function_names(const State& state, profile::Backend& backend) {
  std::set<std::string> names;
  for (const auto& entry : state.profiles()) {
    auto contents = backend.read(entry.path.string());
    if (!contents.error.empty()) continue;
    for (const auto& name : contents.functions) names.insert(plain_name(name));
    break;
  }
  return names;
}

// The instrumented build's function symbols (System.map's text symbols, static ones included).
Result<std::set<std::string>> kernel_text_symbols(const fs::path& system_map) {
  std::ifstream in(system_map);
  if (!in) return fail("{}: cannot read", system_map.string());
  std::set<std::string> names;
  std::string address, type, name;
  while (in >> address >> type >> name) {
    if (type == "t" || type == "T" || type == "w" || type == "W") names.insert(name);
  }
  return names;
}

// Before a build of many minutes: a profile none of whose counted functions this kernel has is
// from another program or kernel, and would match nothing; one of context-sensitive records
// alone lacks the stage-1 counts clang needs before it can use them.
Result<> check_profile_fits(const profile::ProfileContents& contents, const fs::path& profile_path,
                            const fs::path& system_map) {
  if (contents.stats.cs_functions && contents.stats.cs_functions == contents.stats.functions) {
    return fail(
        "{}: holds only context-sensitive records (CSPGO stage 2) and not the stage-1 profile "
        "they build on; merge them with it first (kpgo merge -o OUT STAGE1.profdata "
        "STAGE2.profraw...; kpgo run --cs does both stages). Nothing was built",
        profile_path.string());
  }
  KPGO_TRY_BIND(symbols, kernel_text_symbols(system_map));
  for (const auto& name : contents.hot_functions) {
    if (symbols->count(plain_name(name))) return {};
  }
  return fail(
      "{}: the profile matched none of the kernel's functions that ran: none of its {} "
      "functions with counts is in {}; it is not from this kernel. Nothing was built",
      profile_path.string(), contents.hot_functions.size(), system_map.string());
}

MatchReport match_report(
    const std::pair<std::vector<std::string>, std::vector<std::string>>& diagnostics,
    const profile::ProfileContents& contents, const std::set<std::string>& kernel_functions,
    uint64_t records) {
  auto in_kernel = [&](const std::string& name) {
    return kernel_functions.empty() || kernel_functions.count(name) > 0;
  };
  MatchReport report;
  std::set<std::string> unmatched;
  for (const auto& name : diagnostics.first) {
    if (!in_kernel(name)) continue;
    ++report.stale;
    unmatched.insert(name);
  }
  for (const auto& name : diagnostics.second) {
    if (!in_kernel(name)) continue;
    ++report.without_data;
    unmatched.insert(name);
  }
  // By name when the kernel's names are known, like the diagnostics; else its record count.
  report.functions = kernel_functions.empty() ? records : kernel_functions.size();
  report.matched = report.functions > unmatched.size() ? report.functions - unmatched.size() : 0;
  // By name: a CSPGO profile has a context-sensitive record beside each function's own.
  std::set<std::string> hot;
  for (const auto& name : contents.hot_functions) hot.insert(plain_name(name));
  for (const auto& name : hot) {
    if (!in_kernel(name)) continue;
    ++report.hot;
    if (!unmatched.count(name)) ++report.hot_matched;
  }
  return report;
}

}  // namespace

uint64_t count_promotions(std::string_view log) {
  static constexpr std::string_view kRemark = "Promote indirect call to";
  uint64_t count = 0;
  for (size_t at = log.find(kRemark); at != std::string_view::npos; at = log.find(kRemark, at + 1))
    ++count;
  return count;
}

std::pair<std::vector<std::string>, std::vector<std::string>> pgo_diagnostics(
    std::string_view log) {
  static const std::regex stale(
      R"(function control flow change detected \(hash mismatch\) (\S+) Hash)");
  static const std::regex missing(R"(no profile data available for function (\S+) Hash)");
  std::set<std::string> stale_names, missing_names;
  std::istringstream in{std::string(log)};
  std::string line;
  std::smatch match;
  while (std::getline(in, line)) {
    if (line.find("Hash") == std::string::npos) continue;
    if (std::regex_search(line, match, stale))
      stale_names.insert(match[1]);
    else if (std::regex_search(line, match, missing))
      missing_names.insert(match[1]);
  }
  return {{stale_names.begin(), stale_names.end()}, {missing_names.begin(), missing_names.end()}};
}

Result<bool> configure_uninstrumented(const fs::path& instrumented_dir, kernel::Lto lto,
                                      const kernel::Kbuild& kbuild, std::string& config_input,
                                      ProcessRunner& runner, const kernel::BuildLog& log) {
  KPGO_TRY_BIND(instrumented_config, read_text_file(instrumented_dir / ".config"));
  std::string wanted = kernel::merge_config(
      *instrumented_config, {"# CONFIG_PGO_CLANG is not set\n", kernel::lto_fragment(lto)});
  std::error_code ec;
  fs::create_directories(kbuild.output, ec);
  fs::path dot_config = kbuild.output / ".config";
  std::string config_key = sha256_hex(wanted);
  if (config_input == config_key && fs::exists(dot_config, ec)) return false;
  KPGO_TRY(write_file_atomically(dot_config, wanted));
  KPGO_TRY(kernel::run_make(kbuild.make({"olddefconfig"}), runner, log));
  KPGO_TRY_BIND(final_config, kernel::read_config(dot_config));
  for (const auto& entry : *final_config) {
    if (entry.name == "CONFIG_PGO_CLANG" && entry.value && *entry.value == "y") {
      return fail("{}: CONFIG_PGO_CLANG stayed on", dot_config.string());
    }
  }
  if (kernel::config_lto(*final_config) != lto) {
    return fail("LTO {}: {} cannot have it: {}", kernel::lto_name(lto), dot_config.string(),
                kernel::lto_refusal(*final_config, lto));
  }
  config_input = config_key;
  return true;
}

std::string optimize_inputs_key(const OptimizeOptions& o, const State& state,
                                const std::string& profile_sha256) {
  nlohmann::json inputs = {{"profile", profile_sha256},
                           {"config", state.instrument ? state.instrument->config_sha256 : ""},
                           {"make_args", o.make_args},
                           {"boot", o.smoke_boot}};
  if (o.lto) inputs["lto"] = kernel::lto_name(*o.lto);
  return sha256_hex(inputs.dump());
}

bool optimize_up_to_date(const OptimizeOptions& options, const State& state,
                         const std::string& profile_sha256) {
  const auto& optimized = state.optimize;
  std::error_code ec;
  return optimized && !optimized->finished.empty() && !optimized->inputs_key.empty() &&
         fs::exists(optimized->artifacts.bzimage, ec) &&
         optimized->inputs_key == optimize_inputs_key(options, state, profile_sha256);
}

Result<OptimizeOutcome> recorded_optimize_outcome(Manifest& manifest,
                                                  const std::string& profile_sha256) {
  OptimizeState& optimized = *manifest.state().optimize;
  if (optimized.given_sha256.empty()) {
    optimized.given_sha256 = profile_sha256;
    KPGO_TRY(manifest.save());
  }
  OptimizeOutcome outcome;
  outcome.bzimage = optimized.artifacts.bzimage;
  outcome.vmlinux = optimized.artifacts.vmlinux;
  outcome.profdata = optimized.profile;
  outcome.booted = !optimized.booted.empty();
  outcome.report = optimized.report.value_or(MatchReport{});
  outcome.layout = optimized.layout;
  outcome.promoted_calls = optimized.promoted_indirect_calls;
  outcome.lto = optimized.lto.empty() ? "none" : optimized.lto;
  outcome.up_to_date = true;
  return outcome;
}

std::optional<fs::path> current_cs_profile(const State& state, const std::string& stage1_sha256) {
  if (!state.cs || state.cs->finished.empty() || state.cs->base_sha256 != stage1_sha256 ||
      sha256_key(state.cs->profile) != state.cs->sha256)
    return std::nullopt;
  return state.cs->profile;
}

namespace {

// Without --profile: the workdir's own, merged again only when its profiles changed; after
// `kpgo run --cs`, stage 1 and 2 combined, as run's optimize phase used them.
Result<fs::path> workdir_profile(const OptimizeOptions& options, Manifest& manifest,
                                 profile::BackendSet& backends) {
  const State& state = manifest.state();
  if (options.dry_run) {
    if (state.merge) {
      if (auto cs = current_cs_profile(state, state.merge->sha256)) return *cs;
    }
    return manifest.workdir() / "vmlinux.profdata";
  }
  KPGO_TRY_BIND(merged, merge_workdir_profiles(manifest, backends));
  if (auto cs = current_cs_profile(state, merged->sha256)) {
    spdlog::info(
        "using the context-sensitive profile of kpgo run --cs ({}); --profile {} for "
        "stage 1 alone",
        cs->string(), merged->profdata.string());
    return *cs;
  }
  if (state.cs) {
    spdlog::warn(
        "{}'s context-sensitive stage was built on another stage-1 profile: using stage 1 "
        "alone (kpgo run --cs brings stage 2 up to date)",
        manifest.workdir().string());
  }
  return merged->profdata;
}

// The profile to build with: the one given (merged for this clang), or the workdir's.
Result<fs::path> profile_to_use(const OptimizeOptions& options, Manifest& manifest,
                                profile::BackendSet& backends, unsigned major) {
  if (!options.profile) return workdir_profile(options, manifest, backends);
  profile::MergeRequest request;
  request.inputs = {{options.profile->string(), 1}};
  request.output = manifest.workdir() / "given.profdata";
  request.consumer_major = major;
  if (!options.dry_run) KPGO_TRY(profile::merge_profiles(request, backends));
  return request.output;
}

// clang's per-function diagnostics with the translation unit each came from.
struct UnitDiagnostic {
  std::string unit;  // the source file, as the build named it
  std::string function;
  bool stale = false;
};

std::vector<UnitDiagnostic> unit_diagnostics(std::string_view log) {
  static const std::regex diagnostic(
      R"(warning: (\S+): (function control flow change detected \(hash mismatch\)|no profile )"
      R"(data available for function) (\S+) Hash)");
  std::vector<UnitDiagnostic> found;
  std::istringstream in{std::string(log)};
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (line.find("Hash") == std::string::npos || !std::regex_search(line, match, diagnostic))
      continue;
    found.push_back({match[1], match[3], match[2].str().front() == 'f'});
  }
  return found;
}

// A module's instrumented functions: as counted when it was built, else in its instrumented .ko
// (a workdir from before kpgo recorded the count).
Result<uint64_t> module_functions(const ModuleState& module, const InstrumentState& instrument) {
  if (module.instrumented_functions) return *module.instrumented_functions;
  auto counted = instrumented_function_count(module.file, instrument.llvm.raw_version);
  if (!counted) {
    return fail(
        "module {}: its instrumented functions are not recorded in kpgo.json (a workdir of an "
        "older kpgo: kpgo instrument --force records them), and {}",
        module.name, counted.error().what());
  }
  return *counted;
}

// A module's share of the diagnostics: those of units linked into it (kbuild's .mod lists).
Result<BinaryMatch> module_match(const ModuleState& module,
                                 const std::vector<UnitDiagnostic>& diagnostics,
                                 const std::map<std::string, std::string>& owner,
                                 const InstrumentState& instrument) {
  BinaryMatch match;
  match.binary = module.name;
  std::set<std::string> stale, missing;
  std::string tree = instrument.source.string() + "/";
  for (const auto& d : diagnostics) {
    std::string unit = d.unit.rfind(tree, 0) == 0 ? d.unit.substr(tree.size()) : d.unit;
    auto it = owner.find(fs::path(unit).replace_extension(".o").string());
    if (it == owner.end() || it->second != module.name) continue;
    (d.stale ? stale : missing).insert(d.function);
  }
  KPGO_TRY_BIND(functions, module_functions(module, instrument));
  match.functions = *functions;
  match.stale = stale.size();
  match.without_data = missing.size();
  uint64_t unmatched = match.stale + match.without_data;
  match.matched = match.functions > unmatched ? match.functions - unmatched : 0;
  return match;
}

// Per binary, with the total in the report's own fields: vmlinux's as counted by name, each
// module's by its units, every optimized binary's layout. Which units make a module is read in
// the optimized build (the same .config): the instrumented build directory stays behind when
// a CI job hands optimize its artifacts.
Result<> add_module_matches(const std::string& log_text, const InstrumentState& instrument,
                            const fs::path& output, OptimizeOutcome& outcome) {
  MatchReport& report = outcome.report;
  report.binaries.push_back({"vmlinux", report.functions, report.matched, report.stale,
                             report.without_data, outcome.layout});
  auto optimized_file = [&](const ModuleState& m) {
    return output / fs::relative(m.file, instrument.build_dir);
  };
  std::vector<kernel::BuiltModule> built;
  for (const auto& m : instrument.modules) built.push_back({m.name, optimized_file(m), m.build_id});
  auto owner = kernel::module_objects(built);
  auto diagnostics = unit_diagnostics(log_text);
  for (const auto& module : instrument.modules) {
    KPGO_TRY_BIND(match, module_match(module, diagnostics, owner, instrument));
    KPGO_TRY_BIND(layout, kernel::read_text_layout(optimized_file(module)));
    match->layout = *layout;
    report.functions += match->functions;
    report.matched += match->matched;
    report.stale += match->stale;
    report.without_data += match->without_data;
    report.binaries.push_back(std::move(*match));
  }
  return {};
}

// What the build with the profile showed: clang's diagnostics against the kernel's functions,
// the code layout, the promoted calls.
Result<> read_build_results(const std::string& log_text, const profile::ProfileContents& contents,
                            const std::set<std::string>& kernel_functions,
                            const InstrumentState& instrument, const fs::path& output,
                            OptimizeOutcome& outcome) {
  KPGO_TRY_BIND(total, instrumented_functions(instrument.build_dir / "System.map",
                                              instrument.llvm.raw_version));
  outcome.report = match_report(pgo_diagnostics(log_text), contents, kernel_functions, *total);
  KPGO_TRY_BIND(layout, kernel::read_text_layout(output / "vmlinux.o"));
  outcome.layout = *layout;
  outcome.promoted_calls = count_promotions(log_text);
  if (instrument.modules.empty()) return {};
  return add_module_matches(log_text, instrument, output, outcome);
}

// A profile of another kernel leaves a few names clang never reports on; what tells is that it
// counts none of this kernel's functions, or data for almost none of them.
Result<> check_match(const MatchReport& report, const fs::path& log) {
  if (report.hot_matched > 0 && report.matched * 100 >= report.functions) return {};
  return fail(
      "the profile matched none of the kernel's functions that ran ({} of {} functions "
      "have data, {} stale, {} without data): it is not from this kernel's source and "
      "configuration; build log {}",
      report.matched, report.functions, report.stale, report.without_data, log.string());
}

void record_build(const OptimizeOutcome& outcome, const StoredProfile& profile,
                  const kernel::Kbuild& kbuild, const kernel::BuildLog& log,
                  OptimizeState& record) {
  record.profile = profile.path;
  record.profile_sha256 = profile.sha256;
  record.build_dir = kbuild.output;
  record.artifacts = {outcome.vmlinux, outcome.bzimage, log.file};
  record.report = outcome.report;
  record.layout = outcome.layout;
  record.promoted_indirect_calls = outcome.promoted_calls;
  // A make that compiled nothing is no measure of what the build costs.
  if (outcome.rebuilt) record.build_cost = outcome.build_cost;
  record.commands.clear();
  for (const auto& command : outcome.commands) record.commands.push_back(render_command(command));
  record.booted.clear();
}

// Builds with the profile, in a log of its own per profile and configuration: clang reports per
// function only when it compiles, so the diagnostics of the build that did compile with this
// profile stay countable. Returns the log's text.
Result<std::string> build_with_profile(const kernel::Kbuild& kbuild, const std::string& key,
                                       const fs::path& workdir, ProcessRunner& runner,
                                       OptimizeOutcome& outcome, kernel::BuildLog& log) {
  log.file = workdir / "logs" / ("optimize-" + key + ".log");
  KPGO_TRY_BIND(made, kernel::run_make(kbuild.make({}), runner, log));
  KPGO_TRY(kernel::install_modules(kbuild, runner, log));  // for guests that bench it
  outcome.rebuilt = made->compiled;
  outcome.build_cost = made->cost;
  return read_text_or_empty(log.file);
}

}  // namespace

std::vector<std::string> profile_make_args(std::vector<std::string> make_args,
                                           const fs::path& profdata, bool link_flags) {
  make_args = with_profile_flags(std::move(make_args), profdata);
  return link_flags ? with_link_flags(std::move(make_args), profdata) : make_args;
}

Result<StoredProfile> store_by_content(const fs::path& profdata, const fs::path& workdir,
                                       bool dry_run) {
  std::string sha = sha256_file(profdata).value_or(dry_run ? "PROFILE-SHA256" : "");
  fs::path stored = fs::absolute(workdir) / "profdata" / (sha.substr(0, 16) + ".profdata");
  std::error_code ec;
  if (dry_run || fs::exists(stored, ec)) return StoredProfile{stored, sha};
  fs::create_directories(stored.parent_path(), ec);
  KPGO_TRY_BIND(copy, AtomicFile::create(stored));
  fs::copy_file(profdata, copy->temp_path(), fs::copy_options::overwrite_existing, ec);
  if (ec) return fail("cannot copy {}: {}", profdata.string(), ec.message());
  KPGO_TRY(copy->commit());
  return StoredProfile{stored, sha};
}

Result<OptimizeOutcome> optimize(const OptimizeOptions& options, ProcessRunner& runner,
                                 profile::BackendSet& backends, Manifest& manifest) {
  const InstrumentState* found = manifest.state().instrumented();
  if (!found)
    return fail("{} has no instrumented kernel; run kpgo instrument first",
                manifest.path().string());
  const InstrumentState& instrument = *found;
  KPGO_TRY_BIND(profdata, profile_to_use(options, manifest, backends, instrument.llvm.major));
  std::string profile_sha256 =
      options.dry_run ? "" : sha256_key(options.profile.value_or(*profdata));
  if (!options.dry_run && !options.force &&
      optimize_up_to_date(options, manifest.state(), profile_sha256))
    return recorded_optimize_outcome(manifest, profile_sha256);
  KPGO_TRY_BIND(stored, store_by_content(*profdata, manifest.workdir(), options.dry_run));
  OptimizeOutcome outcome;
  outcome.profdata = stored->path;

  KPGO_TRY_BIND(backend, backends.get(instrument.llvm.merge_backend ? instrument.llvm.merge_backend
                                                                    : instrument.llvm.major));
  profile::ProfileContents contents;
  if (!options.dry_run) {
    contents = (*backend)->read(stored->path.string());
    if (!contents.error.empty()) return fail("{}: {}", stored->path.string(), contents.error);
    KPGO_TRY(check_profile_fits(contents, options.profile.value_or(stored->path),
                                instrument.build_dir / "System.map"));
  }
  kernel::Lto lto =
      options.lto.value_or(kernel::parse_lto(instrument.lto).value_or(kernel::Lto::none));
  std::vector<std::string> make_args = profile_make_args(
      options.make_args, stored->path, lto != kernel::Lto::none && instrument.support == "kpgo");
  kernel::Kbuild kbuild{instrument.source,     fs::absolute(manifest.workdir()) / "build-optimized",
                        instrument.llvm.value, instrument.arch,
                        options.jobs,          make_args};
  outcome.commands = {kbuild.make({"olddefconfig"}), kbuild.make({})};
  KPGO_TRY_BIND(arch, kernel::kernel_arch(instrument.arch));
  outcome.bzimage = kbuild.output / arch->image;
  outcome.vmlinux = kbuild.output / "vmlinux";
  if (options.dry_run) return outcome;

  // Until this run succeeds, build-optimized holds no kernel the manifest vouches for.
  OptimizeState& record = ensure(manifest.state().optimize);
  record.finished.clear();
  record.inputs_key.clear();
  record.booted.clear();
  record.report.reset();
  KPGO_TRY(manifest.save());

  kernel::BuildLog log{manifest.workdir() / "logs" / "optimize.log", "optimize",
                       kernel::lto_memory_advice(lto)};
  KPGO_TRY(configure_uninstrumented(instrument.build_dir, lto, kbuild, record.config_input, runner,
                                    log));
  record.lto = outcome.lto = kernel::lto_name(lto);
  std::string key = stored->sha256.substr(0, 16) + "-" + record.config_input.substr(0, 8);
  KPGO_TRY_BIND(log_text,
                build_with_profile(kbuild, key, manifest.workdir(), runner, outcome, log));
  auto kernel_functions = instrumented_function_names(manifest.state(), **backend);
  KPGO_TRY(read_build_results(*log_text, contents, kernel_functions, instrument, kbuild.output,
                              outcome));
  record_build(outcome, *stored, kbuild, log, record);
  KPGO_TRY(manifest.save());

  KPGO_TRY(check_match(outcome.report, log.file));
  record.vmlinux_build_id = kernel::read_build_id(outcome.vmlinux).value_or("");
  if (options.smoke_boot) {
    targets::QemuOptions qemu = options.qemu;
    qemu.kernel = outcome.bzimage;
    qemu.arch = instrument.arch;
    qemu.log = manifest.workdir() / "logs" / "optimize-boot-console.log";
    KPGO_TRY(targets::QemuTarget::smoke_boot(qemu, manifest.workdir() / "scratch", runner));
    outcome.booted = true;
    record.booted = utc_timestamp();
  }
  record.finished = utc_timestamp();
  record.inputs_key = optimize_inputs_key(options, manifest.state(), profile_sha256);
  record.given_sha256 = profile_sha256;
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::pipeline
