// SPDX-License-Identifier: MIT
#pragma once

// Folding raw profiles of one layout record by record, with the arithmetic of LLVM's own writer:
// what InstrProfWriter::addRecord does to each record of each file, in the same order, without
// building a record, looking up a name or hashing a key per function per file. The value-site
// merges are LLVM's own functions, so their quirks (a target new to a site is added unscaled by
// its weight; at most 255 targets a site) come out the same.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "llvm/ProfileData/InstrProfWriter.h"
#include "raw_layout.hpp"

namespace kpgo::profile::fast {

class Fold {
 public:
  explicit Fold(const Layout& layout) : layout_(&layout) {}

  const Layout& layout() const { return *layout_; }
  bool empty() const { return files_ == 0; }

  // Adds one file of this layout as llvm-profdata adds each of its records: the first file's
  // records are taken and scaled by its weight, later files' are merged in with theirs.
  void add(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
           const std::string& path, std::vector<std::string>& warnings);

  // Merges in another fold of the same layout as one InstrProfWriter merges in another's
  // records (weight 1); `other` is left empty.
  void absorb(Fold& other, std::vector<std::string>& warnings);

  // Gives every record to `writer` as llvm-profdata's reader would have, once.
  void hand_to(llvm::InstrProfWriter& writer, std::vector<std::string>& warnings);

 private:
  void add_counts(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
                  std::vector<bool>& overflowed);
  void add_values(std::span<const uint8_t> file, const RawHeader& header, uint64_t weight,
                  std::vector<bool>& overflowed);

  const Layout* layout_;
  size_t files_ = 0;
  std::vector<uint64_t> counts_;
  std::vector<llvm::InstrProfValueSiteRecord> sites_;
  std::vector<std::vector<llvm::object::BuildID>> binary_ids_;  // per file, in merge order
};

}  // namespace kpgo::profile::fast
