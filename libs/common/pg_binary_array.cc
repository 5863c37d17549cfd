#include "common/pg_binary_array.h"

#include <cstring>
#include <limits>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/pg.h"

namespace agentwatch::common {

PgBinaryArray::PgBinaryArray(Type type) : type_(type), elements_(kHeaderBytes, '\0') {}

void PgBinaryArray::CheckType(Type type) const {
  if (type_ != type) {
    throw std::logic_error(absl::StrCat("PgBinaryArray: a value of element type ",
                                        static_cast<uint32_t>(type), " added to an array of ",
                                        static_cast<uint32_t>(type_)));
  }
}

void PgBinaryArray::Put4(uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  elements_.append(bytes, 4);
}

void PgBinaryArray::AddText(absl::string_view value) {
  CheckType(Type::kText);
  AddRaw(value);
}

void PgBinaryArray::AddBytes(absl::string_view value) {
  CheckType(Type::kBytea);
  AddRaw(value);
}

void PgBinaryArray::AddRaw(absl::string_view value) {
  if (value.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::length_error("PgBinaryArray: an element over 2 GiB");
  }
  Put4(static_cast<uint32_t>(value.size()));
  elements_.append(value.data(), value.size());
  ++count_;
}

void PgBinaryArray::AddInt(int64_t value) {
  if (type_ == Type::kInt2) {
    if (value < std::numeric_limits<int16_t>::min() ||
        value > std::numeric_limits<int16_t>::max()) {
      throw std::out_of_range(absl::StrCat("PgBinaryArray: ", value, " is not a smallint"));
    }
    Put4(2);
    const uint16_t v = static_cast<uint16_t>(static_cast<int16_t>(value));
    const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    elements_.append(bytes, 2);
  } else {
    CheckType(Type::kInt4);
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max()) {
      throw std::out_of_range(absl::StrCat("PgBinaryArray: ", value, " is not an integer"));
    }
    Put4(4);
    Put4(static_cast<uint32_t>(static_cast<int32_t>(value)));
  }
  ++count_;
}

void PgBinaryArray::AddTime(absl::Time t) {
  CheckType(Type::kTimestamptz);
  const uint64_t v = static_cast<uint64_t>(PgTimestamptzMicros(t));
  Put4(8);
  Put4(static_cast<uint32_t>(v >> 32));
  Put4(static_cast<uint32_t>(v));
  ++count_;
}

void PgBinaryArray::AddTid(uint32_t block, uint16_t offset) {
  CheckType(Type::kTid);
  Put4(6);
  Put4(block);
  const char bytes[2] = {static_cast<char>(offset >> 8), static_cast<char>(offset)};
  elements_.append(bytes, 2);
  ++count_;
}

bool PgBinaryArray::AddTidText(absl::string_view text) {
  if (text.size() < 5 || text.front() != '(' || text.back() != ')') return false;
  text = text.substr(1, text.size() - 2);
  const size_t comma = text.find(',');
  if (comma == absl::string_view::npos) return false;
  uint32_t block = 0;
  uint32_t offset = 0;
  if (!absl::SimpleAtoi(text.substr(0, comma), &block) ||
      !absl::SimpleAtoi(text.substr(comma + 1), &offset) ||
      offset > std::numeric_limits<uint16_t>::max()) {
    return false;
  }
  AddTid(block, static_cast<uint16_t>(offset));
  return true;
}

void PgBinaryArray::AddNull() {
  Put4(0xffffffffu);  // length -1
  has_nulls_ = true;
  ++count_;
}

pqxx::binarystring PgBinaryArray::Value() {
  // array_recv's layout, every integer 4 bytes in network order: dimensions,
  // has-nulls, the element type, then the dimension's length and lower bound
  // (an empty array: no dimensions), then each element's length (-1: NULL)
  // and bytes. The header goes into the room the constructor left.
  char* p = elements_.data();
  auto put = [&p](uint32_t v) {
    p[0] = static_cast<char>(v >> 24);
    p[1] = static_cast<char>(v >> 16);
    p[2] = static_cast<char>(v >> 8);
    p[3] = static_cast<char>(v);
    p += 4;
  };
  if (count_ == 0) {
    put(0);
    put(0);
    put(static_cast<uint32_t>(type_));
    return pqxx::binarystring(elements_.data(), 12);
  }
  put(1);
  put(has_nulls_ ? 1 : 0);
  put(static_cast<uint32_t>(type_));
  put(static_cast<uint32_t>(count_));
  put(1);
  return pqxx::binarystring(elements_.data(), elements_.size());
}

}  // namespace agentwatch::common
