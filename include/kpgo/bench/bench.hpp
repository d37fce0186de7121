// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kpgo/kernel/elf.hpp"
#include "kpgo/kernel/lto.hpp"
#include "kpgo/pipeline/state.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/targets/qemu.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::bench {

// Real hardware over ssh: the user's own command installs a kernel and boots it, kpgo waits for
// the machine to answer with that kernel, then times each workload there by the wall clock.
struct SshBenchOptions {
  std::string host;  // [USER@]HOST[:PORT]
  std::vector<std::string> ssh_options;
  // Run here with sh -c, with KPGO_KERNEL (baseline or pgo), KPGO_BZIMAGE, KPGO_BUILD_DIR,
  // KPGO_RELEASE, KPGO_VERSION and KPGO_SSH_HOST set; it may return before the reboot is over.
  std::string boot_command;
  unsigned boot_timeout_seconds = 600;  // for the machine to answer with the kernel
};

struct BenchOptions {
  std::vector<targets::Workload> workloads;
  unsigned rounds = 3;
  unsigned jobs = 0;
  unsigned timeout_seconds = 1800;     // one boot, all workloads
  targets::QemuOptions qemu;           // kernel is set per boot
  std::optional<SshBenchOptions> ssh;  // set: real hardware instead of QEMU
  std::vector<std::string> make_args;
  // The kernels to compare (parse_variant's names); empty: the optimized kernel and the same
  // build without profile.
  std::vector<std::string> variants;
  // Workloads the profile was collected on, by name, besides those the workdir's collect records:
  // a profile merged in another CI job leaves no record in this one.
  std::vector<std::string> trained;
};

// A kernel variant: which of the workdir's profiles it is built with, and which clang LTO.
struct Variant {
  enum class Profile { none, pgo, cspgo };
  std::string name;
  Profile profile = Profile::none;
  kernel::Lto lto = kernel::Lto::none;
};

// baseline, lto, full-lto (no profile); pgo (stage 1), cspgo (both CSPGO stages), each alone
// or with +lto (ThinLTO) or +full-lto. Anything else is refused with the names kpgo knows.
Result<Variant> parse_variant(std::string_view name);
std::string profile_name(Variant::Profile profile);

// Which kernel a variant is measured on: the optimized kernel when that is the variant (its
// LTO, and the profile it was given, compared by the sha256 of the file as given: optimize
// rewrites a given profile for its clang); the baseline build for no profile and the
// instrumented build's LTO; else a build of the variant's own. profile_sha256: the variant's
// profile, empty for none.
enum class VariantKernel { optimized, baseline, own_build };
VariantKernel kernel_for_variant(const Variant& variant, const std::string& profile_sha256,
                                 const pipeline::State& state);

// What bench compares without --variants: the optimized kernel, and the same build (its LTO)
// without profile. cs_profile_sha256: the workdir's CSPGO profile, empty for none; the optimized
// kernel is cspgo when it was given that profile.
std::vector<Variant> default_variants(const pipeline::State& state,
                                      const std::string& cs_profile_sha256);

// The ratios bench reports: every variant against the reference (the first), each profiled
// variant against the same LTO without profile (the profile's own share), and each cspgo
// variant against pgo with the same LTO (the second stage's share), when those are measured.
std::vector<pipeline::BenchComparison> comparisons_of(const std::vector<Variant>& variants);

// Builds (incrementally) each variant that is not the optimized kernel, from the instrumented
// build's source and config with instrumentation off, checks that each profile shaped its
// kernel's code layout, then boots the variants in turn, round after round (in QEMU with
// -icount, or on the user's machine over ssh), and measures each workload there. Results go
// into the manifest under "bench", and the same record is returned.
Result<pipeline::BenchState> bench(const BenchOptions& options, ProcessRunner& runner,
                                   pipeline::Manifest& manifest);

// Median of the values (the lower middle one for an even count); 0 for none.
uint64_t median_of(std::vector<uint64_t> values);
// Median of `variant` over median of `against` in one metric's figures; 0 when either is
// missing or the latter's median is 0.
double median_ratio(const std::map<std::string, std::vector<uint64_t>>& figures,
                    const std::string& variant, const std::string& against);

// Parses the line the ssh stopwatch prints, "KPGO-BENCH START_NS END_NS STATUS".
struct WallTiming {
  uint64_t ns = 0;
  int status = -1;
};
Result<WallTiming> parse_wall_timing(const std::string& output);

// The guest init's body that times each of `workloads` (installed at /kpgo/w/NAME.sh).
std::string bench_guest_body(const std::vector<targets::Workload>& workloads);

}  // namespace kpgo::bench
