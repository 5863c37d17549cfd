#include "common/time_format.h"

#include <cstdint>

namespace agentwatch::common {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
constexpr int64_t kMinMicros = int64_t{-354285} * kMicrosPerDay;  // 1000-01-01
constexpr int64_t kEndMicros = int64_t{2932897} * kMicrosPerDay;  // 10000-01-01

// "YYYY-MM-DDTHH:MM:SS.ffffff" of `micros` since the epoch (years 1000..9999),
// written into text[0..26).
void WriteCivil(int64_t micros, char* text) {
  int64_t days = micros / kMicrosPerDay;
  int64_t of_day = micros % kMicrosPerDay;
  if (of_day < 0) {
    of_day += kMicrosPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01, proleptic Gregorian (H. Hinnant's
  // civil_from_days).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const int64_t second = of_day / 1000000;
  auto put = [text](int at, int width, int64_t value) {
    for (int i = at + width - 1; i >= at; --i, value /= 10) {
      text[i] = static_cast<char>('0' + value % 10);
    }
  };
  put(0, 4, year);
  text[4] = '-';
  put(5, 2, month);
  text[7] = '-';
  put(8, 2, day);
  text[10] = 'T';
  put(11, 2, second / 3600);
  text[13] = ':';
  put(14, 2, second / 60 % 60);
  text[16] = ':';
  put(17, 2, second % 60);
  text[19] = '.';
  put(20, 6, of_day % 1000000);
}

bool InFastRange(absl::Time t) {
  return t >= absl::FromUnixMicros(kMinMicros) && t < absl::FromUnixMicros(kEndMicros);
}

}  // namespace

void AppendUtcMicros(std::string* out, absl::Time t) {
  if (!InFastRange(t)) {
    out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone()));
    return;
  }
  char text[27];
  WriteCivil(absl::ToUnixMicros(t), text);  // ToUnixMicros floors, as %E6S truncates
  text[26] = 'Z';
  out->append(text, sizeof(text));
}

void AppendRfc3339Full(std::string* out, absl::Time t) {
  if (!InFastRange(t) || absl::FromUnixMicros(absl::ToUnixMicros(t)) != t) {
    out->append(absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()));
    return;
  }
  const int64_t micros = absl::ToUnixMicros(t);
  char text[26];
  WriteCivil(micros, text);
  int64_t fraction = micros % 1000000;
  if (fraction < 0) fraction += 1000000;
  size_t length = 19;  // whole seconds
  if (fraction != 0) {
    length = 26;
    while (fraction % 10 == 0) {
      fraction /= 10;
      --length;
    }
  }
  out->append(text, length);
  out->append("+00:00");
}

std::string Rfc3339Full(absl::Time t) {
  std::string out;
  AppendRfc3339Full(&out, t);
  return out;
}

}  // namespace agentwatch::common
