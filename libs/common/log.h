// Structured logging: one JSON object per line on stderr with ts, level,
// service, msg, trace_id and the caller's fields. Thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/string_view.h"

namespace agentwatch::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogFields = std::initializer_list<std::pair<absl::string_view, std::string>>;

// Sets the service name and minimum level; called once from main().
void InitLogging(absl::string_view service, LogLevel min_level);

// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

void Log(LogLevel level, absl::string_view msg, LogFields fields = {});
inline void LogDebug(absl::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(absl::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarning(absl::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kWarning, msg, fields);
}
inline void LogError(absl::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

// Escapes `text` for inclusion inside a JSON string literal.
std::string JsonEscape(absl::string_view text);

}  // namespace agentwatch::common
