// `agentwatch forecast --csv FILE --horizon N`: the offline forecast. Reads a
// `timestamp,value` CSV, forecasts it with the capacity forecast core (the
// same models, backtest selection and intervals as capacity.GetForecast) and
// writes `timestamp,forecast,lower_80,upper_80,lower_95,upper_95`.
#pragma once

#include <string>
#include <vector>

namespace agentwatch::cli {

// Runs the offline forecast with the arguments that follow `forecast`:
//   --csv FILE      input; `-` reads stdin. One `timestamp,value` row per
//                   line, an optional header, fields optionally double-quoted.
//                   Timestamps: RFC 3339 (2024-05-01T10:00:00Z, with offset),
//                   "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD" (UTC when no offset)
//                   or Unix seconds; strictly increasing. Empty, NaN or NA
//                   values are gaps.
//   --horizon N     steps to forecast, in steps of the input's frequency (its
//                   median spacing: 288 is a day of 5-minute data), or a
//                   duration (24h, 90m, 7d) rounded up to whole steps.
//   --model NAME    force a model (seasonal_naive, naive, fourier_regression,
//                   damped_trend, seasonal_profile, seasonal_ar); automatic by
//                   backtest otherwise.
//   --help, -h      print ForecastCsvUsage() and return 0.
//   --out FILE      write there instead of stdout.
// The step is the median spacing of consecutive timestamps; points off that
// grid (more than a quarter step away) are dropped as irregular and their
// steps treated as gaps, like missing ones. Output timestamps follow the
// input's style (RFC 3339 in UTC with Z). A summary (model, backtest MASE,
// step, points) goes to stderr. Returns 0 on success, 2 for bad arguments or
// input (the message names the line), 1 when the output cannot be written.
int ForecastCsvCommand(const std::vector<std::string>& args);

// The usage text `agentwatch forecast --csv ... --help` prints (it documents
// what --horizon N means), for the forecast command's own --help.
const char* ForecastCsvUsage();

}  // namespace agentwatch::cli
