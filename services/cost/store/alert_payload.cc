#include "cost/store/alert_payload.h"

#include "agentwatch/incident/v1/incident.pb.h"

namespace agentwatch::cost {

std::string SerializeBudgetAlert(const BudgetAlert& alert) {
  incident::v1::Alert out;
  out.set_fingerprint(alert.fingerprint);
  out.set_name(alert.name);
  out.set_severity(static_cast<common::v1::Severity>(alert.severity));
  out.set_tenant(alert.tenant);
  out.mutable_labels()->insert(alert.labels.begin(), alert.labels.end());
  out.mutable_annotations()->insert(alert.annotations.begin(), alert.annotations.end());
  const int64_t micros = absl::ToUnixMicros(alert.starts_at);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out.mutable_starts_at()->set_seconds(seconds);
  out.mutable_starts_at()->set_nanos(static_cast<int32_t>(rest * 1000));
  out.set_status(incident::v1::ALERT_STATUS_FIRING);
  out.set_source(kAlertSource);
  return out.SerializeAsString();
}

}  // namespace agentwatch::cost
