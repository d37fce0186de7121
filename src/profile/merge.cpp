// SPDX-License-Identifier: MIT
#include "kpgo/profile/merge.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "kpgo/profile/versions.hpp"
#include "kpgo/system/atomic_file.hpp"
#include "kpgo/system/signals.hpp"

namespace kpgo::profile {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

Result<> add_path(std::vector<WeightedInput>& out, const std::string& path, uint64_t weight) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return fail("{}: no such file or directory", path);
  if (!fs::is_directory(status)) {
    out.push_back({path, weight});
    return {};
  }
  std::vector<std::string> found;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path().string());
  }
  if (ec) return fail("{}: cannot list: {}", path, ec.message());
  if (found.empty()) return fail("{}: directory holds no profiles", path);
  std::sort(found.begin(), found.end());
  for (auto& file : found) out.push_back({std::move(file), weight});
  return {};
}

std::string version_fix(uint64_t raw, const std::vector<BackendInfo>& available) {
  for (const auto& info : available) {
    if (info.raw_version == raw) {
      return fmt::format("it was written by clang {}; merge it on its own with --llvm -{}",
                         majors_writing_raw(raw), info.llvm_major);
    }
  }
  return fmt::format(
      "it was written by clang {}; install llvm-N-dev for one of those and "
      "rebuild kpgo with -DKPGO_LLVM_MAJORS including N",
      majors_writing_raw(raw));
}

}  // namespace

Result<WeightedInput> parse_weighted_input(std::string_view spec) {
  auto comma = spec.find(',');
  if (comma == std::string_view::npos) {
    return fail("weighted input '{}' is not of the form WEIGHT,FILE", spec);
  }
  auto weight_text = trim(spec.substr(0, comma));
  auto file = trim(spec.substr(comma + 1));
  uint64_t weight = 0;
  auto [end, ec] =
      std::from_chars(weight_text.data(), weight_text.data() + weight_text.size(), weight);
  if (ec != std::errc() || end != weight_text.data() + weight_text.size() || weight == 0) {
    return fail("weighted input '{}': weight '{}' is not a whole number of 1 or more", spec,
                weight_text);
  }
  if (file.empty()) return fail("weighted input '{}' names no file", spec);
  return WeightedInput{std::string(file), weight};
}

Result<FailureMode> parse_failure_mode(std::string_view text) {
  if (text == "any") return FailureMode::any;
  if (text == "all") return FailureMode::all;
  if (text == "warn") return FailureMode::warn;
  return fail("--failure-mode '{}': expected any, all or warn", text);
}

Result<std::vector<WeightedInput>> collect_inputs(const std::vector<std::string>& paths,
                                                  const std::vector<std::string>& weighted,
                                                  const std::vector<std::string>& list_files) {
  // llvm-profdata's order: plain inputs, then weighted ones, then list files. The order is
  // part of the result: LLVM scales value-profile targets by weight only where the record
  // they merge into already has them, so weighted merges depend on it.
  std::vector<WeightedInput> inputs;
  for (const auto& path : paths) {
    KPGO_TRY(add_path(inputs, path, 1));
  }
  for (const auto& spec : weighted) {
    KPGO_TRY_BIND(parsed, parse_weighted_input(spec));
    KPGO_TRY(add_path(inputs, parsed->path, parsed->weight));
  }
  for (const auto& list : list_files) {
    std::ifstream in(list);
    if (!in) return fail("{}: cannot open input list", list);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      auto text = trim(line);
      if (text.empty() || text.front() == '#') continue;
      WeightedInput entry{std::string(text), 1};
      if (text.find(',') != std::string_view::npos) {
        auto parsed = parse_weighted_input(text);
        if (!parsed) return fail("{}:{}: {}", list, number, parsed.error().what());
        entry = *parsed;
      }
      if (auto added = add_path(inputs, entry.path, entry.weight); !added) {
        return fail("{}:{}: {}", list, number, added.error().what());
      }
    }
  }
  if (inputs.empty()) return fail("no input profiles given");
  return inputs;
}

