#include "monitor/anomaly/series_csv.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace agentwatch::monitor::anomaly {
namespace {

absl::string_view Unquote(absl::string_view field) {
  field = absl::StripAsciiWhitespace(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = field.substr(1, field.size() - 2);
  }
  return field;
}

bool IsMissingValue(absl::string_view text) {
  return text.empty() || absl::EqualsIgnoreCase(text, "nan");
}

// A number as NAB files write it; rejects the "inf"/"nan" spellings SimpleAtod
// accepts besides plain numbers (missing values are handled by the caller).
bool ParseNumber(absl::string_view text, double* out) {
  if (text.empty()) return false;
  const char first = text.front();
  if (!(absl::ascii_isdigit(first) || first == '-' || first == '+' || first == '.')) return false;
  return absl::SimpleAtod(text, out) && std::isfinite(*out);
}

}  // namespace

absl::StatusOr<absl::Time> ParseSeriesTimestamp(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  const std::string input(text);
  absl::Time time;
  std::string error;
  for (const char* format : {"%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, input, absl::UTCTimeZone(), &time, &error)) return time;
  }
  if (absl::ParseTime(absl::RFC3339_full, input, &time, &error)) return time;
  double seconds;
  if (ParseNumber(text, &seconds) && text.find_first_not_of("0123456789.+-") == text.npos) {
    return absl::FromUnixNanos(static_cast<int64_t>(std::llround(seconds * 1e9)));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "timestamp '", text, "' is not 'YYYY-MM-DD HH:MM:SS', RFC 3339 or unix seconds"));
}

absl::StatusOr<std::vector<SeriesRow>> ParseSeriesCsv(absl::string_view content) {
  std::vector<SeriesRow> rows;
  bool first_row = true;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    const bool was_first = first_row;
    first_row = false;
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number, ": expected 2 fields (timestamp,value), found ", fields.size()));
    }
    SeriesRow row;
    row.line = line_number;
    row.timestamp_text = std::string(Unquote(fields[0]));
    row.value_text = std::string(Unquote(fields[1]));
    absl::StatusOr<absl::Time> time = ParseSeriesTimestamp(row.timestamp_text);
    double value = 0;
    const bool missing = IsMissingValue(row.value_text);
    const bool number = !missing && ParseNumber(row.value_text, &value);
    if (was_first && !time.ok() && !number) continue;  // the header
    if (!time.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", time.status().message()));
    }
    if (!missing && !number) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": value '", row.value_text, "' is not a number"));
    }
    row.time = *time;
    row.value = missing ? std::numeric_limits<double>::quiet_NaN() : value;
    rows.push_back(std::move(row));
  }
  return rows;
}

int64_t NabProbationaryPoints(int64_t rows) {
  return std::min<int64_t>(static_cast<int64_t>(std::floor(0.15 * static_cast<double>(rows))), 750);
}

absl::StatusOr<std::vector<double>> ScoreSeries(const std::vector<SeriesRow>& rows,
                                                const DetectorOptions& options) {
  ASSIGN_OR_RETURN(StreamingDetector detector, StreamingDetector::Create(options));
  std::vector<double> scores;
  scores.reserve(rows.size());
  for (const SeriesRow& row : rows) scores.push_back(detector.Update(row.time, row.value).score);
  return scores;
}

}  // namespace agentwatch::monitor::anomaly
