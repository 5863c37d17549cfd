#include "agentwatch/anomaly_csv.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "monitor/anomaly/series_csv.h"

namespace agentwatch::cli {
namespace {

namespace anomaly = ::agentwatch::monitor::anomaly;

constexpr char kUsage[] = R"(usage: agentwatch anomaly --csv FILE [--out FILE] [--probation N]

Scores every point of a timestamp,value file with the monitor's streaming
anomaly detector (seasonal baseline learned online, one pass) and writes
timestamp,value,anomaly_score, the Numenta Anomaly Benchmark's format. The
header line is optional; timestamps may be "2014-04-01 00:00:00" (UTC),
RFC 3339 or unix seconds and are copied to the output unchanged. Empty or nan
values are missing points (score 0). Works offline: no service is contacted.

flags:
  --csv FILE       input file (required)
  --out FILE       output file (default: standard output)
  --probation N    leading points scored 0 while the model learns
                   (default: 15 % of the rows, at most 750, as NAB does)
  --help           this text

exit codes: 0 done, 1 a file could not be read or written, 2 bad usage or a
malformed row (the message names the line).
)";

}  // namespace

const char* AnomalyCsvUsage() { return kUsage; }

absl::StatusOr<AnomalyCsvOptions> ParseAnomalyCsvArgs(const std::vector<std::string>& args) {
  AnomalyCsvOptions options;
  bool has_csv = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    const size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    } else if (name == "csv" || name == "out" || name == "probation") {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": needs a value"));
      }
      value = args[++i];
    }
    if (name == "csv") {
      if (value.empty()) return absl::InvalidArgumentError("--csv: needs a file name");
      options.csv_path = value;
      has_csv = true;
    } else if (name == "out") {
      if (value.empty()) return absl::InvalidArgumentError("--out: needs a file name");
      options.out_path = value;
    } else if (name == "probation") {
      if (!absl::SimpleAtoi(value, &options.probation) || options.probation < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--probation: '", value, "' is not a count >= 0"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  if (!has_csv && !options.help) return absl::InvalidArgumentError("--csv: required");
  return options;
}

int AnomalyCsvCommand(const std::vector<std::string>& args) {
  absl::StatusOr<AnomalyCsvOptions> options = ParseAnomalyCsvArgs(args);
  if (!options.ok()) {
    std::cerr << "agentwatch anomaly: " << options.status().message()
              << " (see agentwatch anomaly --help)\n";
    return 2;
  }
  if (options->help) {
    std::cout << kUsage;
    return 0;
  }
  std::ifstream in(options->csv_path, std::ios::binary);
  if (!in) {
    std::cerr << "agentwatch anomaly: cannot read " << options->csv_path << "\n";
    return 1;
  }
  std::stringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    std::cerr << "agentwatch anomaly: error reading " << options->csv_path << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<anomaly::SeriesRow>> rows = anomaly::ParseSeriesCsv(content.str());
  if (!rows.ok()) {
    std::cerr << "agentwatch anomaly: " << options->csv_path << ": " << rows.status().message()
              << "\n";
    return 2;
  }
  anomaly::DetectorOptions detector_options;
  detector_options.probationary_points =
      options->probation >= 0 ? options->probation
                              : anomaly::NabProbationaryPoints(static_cast<int64_t>(rows->size()));
  absl::StatusOr<std::vector<double>> scores = anomaly::ScoreSeries(*rows, detector_options);
  if (!scores.ok()) {
    std::cerr << "agentwatch anomaly: " << scores.status().message() << "\n";
    return 2;
  }

  std::string output = "timestamp,value,anomaly_score\n";
  output.reserve(rows->size() * 48);
  for (size_t i = 0; i < rows->size(); ++i) {
    absl::StrAppend(&output, (*rows)[i].timestamp_text, ",", (*rows)[i].value_text, ",",
                    absl::StrFormat("%.6f", (*scores)[i]), "\n");
  }
  if (options->out_path.empty()) {
    std::cout << output;
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "agentwatch anomaly: cannot write standard output\n";
      return 1;
    }
    return 0;
  }
  std::ofstream out(options->out_path, std::ios::binary | std::ios::trunc);
  out << output;
  out.close();
  if (!out) {
    std::cerr << "agentwatch anomaly: cannot write " << options->out_path << "\n";
    return 1;
  }
  return 0;
}

}  // namespace agentwatch::cli
