// SPDX-License-Identifier: MIT
#pragma once

// The fast path's view of raw profiles. Profiles of one binary share everything but their counts,
// value data and (with KASLR or ASLR) the addresses of their functions: one Layout describes that
// shared part once, and a fold (raw_fold.hpp) then only adds numbers.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kpgo/profile/format.hpp"
#include "llvm/Config/llvm-config.h"
#include "llvm/Object/BuildID.h"
#include "llvm/ProfileData/InstrProf.h"

namespace kpgo::profile::fast {

// Value kinds the fast path folds; a raw profile with sites of any later kind (vtables) takes
// the generic path.
inline constexpr uint32_t kFoldedValueKinds = 2;  // IPVK_IndirectCallTarget, IPVK_MemOPSize

// The first look at one input.
struct Screening {
  std::string failure;  // why the input is bad and contributes nothing; empty when good
  bool raw = false;
  RawHeader header;          // for raw inputs
  std::string not_fast;      // why a good raw input takes the generic path; empty if it need not
  uint64_t fingerprint = 0;  // equal for raw inputs that may share a layout
};

// Checks an input as kpgo merge requires before LLVM reads it (raw profiles: every data and value
// record in bounds; indexed and text profiles: validate_indexed_profile, validate_text_profile)
// and decides whether it may take the fast path: a raw profile of this LLVM's
// own raw version holding nothing the fast path does not model (bitmaps, vtables, temporal
// traces, coverage bytes, several profiles in one file, counts LLVM's reader warns about).
Screening screen_input(std::span<const uint8_t> file);

class Layout {
 public:
  struct Record {
    uint64_t name_ref = 0;
    uint64_t hash = 0;
    uint64_t counter_offset = 0;  // bytes into the counters section
    uint32_t num_counters = 0;
    uint64_t fold_offset = 0;  // where its counts start in a fold
    uint32_t first_site = 0;   // where its value sites start in a fold
    uint16_t sites[kFoldedValueKinds] = {};
    // Another record of the same function (name and hash) came first: LLVM's writer merges this
    // one into it, so its counts and sites share that record's place in a fold.
    bool repeat = false;
    bool has_values() const { return sites[0] || sites[1]; }
  };

  // The layout of a screened raw profile. Null, with the reason, when its records cannot be
  // folded position by position (one function recorded twice with different counters, say).
  static std::unique_ptr<Layout> build(std::span<const uint8_t> file, const RawHeader& header,
                                       std::string& why_not);

  // Whether `file` has this layout: the same records and names, wherever its functions were
  // loaded.
  bool matches(std::span<const uint8_t> file, const RawHeader& header) const;

  const std::vector<Record>& records() const { return records_; }
  uint64_t total_counts() const { return total_counts_; }
  uint64_t total_sites() const { return total_sites_; }
  llvm::InstrProfKind kind() const { return kind_; }

  // The record's function name, as LLVM's raw reader names it.
  llvm::StringRef name_of(const Record& record) const;
  // The address table LLVM's raw reader would build for `file`, a file of this layout.
  class Targets;
  Targets targets_for(std::span<const uint8_t> file, const RawHeader& header) const;

 private:
  Layout() = default;
  RawHeader header_;
  std::vector<uint8_t> names_;
  std::vector<uint8_t> masked_records_;  // data records with the per-boot pointers zeroed
  std::vector<uint64_t> function_pointers_;
  std::vector<Record> records_;
  uint64_t total_counts_ = 0;
  uint64_t total_sites_ = 0;
  llvm::InstrProfKind kind_ = llvm::InstrProfKind::Unknown;
  // Filled once in build(); lookups after that only read.
  mutable llvm::InstrProfSymtab names_symtab_;
  mutable llvm::InstrProfSymtab address_symtab_;
};

// Indirect-call targets of one file as LLVM's raw reader maps them: the MD5 of the function's
// name, or 0 for an address that is no instrumented function. When the whole image moved by one
// offset (the kernel's KASLR, one PIE), the layout's table serves with that offset; otherwise
// (functions in several images, as with shared libraries) the file gets its own table.
class Layout::Targets {
 public:
  uint64_t operator()(uint64_t address) const {
    return own_ ? own_->getFunctionHashFromAddress(address)
                : layout_->address_symtab_.getFunctionHashFromAddress(address - delta_);
  }

 private:
  friend class Layout;
  const Layout* layout_ = nullptr;
  uint64_t delta_ = 0;
  std::unique_ptr<llvm::InstrProfSymtab> own_;
};

// The binary IDs of a raw profile, as LLVM's writer takes them.
std::vector<llvm::object::BuildID> binary_ids_of(std::span<const uint8_t> file,
                                                 const RawHeader& header);

}  // namespace kpgo::profile::fast