std::optional<std::string> version_problem(const ProfileIdentity& input, const BackendInfo& backend,
                                           const std::vector<BackendInfo>& available) {
  if (input.kind == ProfileKind::raw && input.version != backend.raw_version) {
    return fmt::format("raw profile format version {}, but LLVM {} reads only version {}: {}",
                       input.version, backend.llvm_major, backend.raw_version,
                       version_fix(input.version, available));
  }
  if (input.kind == ProfileKind::indexed && input.version > backend.indexed_version) {
    return fmt::format("indexed profile format version {} is newer than LLVM {} reads (up to {})",
                       input.version, backend.llvm_major, backend.indexed_version);
  }
  return std::nullopt;
}

Result<unsigned> choose_backend(const std::vector<ProfileIdentity>& inputs,
                                std::optional<unsigned> consumer_major,
                                const std::vector<BackendInfo>& available) {
  auto built = [&] {
    std::string list;
    for (const auto& info : available)
      list += (list.empty() ? "" : ", ") + std::to_string(info.llvm_major);
    return list.empty() ? std::string("none") : list;
  };
  if (consumer_major) {
    std::optional<FormatVersions> wanted = known_format_versions(*consumer_major);
    for (const auto& info : available) {
      if (info.llvm_major == *consumer_major) return info.llvm_major;
    }
    if (!wanted) {
      return fail(
          "kpgo has no merge backend for LLVM {} and does not know its profile format "
          "(backends: {}); install llvm-{}-dev and rebuild kpgo with "
          "-DKPGO_LLVM_MAJORS=\"{};...\"",
          *consumer_major, built(), *consumer_major, *consumer_major);
    }
    const BackendInfo* best = nullptr;
    for (const auto& info : available) {
      if (info.raw_version == wanted->raw && info.indexed_version <= wanted->indexed &&
          (!best || info.indexed_version > best->indexed_version)) {
        best = &info;
      }
    }
    if (!best) {
      return fail(
          "no merge backend writes a profile clang {} reads (backends: {}); install "
          "llvm-{}-dev and rebuild kpgo with -DKPGO_LLVM_MAJORS including {}",
          *consumer_major, built(), *consumer_major, *consumer_major);
    }
    return best->llvm_major;
  }

  std::map<uint64_t, size_t> raw_votes;
  uint64_t newest_indexed = 0;
  for (const auto& input : inputs) {
    if (input.kind == ProfileKind::raw) ++raw_votes[input.version];
    if (input.kind == ProfileKind::indexed)
      newest_indexed = std::max(newest_indexed, input.version);
  }
  std::vector<BackendInfo> by_age = available;
  std::sort(by_age.begin(), by_age.end(),
            [](const auto& a, const auto& b) { return a.llvm_major < b.llvm_major; });
  if (!raw_votes.empty()) {
    auto most = std::max_element(raw_votes.begin(), raw_votes.end(), [](auto& a, auto& b) {
      return a.second < b.second || (a.second == b.second && a.first < b.first);
    });
    for (const auto& info : by_age) {
      if (info.raw_version == most->first && info.indexed_version >= newest_indexed) {
        return info.llvm_major;
      }
    }
    return fail(
        "the inputs are raw profile format version {}, written by clang {}, and kpgo has "
        "no merge backend for that LLVM (backends: {}); install llvm-N-dev and rebuild "
        "kpgo with -DKPGO_LLVM_MAJORS including N",
        most->first, majors_writing_raw(most->first), built());
  }
  for (const auto& info : by_age) {
    if (info.indexed_version >= newest_indexed) return info.llvm_major;
  }
  return fail(
      "the inputs include indexed profile format version {}, newer than any merge "
      "backend reads (backends: {})",
      newest_indexed, built());
}

