// SPDX-License-Identifier: MIT
// Checks of an indexed (.profdata) profile, made before any LLVM maps it. LLVM's indexed reader
// trusts the file's offsets and sizes: a summary, hash table or record that runs past the end
// makes it read outside the file (SIGBUS on a mapped file), and a huge count makes it reserve
// memory it cannot have. The layout is that of LLVM's IndexedInstrProf::Header and
// OnDiskChainedHashTable, per indexed version.

#include "kpgo/profile/format.hpp"

namespace kpgo::profile {
namespace {

constexpr uint64_t kVariantCsir = 1ULL << 57;
constexpr uint64_t kVariantMemProf = 1ULL << 62;
constexpr uint64_t kVariantTemporal = 1ULL << 63;
constexpr uint64_t kSummaryKinds = 6;  // the summary fields LLVM's reader reads
// Value kinds a block may name: indirect-call targets, memop sizes and (LLVM 19) vtables. An
// older LLVM refuses a kind it does not know by itself, once the block is known to be in bounds.
constexpr uint64_t kMostValueKinds = 3;

// Bounds-checked little-endian reads over one file.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> file, uint64_t at, uint64_t end)
      : file_(file), at_(at), end_(std::min<uint64_t>(end, file.size())) {}
  uint64_t at() const { return at_; }
  uint64_t left() const { return at_ <= end_ ? end_ - at_ : 0; }
  bool read(uint64_t& value, size_t size = 8) {
    if (left() < size) return false;
    value = 0;
    std::memcpy(&value, file_.data() + at_, size);
    at_ += size;
    return true;
  }
  bool skip(uint64_t size) {
    if (left() < size) return false;
    at_ += size;
    return true;
  }

