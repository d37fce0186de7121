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

inline constexpr uint64_t kRawMagic64 = 0xff6c70726f667281ULL;    // "\x81rforpl\xff"
inline constexpr uint64_t kRawMagic32 = 0xff6c70726f665281ULL;    // 'R' marks 32-bit
inline constexpr uint64_t kIndexedMagic = 0x8169666f72706cffULL;  // "\xfflprofi\x81"
inline constexpr uint64_t kVersionMask = 0x00000000ffffffffULL;   // variant flags above
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
  uint64_t num_bitmap_bytes = 0;      // v9+
  uint64_t padding_after_bitmap = 0;  // v9+
  uint64_t names_size = 0;
  uint64_t counters_delta = 0;
  uint64_t bitmap_delta = 0;  // v9+
  uint64_t names_delta = 0;
  uint64_t num_vtables = 0;  // v10+
  uint64_t vnames_size = 0;  // v10+
  uint64_t value_kind_last = 0;

  uint64_t header_size = 0;
  uint64_t data_record_size = 0;
  uint64_t num_counters_offset = 0;      // within a data record
  uint64_t value_sites_offset = 0;       // within a data record
  uint64_t num_bitmap_bytes_offset = 0;  // within a data record, v9+
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

// LLVM's writer keys each function's records by hash in a DenseMap, whose empty and tombstone
// keys are the two largest values: a record with either crashes it (found by fuzzing LLVM 16's
// indexed path), whichever format the record came in. No compiler writes them.
inline constexpr bool is_reserved_function_hash(uint64_t hash) {
  return hash >= ~uint64_t{0} - 1;
}

// Raw versions kpgo knows the header layout of.
bool is_known_raw_version(uint64_t version);

// Size of one __llvm_prf_data record of a 64-bit target for a raw version (48 for v8, 64 for
// v9 and v10), or 0 for a version kpgo does not know.
uint64_t raw_data_record_size(uint64_t version);

// Parses a raw header from the first bytes of a file, checking it against the file's size.
Result<RawHeader> parse_raw_header(std::span<const uint8_t> bytes, uint64_t file_size);

// Walks every data record and its value-profile data with bounds checks, in every profile of the
// file (`cat a.profraw b.profraw` holds two; `header` is the first's), as LLVM's raw reader
// would read them: it trusts the value-profile sizes and can read past its buffer on a corrupt
// file. 32-bit profiles are refused.
Result<> validate_raw_records(std::span<const uint8_t> file, const RawHeader& header);

// One ValueProfData block (the value-profile data of one function, in raw and indexed profiles)
// at `offset`, checked to lie whole before `end`: every record's kind below `kinds`, its site
// counts and values inside the block. LLVM's ValueProfData::checkIntegrity reads a record's
// site counts before it knows they are in the block. Returns the block's size.
Result<uint64_t> validate_value_data(std::span<const uint8_t> file, uint64_t offset, uint64_t end,
                                     uint64_t kinds);

// The layout facts of an indexed (.profdata) header, per indexed version.
struct IndexedHeader {
  uint64_t version = 0;
  uint64_t variant_flags = 0;
  uint64_t hash_type = 0;
  uint64_t hash_offset = 0;
  uint64_t memprof_offset = 0;       // v8+
  uint64_t binary_id_offset = 0;     // v9+
  uint64_t traces_offset = 0;        // v10+
  uint64_t vtable_names_offset = 0;  // v12+
  uint64_t header_size = 0;
};

// Indexed versions whose layout kpgo checks: 4 (LLVM 3.9, the first with a summary) to 13
// (LLVM 22). 13 changed only the hash clang's front end gives functions, not the layout of 12.
inline constexpr uint64_t kOldestIndexedVersion = 4;
inline constexpr uint64_t kNewestIndexedVersion = 13;

// Checks a whole indexed profile before LLVM maps it: header, summaries, the hash table's
// buckets and every entry's key, counts, bitmap and value data, binary IDs and vtable names,
// each inside the file. LLVM's indexed reader trusts these sizes and offsets.
Result<IndexedHeader> validate_indexed_profile(std::span<const uint8_t> file);

// Whether LLVM's reader takes a file as text: its first 8 bytes are printable or spaces.
bool looks_like_text(std::span<const uint8_t> bytes);

// Checks a text profile where LLVM's text reader trusts it: every count it reserves room for
// (counters, bitmap bytes, value sites) must fit in the lines that are left. `bitmaps`: the
// reading LLVM (18 and later) knows MC/DC bitmap lines.
Result<> validate_text_profile(std::span<const uint8_t> file, bool bitmaps);

// Binary IDs (build IDs) from the section after the raw header, checked as LLVM's readers check
// them: as bytes (they point into `section`), and as lowercase hex.
Result<std::vector<std::span<const uint8_t>>> binary_id_bytes(std::span<const uint8_t> section);
Result<std::vector<std::string>> parse_binary_ids(std::span<const uint8_t> section);

// One value kind's block in a record's value profile data: Kind (u32), NumValueSites (u32), a
// count byte per site padded to 8, then per recorded value 16 bytes (value, count), site by site.
// The one reading of this layout that the checks, the fast path's screening and its fold share.
struct ValueKindBlock {
  uint32_t kind = 0;
  uint32_t sites = 0;
  const uint8_t* site_counts = nullptr;  // one byte per site
  const uint8_t* values = nullptr;       // the (value, count) pairs
  uint64_t value_count = 0;
  uint64_t size = 0;  // of the whole block: the next one starts there
};
// Reads the block at `at`, whose head (8 bytes and the site counts) must be in bounds; the
// values are in bounds once validate_value_data accepted the record's data.
ValueKindBlock value_kind_block(const uint8_t* at);

struct ProfileIdentity {
  std::filesystem::path path;
  ProfileKind kind = ProfileKind::raw;
  uint64_t version = 0;  // raw or indexed format version; 0 for text
  uint64_t file_size = 0;
  std::vector<std::string> binary_ids;
  RawHeader raw;  // valid when kind == raw
};

// Reads just enough of a profile to know its kind, version and binary IDs, and checks that the
// file is as long as its header says. Errors name the file and the reason.
Result<ProfileIdentity> identify_profile(const std::filesystem::path& path);

// identify_profile, then the whole file checked: validate_raw_records or
// validate_indexed_profile. A text profile's grammar depends on the LLVM that reads it, so the
// merge backend checks it.
Result<ProfileIdentity> inspect_profile(const std::filesystem::path& path);

// A profile just taken from a kernel (vmlinux's or a module's, `binary` names which), checked
// before it is kept: a raw profile of the expected raw version, records in bounds, the expected
// build ID. How many counters are not zero is for the caller to judge.
struct CollectedProfile {
  ProfileIdentity identity;
  uint64_t functions = 0;
  uint64_t nonzero_counters = 0;
};
Result<CollectedProfile> check_collected_profile(const std::filesystem::path& path,
                                                 const std::string& binary,
                                                 const std::string& expected_build_id,
                                                 uint64_t expected_raw_version);

}  // namespace kpgo::profile
