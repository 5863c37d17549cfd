#include "agentwatch/forecast_csv.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "capacity/core/forecast.h"

namespace agentwatch::cli {
namespace {

namespace capacity = agentwatch::capacity;

// Bounds the grid an input may span (as the forecast core's alignment does).
constexpr int64_t kMaxSteps = 2'000'000;
constexpr int64_t kMaxHorizonSteps = 100'000;

constexpr char kUsage[] =
    R"(usage: agentwatch forecast --csv FILE --horizon N|DURATION [--model NAME] [--out FILE]
Offline forecast of a timestamp,value file, with the models, backtest selection and
80 % / 95 % intervals of capacity's GetForecast.
  --csv FILE        input; '-' reads stdin. One timestamp,value row per line, an optional
                    header, fields optionally double-quoted. Timestamps: RFC 3339
                    (2024-05-01T10:00:00Z, offsets allowed), 'YYYY-MM-DD HH:MM:SS',
                    'YYYY-MM-DD' (UTC when no offset) or Unix seconds, strictly increasing.
                    Empty, NaN, NA or null values are gaps.
  --horizon N       how far ahead, in steps of the input's own frequency: the step is the
                    median spacing of consecutive timestamps, so one day ahead is
                    --horizon 288 for 5-minute data, 24 for hourly data, 1 for daily data.
  --horizon DURATION
                    or a duration (90m, 24h, 7d), rounded up to whole steps.
  --model NAME      force a model: seasonal_naive, naive, fourier_regression, damped_trend,
                    seasonal_profile or seasonal_ar; default: chosen by rolling-origin backtest
                    (possibly the mean of the best two or three, reported as 'ensemble').
  --out FILE        write the forecast there instead of stdout.
Writes timestamp,forecast,lower_80,upper_80,lower_95,upper_95: one row per step after the
last input row, timestamps in the input's style. Rows off the step grid (more than a
quarter step away) are dropped and, like missing steps, treated as gaps. A summary (model,
backtest MASE, step, points) goes to stderr. Exit codes: 0 success, 2 bad arguments or
input (the message names the line), 1 the output could not be written.
)";

enum class TimeStyle { kRfc3339, kDateTime, kDate, kUnix };

struct Row {
  absl::Time time;
  double value = 0;
  int64_t line = 0;
};

struct Input {
  std::vector<Row> rows;
  TimeStyle style = TimeStyle::kRfc3339;
};

absl::string_view Unquote(absl::string_view field) {
  field = absl::StripAsciiWhitespace(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = field.substr(1, field.size() - 2);
  }
  return absl::StripAsciiWhitespace(field);
}

bool ParseTimestamp(absl::string_view text, absl::Time* out, TimeStyle* style) {
  std::string error;
  const std::string value(text);
  double seconds = 0;
  if (!value.empty() && value.find_first_not_of("0123456789.-+") == std::string::npos &&
      absl::SimpleAtod(value, &seconds) && std::isfinite(seconds)) {
    *out = absl::UnixEpoch() + absl::Seconds(seconds);
    *style = TimeStyle::kUnix;
    return true;
  }
  if (value.size() == 10 && absl::ParseTime("%Y-%m-%d", value, absl::UTCTimeZone(), out, &error)) {
    *style = TimeStyle::kDate;
    return true;
  }
  if (absl::ParseTime("%Y-%m-%d %H:%M:%S", value, absl::UTCTimeZone(), out, &error) ||
      absl::ParseTime("%Y-%m-%d %H:%M", value, absl::UTCTimeZone(), out, &error)) {
    *style = TimeStyle::kDateTime;
    return true;
  }
  if (absl::ParseTime(absl::RFC3339_full, value, absl::UTCTimeZone(), out, &error)) {
    *style = TimeStyle::kRfc3339;
    return true;
  }
  return false;
}

bool IsGap(absl::string_view value) {
  return value.empty() || absl::EqualsIgnoreCase(value, "nan") ||
         absl::EqualsIgnoreCase(value, "na") || absl::EqualsIgnoreCase(value, "null");
}

