// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cstring>

#include "kpgo/profile/format.hpp"
#include "kpgo/profile/versions.hpp"
#include "unit/raw_builder.hpp"

using namespace kpgo;
using namespace kpgo::profile;
using kpgo::testing::build_raw;
using kpgo::testing::RawSpec;

TEST(RawHeader, SectionOffsetsFollowEachVersionsLayout) {
  for (uint64_t version : {8, 9, 10}) {
    RawSpec spec{.version = version, .num_data = 3, .num_counters = 7, .names_size = 13};
    auto bytes = build_raw(spec);
    auto header = parse_raw_header(bytes, bytes.size());
    ASSERT_TRUE(header) << header.error().what();
    uint64_t header_words = version == 8 ? 11 : version == 9 ? 14 : 16;
    EXPECT_EQ(header->header_size, header_words * 8);
    EXPECT_EQ(header->data_record_size, version == 8 ? 48u : 64u);
    EXPECT_EQ(header->counters_offset(), header_words * 8 + 3 * header->data_record_size);
    EXPECT_EQ(header->names_offset(), header->counters_offset() + 7 * 8);
    EXPECT_EQ(header->value_data_offset(), header->names_offset() + 16);
    EXPECT_EQ(header->value_data_offset(), bytes.size());
    EXPECT_EQ(header->version, version);
    EXPECT_EQ(header->variant_flags, 1ULL << 56);
  }
}

TEST(RawHeader, TruncatedFileIsNamedAsSuch) {
  auto bytes = build_raw({.version = 10, .num_data = 2, .num_counters = 4});
  auto header = parse_raw_header(bytes, bytes.size() - 8);
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().what().find("truncated"), std::string::npos);
}

TEST(RawHeader, UnknownVersionAndBadMagicAreRejected) {
  auto bytes = build_raw({.version = 10});
  bytes[8] = 11;
  auto header = parse_raw_header(bytes, bytes.size());
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().what().find("version 11"), std::string::npos);
  bytes[0] ^= 0xff;
  EXPECT_FALSE(parse_raw_header(bytes, bytes.size()));
}

TEST(RawHeader, AbsurdSectionSizeIsCorruption) {
  auto bytes = build_raw({.version = 8});
  uint64_t huge = 1ULL << 50;
  std::memcpy(bytes.data() + 3 * 8, &huge, 8);  // num_data
  auto header = parse_raw_header(bytes, bytes.size());
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().what().find("corrupt"), std::string::npos);
}

TEST(BinaryIds, ParsedAsHexWithPadding) {
  std::vector<uint8_t> section;
  kpgo::testing::put_u64(section, 3);
  section.insert(section.end(), {0xab, 0x01, 0xff, 0, 0, 0, 0, 0});
  kpgo::testing::put_u64(section, 1);
  section.insert(section.end(), {0x7f, 0, 0, 0, 0, 0, 0, 0});
  auto ids = parse_binary_ids(section);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"ab01ff", "7f"}));
  section[0] = 200;
  EXPECT_FALSE(parse_binary_ids(section));
}

TEST(IdentifyProfile, ReadsKindVersionAndBuildIds) {
  kpgo::testing::TempDir dir;
  auto raw =
      build_raw({.version = 8, .num_data = 1, .num_counters = 1, .binary_ids = {{1, 2, 3, 4}}});
  kpgo::testing::write_bytes(dir / "a.profraw", raw);
  auto id = identify_profile(dir / "a.profraw");
  ASSERT_TRUE(id) << id.error().what();
  EXPECT_EQ(id->kind, ProfileKind::raw);
  EXPECT_EQ(id->version, 8u);
  EXPECT_EQ(id->binary_ids, std::vector<std::string>{"01020304"});

  std::vector<uint8_t> indexed;
  kpgo::testing::put_u64(indexed, kIndexedMagic);
  kpgo::testing::put_u64(indexed, 12);
  kpgo::testing::write_bytes(dir / "b.profdata", indexed);
  id = identify_profile(dir / "b.profdata");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->kind, ProfileKind::indexed);
  EXPECT_EQ(id->version, 12u);
}