std::vector<std::pair<size_t, std::string>> foreign_inputs(
    const std::vector<ProfileIdentity>& inputs, const std::vector<std::string>& expected) {
  std::map<std::string, size_t> votes;
  for (const auto& input : inputs) {
    if (input.kind == ProfileKind::raw && !input.binary_ids.empty())
      ++votes[input.binary_ids.front()];
  }
  std::string reference;
  bool tie = false;
  if (!expected.empty()) {
    reference = expected.front();
  } else {
    if (votes.size() <= 1) return {};
    size_t top = 0;
    for (const auto& [id, count] : votes) {
      if (count > top) {
        top = count;
        reference = id;
      }
    }
    tie = std::count_if(votes.begin(), votes.end(), [&](auto& v) { return v.second == top; }) > 1;
  }
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& ids = inputs[i].binary_ids;
    if (inputs[i].kind != ProfileKind::raw || ids.empty()) continue;
    if (tie) {
      out.emplace_back(i, fmt::format("the inputs come from {} binaries and none has a majority; "
                                      "this one is build ID {}: name the build to merge with "
                                      "--build-tree (vmlinux and its modules) or --binary-id",
                                      votes.size(), ids.front()));
      continue;
    }
    if (expected.size() > 1) {
      if (std::find(expected.begin(), expected.end(), ids.front()) != expected.end()) continue;
      out.emplace_back(i, fmt::format("comes from another build: build ID {} is none of the {} "
                                      "binaries' of the build tree (vmlinux and its modules)",
                                      ids.front(), expected.size()));
      continue;
    }
    if (std::find(ids.begin(), ids.end(), reference) != ids.end()) continue;
    out.emplace_back(
        i, fmt::format("comes from another binary: build ID {}, but {} {}; the "
                       "profiles of one merge must come from one build",
                       ids.front(), expected.empty() ? "the other inputs have" : "expected",
                       reference));
  }
  return out;
}

namespace {

// Everything kpgo can tell without LLVM is checked first, so that LLVM sees only inputs of its
// own format, and its errors are left for what really is inside the files. problems[i] says why
// input i is left out; empty: it goes into the merge.
struct Screening {
  std::vector<std::string> problems;
  std::vector<ProfileIdentity> readable;  // the inputs whose header kpgo could read
  std::vector<size_t> readable_index;     // and where they are among the inputs
};

Screening read_headers(const std::vector<WeightedInput>& inputs) {
  Screening screening;
  screening.problems.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    // The header only: the backend walks every record of each input as it reads it, once.
    auto id = identify_profile(inputs[i].path);
    if (!id) {
      screening.problems[i] = id.error().message;  // the file is named where it is reported
      continue;
    }
    screening.readable.push_back(*id);
    screening.readable_index.push_back(i);
  }
  return screening;
}

// The backend for these inputs and their consumer, chosen from kpgo's table of formats; when
// the library itself says otherwise, from what every library says. `available` is what the
// choice was made from.
Result<Backend*> pick_backend(const Screening& screening, std::optional<unsigned> consumer_major,
                              BackendSet& backends, std::vector<BackendInfo>& available) {
  available = backends.catalog();
  KPGO_TRY_BIND(major, choose_backend(screening.readable, consumer_major, available));
  KPGO_TRY_BIND(backend, backends.get(*major));
  BackendInfo info = (*backend)->info();
  auto listed = std::find_if(available.begin(), available.end(),
                             [&](const BackendInfo& entry) { return entry.llvm_major == *major; });
  if (listed != available.end() && listed->raw_version == info.raw_version &&
      listed->indexed_version == info.indexed_version) {
    return *backend;
  }
  spdlog::debug("LLVM {} backend reads raw {} and writes indexed {}, not as kpgo's table says",
                *major, info.raw_version, info.indexed_version);
  available = backends.infos();
  KPGO_TRY_BIND(again, choose_backend(screening.readable, consumer_major, available));
  return backends.get(*again);
}

// Inputs of another format than the backend's, or of another binary than the majority's (or
// the expected one), are left out. Only inputs of the right format vote on the binary.
void leave_out_unfit(Screening& screening, const BackendInfo& backend,
                     const std::vector<BackendInfo>& available,
                     const std::vector<std::string>& expected_ids) {
  std::vector<ProfileIdentity> voters;
  std::vector<size_t> voter_index;
  for (size_t k = 0; k < screening.readable.size(); ++k) {
    auto& problem = screening.problems[screening.readable_index[k]];
    if (auto reason = version_problem(screening.readable[k], backend, available)) problem = *reason;
    if (!problem.empty()) continue;
    voters.push_back(screening.readable[k]);
    voter_index.push_back(screening.readable_index[k]);
  }
  for (auto& [k, reason] : foreign_inputs(voters, expected_ids)) {
    screening.problems[voter_index[k]] = reason;
  }
}

