// Helpers shared by the incident tests.
#pragma once

#include <atomic>
#include <string>

#include "absl/strings/str_format.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/core/types.h"

namespace agentwatch::incident::testing {

// Ids "inc-000001", "inc-000002", ... in call order (they sort in that order).
class SequentialIds final : public IdGenerator {
 public:
  std::string NewId(absl::Time) override { return absl::StrFormat("inc-%06d", ++next_); }

 private:
  std::atomic<int> next_{0};
};

// A valid firing report for `tenant` with fingerprint `fingerprint` and
// alertname `name`, starting at `starts_at`.
inline AlertReport Firing(const std::string& tenant, const std::string& fingerprint,
                          const std::string& name, absl::Time starts_at) {
  AlertReport report;
  report.tenant = tenant;
  report.fingerprint = fingerprint;
  report.name = name;
  report.status = AlertStatus::kFiring;
  report.starts_at = starts_at;
  report.source = "test";
  return report;
}

// The resolve of `firing`, ending at `ends_at`.
inline AlertReport Resolved(AlertReport firing, absl::Time ends_at) {
  firing.status = AlertStatus::kResolved;
  firing.ends_at = ends_at;
  return firing;
}

}  // namespace agentwatch::incident::testing
