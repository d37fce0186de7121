// SPDX-License-Identifier: MIT
#include "kpgo/profile/format.hpp"

#include <cctype>
#include <cstring>
#include <fstream>

namespace kpgo::profile {

namespace fs = std::filesystem;

namespace {

uint64_t load_u64(std::span<const uint8_t> bytes, size_t index) {
  uint64_t value;
  std::memcpy(&value, bytes.data() + index * 8, 8);
  return value;  // profiles are written in the target's byte order; kpgo handles little-endian
}

uint64_t padding_to_8(uint64_t size) {
  return (8 - size % 8) % 8;
}

uint64_t align_to_8(uint64_t size) {
  return size + padding_to_8(size);
}

}  // namespace

bool looks_like_text(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return false;
  for (uint8_t c : bytes.first(std::min<size_t>(bytes.size(), 8))) {
    if (!std::isprint(c) && !std::isspace(c)) return false;
  }
  return true;
}

const char* to_string(ProfileKind kind) {
  switch (kind) {
    case ProfileKind::raw:
      return "raw";
    case ProfileKind::indexed:
      return "indexed";
    case ProfileKind::text:
      return "text";
  }
  return "unknown";
}

bool is_known_raw_version(uint64_t version) {
  return version >= 8 && version <= 10;
}

namespace {

struct RecordLayout {
  uint64_t num_counters_offset;
  uint64_t value_sites_offset;
  uint64_t num_bitmap_bytes_offset;  // 0 before v9
  uint64_t size;
};

// Data record: NameRef, FuncHash, CounterPtr, [BitmapPtr], FunctionPointer, Values,
// NumCounters (u32), NumValueSites (u16 per value kind), [NumBitmapBytes (u32)], each field at
// its natural alignment and the whole record padded to 8.
RecordLayout record_layout(uint64_t version, uint64_t pointer, uint64_t value_kinds) {
  RecordLayout layout{};
  layout.num_counters_offset = 8 + 8 + pointer + (version >= 9 ? pointer : 0) + pointer + pointer;
  layout.value_sites_offset = layout.num_counters_offset + 4;
  uint64_t end = layout.value_sites_offset + 2 * value_kinds;
  if (version >= 9) {
    layout.num_bitmap_bytes_offset = (end + 3) / 4 * 4;
    end = layout.num_bitmap_bytes_offset + 4;
  }
  layout.size = (end + 7) / 8 * 8;
  return layout;
}

}  // namespace

uint64_t raw_data_record_size(uint64_t version) {
  if (!is_known_raw_version(version)) return 0;
  return record_layout(version, 8, version >= 10 ? 3 : 2).size;
}

uint64_t RawHeader::counters_offset() const {
  return data_offset() + num_data * data_record_size + padding_before_counters;
}
uint64_t RawHeader::bitmap_offset() const {
  return counters_offset() + num_counters * counter_size + padding_after_counters;
}
uint64_t RawHeader::names_offset() const {
  return bitmap_offset() + num_bitmap_bytes + padding_after_bitmap;
}
uint64_t RawHeader::vtables_offset() const {
  return names_offset() + align_to_8(names_size);
}
uint64_t RawHeader::vnames_offset() const {
  return vtables_offset() + align_to_8(num_vtables * vtable_record_size);
}
uint64_t RawHeader::value_data_offset() const {
  return vnames_offset() + align_to_8(vnames_size);
}

Result<RawHeader> parse_raw_header(std::span<const uint8_t> bytes, uint64_t file_size) {
  if (bytes.size() < 16) return fail("raw header is cut off after {} bytes", bytes.size());
  RawHeader header;
  uint64_t magic = load_u64(bytes, 0);
  if (magic != kRawMagic64 && magic != kRawMagic32) return fail("not a raw profile (bad magic)");
  header.pointers_64bit = magic == kRawMagic64;
  uint64_t version_word = load_u64(bytes, 1);
  header.version = version_word & kVersionMask;
  header.variant_flags = version_word & ~kVersionMask;
  if (!is_known_raw_version(header.version)) {
    return fail("raw profile format version {} is not one kpgo knows (8, 9 and 10 are)",
                header.version);
  }
  // Field order per version: v8 (LLVM 14-17), v9 adds the bitmap (LLVM 18), v10 adds vtables.
  std::vector<uint64_t*> fields = {&header.binary_ids_size, &header.num_data,
                                   &header.padding_before_counters, &header.num_counters,
                                   &header.padding_after_counters};
  if (header.version >= 9) {
    fields.insert(fields.end(), {&header.num_bitmap_bytes, &header.padding_after_bitmap});
  }
  fields.insert(fields.end(), {&header.names_size, &header.counters_delta});
  if (header.version >= 9) fields.push_back(&header.bitmap_delta);
  fields.push_back(&header.names_delta);
  if (header.version >= 10) fields.insert(fields.end(), {&header.num_vtables, &header.vnames_size});
  fields.push_back(&header.value_kind_last);

  header.header_size = (2 + fields.size()) * 8;
  if (bytes.size() < header.header_size) {
    return fail("raw header is cut off: version {} needs {} bytes, file has {}", header.version,
                header.header_size, bytes.size());
  }
  for (size_t i = 0; i < fields.size(); ++i) *fields[i] = load_u64(bytes, 2 + i);

  uint64_t pointer = header.pointers_64bit ? 8 : 4;
  auto layout = record_layout(header.version, pointer, header.value_kind_last + 1);
  header.num_counters_offset = layout.num_counters_offset;
  header.value_sites_offset = layout.value_sites_offset;
  header.num_bitmap_bytes_offset = layout.num_bitmap_bytes_offset;
  header.data_record_size = layout.size;
  header.counter_size = (header.variant_flags & kVariantByteCoverage) ? 1 : 8;
  header.vtable_record_size = align_to_8(8 + pointer + 4);

  constexpr uint64_t kSane = 1ULL << 40;  // larger than any real profile: a corrupt header
  for (uint64_t* field : {&header.binary_ids_size, &header.num_data, &header.num_counters,
                          &header.names_size, &header.num_bitmap_bytes, &header.num_vtables,
                          &header.vnames_size, &header.padding_before_counters,
                          &header.padding_after_counters, &header.padding_after_bitmap}) {
    if (*field > kSane) return fail("raw header is corrupt (a section size of {})", *field);
  }
  if (header.binary_ids_size % 8) {
    return fail("raw header is corrupt (a binary ID section of {} bytes)", header.binary_ids_size);
  }
  if (header.value_kind_last > 16) {
    return fail("raw header is corrupt (value kind count {})", header.value_kind_last);
  }
  if (header.value_data_offset() > file_size) {
    return fail("truncated: its header describes {} bytes of sections, the file has {}",
                header.value_data_offset(), file_size);
  }
  return header;
}

ValueKindBlock value_kind_block(const uint8_t* at) {
  ValueKindBlock block;
  std::memcpy(&block.kind, at, 4);
  std::memcpy(&block.sites, at + 4, 4);
  block.site_counts = at + 8;
  for (uint32_t s = 0; s < block.sites; ++s) block.value_count += block.site_counts[s];
  uint64_t head = align_to_8(8 + static_cast<uint64_t>(block.sites));
  block.values = at + head;
  block.size = head + block.value_count * 16;
  return block;
}

Result<uint64_t> validate_value_data(std::span<const uint8_t> file, uint64_t offset, uint64_t end,
                                     uint64_t kinds) {
  // TotalSize (u32), NumValueKinds (u32), then per kind: Kind (u32), NumValueSites (u32), a
  // count byte per site padded to 8, and 16 bytes (value, count) per recorded value.
  end = std::min<uint64_t>(end, file.size());
  if (offset > end || end - offset < 8) return fail("its value profile data is cut off");
  uint32_t total_size, num_kinds;
  std::memcpy(&total_size, file.data() + offset, 4);
  std::memcpy(&num_kinds, file.data() + offset + 4, 4);
  if (total_size < 8 || total_size % 8) {
    return fail("its value profile data has an impossible size {}", total_size);
  }
  if (total_size > end - offset) {
    return fail("truncated: its value profile data needs {} bytes, {} remain", total_size,
                end - offset);
  }
  if (num_kinds > kinds) return fail("its value profile data claims {} value kinds", num_kinds);
  uint64_t cursor = offset + 8;
  uint64_t block_end = offset + total_size;
  for (uint32_t k = 0; k < num_kinds; ++k) {
    if (block_end - cursor < 8) return fail("its value profile record {} is cut off", k);
    uint32_t kind, sites;
    std::memcpy(&kind, file.data() + cursor, 4);
    std::memcpy(&sites, file.data() + cursor + 4, 4);
    if (kind >= kinds) return fail("its value profile record {} has kind {}", k, kind);
    uint64_t head = align_to_8(8 + static_cast<uint64_t>(sites));
    if (head > block_end - cursor) return fail("its value profile sites run past their data");
    ValueKindBlock block = value_kind_block(file.data() + cursor);
    if (block.value_count * 16 > block_end - cursor - head) {
      return fail("its value profile values run past their data");
    }
    cursor += block.size;
  }
  return total_size;
}

namespace {

// A record's MC/DC bitmap bytes (raw version 9 and later) must lie inside the bitmap section,
// as LLVM's reader requires; a record with none is not checked further, as LLVM does not.
template <typename Field>
Result<> check_record_bitmap(const RawHeader& header, uint64_t i, const Field& field) {
  if (header.version < 9) return {};
  uint64_t bytes = field(header.num_bitmap_bytes_offset, 4);
  if (bytes == 0) return {};
  uint64_t pointer_offset = 8 + 8 + 8;  // after NameRef, FuncHash and CounterPtr
  int64_t offset = static_cast<int64_t>(field(pointer_offset, 8) -
                                        (header.bitmap_delta - i * header.data_record_size));
  if (offset < 0 || static_cast<uint64_t>(offset) > header.num_bitmap_bytes ||
      bytes > header.num_bitmap_bytes - static_cast<uint64_t>(offset)) {
    return fail("data record {} has {} bitmap bytes outside the {}-byte bitmap section", i, bytes,
                header.num_bitmap_bytes);
  }
  return {};
}

// LLVM's name strings (the names section and, from v10, the vtable names): chunks of a ULEB128
// uncompressed size, a ULEB128 compressed size (0: not compressed), the bytes, then zero
// padding. LLVM's reader trusts both sizes: it reads past the section or allocates whatever the
// uncompressed size says. Each chunk must lie inside the section, and a compressed chunk can
// expand at most as far as deflate can (1032 to 1).
Result<> check_name_strings(std::span<const uint8_t> section, const char* what) {
  size_t at = 0;
  auto uleb = [&](uint64_t& value) {
    value = 0;
    for (unsigned shift = 0; at < section.size() && shift < 64; shift += 7) {
      uint8_t byte = section[at++];
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return shift < 63 || (byte & 0x7f) <= 1;
    }
    return false;
  };
  while (at < section.size()) {
    uint64_t chunk = at, plain = 0, compressed = 0;
    if (!uleb(plain) || !uleb(compressed)) {
      return fail("its {} chunk at byte {} has a size that does not decode", what, chunk);
    }
    uint64_t stored = compressed ? compressed : plain;
    if (stored > section.size() - at) {
      return fail("its {} chunk at byte {} runs {} bytes past the section", what, chunk,
                  stored - (section.size() - at));
    }
    if (compressed && plain / 1032 > compressed) {
      return fail("its {} chunk at byte {} claims {} bytes from {} compressed ones", what, chunk,
                  plain, compressed);
    }
    at += stored;
    while (at < section.size() && section[at] == 0) ++at;
  }
  return {};
}

// One profile's data records and value data, the profile starting at file[0]. Returns where the
// profile ends: the next profile in the file, if any, starts after zero padding.
Result<uint64_t> validate_one_profile(std::span<const uint8_t> file, const RawHeader& header) {
  if (!header.pointers_64bit) {
    return fail("a 32-bit profile: kpgo merges the profiles of 64-bit targets (x86_64, arm64)");
  }
  KPGO_TRY(parse_binary_ids(file.subspan(header.header_size, header.binary_ids_size)));
  if (auto names =
          check_name_strings(file.subspan(header.names_offset(), header.names_size), "names");
      !names) {
    return tl::unexpected(names.error());
  }
  if (auto vnames = check_name_strings(file.subspan(header.vnames_offset(), header.vnames_size),
                                       "vtable names");
      !vnames) {
    return tl::unexpected(vnames.error());
  }
  uint64_t kinds = header.value_kind_last + 1;
  uint64_t counters_bytes = header.num_counters * header.counter_size;
  uint64_t value_offset = header.value_data_offset();
  for (uint64_t i = 0; i < header.num_data; ++i) {
    uint64_t record = header.data_offset() + i * header.data_record_size;
    auto field = [&](uint64_t offset, size_t size) {
      uint64_t value = 0;
      std::memcpy(&value, file.data() + record + offset, size);
      return value;
    };
    uint64_t hash = field(8, 8);
    if (is_reserved_function_hash(hash)) {
      return fail(
          "data record {} has function hash {:#x}, which no compiler writes and LLVM's "
          "writer cannot hold (a damaged profile)",
          i, hash);
    }
    // Counter pointers are relative to their own record (raw version 8 and later). The
    // difference is taken modulo 2^64 and then read as signed: a damaged pointer must not
    // overflow a signed subtraction.
    int64_t counter_offset =
        static_cast<int64_t>(field(16, 8) - (header.counters_delta - i * header.data_record_size));
    uint64_t num_counters = field(header.num_counters_offset, 4);
    if (counter_offset < 0 || static_cast<uint64_t>(counter_offset) > counters_bytes ||
        num_counters * header.counter_size >
            counters_bytes - static_cast<uint64_t>(counter_offset)) {
      return fail("data record {} points outside the counters section", i);
    }
    KPGO_TRY(check_record_bitmap(header, i, field));
    bool has_values = false;
    for (uint64_t k = 0; k < kinds; ++k)
      has_values |= field(header.value_sites_offset + 2 * k, 2) != 0;
    if (!has_values) continue;
    auto size = validate_value_data(file, value_offset, file.size(), kinds);
    if (!size) return fail("data record {}: {}", i, size.error().what());
    value_offset += *size;
  }
  return value_offset;
}

}  // namespace

Result<> validate_raw_records(std::span<const uint8_t> file, const RawHeader& first) {
  RawHeader header = first;
  uint64_t start = 0;
  for (size_t profile = 1;; ++profile) {
    auto end = validate_one_profile(file.subspan(start), header);
    if (!end) {
      if (profile == 1) return tl::unexpected(end.error());
      return fail("profile {} in the file (at byte {}): {}", profile, start, end.error().what());
    }
    // LLVM's raw reader takes what follows a profile, after zero bytes, as the next profile's
    // header, which must be 8-byte aligned and of the same pointer size as the first.
    start += *end;
    while (start < file.size() && file[start] == 0) ++start;
    if (start == file.size()) return {};
    if (start % 8 || file.size() - start < 16 || load_u64(file.subspan(start), 0) != kRawMagic64) {
      return fail("{} bytes after profile {} (at byte {}) are no further profile",
                  file.size() - start, profile, start);
    }
    auto next = parse_raw_header(file.subspan(start), file.size() - start);
    if (!next) {
      return fail("profile {} in the file (at byte {}): {}", profile + 1, start,
                  next.error().what());
    }
    header = *next;
  }
}

Result<std::vector<std::span<const uint8_t>>> binary_id_bytes(std::span<const uint8_t> section) {
  std::vector<std::span<const uint8_t>> ids;
  size_t offset = 0;
  while (offset < section.size()) {
    if (section.size() - offset < 8) return fail("binary ID section is cut off");
    uint64_t length;
    std::memcpy(&length, section.data() + offset, 8);
    offset += 8;
    // LLVM's readers refuse an ID of length 0 (a zeroed section), so kpgo does on both paths.
    if (length == 0) return fail("binary ID of length 0 (a damaged binary ID section)");
    // LLVM's readers want the ID's padding to 8 bytes inside the section too.
    if (length > section.size() - offset || align_to_8(length) > section.size() - offset) {
      return fail("binary ID of {} bytes runs past its section", length);
    }
    ids.push_back(section.subspan(offset, length));
    offset += align_to_8(length);
  }
  return ids;
}

Result<std::vector<std::string>> parse_binary_ids(std::span<const uint8_t> section) {
  KPGO_TRY_BIND(ids, binary_id_bytes(section));
  std::vector<std::string> hex_ids;
  for (const auto& id : *ids) {
    std::string hex;
    for (uint8_t byte : id) hex += fmt::format("{:02x}", byte);
    hex_ids.push_back(std::move(hex));
  }
  return hex_ids;
}

namespace {

// identify_profile's reasons; the file is added as their context.
Result<ProfileIdentity> identify(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fail("is a directory");
  auto size = fs::file_size(path, ec);
  if (ec) return fail("cannot read: {}", ec.message());
  if (size == 0) return fail("empty file (no profile was written)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open");
  std::vector<uint8_t> head(std::min<uint64_t>(size, 4096));
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));