TEST(IdentifyProfile, ErrorsNameTheFileAndReason) {
  kpgo::testing::TempDir dir;
  kpgo::testing::write_bytes(dir / "empty.profraw", {});
  auto id = identify_profile(dir / "empty.profraw");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().what().find("empty.profraw: empty file"), std::string::npos);

  kpgo::testing::write_bytes(dir / "junk", {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08});
  id = identify_profile(dir / "junk");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().what().find("junk: not a clang instrumentation profile"), std::string::npos);

  id = identify_profile(dir / "missing.profraw");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().what().find("missing.profraw"), std::string::npos);
}

TEST(Versions, TableMatchesTheFormatsEachLlvmWrites) {
  EXPECT_EQ(known_format_versions(16)->raw, 8u);
  EXPECT_EQ(known_format_versions(16)->indexed, 9u);
  EXPECT_EQ(known_format_versions(18)->raw, 9u);
  EXPECT_EQ(known_format_versions(19)->indexed, 12u);
  EXPECT_FALSE(known_format_versions(3));
  EXPECT_EQ(majors_writing_raw(8), "14 to 17");
  EXPECT_EQ(majors_writing_raw(9), "18");
  EXPECT_EQ(majors_writing_raw(10), "19 or newer");
}

TEST(RawRecords, ValidRecordsPassAndStrayCounterPointersAreNamed) {
  for (uint64_t version : {8, 9, 10}) {
    auto bytes = build_raw({.version = version, .num_data = 2, .num_counters = 4});
    auto header = parse_raw_header(bytes, bytes.size());
    ASSERT_TRUE(header);
    EXPECT_TRUE(validate_raw_records(bytes, *header)) << version;
    uint64_t wild = 1ULL << 40;
    std::memcpy(bytes.data() + header->data_offset() + header->data_record_size + 16, &wild, 8);
    auto checked = validate_raw_records(bytes, *header);
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().what().find("data record 1 points outside"), std::string::npos);
    // The most negative pointer once overflowed a signed subtraction (a fuzz finding under UBSan).
    uint64_t most_negative = 1ULL << 63;
    std::memcpy(bytes.data() + header->data_offset() + header->data_record_size + 16,
                &most_negative, 8);
    auto negative = validate_raw_records(bytes, *header);
    ASSERT_FALSE(negative);
    EXPECT_NE(negative.error().what().find("data record 1 points outside"), std::string::npos);
  }
}

TEST(RawRecords, BitmapBytesOutsideTheBitmapSectionAreNamed) {
  for (uint64_t version : {9, 10}) {
    auto bytes = build_raw({.version = version, .num_data = 2, .num_counters = 4});
    auto header = parse_raw_header(bytes, bytes.size());
    ASSERT_TRUE(header);
    // The file has no bitmap section, so one bitmap byte in a record is out of bounds wherever
    // it points (LLVM's reader refuses it; the fast path once merged it: a fuzz finding).
    uint32_t one = 1;
    std::memcpy(bytes.data() + header->data_offset() + header->num_bitmap_bytes_offset, &one, 4);
    auto checked = validate_raw_records(bytes, *header);
    ASSERT_FALSE(checked) << version;
    EXPECT_NE(checked.error().what().find("data record 0 has 1 bitmap bytes outside"),
              std::string::npos)
        << checked.error().what();
  }
}

TEST(RawRecords, NameChunksMustLieInsideTheNamesSection) {
  for (uint64_t version : {8, 10}) {
    auto bytes = build_raw({.version = version, .num_data = 1, .num_counters = 1, .names_size = 8});
    auto header = parse_raw_header(bytes, bytes.size());
    ASSERT_TRUE(header);
    uint8_t* names = bytes.data() + header->names_offset();
    const uint8_t plain[] = {3, 0, 'f', 0x01, 'g'};  // two names, not compressed
    std::memcpy(names, plain, sizeof plain);
    EXPECT_TRUE(validate_raw_records(bytes, *header)) << version;
    names[0] = 100;  // LLVM's reader would read 100 bytes from an 8-byte section (a fuzz finding)
    auto past = validate_raw_records(bytes, *header);
    ASSERT_FALSE(past);
    EXPECT_NE(past.error().what().find("names chunk at byte 0 runs 94 bytes past the section"),
              std::string::npos)
        << past.error().what();
    const uint8_t bomb[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0x78};  // 4 GiB from one byte
    std::memcpy(names, bomb, sizeof bomb);
    auto expands = validate_raw_records(bytes, *header);
    ASSERT_FALSE(expands);
    EXPECT_NE(expands.error().what().find("claims 4294967295 bytes from 1 compressed"),
              std::string::npos)
        << expands.error().what();
  }
}