absl::StatusOr<Input> ReadInput(std::istream& in, absl::string_view name) {
  Input input;
  std::string line;
  int64_t number = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++number;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    const size_t comma = text.find(',');
    const auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", number, ": ", why));
    };
    if (comma == absl::string_view::npos) {
      return fail("expected two fields, timestamp,value");
    }
    const absl::string_view time_field = Unquote(text.substr(0, comma));
    const absl::string_view value_field = Unquote(text.substr(comma + 1));
    if (value_field.find(',') != absl::string_view::npos) {
      return fail("expected two fields, timestamp,value; found more");
    }
    Row row;
    row.line = number;
    TimeStyle style = TimeStyle::kRfc3339;
    const bool time_ok = ParseTimestamp(time_field, &row.time, &style);
    if (first && !time_ok) {  // a header
      first = false;
      continue;
    }
    first = false;
    if (!time_ok) {
      return fail(absl::StrCat("timestamp '", time_field,
                               "' is not RFC 3339, 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' or Unix "
                               "seconds"));
    }
    if (input.rows.empty()) {
      input.style = style;
    } else if (row.time <= input.rows.back().time) {
      return fail(absl::StrCat("timestamp '", time_field,
                               "' is not after the previous row's (line ", input.rows.back().line,
                               ")"));
    }
    if (IsGap(value_field)) {
      row.value = std::numeric_limits<double>::quiet_NaN();
    } else if (!absl::SimpleAtod(value_field, &row.value) || !std::isfinite(row.value)) {
      return fail(absl::StrCat("value '", value_field, "' is not a finite number"));
    }
    input.rows.push_back(row);
  }
  if (input.rows.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": needs at least two timestamp,value rows, found ", input.rows.size()));
  }
  return input;
}

// The median spacing of consecutive timestamps.
absl::Duration MedianStep(const std::vector<Row>& rows) {
  std::vector<absl::Duration> spacing;
  spacing.reserve(rows.size() - 1);
  for (size_t i = 1; i < rows.size(); ++i) spacing.push_back(rows[i].time - rows[i - 1].time);
  std::nth_element(spacing.begin(), spacing.begin() + spacing.size() / 2, spacing.end());
  return spacing[spacing.size() / 2];
}

std::string FormatTimestamp(absl::Time t, TimeStyle style) {
  switch (style) {
    case TimeStyle::kUnix: {
      const absl::Duration since = t - absl::UnixEpoch();
      if (since % absl::Seconds(1) == absl::ZeroDuration()) {
        return absl::StrCat(absl::ToInt64Seconds(since));
      }
      return absl::StrFormat("%.3f", absl::ToDoubleSeconds(since));
    }
    case TimeStyle::kDate:
      return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
    case TimeStyle::kDateTime:
      return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
    case TimeStyle::kRfc3339:
      break;
  }
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<int64_t> HorizonSteps(absl::string_view text, absl::Duration step) {
  int64_t steps = 0;
  if (absl::SimpleAtoi(text, &steps)) {
    if (steps < 1) return absl::InvalidArgumentError("--horizon: must be at least one step");
  } else {
    absl::Duration duration;
    int64_t days = 0;
    if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &days)) {
      duration = absl::Hours(24) * days;
    } else if (!absl::ParseDuration(text, &duration)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--horizon: '", text, "' is neither a number of steps nor a duration such as 24h or 7d"));
    }
    if (duration <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("--horizon: must be positive");
    }
    absl::Duration remainder;
    steps = absl::IDivDuration(duration, step, &remainder);
    if (remainder > absl::ZeroDuration()) ++steps;
  }
  if (steps > kMaxHorizonSteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("--horizon: ", steps, " steps; at most ", kMaxHorizonSteps));
  }
  return steps;
}

int Usage(absl::string_view error) {
  std::cerr << "agentwatch forecast: " << error << "\n" << kUsage;
  return 2;
}

}  // namespace

const char* ForecastCsvUsage() { return kUsage; }