  ProfileIdentity id;
  id.path = path;
  id.file_size = size;
  uint64_t magic = 0;
  if (head.size() >= 8) std::memcpy(&magic, head.data(), 8);
  if (magic == __builtin_bswap64(kRawMagic64) || magic == __builtin_bswap64(kIndexedMagic)) {
    return fail("a big-endian profile; kpgo reads little-endian (x86_64, arm64) profiles");
  }
  if (magic == kIndexedMagic) {
    if (head.size() < 16) return fail("indexed profile cut off in its header");
    id.kind = ProfileKind::indexed;
    id.version = load_u64(head, 1) & kVersionMask;
    return id;
  }
  if (magic == kRawMagic64 || magic == kRawMagic32) {
    KPGO_TRY_BIND(header, parse_raw_header(head, size));
    id.kind = ProfileKind::raw;
    id.version = header->version;
    id.raw = *header;
    std::vector<uint8_t> ids_section(header->binary_ids_size);
    in.clear();
    in.seekg(static_cast<std::streamoff>(header->header_size));
    in.read(reinterpret_cast<char*>(ids_section.data()),
            static_cast<std::streamsize>(ids_section.size()));
    KPGO_TRY_BIND(ids, parse_binary_ids(ids_section));
    id.binary_ids = std::move(*ids);
    return id;
  }
  if (looks_like_text(head)) {
    id.kind = ProfileKind::text;
    return id;
  }
  return fail("not a clang instrumentation profile (unknown magic {:#018x})", magic);
}

}  // namespace

