// SPDX-License-Identifier: MIT
#include "kpgo/pipeline/state.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <fstream>
#include <vector>

#include "kpgo/system/atomic_file.hpp"

namespace kpgo::pipeline {

namespace fs = std::filesystem;

namespace {

enum class Kind { string, number, boolean, object, array };

const char* describe(Kind kind) {
  switch (kind) {
    case Kind::string: return "a string";
    case Kind::number: return "a number";
    case Kind::boolean: return "true or false";
    case Kind::object: return "an object";
    case Kind::array: return "an array";
  }
  return "?";
}

bool is(const nlohmann::json& value, Kind kind) {
  switch (kind) {
    case Kind::string: return value.is_string();
    case Kind::number: return value.is_number();
    case Kind::boolean: return value.is_boolean();
    case Kind::object: return value.is_object();
    case Kind::array: return value.is_array();
  }
  return false;
}

// What the phases read back from kpgo.json. Any field that is there must have its type, and the
// objects the phases index into must be there once their phase finished: a hand-edited or
// damaged file is refused by name here rather than crash a phase later. Other fields may be
// missing (a phase reading one falls back to its default, or says what it lacks).
struct FieldRule {
  const char* path;  // dotted, from the top
  Kind kind;
  bool needed_when_finished;
};

constexpr FieldRule kRules[] = {
    {"instrument", Kind::object, false},
    {"instrument.source", Kind::string, false},
    {"instrument.arch", Kind::string, false},
    {"instrument.build_dir", Kind::string, false},
    {"instrument.vmlinux_build_id", Kind::string, false},
    {"instrument.atomic_counters", Kind::boolean, false},
    {"instrument.llvm", Kind::object, true},
    {"instrument.llvm.value", Kind::string, false},
    {"instrument.llvm.major", Kind::number, false},
    {"instrument.llvm.raw_version", Kind::number, false},
    {"instrument.llvm.merge_backend", Kind::number, false},
    {"instrument.artifacts", Kind::object, true},
    {"instrument.artifacts.vmlinux", Kind::string, false},
    {"instrument.artifacts.bzImage", Kind::string, false},
    {"instrument.inputs_key", Kind::string, false},
    {"collect", Kind::object, false},
    {"collect.profiles", Kind::array, false},
    {"collect.inputs_key", Kind::string, false},
    {"merge", Kind::object, false},
    {"merge.inputs", Kind::array, false},
    {"merge.output", Kind::string, false},
    {"merge.sha256", Kind::string, false},
    {"optimize", Kind::object, false},
    {"optimize.profile", Kind::string, false},
    {"optimize.build_dir", Kind::string, false},
    {"optimize.artifacts", Kind::object, true},
    {"optimize.artifacts.vmlinux", Kind::string, false},
    {"optimize.artifacts.bzImage", Kind::string, false},
    {"optimize.report", Kind::object, false},
    {"optimize.layout", Kind::object, false},
    {"optimize.config_input", Kind::string, false},
    {"optimize.inputs_key", Kind::string, false},
    {"baseline", Kind::object, false},
    {"baseline.build_dir", Kind::string, false},
    {"baseline.artifacts", Kind::object, true},
    {"baseline.artifacts.bzImage", Kind::string, false},
    {"baseline.config_input", Kind::string, false},
    {"bench", Kind::object, false},
};

// Each profile entry of collect is read back by the merge phase and the resume keys.
constexpr FieldRule kProfileRules[] = {
    {"path", Kind::string, true},
    {"sha256", Kind::string, true},
    {"weight", Kind::number, false},
    {"label", Kind::string, false},
};

const nlohmann::json* find(const nlohmann::json& root, std::string_view path) {
  const nlohmann::json* at = &root;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

// One field: `value` is null when it is missing, which is wrong only when it is needed.
Result<> check_field(const nlohmann::json* value, const FieldRule& rule, bool needed,
                     std::string_view prefix) {
  if (!value) {
    if (needed) return fail("{}{} is missing", prefix, rule.path);
    return {};
  }
  if (!is(*value, rule.kind)) {
    return fail("{}{} is {}, not {}", prefix, rule.path, value->type_name(), describe(rule.kind));
  }
  return {};
}

Result<> check_shape(const nlohmann::json& data) {
  for (const auto& rule : kRules) {
    std::string_view path(rule.path);
    const nlohmann::json* owner = find(data, path.substr(0, path.find('.')));
    bool finished = owner && owner->is_object() && owner->contains("finished");
    KPGO_TRY(check_field(find(data, path), rule, rule.needed_when_finished && finished, ""));
  }
  const nlohmann::json* profiles = find(data, "collect.profiles");
  if (!profiles) return {};
  for (size_t i = 0; i < profiles->size(); ++i) {
    const auto& entry = (*profiles)[i];
    if (!entry.is_object()) {
      return fail("collect.profiles[{}] is {}, not an object", i, entry.type_name());
    }
    std::string prefix = fmt::format("collect.profiles[{}].", i);
    for (const auto& rule : kProfileRules) {
      KPGO_TRY(check_field(find(entry, rule.path), rule, rule.needed_when_finished, prefix));
    }
  }
  return {};
}

}  // namespace

Result<Manifest> Manifest::load(const fs::path& workdir) {
  Manifest manifest;
  manifest.workdir_ = workdir;
  std::ifstream in(manifest.path());
  if (!in) return manifest;
  try {
    manifest.data_ = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: not valid JSON ({}); move it away to start over", manifest.path().string(),
                e.what());
  }
  if (!manifest.data_.is_object()) return fail("{}: not a kpgo manifest", manifest.path().string());
  if (auto shape = check_shape(manifest.data_); !shape) {
    return fail("{}: {}; the file was edited or damaged: fix that field, or remove the phase's "
                "section (or the file) to redo it",
                manifest.path().string(), shape.error().what());
  }
  return manifest;
}

Result<> Manifest::save() const {
  std::error_code ec;
  fs::create_directories(workdir_, ec);
  return write_file_atomically(path(), data_.dump(2) + "\n");
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

namespace {

// SHA-256 (FIPS 180-4), small and dependency-free: manifests hash configs and profiles.
class Sha256 {
 public:
  void update(const uint8_t* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      block_[fill_++] = data[i];
      if (fill_ == 64) {
        compress();
        fill_ = 0;
      }
    }
    length_ += size;
  }
  std::string hex() {
    uint64_t bits = length_ * 8;
    uint8_t pad = 0x80;
    update(&pad, 1);
    uint8_t zero = 0;
    while (fill_ != 56) update(&zero, 1);
    for (int i = 7; i >= 0; --i) {
      uint8_t byte = static_cast<uint8_t>(bits >> (i * 8));
      update(&byte, 1);
    }
    std::string out;
    for (uint32_t word : state_) out += fmt::format("{:08x}", word);
    return out;
  }

 private:
  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void compress() {
    static constexpr std::array<uint32_t, 64> k = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      w[i] = uint32_t(block_[4 * i]) << 24 | uint32_t(block_[4 * i + 1]) << 16 |
             uint32_t(block_[4 * i + 2]) << 8 | block_[4 * i + 3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto v = state_;
    for (int i = 0; i < 64; ++i) {
      uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
      uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      uint32_t t2 = s0 + maj;
      v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (int i = 0; i < 8; ++i) state_[i] += v[i];
  }

  std::array<uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<uint8_t, 64> block_{};
  size_t fill_ = 0;
  uint64_t length_ = 0;
};

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 hash;
  hash.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return hash.hex();
}

Result<std::string> sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot read", path.string());
  Sha256 hash;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(reinterpret_cast<const uint8_t*>(buffer.data()), static_cast<size_t>(in.gcount()));
  }
  return hash.hex();
}

}  // namespace kpgo::pipeline
