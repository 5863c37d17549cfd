#include "monitor/store/outbox_payloads.h"

#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor {

std::string SerializeAlert(const AlertNotice& notice) {
  incident::v1::Alert alert;
  alert.set_fingerprint(notice.fingerprint);
  alert.set_name(notice.name);
  alert.set_severity(static_cast<common::v1::Severity>(notice.severity));
  alert.set_tenant(notice.tenant);
  alert.mutable_labels()->insert(notice.labels.begin(), notice.labels.end());
  alert.mutable_annotations()->insert(notice.annotations.begin(), notice.annotations.end());
  ToProtoTimestamp(notice.starts_at, alert.mutable_starts_at());
  if (notice.ends_at.has_value()) ToProtoTimestamp(*notice.ends_at, alert.mutable_ends_at());
  alert.set_status(notice.firing ? incident::v1::ALERT_STATUS_FIRING
                                 : incident::v1::ALERT_STATUS_RESOLVED);
  alert.set_source(notice.source);
  return alert.SerializeAsString();
}

std::string SerializeUsage(const LlmUsageRecord& record) {
  cost::v1::UsageRecord usage;
  usage.set_record_id(record.record_id);
  ToProtoTimestamp(record.time, usage.mutable_time());
  common::v1::Scope* scope = usage.mutable_scope();
  scope->set_tenant(record.tenant);
  scope->set_team(record.team);
  scope->set_workflow(record.workflow);
  scope->set_agent(record.agent);
  scope->set_model(record.model);
  scope->set_provider(record.provider);
  usage.set_run_id(record.run_id);
  cost::v1::LlmUsage* llm = usage.mutable_llm();
  llm->set_provider(record.provider);
  llm->set_model(record.model);
  llm->set_input_tokens(record.input_tokens);
  llm->set_output_tokens(record.output_tokens);
  llm->set_cached_input_tokens(record.cached_input_tokens);
  llm->set_cache_creation_tokens(record.cache_creation_tokens);
  llm->set_requests(1);
  return usage.SerializeAsString();
}

std::string UsageIdempotencyKey(const LlmUsageRecord& record) {
  // Length-prefixed so that no (tenant, record_id) pair can collide with
  // another.
  return absl::StrCat(record.tenant.size(), ":", record.tenant, "/", record.record_id);
}

}  // namespace agentwatch::monitor
