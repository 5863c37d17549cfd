// common::AppendUtcMicros (and pg.h's PgTimestamp / AppendPgTimestamp, which
// write with it) and common::Rfc3339Full equal absl::FormatTime's text
// everywhere: day, month, year and leap-day edges, before 1970, random
// instants over the whole fast range (years 1000..9999), sub-microsecond
// fractions, and outside the range.
#include "common/time_format.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/pg.h"

namespace agentwatch::common {
namespace {

std::string MicrosReference(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string Rfc3339Reference(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

std::string Micros(absl::Time t) {
  std::string out = "x";  // appends, never overwrites
  AppendUtcMicros(&out, t);
  return out.substr(1);
}

std::string Rfc3339Appended(absl::Time t) {
  std::string out = "y";
  AppendRfc3339Full(&out, t);
  return out.substr(1);
}

absl::Time Utc(int64_t y, int m, int d, int h = 0, int min = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, s), absl::UTCTimeZone());
}

TEST(TimeFormatTest, EqualsFormatTimeOnEdges) {
  const absl::Time bases[] = {
      absl::UnixEpoch(),
      Utc(2024, 2, 29, 23, 59, 59),
      Utc(2024, 3, 1),
      Utc(2025, 12, 31, 23, 59, 59),
      Utc(2000, 2, 29, 12),
      Utc(1969, 12, 31, 23, 59, 59),
      Utc(1900, 3, 1),
      Utc(1600, 2, 29, 1, 2, 3),
      Utc(1000, 1, 1),
      Utc(1, 1, 1),
      Utc(0, 6, 15),
      Utc(9999, 12, 31, 23, 59, 59),
      Utc(10000, 1, 1),
  };
  const absl::Duration offsets[] = {
      absl::ZeroDuration(),        absl::Milliseconds(500),   absl::Microseconds(250'000),
      absl::Microseconds(123'456), absl::Microseconds(1),     absl::Microseconds(10),
      absl::Microseconds(999'999), absl::Nanoseconds(1),      absl::Nanoseconds(123'456'789),
      -absl::Microseconds(1),      -absl::Nanoseconds(1),     -absl::Milliseconds(1)};
  int checked = 0;
  for (const absl::Time base : bases) {
    for (const absl::Duration offset : offsets) {
      const absl::Time t = base + offset;
      EXPECT_EQ(Micros(t), MicrosReference(t)) << t;
      EXPECT_EQ(PgTimestamp(t), MicrosReference(t)) << t;
      std::string appended = "z";
      AppendPgTimestamp(&appended, t);
      EXPECT_EQ(appended, "z" + MicrosReference(t)) << t;
      EXPECT_EQ(Rfc3339Appended(t), Rfc3339Reference(t)) << t;
      EXPECT_EQ(Rfc3339Full(t), Rfc3339Reference(t)) << t;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 13 * 12);
  for (const absl::Time t : {absl::InfiniteFuture(), absl::InfinitePast()}) {
    EXPECT_EQ(Micros(t), MicrosReference(t));
    EXPECT_EQ(PgTimestamp(t), MicrosReference(t));
    EXPECT_EQ(Rfc3339Full(t), Rfc3339Reference(t));
  }
  const absl::Time t = Utc(2026, 11, 26, 9, 5, 1);
  EXPECT_EQ(Micros(t + absl::Milliseconds(250)), "2026-11-26T09:05:01.250000Z");
  EXPECT_EQ(PgTimestamp(t + absl::Milliseconds(250)), "2026-11-26T09:05:01.250000Z");
  EXPECT_EQ(Rfc3339Full(t + absl::Milliseconds(250)), "2026-11-26T09:05:01.25+00:00");
  EXPECT_EQ(Rfc3339Full(t), "2026-11-26T09:05:01+00:00");
}

TEST(TimeFormatTest, EqualsFormatTimeOnRandomInstants) {
  std::mt19937_64 rng(11);
  const int64_t lo = absl::ToUnixMicros(Utc(1000, 1, 1));
  const int64_t hi = absl::ToUnixMicros(Utc(9999, 12, 31, 23, 59, 59));
  std::uniform_int_distribution<int64_t> micros(lo, hi);
  std::uniform_int_distribution<int> shape(0, 3);
  std::uniform_int_distribution<int64_t> nanos(1, 999);
  for (int i = 0; i < 200'000; ++i) {
    absl::Time t = absl::FromUnixMicros(micros(rng));
    switch (shape(rng)) {
      case 0:  // whole seconds: no fraction at all
        t = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
        break;
      case 1:  // whole milliseconds: trailing zeros trimmed
        t = absl::FromUnixMillis(absl::ToUnixMillis(t));
        break;
      case 2:  // finer than a microsecond
        t += absl::Nanoseconds(nanos(rng));
        break;
      default:
        break;
    }
    ASSERT_EQ(Micros(t), MicrosReference(t)) << absl::ToUnixNanos(t);
    ASSERT_EQ(Rfc3339Full(t), Rfc3339Reference(t)) << absl::ToUnixNanos(t);
  }
}

}  // namespace
}  // namespace agentwatch::common
