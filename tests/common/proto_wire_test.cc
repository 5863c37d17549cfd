#include "common/proto_wire.h"

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"

namespace agentwatch::common::wire {
namespace {

// Bytes as protobuf's own encoder writes them.
std::string EncodedVarint(uint64_t value) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint64(value);
  }
  return out;
}

TEST(ProtoWireReaderTest, VarintsReadAsProtobufWritesThem) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                         uint64_t{1} << 35, uint64_t{0x7fffffffffffffff},
                         uint64_t{0xffffffffffffffff}}) {
    const std::string bytes = EncodedVarint(value);
    Reader r(bytes);
    uint64_t read = 0;
    ASSERT_TRUE(r.Varint(&read)) << value;
    EXPECT_EQ(read, value);
    EXPECT_TRUE(r.Done());
  }
}

TEST(ProtoWireWriterTest, VarintsAreProtobufsBytes) {
  std::string appended;
  std::string expected;
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                         uint64_t{16383}, uint64_t{16384}, uint64_t{1} << 35,
                         uint64_t{0x7fffffffffffffff}, ~uint64_t{0}}) {
    char bytes[kMaxVarintBytes];
    const char* end = WriteVarint(value, bytes);
    EXPECT_EQ(std::string(bytes, static_cast<size_t>(end - bytes)), EncodedVarint(value)) << value;
    AppendVarint(value, &appended);
    expected += EncodedVarint(value);
  }
  EXPECT_EQ(appended, expected);
  EXPECT_EQ(EncodedVarint(~uint64_t{0}).size(), kMaxVarintBytes);
}

TEST(ProtoWireReaderTest, MalformedVarintsAreRefused) {
  uint64_t v = 0;
  {
    Reader r(absl::string_view("\x80\x80", 2));  // truncated
    EXPECT_FALSE(r.Varint(&v));
  }
  {
    // Ten bytes whose last carries more than the 64th bit.
    const std::string bytes = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
    Reader r(bytes);
    EXPECT_FALSE(r.Varint(&v));
  }
  {
    // Eleven bytes: continuation past the tenth.
    const std::string bytes = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01";
    Reader r(bytes);
    EXPECT_FALSE(r.Varint(&v));
  }
  {
    Reader r{absl::string_view()};
    EXPECT_FALSE(r.Varint(&v));
  }
}

TEST(ProtoWireReaderTest, TagsFieldsAndLengths) {
  // Field 1 varint 150, field 2 "hi", field 3 fixed64 = 0x0102030405060708.
  std::string bytes = "\x08\x96\x01\x12\x02hi\x19";
  bytes += std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8);
  Reader r(bytes);
  uint32_t field = 0, type = 0;
  uint64_t v = 0;
  absl::string_view s;
  ASSERT_TRUE(r.Tag(&field, &type));
  EXPECT_EQ(field, 1u);
  EXPECT_EQ(type, kVarint);
  ASSERT_TRUE(r.Varint(&v));
  EXPECT_EQ(v, 150u);
  ASSERT_TRUE(r.Tag(&field, &type));
  EXPECT_EQ(field, 2u);
  EXPECT_EQ(type, kLength);
  ASSERT_TRUE(r.String(&s));
  EXPECT_EQ(s, "hi");
  ASSERT_TRUE(r.Tag(&field, &type));
  EXPECT_EQ(field, 3u);
  EXPECT_EQ(type, kFixed64);
  ASSERT_TRUE(r.Fixed64(&v));
  EXPECT_EQ(v, 0x0102030405060708u);
  EXPECT_TRUE(r.Done());
}

TEST(ProtoWireReaderTest, FieldZeroLengthsPastTheEndAndShortFixedAreRefused) {
  uint32_t field = 0, type = 0;
  absl::string_view s;
  uint64_t v = 0;
  {
    Reader r(absl::string_view("\x00", 1));  // field number 0
    EXPECT_FALSE(r.Tag(&field, &type));
  }
  {
    Reader r(absl::string_view("\x05" "abcd", 5));  // length 5, 4 bytes left
    EXPECT_FALSE(r.Bytes(&s));
  }
  {
    Reader r(absl::string_view("\x01\x02\x03", 3));
    EXPECT_FALSE(r.Fixed64(&v));
  }
  {
    // A tag above 32 bits.
    Reader r(absl::string_view("\x80\x80\x80\x80\x80\x01", 6));
    EXPECT_FALSE(r.Tag(&field, &type));
  }
}

