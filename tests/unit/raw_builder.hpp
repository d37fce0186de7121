// SPDX-License-Identifier: MIT
#pragma once

// Builds raw profile headers byte by byte, field order as InstrProfData.inc defines it, so that
// the header reader is tested against the format's definition rather than against itself.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kpgo/profile/format.hpp"

namespace kpgo::testing {

struct RawSpec {
  uint64_t version = 10;
  uint64_t num_data = 0;
  uint64_t num_counters = 0;
  uint64_t names_size = 0;
  std::vector<std::vector<uint8_t>> binary_ids{};
};

inline void put_u64(std::vector<uint8_t>& out, uint64_t value) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  out.insert(out.end(), bytes, bytes + 8);
}

inline std::vector<uint8_t> build_raw(const RawSpec& spec) {
  std::vector<uint8_t> ids;
  for (const auto& id : spec.binary_ids) {
    put_u64(ids, id.size());
    ids.insert(ids.end(), id.begin(), id.end());
    while (ids.size() % 8) ids.push_back(0);
  }
  uint64_t value_kinds = spec.version >= 10 ? 3 : 2;
  uint64_t record = spec.version >= 9 ? 64 : 48;
  std::vector<uint8_t> out;
  put_u64(out, profile::kRawMagic64);
  put_u64(out, spec.version | (1ULL << 56));
  put_u64(out, ids.size());
  put_u64(out, spec.num_data);
  put_u64(out, 0);  // padding before counters
  put_u64(out, spec.num_counters);
  put_u64(out, 0);  // padding after counters
  if (spec.version >= 9) {
    put_u64(out, 0);  // bitmap bytes
    put_u64(out, 0);  // padding after bitmap
  }
  put_u64(out, spec.names_size);
  put_u64(out, 0x1000);  // counters delta: counters sit 0x1000 bytes after the first record
  if (spec.version >= 9) put_u64(out, 0);
  put_u64(out, 0x2000);  // names delta
  if (spec.version >= 10) {
    put_u64(out, 0);  // vtables
    put_u64(out, 0);  // vtable names size
  }
  put_u64(out, value_kinds - 1);
  out.insert(out.end(), ids.begin(), ids.end());
  // Data records whose relative counter pointers share the counters out evenly.
  constexpr uint64_t kCountersDelta = 0x1000;
  uint64_t per_record = spec.num_data ? spec.num_counters / spec.num_data : 0;
  for (uint64_t i = 0; i < spec.num_data; ++i) {
    std::vector<uint8_t> data_record(record, 0);
    uint64_t counter_ptr = kCountersDelta - i * record + i * per_record * 8;
    std::memcpy(data_record.data() + 16, &counter_ptr, 8);
    uint32_t num_counters = static_cast<uint32_t>(per_record);
    std::memcpy(data_record.data() + (spec.version >= 9 ? 48 : 40), &num_counters, 4);
    out.insert(out.end(), data_record.begin(), data_record.end());
  }
  uint64_t names_padded = (spec.names_size + 7) / 8 * 8;
  out.resize(out.size() + spec.num_counters * 8 + names_padded, 0);
  return out;
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory under the system's temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kpgo-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace kpgo::testing
