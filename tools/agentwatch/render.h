// Terminal output for the agentwatch CLI: aligned tables, protobuf JSON, and
// money and time formatting.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace agentwatch::cli {

// Rows of cells printed with aligned columns; the first row is the header.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// The protobuf JSON mapping of `message`, with default values printed, so the
// shape is stable for scripts.
std::string ToJson(const google::protobuf::Message& message);

// 1234567890 nano-USD -> "$1.234568" (six decimals; exact integer math).
std::string FormatUsd(int64_t nano_usd);

// RFC 3339 in UTC to the second.
std::string FormatUtc(absl::Time t);

// A one-line sparkline of `values` using block characters.
std::string Sparkline(const std::vector<double>& values);

}  // namespace agentwatch::cli