TEST(ProtoWireReaderTest, StringsAreAsciiAtEveryPosition) {
  // A high byte at every position of strings of 1..24 bytes, across the
  // 8-byte words the check reads.
  for (size_t length = 1; length <= 24; ++length) {
    EXPECT_TRUE(Reader::IsAscii(std::string(length, 'a'))) << length;
    for (size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      text[at] = static_cast<char>(0x80);
      EXPECT_FALSE(Reader::IsAscii(text)) << length << " " << at;
      std::string bytes(1, static_cast<char>(length));
      bytes += text;
      Reader r(bytes);
      absl::string_view s;
      EXPECT_FALSE(r.String(&s)) << length << " " << at;
      Reader raw(bytes);
      EXPECT_TRUE(raw.Bytes(&s));  // Bytes takes any byte
    }
  }
  EXPECT_TRUE(Reader::IsAscii(""));
}

TEST(ProtoWireReaderTest, FirstTimeMarksEachFieldOnce) {
  uint32_t seen = 0;
  EXPECT_TRUE(FirstTime(&seen, 1));
  EXPECT_TRUE(FirstTime(&seen, 31));
  EXPECT_FALSE(FirstTime(&seen, 1));
  EXPECT_FALSE(FirstTime(&seen, 31));
  EXPECT_TRUE(FirstTime(&seen, 2));
}

TEST(ProtoWireReaderTest, Int32sAsTheParserReadsThem) {
  int32_t x = 0;
  EXPECT_TRUE(Int32Of(5, &x));
  EXPECT_EQ(x, 5);
  EXPECT_TRUE(Int32Of(static_cast<uint64_t>(int64_t{-7}), &x));  // sign-extended
  EXPECT_EQ(x, -7);
  EXPECT_TRUE(Int32Of(0x7fffffff, &x));
  EXPECT_EQ(x, 0x7fffffff);
  EXPECT_FALSE(Int32Of(0x80000000u, &x));       // truncated by the parser
  EXPECT_FALSE(Int32Of(uint64_t{1} << 40, &x));  // likewise
}

TEST(ProtoWireReaderTest, SecondsAndNanosOfATimestamp) {
  int64_t seconds = -1;
  int32_t nanos = -1;
  // seconds 1,700,000,000 (field 1), nanos 5 (field 2).
  std::string bytes = "\x08" + EncodedVarint(1700000000) + "\x10\x05";
  ASSERT_TRUE(ReadSecondsNanos(bytes, &seconds, &nanos));
  EXPECT_EQ(seconds, 1700000000);
  EXPECT_EQ(nanos, 5);
  ASSERT_TRUE(ReadSecondsNanos("", &seconds, &nanos));  // both absent: zero
  EXPECT_EQ(seconds, 0);
  EXPECT_EQ(nanos, 0);
  const std::string negative = "\x08" + EncodedVarint(static_cast<uint64_t>(int64_t{-3}));
  ASSERT_TRUE(ReadSecondsNanos(negative, &seconds, &nanos));
  EXPECT_EQ(seconds, -3);
  EXPECT_FALSE(ReadSecondsNanos("\x08\x01\x08\x02", &seconds, &nanos));  // seconds twice
  EXPECT_FALSE(ReadSecondsNanos("\x18\x01", &seconds, &nanos));           // field 3
  EXPECT_FALSE(ReadSecondsNanos("\x12\x00", &seconds, &nanos));           // wrong wire type
  EXPECT_FALSE(ReadSecondsNanos("\x10" + EncodedVarint(0x80000000u), &seconds, &nanos));
}

}  // namespace
}  // namespace agentwatch::common::wire
