#include "cost/store/ledger_encoding.h"

#include <cstdint>
#include <cstring>

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

}  // namespace

void AppendDimsCacheKey(std::string* out, const UsageRecord& r) {
  const absl::string_view fields[] = {
      r.scope.tenant,
      UsageKindName(r.kind),
      r.scope.team,
      r.scope.workflow,
      r.scope.agent,
      r.scope.model,
      r.scope.provider,
      r.scope.service,
      r.kind == UsageKind::kInfra ? InfraResourceName(r.infra_resource) : absl::string_view(),
      r.infra_sku};
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

std::string DimsCacheKey(const UsageRecord& r) {
  std::string key;
  AppendDimsCacheKey(&key, r);
  return key;
}

}  // namespace agentwatch::cost