// The backend's job: the inputs without a problem. job_index maps its inputs back.
MergeJob job_for(const MergeRequest& request, const std::vector<std::string>& problems,
                 std::vector<size_t>& job_index) {
  MergeJob job;
  job.threads = request.threads;
  job.sparse = request.sparse;
  job.format = request.format;
  job.failure_mode = request.failure_mode;
  job.fast_path = request.fast_path;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (!problems[i].empty()) continue;
    job.inputs.push_back(request.inputs[i]);
    job_index.push_back(i);
  }
  return job;
}

// Whether the output may replace what is there, by the failure mode; an error says why not.
Result<> check_outcome(const MergeRequest& request, const MergeOutcome& outcome,
                       const MergeReport& report) {
  std::string listing;
  for (const auto& skip : outcome.skipped)
    listing += fmt::format("\n  {}: {}", skip.path, skip.reason);
  if (!merge_should_write(request.failure_mode, outcome.merged, outcome.skipped.size())) {
    if (outcome.merged == 0) {
      return fail("no profile could be merged; {} left as it was:{}", request.output.string(),
                  listing);
    }
    return fail("{} of {} inputs cannot be merged (--failure-mode=any); {} left as it was:{}",
                outcome.skipped.size(), outcome.inputs, request.output.string(), listing);
  }
  if (!report.wrote_output) {
    return fail("cannot write {}: {}", request.output.string(),
                report.write_error.empty() ? "the backend wrote nothing" : report.write_error);
  }
  return {};
}

}  // namespace

Result<MergeOutcome> merge_profiles(const MergeRequest& request, BackendSet& backends) {
  MergeOutcome outcome;
  outcome.output = request.output;
  outcome.inputs = request.inputs.size();
  Screening screening = read_headers(request.inputs);
  std::vector<BackendInfo> available;
  KPGO_TRY_BIND(backend, pick_backend(screening, request.consumer_major, backends, available));
  outcome.backend = (*backend)->info();
  spdlog::debug("merging with LLVM {} (raw version {}, writes indexed version {})",
                outcome.backend.llvm_version, outcome.backend.raw_version,
                outcome.backend.indexed_version);
  leave_out_unfit(screening, outcome.backend, available, request.build_tree);
  auto& problems = screening.problems;
  std::vector<size_t> job_index;
  MergeJob job = job_for(request, problems, job_index);
  // Named before the temporary output exists: a crash from then on says what it interrupted.
  std::optional<CurrentActivity> activity;
  if (!job.inputs.empty()) {
    activity.emplace(fmt::format("merging {} inputs (the first {}) into {}", job.inputs.size(),
                                 job.inputs.front().path, request.output.string()));
  }
  KPGO_TRY_BIND(file, AtomicFile::create(request.output));
  job.output_path = file->temp_path().string();

  MergeReport report;
  // Under `any` one bad input already decides the outcome: LLVM need not read the rest.
  size_t early_failures = request.inputs.size() - job.inputs.size();
  if (!job.inputs.empty() && (request.failure_mode != FailureMode::any || early_failures == 0)) {
    report = (*backend)->merge(job);
  }
  activity.reset();
  for (const auto& failure : report.failures) problems[job_index[failure.input]] = failure.reason;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (!problems[i].empty()) outcome.skipped.push_back({request.inputs[i].path, problems[i]});
  }
  outcome.merged = request.inputs.size() - outcome.skipped.size();
  outcome.warnings = std::move(report.warnings);
  outcome.fast_inputs = report.fast_inputs;
  outcome.stats = report.stats;
  for (const auto& note : report.notes) spdlog::debug("{}", note);
  spdlog::debug("{} of {} inputs folded by the fast path", report.fast_inputs, job.inputs.size());
  KPGO_TRY(check_outcome(request, outcome, report));
  KPGO_TRY(file->commit());
  return outcome;
}

}  // namespace kpgo::profile
