// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo::profile {

// The layout facts of clang's raw and indexed profile headers (InstrProfData.inc of each LLVM),
// read without LLVM so that kpgo can tell which LLVM a file needs before handing it to one.

inline constexpr uint64_t kRawMagic64 = 0xff6c70726f667281ULL;        // "\x81rforpl\xff"
inline constexpr uint64_t kRawMagic32 = 0xff6c70726f665281ULL;        // 'R' marks 32-bit
inline constexpr uint64_t kIndexedMagic = 0x8169666f72706cffULL;      // "\xfflprofi\x81"
inline constexpr uint64_t kVersionMask = 0x00000000ffffffffULL;       // variant flags above
inline constexpr uint64_t kVariantByteCoverage = 1ULL << 60;

enum class ProfileKind { raw, indexed, text };
const char* to_string(ProfileKind kind);

struct RawHeader {
  uint64_t version = 0;
  uint64_t variant_flags = 0;
  bool pointers_64bit = true;
  uint64_t binary_ids_size = 0;
  uint64_t num_data = 0;
  uint64_t padding_before_counters = 0;
  uint64_t num_counters = 0;
  uint64_t padding_after_counters = 0;
  uint64_t num_bitmap_bytes = 0;        // v9+
  uint64_t padding_after_bitmap = 0;    // v9+
  uint64_t names_size = 0;
  uint64_t counters_delta = 0;
  uint64_t bitmap_delta = 0;            // v9+
  uint64_t names_delta = 0;
  uint64_t num_vtables = 0;             // v10+
  uint64_t vnames_size = 0;             // v10+
  uint64_t value_kind_last = 0;

  uint64_t header_size = 0;
  uint64_t data_record_size = 0;
  uint64_t num_counters_offset = 0;  // within a data record
  uint64_t value_sites_offset = 0;   // within a data record
  uint64_t counter_size = 0;
  uint64_t vtable_record_size = 0;

  // Offsets of each section from the start of the file, as LLVM's raw reader lays them out.
  uint64_t data_offset() const { return header_size + binary_ids_size; }
  uint64_t counters_offset() const;
  uint64_t bitmap_offset() const;
  uint64_t names_offset() const;
  uint64_t vtables_offset() const;
  uint64_t vnames_offset() const;
  uint64_t value_data_offset() const;
};

// Raw versions kpgo knows the header layout of.
bool is_known_raw_version(uint64_t version);

// Size of one __llvm_prf_data record of a 64-bit target for a raw version (48 for v8, 64 for
// v9 and v10), or 0 for a version kpgo does not know.
uint64_t raw_data_record_size(uint64_t version);

// Parses a raw header from the first bytes of a file, checking it against the file's size.
Result<RawHeader> parse_raw_header(std::span<const uint8_t> bytes, uint64_t file_size);

// Walks every data record and its value-profile data with bounds checks: LLVM's own reader
// trusts the value-profile sizes and can read past its buffer on a corrupt file.
Result<> validate_raw_records(std::span<const uint8_t> file, const RawHeader& header);

// Binary IDs (build IDs) from the section after the raw header, as lowercase hex.
Result<std::vector<std::string>> parse_binary_ids(std::span<const uint8_t> section);

struct ProfileIdentity {
  std::filesystem::path path;
  ProfileKind kind = ProfileKind::raw;
  uint64_t version = 0;  // raw or indexed format version; 0 for text
  uint64_t file_size = 0;
  std::vector<std::string> binary_ids;
  RawHeader raw;         // valid when kind == raw
};

// Reads just enough of a profile to know its kind, version and binary IDs, and checks that the
// file is as long as its header says. Errors name the file and the reason.
Result<ProfileIdentity> identify_profile(const std::filesystem::path& path);

// identify_profile, and for raw profiles also validate_raw_records over the whole file.
Result<ProfileIdentity> inspect_profile(const std::filesystem::path& path);

// A profile just taken from a kernel, checked before it is kept: a raw profile of the expected
// raw version, records in bounds, the expected build ID, and some count that is not zero.
struct CollectedProfile {
  ProfileIdentity identity;
  uint64_t functions = 0;
  uint64_t nonzero_counters = 0;
};
Result<CollectedProfile> check_collected_profile(const std::filesystem::path& path,
                                                 const std::string& expected_build_id,
                                                 uint64_t expected_raw_version);

}  // namespace kpgo::profile
