// SPDX-License-Identifier: MIT
// The merge backend for one LLVM major: built once per major against that LLVM's ProfileData,
// so that the profile it writes is exactly what that LLVM's llvm-profdata would write.

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "kpgo/profile/backend.hpp"
#include "llvm/Config/llvm-config.h"
#include "llvm/ProfileData/InstrProf.h"
#include "llvm/ProfileData/InstrProfReader.h"
#include "llvm/ProfileData/InstrProfWriter.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/VirtualFileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace kpgo::profile {
namespace {

// llvm-profdata's defaults for temporal profile traces; they shape the writer's output only for
// profiles that carry traces, but matching them keeps the output identical when they do.
constexpr uint64_t kTraceReservoirSize = 100;
constexpr uint64_t kMaxTraceLength = 10000;

std::unique_ptr<llvm::InstrProfWriter> make_writer(bool sparse) {
#if LLVM_VERSION_MAJOR >= 18
  return std::make_unique<llvm::InstrProfWriter>(sparse, kTraceReservoirSize, kMaxTraceLength);
#else
  (void)kTraceReservoirSize;
  (void)kMaxTraceLength;
  return std::make_unique<llvm::InstrProfWriter>(sparse);
#endif
}

llvm::Expected<std::unique_ptr<llvm::InstrProfReader>> open_reader(
    const std::string& path, std::vector<std::string>& reader_warnings) {
#if LLVM_VERSION_MAJOR >= 18
  auto fs = llvm::vfs::getRealFileSystem();
  return llvm::InstrProfReader::create(path, *fs, nullptr, [&](llvm::Error e) {
    reader_warnings.push_back(llvm::toString(std::move(e)));
  });
#else
  (void)reader_warnings;
  return llvm::InstrProfReader::create(path);
#endif
}

// One writer per thread, as in llvm-profdata: inputs are dealt round-robin and the writers are
// merged pairwise at the end.
struct WriterContext {
  std::unique_ptr<llvm::InstrProfWriter> writer;
  std::vector<InputFailure> failures;
  std::vector<std::string> warnings;
};

void note_writer_warning(WriterContext& context, const std::string& input, llvm::Error error) {
  context.warnings.push_back(input + ": " + llvm::toString(std::move(error)));
}

// Reads the whole input before the writer sees any record: a file that turns out corrupt
// halfway contributes nothing, rather than the records before the damage.
void load_input(const MergeJob& job, size_t index, WriterContext& context) {
  const WeightedInput& input = job.inputs[index];
  std::vector<std::string> reader_warnings;
  auto reader_or_error = open_reader(input.path, reader_warnings);
  if (!reader_or_error) {
    context.failures.push_back({index, llvm::toString(reader_or_error.takeError())});
    return;
  }
  std::unique_ptr<llvm::InstrProfReader> reader = std::move(*reader_or_error);
  std::vector<llvm::NamedInstrProfRecord> records;
  for (llvm::NamedInstrProfRecord& record : *reader) records.push_back(std::move(record));
  if (reader->hasError()) {
    context.failures.push_back({index, llvm::toString(reader->getError())});
    return;
  }
  std::vector<llvm::object::BuildID> binary_ids;
  if (llvm::Error error = reader->readBinaryIds(binary_ids)) {
    context.failures.push_back({index, llvm::toString(std::move(error))});
    return;
  }
  if (llvm::Error error = context.writer->mergeProfileKind(reader->getProfileKind())) {
    llvm::consumeError(std::move(error));
    context.failures.push_back(
        {index, "its instrumentation kind (IR, front-end, context-sensitive) differs from the "
                "other inputs'; such profiles cannot be merged"});
    return;
  }
  for (llvm::NamedInstrProfRecord& record : records) {
    bool reported = false;
    std::string function = record.Name.str();
    context.writer->addRecord(std::move(record), input.weight, [&](llvm::Error error) {
      if (reported) {
        llvm::consumeError(std::move(error));
        return;
      }
      reported = true;
      note_writer_warning(context, input.path,
                          llvm::createStringError(llvm::inconvertibleErrorCode(),
                                                  "function %s: %s", function.c_str(),
                                                  llvm::toString(std::move(error)).c_str()));
    });
  }
  context.writer->addBinaryIds(binary_ids);
  for (auto& warning : reader_warnings) context.warnings.push_back(input.path + ": " + warning);
}

void merge_into(WriterContext& target, WriterContext& source) {
  for (auto& failure : source.failures) target.failures.push_back(std::move(failure));
  for (auto& warning : source.warnings) target.warnings.push_back(std::move(warning));
  if (llvm::Error error = target.writer->mergeProfileKind(source.writer->getProfileKind())) {
    target.warnings.push_back("profile kinds differ between threads: " +
                              llvm::toString(std::move(error)));
  }
  target.writer->mergeRecordsFromWriter(std::move(*source.writer), [&](llvm::Error error) {
    target.warnings.push_back(llvm::toString(std::move(error)));
  });
}

// Adds one function to the stats; returns whether any of its counts is non-zero.
bool add_record_stats(const llvm::InstrProfRecord& record, ProfileStats& stats) {
  bool any_count = std::any_of(record.Counts.begin(), record.Counts.end(),
                          [](uint64_t count) { return count != 0; });
  ++stats.functions;
  if (any_count) ++stats.functions_with_counts;
  stats.counters += record.Counts.size();
  for (uint64_t count : record.Counts) stats.max_count = std::max(stats.max_count, count);
  stats.indirect_call_sites += record.getNumValueSites(llvm::IPVK_IndirectCallTarget);
  stats.memop_sites += record.getNumValueSites(llvm::IPVK_MemOPSize);
  for (uint32_t kind = llvm::IPVK_First; kind <= llvm::IPVK_Last; ++kind) {
    stats.value_sites += record.getNumValueSites(kind);
  }
  return any_count;
}

class LlvmBackend final : public Backend {
 public:
  ProfileContents read(const std::string& path) override {
    ProfileContents contents;
    std::vector<std::string> reader_warnings;
    auto reader_or_error = open_reader(path, reader_warnings);
    if (!reader_or_error) {
      contents.error = llvm::toString(reader_or_error.takeError());
      return contents;
    }
    auto reader = std::move(*reader_or_error);
    for (const llvm::NamedInstrProfRecord& record : *reader) {
      contents.functions.push_back(record.Name.str());
      if (add_record_stats(record, contents.stats)) contents.hot_functions.push_back(record.Name.str());
    }
    if (reader->hasError()) contents.error = llvm::toString(reader->getError());
    return contents;
  }

