// SPDX-License-Identifier: MIT
// A libFuzzer target over kpgo's profile readers, built once per LLVM major. scripts/fuzz.sh
// runs it once per input format (raw, indexed, text), each run from its own seed corpus of real
// profiles; the checks are the same for every format. Each input goes through:
//   - kpgo's own reading (identify_profile, inspect_profile), which must not crash;
//   - a merge on the fast path and one on the generic path (LLVM's reader and writer, as
//     llvm-profdata runs them), alone and after itself at weight 3. The two must take the same
//     decision and, when they write, write the same bytes;
//   - a read back of the merged profile, which must succeed.
// A crash, a sanitizer report or a difference aborts, and libFuzzer keeps the input.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "kpgo/profile/backend.hpp"
#include "kpgo/profile/format.hpp"

namespace {

namespace fs = std::filesystem;
using kpgo::profile::Backend;
using kpgo::profile::MergeJob;
using kpgo::profile::MergeReport;

struct Scratch {
  fs::path dir;
  fs::path input;
  std::unique_ptr<Backend> backend;
};

Scratch& scratch() {
  static Scratch state = [] {
    Scratch s;
    // Files, not memory: the backend reads paths, as kpgo merge does. tmpfs keeps them cheap.
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    s.dir = base / ("kpgo-fuzz-" + std::to_string(getpid()));
    fs::create_directories(s.dir);
    s.input = s.dir / "input";
    s.backend.reset(kpgo_profile_backend_create(kpgo::profile::kBackendAbi));
    if (!s.backend) std::abort();
    std::atexit([] { fs::remove_all(scratch().dir); });
    return s;
  }();
  return state;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

[[noreturn]] void differ(const char* what, const std::string& detail) {
  std::fprintf(stderr, "kpgo-fuzz: fast and generic paths differ: %s: %s\n", what, detail.c_str());
  std::abort();
}

MergeReport merge(const MergeJob& job, bool fast, const fs::path& output) {
  MergeJob run = job;
  run.fast_path = fast;
  run.output_path = output.string();
  fs::remove(output);
  return scratch().backend->merge(run);
}

void compare(const MergeJob& job) {
  Scratch& s = scratch();
  MergeReport fast = merge(job, true, s.dir / "fast");
  MergeReport slow = merge(job, false, s.dir / "slow");
  if (fast.wrote_output != slow.wrote_output || fast.failures.size() != slow.failures.size()) {
    std::string fast_why = fast.failures.empty() ? "merged" : fast.failures[0].reason;
    std::string slow_why = slow.failures.empty() ? "merged" : slow.failures[0].reason;
    differ("decision", "fast: " + fast_why + "; generic: " + slow_why);
  }
  if (fast.warnings != slow.warnings) differ("warnings", std::to_string(fast.warnings.size()));
  if (!fast.wrote_output) return;
  if (slurp(s.dir / "fast") != slurp(s.dir / "slow")) differ("output", "bytes differ");
  kpgo::profile::ProfileContents back = s.backend->read((s.dir / "fast").string());
  if (!back.error.empty()) {
    std::fprintf(stderr, "kpgo-fuzz: the merged profile does not read back: %s\n",
                 back.error.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Scratch& s = scratch();
  {
    std::ofstream out(s.input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)kpgo::profile::inspect_profile(s.input);

  MergeJob job;
  job.threads = 1;
  job.inputs = {{s.input.string(), 1}};
  compare(job);
  job.inputs.push_back({s.input.string(), 3});
  compare(job);
  return 0;
}
