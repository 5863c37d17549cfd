// Fast UTC text of instants, for the hot paths that write one or more times
// per row (bulk SQL parameters, COPY rows, timeline details). Pure (Abseil
// only), so cores may use it: part of common_core.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace agentwatch::common {

// Appends `t` as absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, UTC) writes it:
// "2026-11-26T09:05:01.250000Z", the instant truncated to the microsecond.
// Years 1000..9999 are written by hand (about ten times faster than
// FormatTime, which parses its format on every call), others by FormatTime.
void AppendUtcMicros(std::string* out, absl::Time t);

// Appends `t` as absl::FormatTime(absl::RFC3339_full, t, UTC) writes it:
// "2026-11-26T09:05:01.25+00:00", the fraction without trailing zeros and
// none when zero. By hand for whole microseconds of years 1000..9999, by
// FormatTime otherwise (finer fractions, other years, infinities).
void AppendRfc3339Full(std::string* out, absl::Time t);
// The same, as a new string.
std::string Rfc3339Full(absl::Time t);

}  // namespace agentwatch::common
