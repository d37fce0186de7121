// SPDX-License-Identifier: MIT
// The merge backend for one LLVM major: built once per major against that LLVM's ProfileData,
// so that the profile it writes is exactly what that LLVM's llvm-profdata would write.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "kpgo/profile/backend.hpp"
#include "kpgo/system/mapped_file.hpp"
#include "llvm/Config/llvm-config.h"
#include "llvm/ProfileData/InstrProf.h"
#include "llvm/ProfileData/InstrProfReader.h"
#include "llvm/ProfileData/InstrProfWriter.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/StringSaver.h"
#include "llvm/Support/VirtualFileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "raw_fold.hpp"

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
  auto warn = [&](llvm::Error e) { reader_warnings.push_back(llvm::toString(std::move(e))); };
#if LLVM_VERSION_MAJOR > 19
  // After 19 the reader also takes a build-ID fetcher for debuginfod correlation: none here.
  return llvm::InstrProfReader::create(path, *fs, nullptr, nullptr,
                                       llvm::InstrProfCorrelator::ProfCorrelatorKind::NONE, warn);
#else
  return llvm::InstrProfReader::create(path, *fs, nullptr, warn);
#endif
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
  std::vector<std::string> notes;
  // The context's leading inputs that have a layout: one fold per layout (vmlinux's, each
  // module's), in the order each layout first came. Handed to the writer in that order they leave
  // it as reading the inputs one by one would: a layout's later files add no new functions, and
  // the merges of one function's records (counts, value sites) do not depend on their order.
  std::vector<std::unique_ptr<fast::Fold>> folds;
  bool pure = false;  // every input of the context is in a fold
  size_t fast_inputs = 0;

  fast::Fold& fold_for(const fast::Layout& layout) {
    for (auto& fold : folds) {
      if (&fold->layout() == &layout) return *fold;
    }
    return *folds.emplace_back(std::make_unique<fast::Fold>(layout));
  }
  void hand_folds_to_writer() {
    for (auto& fold : folds) fold->hand_to(*writer, warnings);
  }
  // One fold only, of this layout: contexts like that merge fold into fold.
  bool single_fold_of(const fast::Layout* layout) const {
    return pure && folds.size() == 1 && &folds.front()->layout() == layout;
  }
};

// Runs fn(0..count-1) on up to `workers` threads.
template <typename Fn>
void parallel_for(size_t count, size_t workers, Fn fn) {
  workers = std::max<size_t>(1, std::min(workers, count));
  if (workers == 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < count;) fn(i);
    });
  }
  for (auto& thread : threads) thread.join();
}

// The layouts of the inputs, each built once, from the first screened file of its fingerprint:
// while one thread builds a layout, the others go on screening.
class LayoutShelf {
 public:
  void offer(const fast::Screening& screen, std::span<const uint8_t> file,
             const std::string& path) {
    if (!screen.raw || !screen.failure.empty() || !screen.not_fast.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!by_fingerprint_.try_emplace(screen.fingerprint, nullptr).second) return;
    }
    std::string why_not;
    std::unique_ptr<fast::Layout> layout = fast::Layout::build(file, screen.header, why_not);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!layout) notes_.push_back(path + ": generic path: " + why_not);
    by_fingerprint_[screen.fingerprint] = std::move(layout);
  }
  const fast::Layout* find(uint64_t fingerprint) const {
    auto it = by_fingerprint_.find(fingerprint);
    return it == by_fingerprint_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> take_notes() { return std::move(notes_); }

 private:
  std::mutex mutex_;
  std::map<uint64_t, std::unique_ptr<fast::Layout>> by_fingerprint_;
  std::vector<std::string> notes_;
};

// Which inputs may be folded, and by which layout.
struct FastPlan {
  std::vector<const fast::Layout*> layout_of;  // per input; null: the generic path
  std::vector<std::string> notes;
};

FastPlan plan_fast_path(const MergeJob& job, const std::vector<fast::Screening>& screens,
                        const std::vector<size_t>& good, LayoutShelf& shelf) {
  FastPlan plan;
  plan.layout_of.assign(job.inputs.size(), nullptr);
  if (!job.fast_path) return plan;
  plan.notes = shelf.take_notes();
  for (size_t i : good) {
    const fast::Screening& screen = screens[i];
    if (!screen.raw) continue;
    if (!screen.not_fast.empty()) {
      plan.notes.push_back(job.inputs[i].path + ": generic path: " + screen.not_fast);
      continue;
    }
    plan.layout_of[i] = shelf.find(screen.fingerprint);
  }
  return plan;
}

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
  // A record's name points into the reader's symbol table, which a raw reader replaces when the
  // file holds another profile after the first (`cat a.profraw b.profraw`): the names must
  // outlive that, as long as the records do.
  llvm::BumpPtrAllocator name_memory;
  llvm::UniqueStringSaver names(name_memory);
  std::vector<llvm::NamedInstrProfRecord> records;
  for (llvm::NamedInstrProfRecord& record : *reader) {
    record.Name = names.save(record.Name);
    records.push_back(std::move(record));
  }
  if (reader->hasError()) {
    context.failures.push_back({index, llvm::toString(reader->getError())});
    return;
  }
  // What the reader only warns about (a count that suggests corrupt data), llvm-profdata counts
  // as a bad input: so does kpgo, and the input contributes nothing.
  if (!reader_warnings.empty()) {
    context.failures.push_back({index, reader_warnings.front()});
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
        {index,
         "its instrumentation kind (IR, front-end, context-sensitive) differs from the "
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
      note_writer_warning(
          context, input.path,
          llvm::createStringError(llvm::inconvertibleErrorCode(), "function %s: %s",
                                  function.c_str(), llvm::toString(std::move(error)).c_str()));
    });
  }
  context.writer->addBinaryIds(binary_ids);
}

