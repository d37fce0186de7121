// SPDX-License-Identifier: MIT
// Checks of a text profile (llvm-profdata's --text format), made before any LLVM reads it. LLVM's
// text reader reserves room for as many counters, bitmap bytes and value sites as a line says,
// before it reads them: one line saying 2^62 makes it throw from the allocator. This walk
// follows the reader's grammar up to each such count and refuses a count that the lines left in
// the file cannot hold (each item takes at least one line). Where the grammar breaks, LLVM's
// reader stops with its own error at the same place, before reserving anything more. The
// grammar is the reading LLVM's: from LLVM 18 on, a line "$N" after the counts starts N bitmap
// bytes; before, it is the next function's name.

#include <charconv>
#include <string_view>
#include <vector>

#include "kpgo/profile/format.hpp"

namespace kpgo::profile {
namespace {

// The lines LLVM's reader sees: blank lines and lines starting with '#' are skipped.
std::vector<std::string_view> meaningful_lines(std::span<const uint8_t> file) {
  std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  text = text.substr(0, text.find('\0'));  // LLVM's line iterator ends at a NUL byte
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line.front() != '#') lines.push_back(line);
  }
  return lines;
}

// A number as StringRef::getAsInteger reads one: all of the line in the given radix, and no
// more than its type holds (LLVM reads some counts into 32 bits: a larger one is not a number).
template <typename Integer = uint64_t>
bool number(std::string_view line, uint64_t& value, int radix = 10) {
  if (line.empty()) return false;
  Integer parsed = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), parsed, radix);
  value = parsed;
  return ec == std::errc() && end == line.data() + line.size();
}

bool decimal(std::string_view line, uint64_t& value) {
  return number(line, value);
}

// getAsInteger with radix 0: "0x" and "0b" in either case, "0o", or a leading 0 (then a digit)
// for octal, else decimal.
bool any_radix(std::string_view line, uint64_t& value) {
  auto starts = [&](std::string_view prefix) { return line.starts_with(prefix); };
  if (starts("0x") || starts("0X")) return number(line.substr(2), value, 16);
  if (starts("0b") || starts("0B")) return number(line.substr(2), value, 2);
  if (starts("0o")) return number(line.substr(2), value, 8);
  if (line.size() > 1 && line[0] == '0' && line[1] >= '0' && line[1] <= '9') {
    return number(line.substr(1), value, 8);
  }
  return number(line, value);
}

class TextWalk {
 public:
  TextWalk(std::vector<std::string_view> lines, bool bitmaps)
      : lines_(std::move(lines)), bitmaps_(bitmaps) {}

  Result<> run() {
    while (at_ < lines_.size() && lines_[at_].front() == ':') {
      if (lines_[at_] == ":temporal_prof_traces") {
        return fail("it carries temporal profile traces, which kpgo does not merge");
      }
      ++at_;
    }
    while (at_ < lines_.size()) {
      std::string_view name = lines_[at_];
      auto record = walk_record();
      if (!record) return fail("function {}: {}", name, record.error().what());
      if (!*record) break;  // the grammar broke here: LLVM reports it
    }
    return {};
  }

 private:
  // A count that is followed by that many items, each on a line of its own.
  Result<> fits(uint64_t count, const char* what) const {
    if (count > lines_.size() - at_) {
      return fail("{} {}, but only {} lines follow", count, what, lines_.size() - at_);
    }
    return {};
  }

  bool next_number(uint64_t& value) { return at_ < lines_.size() && decimal(lines_[at_++], value); }

  // Name, hash, NumCounters and the counts, (LLVM 18+) "$NumBitmapBytes" and the bytes, then
  // value data. Returns false where the grammar breaks.
  Result<bool> walk_record() {
    ++at_;  // the name
    if (at_ >= lines_.size()) return false;
    uint64_t hash = 0;
    if (at_ >= lines_.size() || !any_radix(lines_[at_++], hash)) return false;
    if (is_reserved_function_hash(hash)) {
      return fail("function hash {:#x}, which no compiler writes and LLVM's writer cannot hold",
                  hash);
    }
    uint64_t counters = 0;
    if (!next_number(counters)) return false;
    KPGO_TRY(fits(counters, "counters"));
    at_ += counters;
    if (bitmaps_ && at_ < lines_.size() && lines_[at_].front() == '$') {
      uint64_t bytes = 0;
      std::string_view count = lines_[at_++].substr(1);
      while (!count.empty() && (count.front() == ' ' || count.front() == '\t'))
        count.remove_prefix(1);
      while (!count.empty() && (count.back() == ' ' || count.back() == '\t'))
        count.remove_suffix(1);
      if (!any_radix(count, bytes)) return false;  // LLVM: not a valid integer
      KPGO_TRY(fits(bytes, "bitmap bytes"));
      at_ += bytes;
    }
    return walk_value_data();
  }

  // NumValueKinds, then per kind: ValueKind, NumValueSites, and per site NumValueData and that
  // many "value:count" lines. A first line that is no number means the record has none.
  Result<bool> walk_value_data() {
    // LLVM reads the number of kinds into 32 bits: a line it cannot read so is the next name.
    uint64_t kinds = 0;
    if (at_ >= lines_.size() || !number<uint32_t>(lines_[at_], kinds)) return true;
    ++at_;
    if (kinds == 0 || kinds > 3) return false;
    for (uint64_t k = 0; k < kinds; ++k) {
      uint64_t kind = 0, sites = 0;
      if (!next_number(kind) || !next_number(sites) || sites > UINT32_MAX) return false;
      KPGO_TRY(fits(sites, "value sites"));
      for (uint64_t s = 0; s < sites; ++s) {
        uint64_t values = 0;
        if (!next_number(values) || values > UINT32_MAX) return false;
        if (values > lines_.size() - at_) return false;  // LLVM: truncated, nothing reserved
        at_ += values;
      }
    }
    return true;
  }

  std::vector<std::string_view> lines_;
  bool bitmaps_;
  size_t at_ = 0;
};

}  // namespace

Result<> validate_text_profile(std::span<const uint8_t> file, bool bitmaps) {
  return TextWalk(meaningful_lines(file), bitmaps).run();
}

}  // namespace kpgo::profile
