#include "cost/store/ledger_encoding.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/pg.h"

namespace agentwatch::cost {
namespace {

// Floor division for a positive divisor.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void AppendDigits(std::string* out, int64_t value, int width) {
  char buffer[8];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(buffer, static_cast<size_t>(width));
}

}  // namespace

void AppendPgTimestamp(std::string* out, absl::Time t) {
  // Years 1000..9999 by hand (days to civil date, H. Hinnant's algorithm);
  // anything else as PgTimestamp writes it.
  constexpr int64_t kMinMicros = -30610224000LL * 1000000;  // 1000-01-01T00:00:00Z
  constexpr int64_t kMaxMicros = 253402300800LL * 1000000;  // 10000-01-01T00:00:00Z
  if (t < absl::FromUnixMicros(kMinMicros) || t >= absl::FromUnixMicros(kMaxMicros)) {
    out->append(common::PgTimestamp(t));
    return;
  }
  const int64_t micros = absl::ToUnixMicros(t);
  const int64_t seconds = FloorDiv(micros, 1000000);
  const int64_t fraction = micros - seconds * 1000000;
  const int64_t days = FloorDiv(seconds, 86400);
  const int64_t of_day = seconds - days * 86400;
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  AppendDigits(out, year, 4);
  out->push_back('-');
  AppendDigits(out, month, 2);
  out->push_back('-');
  AppendDigits(out, day, 2);
  out->push_back('T');
  AppendDigits(out, of_day / 3600, 2);
  out->push_back(':');
  AppendDigits(out, of_day / 60 % 60, 2);
  out->push_back(':');
  AppendDigits(out, of_day % 60, 2);
  out->push_back('.');
  AppendDigits(out, fraction, 6);
  out->push_back('Z');
}

void AppendDimsCacheKey(std::string* out, const UsageRecord& r) {
  auto field = [out](absl::string_view value) {
    char digits[absl::numbers_internal::kFastToBufferSize];
    out->append(digits, absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(value.size()),
                                                                digits) -
                            digits);
    out->push_back(':');
    out->append(value.data(), value.size());
  };
  field(r.scope.tenant);
  field(UsageKindName(r.kind));
  field(r.scope.team);
  field(r.scope.workflow);
  field(r.scope.agent);
  field(r.scope.model);
  field(r.scope.provider);
  field(r.scope.service);
  field(r.kind == UsageKind::kInfra ? InfraResourceName(r.infra_resource) : "");
  field(r.infra_sku);
  absl::StrAppend(out, r.scope.tags.size(), "#");
  for (const auto& [k, v] : r.scope.tags) {
    field(k);
    field(v);
  }
}

std::string DimsCacheKey(const UsageRecord& r) {
  std::string key;
  key.reserve(96 + r.scope.tenant.size() + r.scope.team.size() + r.scope.workflow.size() +
              r.scope.agent.size() + r.scope.model.size() + r.scope.provider.size() +
              r.scope.service.size() + r.infra_sku.size() + 16 * r.scope.tags.size());
  AppendDimsCacheKey(&key, r);
  return key;
}

}  // namespace agentwatch::cost
