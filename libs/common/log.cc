#include "common/log.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/trace.h"

namespace agentwatch::common {
namespace {

struct LogConfig {
  absl::Mutex mu;
  std::string service = "agentwatch";
  LogLevel min_level = LogLevel::kInfo;
};

LogConfig& Config() {
  static LogConfig* config = new LogConfig();
  return *config;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void InitLogging(absl::string_view service, LogLevel min_level) {
  LogConfig& config = Config();
  absl::MutexLock lock(&config.mu);
  config.service = std::string(service);
  config.min_level = min_level;
}

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void Log(LogLevel level, absl::string_view msg, LogFields fields) {
  LogConfig& config = Config();
  std::string service;
  {
    absl::MutexLock lock(&config.mu);
    if (level < config.min_level) return;
    service = config.service;
  }
  std::string line = absl::StrCat(
      "{\"ts\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", LevelName(level), "\",\"service\":\"", JsonEscape(service),
      "\",\"msg\":\"", JsonEscape(msg), "\"");
  const TraceContext& trace = CurrentTrace();
  if (trace.valid()) absl::StrAppend(&line, ",\"trace_id\":\"", trace.trace_id, "\"");
  if (fields.size() > 0) {
    absl::StrAppend(&line, ",\"fields\":{");
    bool first = true;
    for (const auto& [key, value] : fields) {
      absl::StrAppend(&line, first ? "" : ",", "\"", JsonEscape(key), "\":\"", JsonEscape(value),
                      "\"");
      first = false;
    }
    line += "}";
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace agentwatch::common
