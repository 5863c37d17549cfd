#include "monitor/core/quality.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

BucketRange BaselineBuckets(absl::Time now, absl::Duration window, absl::Duration baseline) {
  const BucketRange current = WindowBuckets(now, window);
  return {MinuteBucket(now - window - baseline), current.from};
}

absl::Status ValidateBaselineWindow(absl::Duration baseline, bool ratio, absl::string_view field) {
  if (baseline == absl::ZeroDuration()) return absl::OkStatus();
  if (baseline < absl::Minutes(1) || baseline > kMaxBaselineWindow ||
      baseline % absl::Minutes(1) != absl::ZeroDuration()) {
    return common::InvalidField(field, "must be a whole number of minutes from 1m to 30 days");
  }
  if (ratio) return common::InvalidField(field, "cannot be used with denominator_metric");
  return absl::OkStatus();
}

std::optional<double> RelativeChange(std::optional<double> current,
                                     std::optional<double> baseline) {
  if (!current.has_value() || !baseline.has_value() || *baseline == 0) return std::nullopt;
  return (*current - *baseline) / std::fabs(*baseline);
}

}  // namespace agentwatch::monitor
