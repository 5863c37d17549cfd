#include "cost/store/ledger_encoding.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>

#include "absl/hash/hash.h"

namespace agentwatch::cost {
namespace {

// Every length is written as 4 bytes, least significant first: a field of
// the key is its length and then its bytes, so no two different sequences
// of fields encode alike (validated scope values are at most 256 bytes, tag
// counts at most 16; the width holds any std::string a caller might pass
// below 4 GiB).
constexpr size_t kLengthBytes = 4;

char* PutLength(char* at, size_t length) {
  const uint32_t n = static_cast<uint32_t>(length);
  at[0] = static_cast<char>(n & 0xff);
  at[1] = static_cast<char>((n >> 8) & 0xff);
  at[2] = static_cast<char>((n >> 16) & 0xff);
  at[3] = static_cast<char>((n >> 24) & 0xff);
  return at + kLengthBytes;
}

char* PutField(char* at, absl::string_view value) {
  at = PutLength(at, value.size());
  if (!value.empty()) std::memcpy(at, value.data(), value.size());
  return at + value.size();
}

// The fields of a record's key before its tags, in key order.
constexpr size_t kFieldCount = 10;
std::array<absl::string_view, kFieldCount> DimsFields(const UsageRecord& r) {
  return {r.scope.tenant,
          UsageKindName(r.kind),
          r.scope.team,
          r.scope.workflow,
          r.scope.agent,
          r.scope.model,
          r.scope.provider,
          r.scope.service,
          r.kind == UsageKind::kInfra ? InfraResourceName(r.infra_resource) : absl::string_view(),
          r.infra_sku};
}

// Reads a DimsCacheKey front to back: lengths and the fields they prefix.
class KeyReader {
 public:
  explicit KeyReader(absl::string_view key) : rest_(key) {}
  bool Length(size_t* length) {
    if (rest_.size() < kLengthBytes) return false;
    const auto* b = reinterpret_cast<const unsigned char*>(rest_.data());
    *length = static_cast<size_t>(b[0]) | static_cast<size_t>(b[1]) << 8 |
              static_cast<size_t>(b[2]) << 16 | static_cast<size_t>(b[3]) << 24;
    rest_.remove_prefix(kLengthBytes);
    return true;
  }
  bool Field(absl::string_view* field) {
    size_t length = 0;
    if (!Length(&length) || rest_.size() < length) return false;
    *field = rest_.substr(0, length);
    rest_.remove_prefix(length);
    return true;
  }
  bool Done() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

// What both hashes feed the hash state: the fields, the tag count, then
// each tag's key and value, all as string views and sizes, so that a key
// and its record hash alike.
struct EncodedDims {
  absl::string_view key;

  template <typename H>
  friend H AbslHashValue(H h, const EncodedDims& d) {
    KeyReader reader(d.key);
    absl::string_view field;
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (!reader.Field(&field)) return H::combine(std::move(h), d.key);  // not a key
      h = H::combine(std::move(h), field);
    }
    size_t tags = 0;
    if (!reader.Length(&tags)) return H::combine(std::move(h), d.key);
    h = H::combine(std::move(h), tags);
    absl::string_view value;
    for (size_t i = 0; i < tags; ++i) {
      if (!reader.Field(&field) || !reader.Field(&value)) return H::combine(std::move(h), d.key);
      h = H::combine(std::move(h), field, value);
    }
    return h;
  }
};

struct RecordDims {
  const UsageRecord* record;

  template <typename H>
  friend H AbslHashValue(H h, const RecordDims& d) {
    for (absl::string_view field : DimsFields(*d.record)) h = H::combine(std::move(h), field);
    h = H::combine(std::move(h), d.record->scope.tags.size());
    for (const auto& [key, value] : d.record->scope.tags) {
      h = H::combine(std::move(h), absl::string_view(key), absl::string_view(value));
    }
    return h;
  }
};

}  // namespace

void AppendDimsCacheKey(std::string* out, const UsageRecord& r) {
  const std::array<absl::string_view, kFieldCount> fields = DimsFields(r);
  // The key's size first, so that it is written with one resize and plain
  // stores (this runs for every record of every RecordUsage batch).
  size_t size = kLengthBytes * (std::size(fields) + 1 + 2 * r.scope.tags.size());
  for (absl::string_view f : fields) size += f.size();
  for (const auto& [k, v] : r.scope.tags) size += k.size() + v.size();
  const size_t start = out->size();
  out->resize(start + size);
  char* at = out->data() + start;
  for (absl::string_view f : fields) at = PutField(at, f);
  at = PutLength(at, r.scope.tags.size());
  for (const auto& [k, v] : r.scope.tags) {
    at = PutField(at, k);
    at = PutField(at, v);
  }
}

size_t DimsCacheKeyHash::operator()(absl::string_view key) const {
  return absl::Hash<EncodedDims>()(EncodedDims{key});
}

size_t DimsCacheKeyHash::operator()(const DimsOf& dims) const {
  return absl::Hash<RecordDims>()(RecordDims{dims.record});
}

bool DimsCacheKeyEq::operator()(absl::string_view key, const DimsOf& dims) const {
  KeyReader reader(key);
  absl::string_view field;
  for (absl::string_view want : DimsFields(*dims.record)) {
    if (!reader.Field(&field) || field != want) return false;
  }
  const std::map<std::string, std::string>& tags = dims.record->scope.tags;
  size_t count = 0;
  if (!reader.Length(&count) || count != tags.size()) return false;
  absl::string_view value;
  for (const auto& [k, v] : tags) {
    if (!reader.Field(&field) || field != k || !reader.Field(&value) || value != v) return false;
  }
  return reader.Done();
}

std::string DimsCacheKey(const UsageRecord& r) {
  std::string key;
  AppendDimsCacheKey(&key, r);
  return key;
}

}  // namespace agentwatch::cost
