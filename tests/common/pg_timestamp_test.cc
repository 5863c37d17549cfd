// common::AppendPgTimestamp / PgTimestamp equal absl::FormatTime's RFC 3339
// text everywhere: day, month, year and leap-day edges, before 1970, random
// instants over the whole fast range (years 1000..9999), and outside it.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/pg.h"

namespace agentwatch::common {
namespace {

std::string Reference(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string Appended(absl::Time t) {
  std::string out = "x";  // appends, never overwrites
  AppendPgTimestamp(&out, t);
  return out.substr(1);
}

absl::Time Utc(int64_t y, int m, int d, int h = 0, int min = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, s), absl::UTCTimeZone());
}

TEST(PgTimestampTest, EqualsFormatTimeOnEdges) {
  const absl::Time edges[] = {
      absl::UnixEpoch(),
      absl::UnixEpoch() - absl::Nanoseconds(1),
      absl::UnixEpoch() - absl::Microseconds(1),
      absl::UnixEpoch() - absl::Seconds(1) + absl::Nanoseconds(999),
      Utc(2024, 2, 29, 23, 59, 59) + absl::Microseconds(999'999),
      Utc(2024, 3, 1),
      Utc(2025, 12, 31, 23, 59, 59) + absl::Nanoseconds(999'999'999),
      Utc(2026, 1, 1),
      Utc(2000, 2, 29, 12),
      Utc(1900, 3, 1),
      Utc(1600, 2, 29, 1, 2, 3),
      Utc(1000, 1, 1),
      Utc(1000, 1, 1) - absl::Microseconds(1),
      Utc(1, 1, 1),
      Utc(1, 1, 1) - absl::Microseconds(1),
      Utc(0, 6, 15),
      Utc(9999, 12, 31, 23, 59, 59) + absl::Microseconds(999'999),
      Utc(10000, 1, 1),
      Utc(10000, 1, 1) + absl::Hours(100),
      absl::InfiniteFuture(),
      absl::InfinitePast(),
  };
  for (const absl::Time t : edges) {
    EXPECT_EQ(Appended(t), Reference(t)) << t;
    EXPECT_EQ(PgTimestamp(t), Reference(t)) << t;
  }
  EXPECT_EQ(PgTimestamp(Utc(2026, 11, 26, 9, 5, 1) + absl::Milliseconds(250)),
            "2026-11-26T09:05:01.250000Z");
}

TEST(PgTimestampTest, EqualsFormatTimeOnRandomInstants) {
  std::mt19937_64 rng(7);
  const int64_t lo = absl::ToUnixMicros(Utc(1000, 1, 1));
  const int64_t hi = absl::ToUnixMicros(Utc(9999, 12, 31, 23, 59, 59));
  std::uniform_int_distribution<int64_t> micros(lo, hi);
  std::uniform_int_distribution<int64_t> nanos(0, 999);
  for (int i = 0; i < 200'000; ++i) {
    const absl::Time t = absl::FromUnixMicros(micros(rng)) + absl::Nanoseconds(nanos(rng));
    ASSERT_EQ(Appended(t), Reference(t)) << absl::ToUnixNanos(t);
  }
}

}  // namespace
}  // namespace agentwatch::common
