// SPDX-License-Identifier: MIT
#include <algorithm>
#include <set>

#include "kpgo/bench/bench.hpp"
#include "kpgo/kernel/arch.hpp"
#include "kpgo/kernel/build.hpp"
#include "kpgo/kernel/modules.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/files.hpp"
#include "kpgo/system/hashing.hpp"
#include "rounds.hpp"

namespace kpgo::bench {

namespace fs = std::filesystem;

namespace {

// A kernel bench measures: its record, and the image to boot.
struct BuiltVariant {
  pipeline::BenchVariantState state;
  fs::path bzimage;
};

BuiltVariant described(const Variant& variant, const std::string& profile_sha256) {
  BuiltVariant built;
  built.state.name = variant.name;
  built.state.lto = kernel::lto_name(variant.lto);
  built.state.profile = profile_name(variant.profile);
  built.state.profile_sha256 = profile_sha256;
  return built;
}

// The instrumented build's source and configuration with the instrumented build's LTO,
// instrumentation off, no profile: WORKDIR/build-baseline, as kpgo bench has always built it.
Result<BuiltVariant> build_baseline(const Variant& variant, const BenchOptions& options,
                                    ProcessRunner& runner, pipeline::Manifest& manifest) {
  const pipeline::InstrumentState& instrument = *manifest.state().instrument;
  kernel::Kbuild kbuild{instrument.source,     fs::absolute(manifest.workdir()) / "build-baseline",
                        instrument.llvm.value, instrument.arch,
                        options.jobs,          options.make_args};
  pipeline::BaselineState& record = pipeline::ensure(manifest.state().baseline);
  kernel::BuildLog log{manifest.workdir() / "logs" / "baseline.log", "baseline",
                       kernel::lto_memory_advice(variant.lto)};
  KPGO_TRY_BIND(configured,
                pipeline::configure_uninstrumented(instrument.build_dir, variant.lto, kbuild,
                                                   record.config_input, runner, log));
  record.lto = kernel::lto_name(variant.lto);
  if (*configured) {
    record.finished.clear();
    KPGO_TRY(manifest.save());
  }
  KPGO_TRY_BIND(made, kernel::run_make(kbuild.make({}), runner, log));
  KPGO_TRY(kernel::install_modules(kbuild, runner, log));
  if (made->compiled) record.build_cost = made->cost;
  KPGO_TRY_BIND(arch, kernel::kernel_arch(instrument.arch));
  BuiltVariant built = described(variant, "");
  built.state.build_cost = record.build_cost;
  built.bzimage = kbuild.output / arch->image;
  built.state.build_dir = kbuild.output;
  record.build_dir = kbuild.output;
  record.artifacts = {kbuild.output / "vmlinux", built.bzimage, log.file};
  record.finished = pipeline::utc_timestamp();
  KPGO_TRY(manifest.save());
  return built;
}

// The workdir's profile a variant is built with, stored by content; nullopt for none.
Result<std::optional<pipeline::StoredProfile>> variant_profile(const Variant& variant,
                                                               const pipeline::Manifest& manifest) {
  const pipeline::State& state = manifest.state();
  std::optional<fs::path> profile;
  if (variant.profile == Variant::Profile::pgo) {
    if (!state.merge) return fail("variant {}: the workdir has no merged profile", variant.name);
    profile = state.merge->output;
  } else if (variant.profile == Variant::Profile::cspgo) {
    if (!state.cs || state.cs->finished.empty()) {
      return fail("variant {}: the workdir has no CSPGO profile; kpgo run --cs makes it",
                  variant.name);
    }
    profile = state.cs->profile;
  }
  if (!profile) return std::optional<pipeline::StoredProfile>{};
  KPGO_TRY_BIND(stored, pipeline::store_by_content(*profile, manifest.workdir(), false));
  return std::optional<pipeline::StoredProfile>{*stored};
}

pipeline::VariantBuildState& variant_record(pipeline::State& state, const std::string& name) {
  for (auto& build : state.variant_builds) {
    if (build.name == name) return build;
  }
  state.variant_builds.emplace_back().name = name;
  return state.variant_builds.back();
}

// Any other variant: its own build directory, WORKDIR/build-variant-NAME, built incrementally.
Result<BuiltVariant> build_variant(const Variant& variant,
                                   const std::optional<pipeline::StoredProfile>& profile,
                                   const BenchOptions& options, ProcessRunner& runner,
                                   pipeline::Manifest& manifest) {
  const pipeline::InstrumentState& instrument = *manifest.state().instrument;
  std::string directory = "build-variant-" + variant.name;
  std::replace(directory.begin(), directory.end(), '+', '-');
  std::vector<std::string> make_args = options.make_args;
  if (profile) {
    make_args = pipeline::profile_make_args(
        make_args, profile->path, variant.lto != kernel::Lto::none && instrument.support == "kpgo");
  }
  kernel::Kbuild kbuild{instrument.source,     fs::absolute(manifest.workdir()) / directory,
                        instrument.llvm.value, instrument.arch,
                        options.jobs,          make_args};
  pipeline::VariantBuildState& record = variant_record(manifest.state(), variant.name);
  kernel::BuildLog log{manifest.workdir() / "logs" / (directory + ".log"), variant.name,
                       kernel::lto_memory_advice(variant.lto)};
  std::string sha = profile ? profile->sha256 : "";
  KPGO_TRY_BIND(configured,
                pipeline::configure_uninstrumented(instrument.build_dir, variant.lto, kbuild,
                                                   record.config_input, runner, log));
  if (*configured || record.profile_sha256 != sha) {
    record.finished.clear();
    KPGO_TRY(manifest.save());
  }
  std::error_code ec;
  uintmax_t log_before = fs::exists(log.file, ec) ? fs::file_size(log.file, ec) : 0;
  KPGO_TRY_BIND(made, kernel::run_make(kbuild.make({}), runner, log));
  KPGO_TRY(kernel::install_modules(kbuild, runner, log));
  // clang reports a promoted call only when it compiles: a build that compiled nothing keeps
  // the count and the cost of the one that did.
  if (made->compiled) {
    record.promoted_indirect_calls =
        pipeline::count_promotions(read_text_or_empty(log.file).substr(log_before));
    record.build_cost = made->cost;
  }
  record.build_dir = kbuild.output;
  record.profile_sha256 = sha;
  record.finished = pipeline::utc_timestamp();
  KPGO_TRY(manifest.save());
  KPGO_TRY_BIND(arch, kernel::kernel_arch(instrument.arch));
  BuiltVariant built = described(variant, sha);
  built.bzimage = kbuild.output / arch->image;
  built.state.build_dir = kbuild.output;
  built.state.promoted_indirect_calls = record.promoted_indirect_calls;
  built.state.build_cost = record.build_cost;
  return built;
}

// Which profile the optimized kernel was asked to use: optimize rewrites a given profile for its
// clang (given.profdata), whose bytes then differ from the file that bench's variant names.
// A workdir from before kpgo recorded it has only the copy's.
const std::string& given_profile_sha256(const pipeline::OptimizeState& optimized) {
  return optimized.given_sha256.empty() ? optimized.profile_sha256 : optimized.given_sha256;
}

// The optimized kernel, as the variant it is.
BuiltVariant optimized_variant(const Variant& variant, const pipeline::OptimizeState& optimized) {
  BuiltVariant built = described(variant, optimized.profile_sha256);
  built.bzimage = optimized.artifacts.bzimage;
  built.state.build_dir = optimized.build_dir;
  built.state.promoted_indirect_calls = optimized.promoted_indirect_calls;
  built.state.build_cost = optimized.build_cost;
  return built;
}

// Builds a variant, or finds it built (kernel_for_variant says which).
Result<BuiltVariant> variant_kernel(const Variant& variant, const BenchOptions& options,
                                    ProcessRunner& runner, pipeline::Manifest& manifest) {
  KPGO_TRY_BIND(profile, variant_profile(variant, manifest));
  std::string sha = *profile ? (*profile)->sha256 : "";
  switch (kernel_for_variant(variant, sha, manifest.state())) {
    case VariantKernel::optimized:
      return optimized_variant(variant, *manifest.state().optimize);
    case VariantKernel::baseline:
      return build_baseline(variant, options, runner, manifest);
    case VariantKernel::own_build:
      break;
  }
  return build_variant(variant, *profile, options, runner, manifest);
}

std::string cs_profile_sha256(const pipeline::State& state) {
  if (!state.cs || state.cs->finished.empty()) return "";
  return sha256_file(state.cs->profile).value_or("");
}

Result<std::vector<Variant>> chosen_variants(const BenchOptions& options,
                                             const pipeline::State& state) {
  if (options.variants.empty()) return default_variants(state, cs_profile_sha256(state));
  std::vector<Variant> variants;
  std::set<std::string> seen;
  for (const auto& name : options.variants) {
    KPGO_TRY_BIND(variant, parse_variant(name));
    if (!seen.insert(variant->name).second) return fail("--variants names {} twice", name);
    variants.push_back(*variant);
  }
  if (variants.size() < 2) return fail("--variants needs at least two kernels to compare");
  return variants;
}

// Workloads the collected profiles came from: their scripts, and their labels (a workload's
// name unless --label said otherwise); and those named as trained on.
std::vector<std::string> trained_workloads(const pipeline::State& state,
                                           const std::vector<std::string>& named) {
  std::vector<std::string> trained;
  for (const auto& name : named) trained.push_back("label:" + name);
  for (const auto& profile : state.profiles()) {
    std::error_code ec;
    trained.push_back(fs::weakly_canonical(profile.workload, ec).string());
    trained.push_back("label:" + profile.label);
  }
  return trained;
}

// The layout check: a profile that shaped nothing leaves the code where the same build without
// profile (else the reference) has it.
Result<> check_layouts(const std::vector<Variant>& variants, std::vector<BuiltVariant>& built) {
  for (auto& kernel : built) {
    KPGO_TRY_BIND(layout, kernel::read_text_layout(kernel.state.build_dir / "vmlinux.o"));
    kernel.state.layout = *layout;
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    if (variants[v].profile == Variant::Profile::none) continue;
    size_t against = 0;
    for (size_t u = 0; u < variants.size(); ++u) {
      if (variants[u].profile == Variant::Profile::none && variants[u].lto == variants[v].lto)
        against = u;
    }
    const auto& mine = built[v].state.layout;
    const auto& theirs = built[against].state.layout;
    if (mine.hot != theirs.hot || mine.unlikely != theirs.unlikely) continue;
    return fail(
        "the {} kernel's code layout is the {} kernel's ({} hot, {} unlikely functions): the "
        "profile shaped nothing; see the build log in {}",
        variants[v].name, variants[against].name, mine.hot, mine.unlikely,
        built[v].state.build_dir.string());
  }
  return {};
}

Result<> check_request(const BenchOptions& options, const pipeline::Manifest& manifest) {
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
  return {};
}

std::vector<pipeline::BenchWorkloadState> workload_entries(const BenchOptions& options,
                                                           const pipeline::State& state) {
  auto trained = trained_workloads(state, options.trained);
  std::vector<pipeline::BenchWorkloadState> workloads;
  for (const auto& workload : options.workloads) {
    pipeline::BenchWorkloadState figures;
    figures.name = workload.name;
    std::error_code ec;
    std::string script = fs::weakly_canonical(workload.script, ec).string();
    figures.trained =
        std::find(trained.begin(), trained.end(), script) != trained.end() ||
        std::find(trained.begin(), trained.end(), "label:" + workload.name) != trained.end();
    workloads.push_back(figures);
  }
  return workloads;
}

}  // namespace

VariantKernel kernel_for_variant(const Variant& variant, const std::string& profile_sha256,
                                 const pipeline::State& state) {
  const auto& optimized = *state.optimize;
  if (!profile_sha256.empty() && optimized.lto == kernel::lto_name(variant.lto) &&
      given_profile_sha256(optimized) == profile_sha256) {
    return VariantKernel::optimized;
  }
  if (profile_sha256.empty() && state.instrument->lto == kernel::lto_name(variant.lto))
    return VariantKernel::baseline;
  return VariantKernel::own_build;
}

std::vector<Variant> default_variants(const pipeline::State& state,
                                      const std::string& cs_profile_sha256) {
  const auto& optimized = *state.optimize;
  kernel::Lto lto = kernel::parse_lto(optimized.lto).value_or(kernel::Lto::none);
  std::string suffix = lto == kernel::Lto::thin   ? "+lto"
                       : lto == kernel::Lto::full ? "+full-lto"
                                                  : "";
  bool cs = !cs_profile_sha256.empty() && given_profile_sha256(optimized) == cs_profile_sha256;
  std::string plain = lto == kernel::Lto::thin   ? "lto"
                      : lto == kernel::Lto::full ? "full-lto"
                                                 : "baseline";
  return {*parse_variant(plain), *parse_variant((cs ? "cspgo" : "pgo") + suffix)};
}

Result<Variant> parse_variant(std::string_view name) {
  static const std::map<std::string, std::pair<Variant::Profile, kernel::Lto>> kKnown = {
      {"baseline", {Variant::Profile::none, kernel::Lto::none}},
      {"lto", {Variant::Profile::none, kernel::Lto::thin}},
      {"full-lto", {Variant::Profile::none, kernel::Lto::full}},
      {"pgo", {Variant::Profile::pgo, kernel::Lto::none}},
      {"pgo+lto", {Variant::Profile::pgo, kernel::Lto::thin}},
      {"pgo+full-lto", {Variant::Profile::pgo, kernel::Lto::full}},
      {"cspgo", {Variant::Profile::cspgo, kernel::Lto::none}},
      {"cspgo+lto", {Variant::Profile::cspgo, kernel::Lto::thin}},
      {"cspgo+full-lto", {Variant::Profile::cspgo, kernel::Lto::full}},
  };
  auto found = kKnown.find(std::string(name));
  if (found == kKnown.end()) {
    std::string known;
    for (const auto& [known_name, kind] : kKnown) known += (known.empty() ? "" : ", ") + known_name;
    return fail("variant '{}' is not one kpgo builds; it knows {}", name, known);
  }
  return Variant{found->first, found->second.first, found->second.second};
}

std::string profile_name(Variant::Profile profile) {
  switch (profile) {
    case Variant::Profile::pgo:
      return "pgo";
    case Variant::Profile::cspgo:
      return "cspgo";
    case Variant::Profile::none:
      break;
  }
  return "none";
}

std::vector<pipeline::BenchComparison> comparisons_of(const std::vector<Variant>& variants) {
  std::vector<pipeline::BenchComparison> comparisons;
  auto add = [&](const Variant& variant, const Variant& against) {
    pipeline::BenchComparison comparison{variant.name, against.name};
    if (variant.name != against.name &&
        std::find(comparisons.begin(), comparisons.end(), comparison) == comparisons.end())
      comparisons.push_back(comparison);
  };
  for (size_t v = 1; v < variants.size(); ++v) add(variants[v], variants[0]);
  for (const auto& variant : variants) {
    for (const auto& other : variants) {
      if (other.lto != variant.lto) continue;
      bool plain = other.profile == Variant::Profile::none;
      bool first_stage = other.profile == Variant::Profile::pgo;
      if ((variant.profile != Variant::Profile::none && plain) ||
          (variant.profile == Variant::Profile::cspgo && first_stage))
        add(variant, other);
    }
  }
  return comparisons;
}

uint64_t median_of(std::vector<uint64_t> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

double median_ratio(const std::map<std::string, std::vector<uint64_t>>& figures,
                    const std::string& variant, const std::string& against) {
  auto mine = figures.find(variant);
  auto theirs = figures.find(against);
  if (mine == figures.end() || theirs == figures.end()) return 0.0;
  uint64_t base = median_of(theirs->second);
  return base ? static_cast<double>(median_of(mine->second)) / static_cast<double>(base) : 0.0;
}

Result<pipeline::BenchState> bench(const BenchOptions& options, ProcessRunner& runner,
                                   pipeline::Manifest& manifest) {
  KPGO_TRY(check_request(options, manifest));
  KPGO_TRY_BIND(variants, chosen_variants(options, manifest.state()));
  BenchOptions measured = options;
  measured.qemu.arch = manifest.state().instrument->arch;

  std::vector<BuiltVariant> built;
  for (const auto& variant : *variants) {
    // Without --variants the profiled kernel is the optimized one, whatever profile it had.
    if (options.variants.empty() && variant.profile != Variant::Profile::none) {
      built.push_back(optimized_variant(variant, *manifest.state().optimize));
      continue;
    }
    KPGO_TRY_BIND(kernel, variant_kernel(variant, options, runner, manifest));
    built.push_back(std::move(*kernel));
  }
  KPGO_TRY(check_layouts(*variants, built));

  pipeline::BenchState outcome;
  outcome.comparisons = comparisons_of(*variants);
  outcome.workloads = workload_entries(options, manifest.state());
  BenchKernels kernels;
  for (size_t v = 0; v < built.size(); ++v) {
    outcome.variants.push_back(built[v].state);
    kernels.push_back({built[v].state.name, built[v].bzimage, built[v].state.build_dir, v});
  }
  KPGO_TRY(options.ssh ? run_ssh_rounds(measured, kernels, runner, manifest, outcome)
                       : run_qemu_rounds(measured, kernels, runner, manifest, outcome));
  outcome.rounds = options.rounds;
  outcome.finished = pipeline::utc_timestamp();
  manifest.state().bench = outcome;
  KPGO_TRY(manifest.save());
  return outcome;
}

}  // namespace kpgo::bench