void merge_into(WriterContext& target, WriterContext& source, bool folds) {
  for (auto& failure : source.failures) target.failures.push_back(std::move(failure));
  for (auto& warning : source.warnings) target.warnings.push_back(std::move(warning));
  if (folds) {
    target.folds.front()->absorb(*source.folds.front(), target.warnings);
    return;
  }
  if (llvm::Error error = target.writer->mergeProfileKind(source.writer->getProfileKind())) {
    target.warnings.push_back("profile kinds differ between threads: " +
                              llvm::toString(std::move(error)));
  }
  target.writer->mergeRecordsFromWriter(std::move(*source.writer), [&](llvm::Error error) {
    target.warnings.push_back(llvm::toString(std::move(error)));
  });
}

// One writer context's inputs, in order. A leading run of inputs with a layout is folded, one
// fold per layout: given to the still empty writer, the folds leave it as reading those inputs
// one by one would. From the first input without a layout on, LLVM reads the rest in order.
void run_context(const MergeJob& job, const std::vector<fast::Screening>& screens,
                 const FastPlan& plan, const std::vector<size_t>& inputs, WriterContext& context) {
  size_t k = 0;
  for (; k < inputs.size(); ++k) {
    size_t i = inputs[k];
    const fast::Layout* layout = plan.layout_of[i];
    if (!layout) break;
    auto mapped = MappedFile::open(job.inputs[i].path);
    if (!mapped) {
      context.failures.push_back({i, mapped.error().what()});
      continue;
    }
    if (!layout->matches(mapped->bytes(), screens[i].header)) {
      context.notes.push_back(job.inputs[i].path +
                              ": generic path: its records differ from those of " +
                              "profiles with the same fingerprint");
      break;
    }
    context.fold_for(*layout).add(mapped->bytes(), screens[i].header, job.inputs[i].weight,
                                  job.inputs[i].path, context.warnings);
    ++context.fast_inputs;
  }
  context.pure = k == inputs.size();
  if (context.pure) return;
  context.hand_folds_to_writer();
  for (; k < inputs.size(); ++k) load_input(job, inputs[k], context);
}

// Adds one function to the stats; returns whether any of its counts is non-zero.
bool add_record_stats(const llvm::InstrProfRecord& record, uint64_t hash, ProfileStats& stats) {
  bool any_count = std::any_of(record.Counts.begin(), record.Counts.end(),
                               [](uint64_t count) { return count != 0; });
  ++stats.functions;
  if (llvm::NamedInstrProfRecord::hasCSFlagInHash(hash)) ++stats.cs_functions;
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

// Milliseconds per merge phase, for `kpgo merge -v`: where a merge's time goes.
class PhaseClock {
 public:
  void lap(std::string_view phase) {
    auto now = std::chrono::steady_clock::now();
    laps_ += fmt_lap(phase, std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }
  std::string summary() const { return "time per phase:" + laps_; }

 private:
  static std::string fmt_lap(std::string_view phase, double ms) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, " %.*s %.1f ms;", static_cast<int>(phase.size()),
                  phase.data(), ms);
    return buffer;
  }
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::string laps_;
};

// Screens every input (-j bounds it: -j 1 screens on the calling thread too) and offers each to
// the fast path's layouts. Returns the inputs that passed; the others go to `failures`.
std::vector<size_t> screen_inputs(const MergeJob& job, std::vector<fast::Screening>& screens,
                                  LayoutShelf& shelf, std::vector<InputFailure>& failures) {
  size_t screeners = job.threads ? job.threads : std::thread::hardware_concurrency();
  parallel_for(job.inputs.size(), screeners, [&](size_t i) {
    auto mapped = MappedFile::open(job.inputs[i].path);
    if (!mapped) {
      screens[i].failure = mapped.error().what();
      return;
    }
    screens[i] = fast::screen_input(mapped->bytes());
    if (job.fast_path) shelf.offer(screens[i], mapped->bytes(), job.inputs[i].path);
  });
  std::vector<size_t> good;
  for (size_t i = 0; i < job.inputs.size(); ++i) {
    if (screens[i].failure.empty()) {
      good.push_back(i);
    } else {
      failures.push_back({i, screens[i].failure});
    }
  }
  return good;
}