TEST(RawRecords, RecordSizePerVersion) {
  EXPECT_EQ(raw_data_record_size(8), 48u);
  EXPECT_EQ(raw_data_record_size(9), 64u);
  EXPECT_EQ(raw_data_record_size(10), 64u);
  EXPECT_EQ(raw_data_record_size(7), 0u);
}

namespace {
std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
}  // namespace

TEST(TextProfile, CountsThatTheLinesCannotHoldAreRefused) {
  std::string good = ":ir\nmain\n# Func Hash:\n1234\n# Num Counters:\n2\n7\n3\n";
  EXPECT_TRUE(validate_text_profile(bytes_of(good), true));
  std::string counters = ":ir\nmain\n1234\n4611686018427387904\n7\n";
  auto refused = validate_text_profile(bytes_of(counters), true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("function main: 4611686018427387904 counters"),
            std::string::npos)
      << refused.error().what();
  std::string sites = "f\n1\n1\n5\n1\n0\n4000000000\n";
  EXPECT_FALSE(validate_text_profile(bytes_of(sites), true));
}

TEST(TextProfile, BitmapLinesFollowTheReadingLlvmsGrammar) {
  // For LLVM 18 and later "$2" starts two bitmap bytes; for older ones it is the next
  // function's name, whose counter count then follows its hash.
  std::string text = "f\n1\n1\n5\n$2\n7\n99999999999\n";
  EXPECT_TRUE(validate_text_profile(bytes_of(text), true));
  auto old = validate_text_profile(bytes_of(text), false);
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().what().find("function $2: 99999999999 counters"), std::string::npos)
      << old.error().what();
}

TEST(TextProfile, BitmapCountsAreReadInAnyRadixAsLlvmReadsThem) {
  // LLVM reads "$N" with radix 0 and reserves N bytes before reading them.
  for (std::string count : {"0x4000000000000", "0b11111111111111111111111111111111111",
                            "0o7777777777777", "077777777777777"}) {
    std::string text = "f\n1\n1\n5\n$" + count + "\n7\n";
    auto refused = validate_text_profile(bytes_of(text), true);
    EXPECT_FALSE(refused) << count;
  }
  EXPECT_TRUE(validate_text_profile(bytes_of("f\n1\n1\n5\n$0x2\n7\n9\n"), true));
}

TEST(TextProfile, AValueKindCountBeyond32BitsIsTheNextName) {
  // LLVM reads the number of value kinds into 32 bits; a longer number is no value data, so it
  // is the next function's name, and a huge counter count after it must still be caught (a
  // fuzz finding: LLVM 16 reserved 7e13 counters).
  std::string text = "f\n1\n1\n5\n742261400423665229\n1\n74226141896690\n";
  auto refused = validate_text_profile(bytes_of(text), false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("function 742261400423665229: 74226141896690 counters"),
            std::string::npos)
      << refused.error().what();
}

TEST(IndexedProfile, HeaderOfAnUnknownVersionOrCutShortIsRefused) {
  std::vector<uint8_t> file(16, 0);
  std::memcpy(file.data(), &kIndexedMagic, 8);
  uint64_t version = 14;
  std::memcpy(file.data() + 8, &version, 8);
  auto refused = validate_indexed_profile(file);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("indexed format version 14"), std::string::npos);
  version = 13;
  std::memcpy(file.data() + 8, &version, 8);
  refused = validate_indexed_profile(file);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("cut off"), std::string::npos) << refused.error().what();
}