 private:
  std::span<const uint8_t> file_;
  uint64_t at_;
  uint64_t end_;
};

Result<IndexedHeader> parse_indexed_header(std::span<const uint8_t> file) {
  Cursor cursor(file, 8, file.size());
  IndexedHeader header;
  uint64_t version_word = 0;
  if (!cursor.read(version_word)) return fail("indexed header is cut off");
  header.version = version_word & kVersionMask;
  header.variant_flags = version_word & ~kVersionMask;
  if (header.version < kOldestIndexedVersion || header.version > kNewestIndexedVersion) {
    return fail("indexed format version {} is not one kpgo checks ({} to {} are)", header.version,
                kOldestIndexedVersion, kNewestIndexedVersion);
  }
  // Magic, Version, Unused, HashType, HashOffset; later versions append their offsets.
  std::vector<uint64_t*> fields = {&header.hash_type, &header.hash_offset};
  if (header.version >= 8) fields.push_back(&header.memprof_offset);
  if (header.version >= 9) fields.push_back(&header.binary_id_offset);
  if (header.version >= 10) fields.push_back(&header.traces_offset);
  if (header.version >= 12) fields.push_back(&header.vtable_names_offset);
  header.header_size = (3 + fields.size()) * 8;
  cursor.skip(8);  // Unused
  for (uint64_t* field : fields) {
    if (!cursor.read(*field)) {
      return fail("indexed header is cut off: version {} needs {} bytes, the file has {}",
                  header.version, header.header_size, file.size());
    }
  }
  if (header.hash_type != 0)
    return fail("indexed header names hash type {}, not MD5", header.hash_type);
  // Sections no kernel profile has, and whose own tables kpgo does not check: refused by name
  // rather than handed to a reader that trusts them.
  if (header.variant_flags & kVariantMemProf) {
    return fail("a memory profile (MemProf), which kpgo does not merge");
  }
  if (header.variant_flags & kVariantTemporal) {
    return fail("it carries temporal profile traces, which kpgo does not merge");
  }
  return header;
}

// A ProfileSummary: NumSummaryFields, NumCutoffEntries, the fields, then (Cutoff, MinBlockCount,
// NumBlocks) per entry. LLVM copies it into a buffer sized from those counts and then reads six
// fields, so fewer than six is as bad as too many.
Result<> skip_summary(Cursor& cursor, const char* which) {
  uint64_t fields = 0, entries = 0;
  if (!cursor.read(fields) || !cursor.read(entries))
    return fail("its {} summary is cut off", which);
  if (fields < kSummaryKinds || fields > 64 || entries > 1024) {
    return fail("its {} summary claims {} fields and {} cutoffs", which, fields, entries);
  }
  if (!cursor.skip(fields * 8 + entries * 24)) return fail("its {} summary is cut off", which);
  return {};
}

// One entry's data: for each hash of the function, Hash, NumCounts, the counts, (v11+)
// NumBitmapBytes and a u64 per byte, (v3+) a ValueProfData block.
Result<> check_entry_data(std::span<const uint8_t> file, uint64_t at, uint64_t end,
                          uint64_t version) {
  Cursor cursor(file, at, end);
  while (cursor.left()) {
    uint64_t hash = 0, counts = 0;
    if (!cursor.read(hash) || !cursor.read(counts)) return fail("a record is cut off");
    if (is_reserved_function_hash(hash)) {
      return fail(
          "a record has function hash {:#x}, which no compiler writes and LLVM's writer "
          "cannot hold (a damaged profile)",
          hash);
    }
    if (counts > cursor.left() / 8) return fail("a record claims {} counters", counts);
    cursor.skip(counts * 8);
    if (version >= 11) {
      uint64_t bitmap = 0;
      if (!cursor.read(bitmap)) return fail("a record is cut off before its bitmap");
      if (bitmap > cursor.left() / 8) return fail("a record claims {} bitmap bytes", bitmap);
      cursor.skip(bitmap * 8);
    }
    KPGO_TRY_BIND(size, validate_value_data(file, cursor.at(), end, kMostValueKinds));
    cursor.skip(*size);
  }
  return {};
}

// The hash table's entries, walked as LLVM's iterator walks them from the start of the payload:
// each bucket a u16 count of its items, each item Hash, KeyLen, DataLen, key, data.
Result<> check_entries(std::span<const uint8_t> file, const IndexedHeader& header, uint64_t payload,
                       uint64_t entries) {
  Cursor cursor(file, payload, header.hash_offset);
  uint64_t left_in_bucket = 0;
  for (uint64_t entry = 0; entry < entries; ++entry) {
    if (left_in_bucket == 0) {
      if (!cursor.read(left_in_bucket, 2)) return fail("its hash table entry {} is cut off", entry);
      if (left_in_bucket == 0) return fail("its hash table has an empty bucket in its payload");
    }
    uint64_t hash = 0, key_size = 0, data_size = 0;
    if (!cursor.read(hash) || !cursor.read(key_size) || !cursor.read(data_size) ||
        key_size > cursor.left() || data_size > cursor.left() - key_size) {
      return fail("its hash table entry {} runs past the table", entry);
    }
    cursor.skip(key_size);
    uint64_t data = cursor.at();
    cursor.skip(data_size);
    if (auto valid = check_entry_data(file, data, data + data_size, header.version); !valid) {
      std::string name(reinterpret_cast<const char*>(file.data() + data - key_size), key_size);
      return fail("function {} (entry {}): {}", name, entry, valid.error().what());
    }
    --left_in_bucket;
  }
  return {};
}

// The table itself: NumBuckets, NumEntries, then an offset per bucket, 0 or into the payload.
struct HashTable {
  uint64_t entries = 0;
  uint64_t end = 0;  // the byte after its bucket offsets
};

Result<HashTable> check_buckets(std::span<const uint8_t> file, const IndexedHeader& header,
                                uint64_t payload) {
  if (header.hash_offset < payload || header.hash_offset > file.size()) {
    return fail("its hash table offset {} is outside the file's {} bytes of records",
                header.hash_offset, file.size());
  }
  Cursor cursor(file, header.hash_offset, file.size());
  uint64_t buckets = 0, entries = 0;
  if (!cursor.read(buckets) || !cursor.read(entries)) return fail("its hash table is cut off");
  // LLVM finds a bucket as hash & (NumBuckets - 1).
  if (buckets == 0 || (buckets & (buckets - 1)) || buckets > cursor.left() / 8) {
    return fail("its hash table claims {} buckets", buckets);
  }
  for (uint64_t b = 0; b < buckets; ++b) {
    uint64_t offset = 0;
    cursor.read(offset);
    if (offset != 0 && (offset < payload || offset >= header.hash_offset)) {
      return fail("its hash table bucket {} points outside the records", b);
    }
  }
  return HashTable{entries, cursor.at()};
}

// The sections LLVM's writer puts after the hash table (binary IDs, vtable names) must be there:
// one that overlaps the header, the summaries or the table is read from their bytes, and what
// LLVM then writes out does not read back.
Result<> check_trailing_sections(std::span<const uint8_t> file, const IndexedHeader& header,
                                 uint64_t table_end) {
  if (header.version >= 9) {
    Cursor cursor(file, header.binary_id_offset, file.size());
    uint64_t size = 0;
    if (header.binary_id_offset > file.size() || !cursor.read(size)) {
      return fail("its binary ID section is outside the file");
    }
    if (header.binary_id_offset < table_end) {
      return fail(
          "its binary ID section at byte {} lies before the end of the hash table "
          "(byte {})",
          header.binary_id_offset, table_end);
    }
    if (size % 8 || size > cursor.left())
      return fail("its binary ID section claims {} bytes", size);
    if (auto ids = parse_binary_ids(file.subspan(cursor.at(), size)); !ids) {
      return tl::unexpected(ids.error());
    }
  }
  if (header.version >= 12) {
    Cursor cursor(file, header.vtable_names_offset, file.size());
    uint64_t size = 0;
    if (header.vtable_names_offset > file.size() || !cursor.read(size) || size > cursor.left()) {
      return fail("its vtable names section runs past the end of the file");
    }
    if (header.vtable_names_offset < table_end) {
      return fail(
          "its vtable names section at byte {} lies before the end of the hash table "
          "(byte {})",
          header.vtable_names_offset, table_end);
    }
  }
  return {};
}

}  // namespace

Result<IndexedHeader> validate_indexed_profile(std::span<const uint8_t> file) {
  auto header = parse_indexed_header(file);
  if (!header) return header;
  Cursor cursor(file, header->header_size, file.size());
  KPGO_TRY(skip_summary(cursor, "profile"));
  if (header->variant_flags & kVariantCsir) {
    KPGO_TRY(skip_summary(cursor, "context-sensitive"));
  }
  uint64_t payload = cursor.at();
  KPGO_TRY_BIND(table, check_buckets(file, *header, payload));
  KPGO_TRY(check_entries(file, *header, payload, table->entries));
  KPGO_TRY(check_trailing_sections(file, *header, table->end));
  return header;
}

}  // namespace kpgo::profile
