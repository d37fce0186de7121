// SPDX-License-Identifier: MIT
#include "raw_layout.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <unordered_map>

namespace kpgo::profile::fast {
namespace {

using DataRecord = llvm::RawInstrProf::ProfileData<uint64_t>;

// LLVM's raw reader warns about counts above this (they mean a corrupt or runaway counter), and
// everything at or below it stays clear of the writer's saturation and pseudo-count values.
constexpr uint64_t kLargestPlainCount = 1ULL << 56;
constexpr uint64_t kFoldableVariants =
    VARIANT_MASK_IR_PROF | VARIANT_MASK_CSIR_PROF | VARIANT_MASK_INSTR_ENTRY;

constexpr size_t kPointerOffset = offsetof(DataRecord, FunctionPointer);
constexpr size_t kValuesOffset = offsetof(DataRecord, Values);
static_assert(kValuesOffset == kPointerOffset + 8, "FunctionPointer and Values are adjacent");

template <typename T>
T load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

DataRecord record_at(std::span<const uint8_t> file, const RawHeader& header, uint64_t index) {
  alignas(DataRecord) uint8_t bytes[sizeof(DataRecord)];
  std::memcpy(bytes, file.data() + header.data_offset() + index * sizeof(DataRecord),
              sizeof(DataRecord));
  return *reinterpret_cast<const DataRecord*>(bytes);
}

// Counter pointers are relative to their own record (raw version 8 and later).
uint64_t counter_offset_of(const DataRecord& record, const RawHeader& header, uint64_t index) {
  return record.CounterPtr - (header.counters_delta - index * sizeof(DataRecord));
}

// The header words that fix a layout; the binary IDs and the names' load address may differ.
std::vector<uint64_t> layout_words(const RawHeader& header) {
  return {header.version | header.variant_flags,
          header.num_data,
          header.num_counters,
          header.padding_before_counters,
          header.padding_after_counters,
          header.names_size,
          header.counters_delta,
          header.value_kind_last};
}

struct Hasher {
  uint64_t state = 0xcbf29ce484222325ULL;
  void add(const uint8_t* data, size_t size) {
    size_t i = 0;
    for (; i + 8 <= size; i += 8) mix(load<uint64_t>(data + i));
    uint64_t tail = 0;
    std::memcpy(&tail, data + i, size - i);
    mix(tail ^ size);
  }
  void mix(uint64_t word) {
    state = (state ^ word) * 0x9e3779b97f4a7c15ULL;
    state ^= state >> 29;
  }
};

// The first count above the largest plain one, or 0 when there is none.
uint64_t first_large_count(std::span<const uint8_t> file, const RawHeader& header) {
  const uint8_t* counters = file.data() + header.counters_offset();
  // Every file is scanned and almost none has such a count: a branch-free maximum (which the
  // compiler vectorizes) first, the search only when there is one.
  uint64_t largest = 0;
  for (uint64_t i = 0; i < header.num_counters; ++i) {
    largest = std::max(largest, load<uint64_t>(counters + i * 8));
  }
  if (largest <= kLargestPlainCount) return 0;
  for (uint64_t i = 0; i < header.num_counters; ++i) {
    uint64_t count = load<uint64_t>(counters + i * 8);
    if (count > kLargestPlainCount) return count;
  }
  return 0;
}

// Why a valid raw profile cannot take the fast path, or "" when it can.
std::string fast_path_obstacle(std::span<const uint8_t> file, const RawHeader& header,
                               uint64_t large_count) {
  if (!header.pointers_64bit) return "a 32-bit profile";
  if (header.version != llvm::RawInstrProf::Version) {
    return "raw version " + std::to_string(header.version);
  }
  if (header.variant_flags & ~kFoldableVariants) return "a variant the fast path does not fold";
  if (header.num_bitmap_bytes || header.num_vtables || header.vnames_size) {
    return "MC/DC bitmaps or vtables";
  }
  if (header.value_kind_last != llvm::IPVK_Last) return "another set of value kinds";
  if (header.data_record_size != sizeof(DataRecord) || header.counter_size != 8) {
    return "an unexpected record layout";
  }
  if (header.num_data == 0) return "no data records";

  if (large_count) return "a count above 2^56";

  uint64_t cursor = header.value_data_offset();
  for (uint64_t i = 0; i < header.num_data; ++i) {
    DataRecord record = record_at(file, header, i);
    if (record.NumCounters == 0) return "a record without counters";
    if (counter_offset_of(record, header, i) % 8) return "unaligned counters";
    uint32_t kinds_with_sites = 0;
    for (uint32_t kind = 0; kind <= llvm::IPVK_Last; ++kind) {
      if (record.NumValueSites[kind] == 0) continue;
      if (kind >= kFoldedValueKinds) return "vtable value sites";
      ++kinds_with_sites;
    }
    if (kinds_with_sites == 0) continue;
    // The value data is in bounds (validate_raw_records); here it must also say exactly what
    // the data record says, one record per kind, or LLVM's reader would build other sites.
    uint32_t total_size = load<uint32_t>(file.data() + cursor);
    uint32_t num_kinds = load<uint32_t>(file.data() + cursor + 4);
    if (num_kinds != kinds_with_sites) return "value data that disagrees with its record";
    uint64_t at = cursor + 8;
    bool seen[kFoldedValueKinds] = {};
    for (uint32_t k = 0; k < num_kinds; ++k) {
      ValueKindBlock block = value_kind_block(file.data() + at);
      if (block.kind >= kFoldedValueKinds || seen[block.kind] ||
          block.sites != record.NumValueSites[block.kind]) {
        return "value data that disagrees with its record";
      }
      seen[block.kind] = true;
      at += block.size;
    }
    cursor += total_size;
  }
  // After the last record only zero padding: anything else would be a second profile.
  for (uint64_t at = cursor; at < file.size(); ++at) {
    if (file[at] != 0) return "more than one profile in the file";
  }
  return "";
}

// Groups inputs that are likely of one layout; Layout::matches then checks each file in full,
// so a sample of the data records (as large as the counters) is enough here, with the binary IDs.
uint64_t fingerprint_of(std::span<const uint8_t> file, const RawHeader& header) {
  constexpr uint64_t kRecordStride = 61;
  Hasher hasher;
  for (uint64_t word : layout_words(header)) hasher.mix(word);
  hasher.add(file.data() + header.header_size, header.binary_ids_size);
  hasher.add(file.data() + header.names_offset(), header.names_size);
  for (uint64_t i = 0; i < header.num_data; i += kRecordStride) {
    const uint8_t* record = file.data() + header.data_offset() + i * sizeof(DataRecord);
    hasher.add(record, kPointerOffset);
    hasher.add(record + kValuesOffset + 8, sizeof(DataRecord) - kValuesOffset - 8);
  }
  return hasher.state;
}

// Indexed and text inputs go to LLVM's readers whole; first they are checked where those
// readers trust the file.
Result<> validate_other_input(std::span<const uint8_t> file) {
  uint64_t magic = file.size() >= 8 ? load<uint64_t>(file.data()) : 0;
  if (magic == kIndexedMagic) {
    KPGO_TRY_BIND(header, validate_indexed_profile(file));
    return {};
  }
  if (!looks_like_text(file)) return {};  // LLVM refuses it as an unknown format
  return validate_text_profile(file, LLVM_VERSION_MAJOR >= 18);
}

}  // namespace

Screening screen_input(std::span<const uint8_t> file) {
  Screening screening;
  uint64_t magic = file.size() >= 8 ? load<uint64_t>(file.data()) : 0;
  if (magic != kRawMagic64 && magic != kRawMagic32) {
    if (auto valid = validate_other_input(file); !valid) screening.failure = valid.error().what();
    return screening;
  }
  screening.raw = true;
  auto header = parse_raw_header(file, file.size());
  if (!header) {
    screening.failure = header.error().what();
    return screening;
  }
  if (auto valid = validate_raw_records(file, *header); !valid) {
    screening.failure = valid.error().what();
    return screening;
  }
  uint64_t large_count = 0;
  if (header->pointers_64bit && header->counter_size == 8) {
    large_count = first_large_count(file, *header);
  }
#if LLVM_VERSION_MAJOR >= 18
  // This LLVM's reader flags such a count and llvm-profdata then counts the input as bad; it is
  // refused here, before inputs are dealt to threads, so that it does not take a place there.
  if (large_count) {
    screening.failure = llvm::toString(llvm::make_error<llvm::InstrProfError>(
        llvm::instrprof_error::counter_value_too_large, llvm::Twine(large_count)));
    return screening;
  }
#endif
  screening.header = *header;
  screening.not_fast = fast_path_obstacle(file, *header, large_count);
  if (screening.not_fast.empty()) screening.fingerprint = fingerprint_of(file, *header);
  return screening;
}

std::unique_ptr<Layout> Layout::build(std::span<const uint8_t> file, const RawHeader& header,
                                      std::string& why_not) {
  std::unique_ptr<Layout> layout(new Layout());
  layout->header_ = header;
  const uint8_t* names = file.data() + header.names_offset();
  layout->names_.assign(names, names + header.names_size);
  const uint8_t* records = file.data() + header.data_offset();
  layout->masked_records_.assign(records, records + header.num_data * sizeof(DataRecord));

  // LLVM's writer keys functions by name and hash. A function recorded twice (the kernel has
  // some) is merged into its first record, in file order; the fold gives both one place.
  struct KeyHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& key) const {
      return key.first ^ (key.second * 0x9e3779b97f4a7c15ULL);  // both are MD5-derived already
    }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, size_t, KeyHash> first_of;
  first_of.reserve(header.num_data);
  layout->records_.reserve(header.num_data);
  layout->function_pointers_.reserve(header.num_data);
  for (uint64_t i = 0; i < header.num_data; ++i) {
    DataRecord data = record_at(file, header, i);
    std::memset(layout->masked_records_.data() + i * sizeof(DataRecord) + kPointerOffset, 0, 16);
    layout->function_pointers_.push_back(data.FunctionPointer);
    Record record;
    record.name_ref = data.NameRef;
    record.hash = data.FuncHash;
    record.counter_offset = counter_offset_of(data, header, i);
    record.num_counters = data.NumCounters;
    for (uint32_t kind = 0; kind < kFoldedValueKinds; ++kind)
      record.sites[kind] = data.NumValueSites[kind];
    auto [known, fresh] = first_of.try_emplace({data.NameRef, data.FuncHash}, i);
    if (fresh) {
      record.fold_offset = layout->total_counts_;
      record.first_site = static_cast<uint32_t>(layout->total_sites_);
      layout->total_counts_ += data.NumCounters;
      layout->total_sites_ += record.sites[0] + record.sites[1];
    } else {
      const Record& first = layout->records_[known->second];
      if (first.num_counters != record.num_counters || first.sites[0] != record.sites[0] ||
          first.sites[1] != record.sites[1]) {
        why_not = "a function recorded twice with different counters or value sites";
        return nullptr;
      }
      record.fold_offset = first.fold_offset;
      record.first_site = first.first_site;
      record.repeat = true;
    }
    layout->records_.push_back(record);
  }