int ForecastCsvCommand(const std::vector<std::string>& args) {
  std::string csv, horizon, model, out_path;
  bool have_csv = false, have_horizon = false;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool inline_value = false;
    if (const size_t eq = flag.find('='); absl::StartsWith(flag, "--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (flag != "--csv" && flag != "--horizon" && flag != "--model" && flag != "--out") {
      return Usage(absl::StrCat("unknown argument '", args[i], "' with --csv"));
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat(flag, " needs a value"));
      value = args[++i];
    }
    if (flag == "--csv") {
      csv = value;
      have_csv = true;
    } else if (flag == "--horizon") {
      horizon = value;
      have_horizon = true;
    } else if (flag == "--model") {
      model = value;
    } else {
      out_path = value;
    }
  }
  if (!have_csv || csv.empty()) return Usage("--csv: give the input file");
  if (!have_horizon) return Usage("--horizon: give the steps to forecast, e.g. 24 or 24h");
  if (const absl::Status status = capacity::CheckModelName(model); !status.ok()) {
    return Usage(absl::StrCat("--", status.message()));
  }

  absl::StatusOr<Input> input;
  if (csv == "-") {
    input = ReadInput(std::cin, "stdin");
  } else {
    std::ifstream file(csv);
    if (!file) return Usage(absl::StrCat("--csv: cannot open '", csv, "'"));
    input = ReadInput(file, csv);
  }
  if (!input.ok()) return Usage(input.status().message());

  const absl::Duration step = MedianStep(input->rows);
  const absl::Time start = input->rows.front().time;
  absl::Duration remainder;
  const int64_t steps =
      absl::IDivDuration(input->rows.back().time - start + step / 2, step, &remainder) + 1;
  if (steps > kMaxSteps) {
    return Usage(absl::StrCat(csv, ": spans ", steps, " steps of ", absl::FormatDuration(step),
                              "; at most ", kMaxSteps));
  }
  const absl::StatusOr<int64_t> horizon_steps = HorizonSteps(horizon, step);
  if (!horizon_steps.ok()) return Usage(horizon_steps.status().message());

  capacity::RegularSeries series{
      start, step,
      std::vector<double>(static_cast<size_t>(steps), std::numeric_limits<double>::quiet_NaN())};
  int64_t irregular = 0;
  for (const Row& row : input->rows) {
    const int64_t index = absl::IDivDuration(row.time - start + step / 2, step, &remainder);
    const absl::Duration offset = (row.time - start) - index * step;
    if (absl::AbsDuration(offset) > step / 4) {
      ++irregular;
      continue;
    }
    series.values[static_cast<size_t>(index)] = row.value;
  }

  capacity::ForecastSpec spec;
  spec.horizon = *horizon_steps;
  spec.model = model;
  const absl::StatusOr<capacity::ForecastResult> result = capacity::ForecastSeries(series, spec);
  if (!result.ok()) {
    std::cerr << "agentwatch forecast: " << csv << ": " << result.status().message() << "\n";
    return absl::IsInvalidArgument(result.status()) ||
                   absl::IsFailedPrecondition(result.status()) ||
                   absl::IsUnimplemented(result.status())
               ? 2
               : 1;
  }

  std::ostringstream body;
  body << "timestamp,forecast,lower_80,upper_80,lower_95,upper_95\n";
  for (const capacity::ForecastPoint& point : result->points) {
    body << FormatTimestamp(point.time, input->style)
         << absl::StrFormat(",%.10g,%.10g,%.10g,%.10g,%.10g\n", point.value, point.lower_80,
                            point.upper_80, point.lower_95, point.upper_95);
  }
  if (out_path.empty() || out_path == "-") {
    std::cout << body.str() << std::flush;
  } else {
    std::ofstream out(out_path, std::ios::trunc);
    out << body.str();
    out.close();
    if (!out) {
      std::cerr << "agentwatch forecast: --out: cannot write '" << out_path << "'\n";
      return 1;
    }
  }
  std::cerr << absl::StrFormat(
      "model %s, backtest MASE %.3f, sMAPE %.2f%%; step %s, %d points (%d imputed, %d irregular "
      "dropped), %d steps ahead\n",
      result->model, result->backtest_mase, result->backtest_smape, absl::FormatDuration(step),
      result->history_points, result->imputed_points, irregular, result->points.size());
  return 0;
}

}  // namespace agentwatch::cli