  BackendInfo info() const override {
    return {LLVM_VERSION_MAJOR, LLVM_VERSION_STRING, llvm::RawInstrProf::Version,
            llvm::IndexedInstrProf::Version};
  }

  MergeReport merge(const MergeJob& job) override {
    size_t threads = job.threads;
    if (threads == 0) {
      threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()),
                                 (job.inputs.size() + 1) / 2);
    }
    threads = std::max<size_t>(1, std::min(threads, std::max<size_t>(1, job.inputs.size())));

    std::vector<WriterContext> contexts(threads);
    for (auto& context : contexts) context.writer = make_writer(job.sparse);

    if (threads == 1) {
      for (size_t i = 0; i < job.inputs.size(); ++i) load_input(job, i, contexts[0]);
    } else {
      std::vector<std::thread> workers;
      for (size_t t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
          for (size_t i = t; i < job.inputs.size(); i += threads) load_input(job, i, contexts[t]);
        });
      }
      for (auto& worker : workers) worker.join();
      // Pairwise, halving each round; an odd one out joins the first.
      for (size_t end = threads, mid = threads / 2; mid > 0; end = mid, mid /= 2) {
        std::vector<std::thread> mergers;
        for (size_t i = 0; i < mid; ++i) {
          mergers.emplace_back([&, i] { merge_into(contexts[i], contexts[i + mid]); });
        }
        for (auto& merger : mergers) merger.join();
        if (end & 1) merge_into(contexts[0], contexts[end - 1]);
      }
    }

    WriterContext& merged = contexts[0];
    MergeReport report;
    std::sort(merged.failures.begin(), merged.failures.end(),
              [](const InputFailure& a, const InputFailure& b) { return a.input < b.input; });
    std::sort(merged.warnings.begin(), merged.warnings.end());
    report.failures = std::move(merged.failures);
    report.warnings = std::move(merged.warnings);
    for (auto& function : merged.writer->getProfileData()) {
      for (auto& [hash, record] : function.getValue()) {
        bool written = !job.sparse || std::any_of(record.Counts.begin(), record.Counts.end(),
                                                  [](uint64_t count) { return count != 0; });
        if (written) add_record_stats(record, report.stats);
      }
    }

    size_t merged_count = job.inputs.size() - report.failures.size();
    if (!merge_should_write(job.failure_mode, merged_count, report.failures.size())) return report;

    std::error_code ec;
    bool text = job.format == OutputFormat::text;
    llvm::raw_fd_ostream out(job.output_path, ec,
                             text ? llvm::sys::fs::OF_TextWithCRLF : llvm::sys::fs::OF_None);
    if (ec) {
      report.write_error = ec.message();
      return report;
    }
    llvm::Error error = text ? merged.writer->writeText(out) : merged.writer->write(out);
    out.close();
    if (error) {
      report.write_error = llvm::toString(std::move(error));
    } else if (out.has_error()) {
      report.write_error = out.error().message();
      out.clear_error();
    } else {
      report.wrote_output = true;
    }
    return report;
  }
};

}  // namespace
}  // namespace kpgo::profile

extern "C" __attribute__((visibility("default"))) kpgo::profile::Backend*
kpgo_profile_backend_create(unsigned abi) {
  if (abi != kpgo::profile::kBackendAbi) return nullptr;
  return new kpgo::profile::LlvmBackend();
}
