// Protobuf's wire format read by hand, for the intake paths that read their
// requests straight from the bytes instead of through the generated parser
// (cost's RecordUsage, monitor's Ingest). Those readers accept only an
// unambiguous subset of the encoding and hand everything else to the
// generated parser; the pieces they share are here, with the varint writer
// of the encoders that write by hand (monitor's sketches, ingest journal and
// usage payloads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace agentwatch::common::wire {

// Wire types.
inline constexpr uint32_t kVarint = 0;
inline constexpr uint32_t kFixed64 = 1;
inline constexpr uint32_t kLength = 2;

// Reads wire format from a byte range; every read checks the bounds. A false
// return means malformed (or outside what the caller accepts) and leaves the
// reader unusable.
class Reader {
 public:
  explicit Reader(absl::string_view bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool Done() const { return at_ == end_; }

  // The next field's number (never 0) and wire type.
  bool Tag(uint32_t* field, uint32_t* wire_type) {
    uint64_t tag = 0;
    if (!Varint(&tag) || tag > 0xffffffffu) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return *field != 0;
  }

  // At most 10 bytes and 64 bits.
  bool Varint(uint64_t* value) {
    if (at_ != end_ && *at_ < 0x80) {  // one byte: most tags, lengths and small values
      *value = *at_++;
      return true;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (at_ == end_) return false;
      const uint8_t byte = *at_++;
      if (shift == 63 && byte > 1) return false;  // more than 64 bits
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = v;
        return true;
      }
    }
    return false;
  }

  bool Fixed64(uint64_t* value) {
    if (end_ - at_ < 8) return false;
    std::memcpy(value, at_, 8);  // little-endian on every target this builds for
    at_ += 8;
    return true;
  }

  // A length-delimited field's bytes (a view into the input).
  bool Bytes(absl::string_view* out) {
    uint64_t length = 0;
    if (!Varint(&length) || length > static_cast<uint64_t>(end_ - at_)) return false;
    *out = absl::string_view(reinterpret_cast<const char*>(at_), static_cast<size_t>(length));
    at_ += length;
    return true;
  }

  // A length-delimited field as a string of ASCII bytes only (so valid
  // UTF-8, which the generated parser checks, without decoding it).
  bool String(absl::string_view* out) { return Bytes(out) && IsAscii(*out); }

  static bool IsAscii(absl::string_view s) {
    const char* p = s.data();
    size_t n = s.size();
    uint64_t high = 0;
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      high |= word;
    }
    for (; n > 0; ++p, --n) high |= static_cast<uint8_t>(*p);
    return (high & 0x8080808080808080ull) == 0;
  }

 private:
  const uint8_t* at_;
  const uint8_t* end_;
};

// Marks `field` (1..31) as seen in `*seen`; false when it was already (a
// field given twice, which the generated parser would merge or let the last
// one win).
inline bool FirstTime(uint32_t* seen, uint32_t field) {
  const uint32_t bit = 1u << field;
  if (*seen & bit) return false;
  *seen |= bit;
  return true;
}

// An int32 field's varint as the generated parser reads it: the value, or
// a negative one sign-extended to 64 bits (the encoder's form). Anything
// else (which the parser would truncate) is false.
inline bool Int32Of(uint64_t v, int32_t* out) {
  const int32_t x = static_cast<int32_t>(v);
  if (static_cast<uint64_t>(static_cast<int64_t>(x)) != v) return false;
  *out = x;
  return true;
}

// A google.protobuf.Timestamp's or Duration's (seconds, nanos) as the
// generated parser reads them (absent fields 0); each field at most once and
// a varint. Ranges are the caller's to check.
inline bool ReadSecondsNanos(absl::string_view bytes, int64_t* seconds, int32_t* nanos) {
  Reader r(bytes);
  uint32_t seen = 0;
  *seconds = 0;
  *nanos = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    uint64_t v = 0;
    if (!r.Tag(&field, &type) || type != kVarint || field > 2 || !FirstTime(&seen, field) ||
        !r.Varint(&v)) {
      return false;
    }
    if (field == 1) {
      *seconds = static_cast<int64_t>(v);
    } else if (!Int32Of(v, nanos)) {
      return false;
    }
  }
  return true;
}

// A varint is at most this many bytes.
inline constexpr size_t kMaxVarintBytes = 10;

// Writes `value` as a varint at `p`, which has room for kMaxVarintBytes;
// returns the end.
inline char* WriteVarint(uint64_t value, char* p) {
  while (value >= 0x80) {
    *p++ = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  *p++ = static_cast<char>(value);
  return p;
}

// Appends `value` as a varint to `out`.
inline void AppendVarint(uint64_t value, std::string* out) {
  char bytes[kMaxVarintBytes];
  out->append(bytes, static_cast<size_t>(WriteVarint(value, bytes) - bytes));
}

}  // namespace agentwatch::common::wire
