// SPDX-License-Identifier: MIT
#include "raw_fold.hpp"

#include <cstring>
#include <optional>

#include "llvm/Support/MathExtras.h"

namespace kpgo::profile::fast {
namespace {

using ::InstrProfValueData;
using llvm::InstrProfValueSiteRecord;

uint64_t load_u64(const uint8_t* at) {
  uint64_t value;
  std::memcpy(&value, at, 8);
  return value;
}

uint32_t load_u32(const uint8_t* at) {
  uint32_t value;
  std::memcpy(&value, at, 4);
  return value;
}

InstrProfValueSiteRecord make_site(std::vector<InstrProfValueData>&& values) {
#if LLVM_VERSION_MAJOR >= 19
  return InstrProfValueSiteRecord(std::move(values));
#else
  return InstrProfValueSiteRecord(values.begin(), values.end());
#endif
}

std::string overflow_text() {
  return llvm::toString(
      llvm::make_error<llvm::InstrProfError>(llvm::instrprof_error::counter_overflow));
}

// What InstrProfRecord::merge and ::scale leave in a count: saturated, then held below the
// values LLVM reserves for pseudo counts.
uint64_t held(uint64_t value, bool& overflowed) {
  if (value > llvm::getInstrMaxCountValue()) {
    overflowed = true;
    return llvm::getInstrMaxCountValue();
  }
  return value;
}

// A count plus another, as InstrProfRecord::merge adds at weight 1.
uint64_t held_sum(uint64_t count, uint64_t other, bool& overflowed) {
  uint64_t sum;
  bool o = __builtin_add_overflow(count, other, &sum);
  if (o) sum = UINT64_MAX;
  sum = held(sum, o);
  overflowed |= o;
  return sum;
}

}  // namespace

void Fold::add(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
               const std::string& path, std::vector<std::string>& warnings) {
  const auto& records = layout_->records();
  if (files_ == 0) {
    counts_.assign(layout_->total_counts(), 0);
    sites_.assign(layout_->total_sites(), InstrProfValueSiteRecord());
  }
  std::vector<bool> overflowed(records.size(), false);
  add_counts(file, header, weight, overflowed);
  add_values(file, header, weight, overflowed);
  for (size_t r = 0; r < records.size(); ++r) {
    if (!overflowed[r]) continue;
    warnings.push_back(path + ": function " + layout_->name_of(records[r]).str() + ": " +
                       overflow_text());
  }
  binary_ids_.push_back(binary_ids_of(file, header));
  ++files_;
}

void Fold::add_counts(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
                      std::vector<bool>& overflowed) {
  const auto& records = layout_->records();
  const uint8_t* counters = file.data() + header.counters_offset();
  bool first = files_ == 0;
  for (size_t r = 0; r < records.size(); ++r) {
    const Layout::Record& record = records[r];
    const uint8_t* source = counters + record.counter_offset;
    uint64_t* target = counts_.data() + record.fold_offset;
    bool overflow = false;
    bool taken = first && !record.repeat;  // LLVM's "new record": taken as read, then scaled
    if (taken && weight == 1) {
      // A new record is taken as read, and unscaled at weight 1.
      std::memcpy(target, source, record.num_counters * 8);
    } else if (taken) {
      for (uint32_t j = 0; j < record.num_counters; ++j) {
        bool o = false;
        target[j] = held(llvm::SaturatingMultiply(load_u64(source + j * 8), weight, &o), o);
        overflow |= o;
      }
    } else if (weight == 1) {
      for (uint32_t j = 0; j < record.num_counters; ++j) {
        target[j] = held_sum(target[j], load_u64(source + j * 8), overflow);
      }
    } else {
      for (uint32_t j = 0; j < record.num_counters; ++j) {
        bool o = false;
        target[j] =
            held(llvm::SaturatingMultiplyAdd(load_u64(source + j * 8), weight, target[j], &o), o);
        overflow |= o;
      }
    }
    if (overflow) overflowed[r] = true;
  }
}

void Fold::add_values(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
                      std::vector<bool>& overflowed) {
  const auto& records = layout_->records();
  std::optional<Layout::Targets> targets;  // made at the first value, as few files have none
  bool first = files_ == 0;
  uint64_t cursor = header.value_data_offset();
  std::vector<InstrProfValueData> values;
  for (size_t r = 0; r < records.size(); ++r) {
    const Layout::Record& record = records[r];
    if (!record.has_values()) continue;
    bool overflow = false;
    auto warn = [&](llvm::instrprof_error) { overflow = true; };
    // ValueProfData: total size, kind count, then per kind its sites' value counts and values,
    // in the layout screen_input checked.
    const uint8_t* data = file.data() + cursor;
    uint32_t num_kinds = load_u32(data + 4);
    const uint8_t* at = data + 8;
    for (uint32_t k = 0; k < num_kinds; ++k) {
      ValueKindBlock block = value_kind_block(at);
      uint32_t kind = block.kind;
      uint32_t num_sites = block.sites;
      const uint8_t* site_counts = block.site_counts;
      const uint8_t* value = block.values;
      InstrProfValueSiteRecord* sites =
          sites_.data() + record.first_site + (kind == 0 ? 0 : record.sites[0]);
      for (uint32_t s = 0; s < num_sites; ++s) {
        uint8_t n = site_counts[s];
        InstrProfValueSiteRecord& site = sites[s];
        bool taken = first && !record.repeat;
        if (!taken && n == 0 && site.ValueData.empty()) continue;  // merging nothing into nothing
        values.resize(n);
        for (uint8_t v = 0; v < n; ++v, value += 16) {
          uint64_t target = load_u64(value);
          if (kind == llvm::IPVK_IndirectCallTarget) {
            if (!targets) targets.emplace(layout_->targets_for(file, header));
            target = (*targets)(target);
          }
          values[v].Value = target;
          values[v].Count = load_u64(value + 8);
        }
        if (taken) {
          site = make_site(std::move(values));
          if (weight > 1) site.scale(weight, 1, warn);
        } else {
          InstrProfValueSiteRecord incoming = make_site(std::move(values));
          site.merge(incoming, weight, warn);
        }
        site.sortByCount();
        values.clear();
      }
      at += block.size;
    }
    cursor += load_u32(data);
    if (overflow) overflowed[r] = true;
  }
}

void Fold::absorb(Fold& other, std::vector<std::string>& warnings) {
  if (other.empty()) return;
  if (empty()) {
    counts_ = std::move(other.counts_);
    sites_ = std::move(other.sites_);
    binary_ids_ = std::move(other.binary_ids_);
    files_ = other.files_;
    other.files_ = 0;
    return;
  }
  const auto& records = layout_->records();
  for (const Layout::Record& record : records) {
    if (record.repeat) continue;  // its place is its first record's
    bool overflow = false;
    auto warn = [&](llvm::instrprof_error) { overflow = true; };
    uint64_t* target = counts_.data() + record.fold_offset;
    const uint64_t* source = other.counts_.data() + record.fold_offset;
    for (uint32_t j = 0; j < record.num_counters; ++j)
      target[j] = held_sum(target[j], source[j], overflow);
    uint32_t end = record.first_site + record.sites[0] + record.sites[1];
    for (uint32_t s = record.first_site; s < end; ++s) {
      if (sites_[s].ValueData.empty() && other.sites_[s].ValueData.empty()) continue;
      sites_[s].merge(other.sites_[s], 1, warn);
      sites_[s].sortByCount();
    }
    if (overflow) warnings.push_back(overflow_text());
  }
  for (auto& ids : other.binary_ids_) binary_ids_.push_back(std::move(ids));
  files_ += other.files_;
  other.files_ = 0;
  other.counts_.clear();
  other.sites_.clear();
  other.binary_ids_.clear();
}

void Fold::hand_to(llvm::InstrProfWriter& writer, std::vector<std::string>& warnings) {
  if (empty()) return;
  if (llvm::Error error = writer.mergeProfileKind(layout_->kind())) {
    warnings.push_back(llvm::toString(std::move(error)));
  }
  for (const Layout::Record& record : layout_->records()) {
    if (record.repeat) continue;  // folded into its first record
    const uint64_t* counts = counts_.data() + record.fold_offset;
    llvm::NamedInstrProfRecord named(layout_->name_of(record), record.hash,
                                     std::vector<uint64_t>(counts, counts + record.num_counters));
    const InstrProfValueSiteRecord* sites = sites_.data() + record.first_site;
    for (uint32_t kind = 0; kind < kFoldedValueKinds; ++kind) {
      if (record.sites[kind] == 0) continue;
      named.reserveSites(kind, record.sites[kind]);
      for (uint32_t s = 0; s < record.sites[kind]; ++s, ++sites) {
        std::vector<InstrProfValueData> values(sites->ValueData.begin(), sites->ValueData.end());
#if LLVM_VERSION_MAJOR >= 19
        named.addValueData(kind, s, values, nullptr);
#else
        named.addValueData(kind, s, values.data(), static_cast<uint32_t>(values.size()), nullptr);
#endif
      }
    }
    writer.addRecord(std::move(named), 1, [&](llvm::Error error) {
      warnings.push_back(llvm::toString(std::move(error)));
    });
  }
  for (const auto& ids : binary_ids_) writer.addBinaryIds(ids);
  counts_.clear();
  sites_.clear();
  binary_ids_.clear();
  files_ = 0;
}

}  // namespace kpgo::profile::fast
