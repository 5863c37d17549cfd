// Reading `timestamp,value` series (the Numenta Anomaly Benchmark's data
// format) and scoring them with the streaming detector. Pure (Abseil only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "monitor/anomaly/detector.h"

namespace agentwatch::monitor::anomaly {

// One row of a series file. The texts are kept exactly as read so output can
// echo them.
struct SeriesRow {
  int64_t line = 0;  // 1-based line number in the input
  std::string timestamp_text;
  std::string value_text;
  absl::Time time;
  double value = 0;  // NaN when the value is empty or "nan" (a missing point)
};

// Parses a timestamp as NAB writes it ("2014-04-01 00:00:00", optional
// fractional seconds, UTC), as RFC 3339 ("2014-04-01T00:00:00Z",
// "...+02:00") or as unix seconds ("1396310400", "1396310400.5").
// INVALID_ARGUMENT saying which forms are accepted otherwise.
absl::StatusOr<absl::Time> ParseSeriesTimestamp(absl::string_view text);

// Parses a whole file: one `timestamp,value` row per line, an optional header
// on the first non-blank line (any first row whose timestamp does not parse
// and whose value is not a number), blank lines skipped, CRLF accepted,
// fields optionally double-quoted. A value that is empty or nan/NaN is a
// missing point. INVALID_ARGUMENT "line N: <reason>" for the first malformed
// row (wrong field count, bad timestamp, bad number).
absl::StatusOr<std::vector<SeriesRow>> ParseSeriesCsv(absl::string_view content);

// NAB's probationary period for a file of `rows` points:
// min(floor(0.15 * rows), 750).
int64_t NabProbationaryPoints(int64_t rows);

// Scores `rows` in order with one detector built from `options`; one score in
// [0, 1] per row. INVALID_ARGUMENT when `options` is invalid.
absl::StatusOr<std::vector<double>> ScoreSeries(const std::vector<SeriesRow>& rows,
                                                const DetectorOptions& options);

}  // namespace agentwatch::monitor::anomaly
