#include "monitor/core/series_list.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/names.h"

namespace agentwatch::monitor {

absl::Status ValidateSeriesListQuery(const SeriesListQuery& query) {
  if (query.tenant.find('\0') != std::string::npos) {
    return common::InvalidField("tenant", "must not contain NUL characters");
  }
  if (!query.metric.empty() && !IsValidMetricName(query.metric)) {
    return common::InvalidField("metric", "must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (size_t i = 0; i < query.matchers.size(); ++i) {
    const LabelMatcher& matcher = query.matchers[i];
    const std::string field = absl::StrCat("matchers[", i, "]");
    if (matcher.name.empty()) return common::InvalidField(field + ".name", "required");
    if (!IsValidLabelName(matcher.name)) {
      return common::InvalidField(field + ".name", "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    const int op = static_cast<int>(matcher.op);
    if (op == 0) return common::InvalidField(field + ".op", "required");
    if (op < 0 || op > 4) {
      return common::InvalidField(field + ".op", absl::StrCat("unknown value ", op));
    }
    if (matcher.value.find('\0') != std::string::npos) {
      return common::InvalidField(field + ".value", "must not contain NUL characters");
    }
  }
  if (query.start.has_value() && query.end.has_value() && *query.end <= *query.start) {
    return common::InvalidField("range.end", "must be after range.start");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::monitor