  if (llvm::Error error = layout->names_symtab_.create(llvm::StringRef(
          reinterpret_cast<const char*>(layout->names_.data()), layout->names_.size()))) {
    why_not = "its names section does not decode: " + llvm::toString(std::move(error));
    return nullptr;
  }
  for (const Record& record : layout->records_) {
    if (layout->name_of(record).empty()) {
      why_not = "a record whose name is not in the names section";
      return nullptr;
    }
  }
  // The raw reader maps every instrumented function's address to its name's MD5, in record
  // order; the same calls here give the same table, built once instead of once per file.
  for (size_t i = 0; i < layout->records_.size(); ++i) {
    if (layout->function_pointers_[i]) {
      layout->address_symtab_.mapAddress(layout->function_pointers_[i],
                                         layout->records_[i].name_ref);
    }
  }
  (void)layout->address_symtab_.getFunctionHashFromAddress(0);  // sorts it, before threads share it

  using llvm::InstrProfKind;
  InstrProfKind kind = (header.variant_flags & VARIANT_MASK_IR_PROF)
                           ? InstrProfKind::IRInstrumentation
                           : InstrProfKind::FrontendInstrumentation;
  if (header.variant_flags & VARIANT_MASK_CSIR_PROF) kind |= InstrProfKind::ContextSensitive;
  if (header.variant_flags & VARIANT_MASK_INSTR_ENTRY) {
    kind |= InstrProfKind::FunctionEntryInstrumentation;
  }
  layout->kind_ = kind;
  return layout;
}

