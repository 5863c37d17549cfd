// `agentwatch anomaly --csv FILE`: offline anomaly scoring of a
// `timestamp,value` file (the Numenta Anomaly Benchmark's format) with the
// monitor's streaming detector; writes `timestamp,value,anomaly_score`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agentwatch::cli {

// The options of the anomaly command.
struct AnomalyCsvOptions {
  std::string csv_path;    // --csv: the input file (required)
  std::string out_path;    // --out: the output file; empty writes to stdout
  int64_t probation = -1;  // --probation: points scored 0; -1 means NAB's 15 % (max 750)
  bool help = false;       // --help was given
};

// Parses the command's arguments (`--csv FILE` or `--csv=FILE`, `--out`,
// `--probation N`, `--help`). INVALID_ARGUMENT naming the flag for unknown
// flags, missing or bad values, or a missing --csv (unless --help).
absl::StatusOr<AnomalyCsvOptions> ParseAnomalyCsvArgs(const std::vector<std::string>& args);

// The usage text of the command.
const char* AnomalyCsvUsage();

// Runs the command: 0 on success, 1 when a file cannot be read or written,
// 2 for bad usage or a malformed input row (the message names the line).
int AnomalyCsvCommand(const std::vector<std::string>& args);

}  // namespace agentwatch::cli
