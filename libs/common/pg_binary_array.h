// One-dimensional Postgres arrays in the binary format (array_recv's), for
// binding to a `$n::<type>[]` parameter (incident's intake statements, and
// every bytea[] through PgByteaArray, pg.h): the values
// travel as their binary representations (text as its bytes, a timestamptz
// as microseconds since 2000, a tid as block and offset), so Postgres runs
// neither array_in's scan of a literal nor an input function per element,
// and the service builds no quoted, escaped literal.
//
// The element type is written into the value, and Postgres refuses an array
// whose element type is not the parameter's ("wrong element type"), as it
// refuses a text value that is not valid UTF-8 or holds a NUL (what the text
// literal's input function refused too).
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agentwatch::common {

class PgBinaryArray {
 public:
  // Element types by their pg_type oid.
  enum class Type : uint32_t {
    kBytea = 17,
    kInt2 = 21,
    kInt4 = 23,
    kText = 25,
    kTid = 27,
    kTimestamptz = 1184,
  };

  explicit PgBinaryArray(Type type);

  // kText: the bytes as they are.
  void AddText(absl::string_view value);
  // kBytea: the bytes as they are.
  void AddBytes(absl::string_view value);
  // Room for `bytes` more bytes of elements (their 4-byte lengths included).
  void Reserve(size_t bytes) { elements_.reserve(elements_.size() + bytes); }
  // kInt2 or kInt4 (the value must fit; checked).
  void AddInt(int64_t value);
  // kTimestamptz, floored to the microsecond; absl's infinite times are
  // 'infinity' and '-infinity' (as PgCopyBinary::AddTimestamptz).
  void AddTime(absl::Time t);
  // kTid.
  void AddTid(uint32_t block, uint16_t offset);
  // kTid from its text form "(block,offset)", as `ctid::text` answers it.
  // False (nothing added) when `text` is not one.
  bool AddTidText(absl::string_view text);
  void AddNull();

  int64_t size() const { return count_; }
  // The array, to bind as a parameter (libpqxx sends a binarystring in the
  // binary format).
  pqxx::binarystring Value();

 private:
  void Put4(uint32_t v);
  // A length and the bytes (kText, kBytea).
  void AddRaw(absl::string_view value);
  void CheckType(Type type) const;

  static constexpr size_t kHeaderBytes = 20;

  const Type type_;
  // The header's room (Value() fills it in), then the elements.
  std::string elements_;
  int64_t count_ = 0;
  bool has_nulls_ = false;
};

}  // namespace agentwatch::common