Result<ProfileIdentity> identify_profile(const fs::path& path) {
  return identify(path).map_error(context(path.string()));
}

}  // namespace kpgo::profile

namespace kpgo::profile {

Result<ProfileIdentity> inspect_profile(const fs::path& path) {
  auto id = identify_profile(path);
  if (!id || id->kind == ProfileKind::text) return id;
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> file(id->file_size);
  in.read(reinterpret_cast<char*>(file.data()), static_cast<std::streamsize>(file.size()));
  Result<> valid =
      static_cast<uint64_t>(in.gcount()) != id->file_size ? fail("cannot read all of it")
      : id->kind == ProfileKind::indexed ? validate_indexed_profile(file).map([](auto&&) {})
                                         : validate_raw_records(file, id->raw);
  if (!valid) return tl::unexpected(context(path.string())(std::move(valid).error()));
  return id;
}

}  // namespace kpgo::profile

namespace kpgo::profile {

Result<CollectedProfile> check_collected_profile(const fs::path& path, const std::string& binary,
                                                 const std::string& expected_build_id,
                                                 uint64_t expected_raw_version) {
  KPGO_TRY_BIND(id, inspect_profile(path));
  if (id->kind != ProfileKind::raw) {
    return fail("{}: a {} profile, not the raw profile a kernel writes", path.string(),
                to_string(id->kind));
  }
  if (expected_raw_version && id->version != expected_raw_version) {
    return fail("{}: raw version {}, but the kernel was built for raw version {}", path.string(),
                id->version, expected_raw_version);
  }
  if (!expected_build_id.empty()) {
    if (id->binary_ids.empty()) {
      return fail("{}: carries no build ID; expected the instrumented {}'s {}", path.string(),
                  binary, expected_build_id);
    }
    if (id->binary_ids.front() != expected_build_id) {
      return fail("{}: from build {}, not the instrumented {} {} ({} there)", path.string(),
                  id->binary_ids.front(), binary, expected_build_id,
                  binary == "vmlinux" ? "another kernel is running"
                                      : "a module of another build is loaded");
    }
  }
  CollectedProfile collected{*id, id->raw.num_data, 0};
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(id->raw.counters_offset()));
  std::vector<uint8_t> counters(id->raw.num_counters * id->raw.counter_size);
  in.read(reinterpret_cast<char*>(counters.data()), static_cast<std::streamsize>(counters.size()));
  bool bytes = id->raw.counter_size == 1;
  for (size_t i = 0; i < id->raw.num_counters; ++i) {
    uint64_t value = 0;
    std::memcpy(&value, counters.data() + i * id->raw.counter_size, id->raw.counter_size);
    // Single-byte coverage counters are 0 once covered, 0xff before.
    if (bytes ? value == 0 : value != 0) ++collected.nonzero_counters;
  }
  return collected;
}

}  // namespace kpgo::profile