// Writer threads: -j, or by default one per two inputs up to the cores; at least one, and no
// more than there are inputs.
size_t writer_threads(const MergeJob& job, size_t inputs) {
  size_t threads = job.threads;
  if (threads == 0) {
    threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), (inputs + 1) / 2);
  }
  return std::max<size_t>(1, std::min(threads, std::max<size_t>(1, inputs)));
}

// Merges every context into the first: pairwise, halving each round; an odd one out joins the
// first, as in llvm-profdata. Folds of one layout merge among themselves and reach LLVM's writer
// once.
void combine_contexts(std::vector<WriterContext>& contexts) {
  size_t threads = contexts.size();
  const fast::Layout* first =
      contexts[0].folds.empty() ? nullptr : &contexts[0].folds.front()->layout();
  bool one_fold = first && std::all_of(contexts.begin(), contexts.end(),
                                       [&](const auto& c) { return c.single_fold_of(first); });
  if (!one_fold) {
    for (auto& context : contexts) {
      if (context.pure) context.hand_folds_to_writer();
    }
  }
  for (size_t end = threads, mid = threads / 2; mid > 0; end = mid, mid /= 2) {
    parallel_for(mid, mid, [&](size_t i) { merge_into(contexts[i], contexts[i + mid], one_fold); });
    if (end & 1) merge_into(contexts[0], contexts[end - 1], one_fold);
  }
  if (one_fold) contexts[0].hand_folds_to_writer();
}

// The merged context's failures (the screening's too), warnings and statistics into the report.
void report_merged(const MergeJob& job, std::vector<WriterContext>& contexts,
                   std::vector<InputFailure> early_failures, MergeReport& report) {
  for (auto& context : contexts) {
    report.fast_inputs += context.fast_inputs;
    for (auto& note : context.notes) report.notes.push_back(std::move(note));
  }
  WriterContext& merged = contexts[0];
  for (auto& failure : early_failures) merged.failures.push_back(std::move(failure));
  std::sort(merged.failures.begin(), merged.failures.end(),
            [](const InputFailure& a, const InputFailure& b) { return a.input < b.input; });
  std::sort(merged.warnings.begin(), merged.warnings.end());
  report.failures = std::move(merged.failures);
  report.warnings = std::move(merged.warnings);
  for (auto& function : merged.writer->getProfileData()) {
    for (auto& [hash, record] : function.getValue()) {
      bool written = !job.sparse || std::any_of(record.Counts.begin(), record.Counts.end(),
                                                [](uint64_t count) { return count != 0; });
      if (written) add_record_stats(record, hash, report.stats);
    }
  }
}

// Writes the merged profile to the job's (temporary) output, indexed or text.
void write_output(const MergeJob& job, llvm::InstrProfWriter& writer, MergeReport& report) {
  std::error_code ec;
  bool text = job.format == OutputFormat::text;
  llvm::raw_fd_ostream out(job.output_path, ec,
                           text ? llvm::sys::fs::OF_TextWithCRLF : llvm::sys::fs::OF_None);
  if (ec) {
    report.write_error = ec.message();
    return;
  }
  llvm::Error error = text ? writer.writeText(out) : writer.write(out);
  out.close();
  if (error) {
    report.write_error = llvm::toString(std::move(error));
  } else if (out.has_error()) {
    report.write_error = out.error().message();
    out.clear_error();
  } else {
    report.wrote_output = true;
  }
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
      if (add_record_stats(record, record.Hash, contents.stats))
        contents.hot_functions.push_back(record.Name.str());
    }
    if (reader->hasError()) contents.error = llvm::toString(reader->getError());
    return contents;
  }

  BackendInfo info() const override {
    return {LLVM_VERSION_MAJOR, LLVM_VERSION_STRING, llvm::RawInstrProf::Version,
            llvm::IndexedInstrProf::Version};
  }

  MergeReport merge(const MergeJob& job) override {
    MergeReport report;
    PhaseClock clock;
    std::vector<fast::Screening> screens(job.inputs.size());
    LayoutShelf shelf;
    std::vector<InputFailure> early_failures;
    // The inputs that passed are merged as llvm-profdata would merge them alone.
    std::vector<size_t> good = screen_inputs(job, screens, shelf, early_failures);
    size_t threads = writer_threads(job, good.size());
    clock.lap("screen and layouts");

    FastPlan plan = plan_fast_path(job, screens, good, shelf);
    report.notes = std::move(plan.notes);
    std::vector<WriterContext> contexts(threads);
    for (auto& context : contexts) context.writer = make_writer(job.sparse);
    parallel_for(threads, threads, [&](size_t t) {
      std::vector<size_t> inputs;
      for (size_t k = t; k < good.size(); k += threads) inputs.push_back(good[k]);
      run_context(job, screens, plan, inputs, contexts[t]);
    });
    clock.lap("fold and read");
    combine_contexts(contexts);
    clock.lap("combine");
    report_merged(job, contexts, std::move(early_failures), report);
    clock.lap("stats");

    size_t merged_count = job.inputs.size() - report.failures.size();
    if (!merge_should_write(job.failure_mode, merged_count, report.failures.size())) return report;
    write_output(job, *contexts[0].writer, report);
    clock.lap("write");
    report.notes.push_back(clock.summary());
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