bool Layout::matches(std::span<const uint8_t> file, const RawHeader& header) const {
  if (layout_words(header) != layout_words(header_)) return false;
  if (std::memcmp(file.data() + header.names_offset(), names_.data(), names_.size()) != 0) {
    return false;
  }
  const uint8_t* records = file.data() + header.data_offset();
  for (size_t i = 0; i < records_.size(); ++i) {
    const uint8_t* mine = masked_records_.data() + i * sizeof(DataRecord);
    const uint8_t* theirs = records + i * sizeof(DataRecord);
    if (std::memcmp(mine, theirs, kPointerOffset) != 0 ||
        std::memcmp(mine + kValuesOffset + 8, theirs + kValuesOffset + 8,
                    sizeof(DataRecord) - kValuesOffset - 8) != 0) {
      return false;
    }
  }
  return true;
}

Layout::Targets Layout::targets_for(std::span<const uint8_t> file, const RawHeader& header) const {
  Targets targets;
  targets.layout_ = this;
  const uint8_t* records = file.data() + header.data_offset() + kPointerOffset;
  bool uniform = true, have_delta = false;
  for (size_t i = 0; i < records_.size() && uniform; ++i) {
    uint64_t pointer = load<uint64_t>(records + i * sizeof(DataRecord));
    uint64_t reference = function_pointers_[i];
    if ((pointer == 0) != (reference == 0)) uniform = false;
    if (reference == 0) continue;
    if (!have_delta) {
      targets.delta_ = pointer - reference;
      have_delta = true;
    } else if (pointer - reference != targets.delta_) {
      uniform = false;
    }
  }
  if (uniform) return targets;
  targets.own_ = std::make_unique<llvm::InstrProfSymtab>();
  for (size_t i = 0; i < records_.size(); ++i) {
    uint64_t pointer = load<uint64_t>(records + i * sizeof(DataRecord));
    if (pointer) targets.own_->mapAddress(pointer, records_[i].name_ref);
  }
  return targets;
}

llvm::StringRef Layout::name_of(const Record& record) const {
#if LLVM_VERSION_MAJOR >= 19
  return names_symtab_.getFuncOrVarName(record.name_ref);
#else
  return names_symtab_.getFuncName(record.name_ref);
#endif
}

std::vector<llvm::object::BuildID> binary_ids_of(std::span<const uint8_t> file,
                                                 const RawHeader& header) {
  std::vector<llvm::object::BuildID> ids;
  // Validated before (validate_raw_records); an invalid section gives no IDs regardless.
  auto parsed = binary_id_bytes(file.subspan(header.header_size, header.binary_ids_size));
  if (!parsed) return ids;
  for (const auto& id : *parsed) ids.emplace_back(id.begin(), id.end());
  return ids;
}

}  // namespace kpgo::profile::fast
