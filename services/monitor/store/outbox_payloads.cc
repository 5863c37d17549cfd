#include "monitor/store/outbox_payloads.h"

#include <map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "monitor/store/monitor_store.h"
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

namespace {

void FillUsage(const LlmUsageRecord& record, cost::v1::UsageRecord& usage) {
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
}

}  // namespace

std::string SerializeUsage(const LlmUsageRecord& record) {
  cost::v1::UsageRecord usage;
  FillUsage(record, usage);
  return usage.SerializeAsString();
}

std::vector<common::OutboxMessage> PackUsage(const std::vector<LlmUsageRecord>& usage,
                                             absl::string_view origin) {
  std::vector<common::OutboxMessage> messages;
  if (usage.empty()) return messages;
  // Per tenant: the request being filled and how many messages it sent.
  struct Pending {
    cost::v1::RecordUsageRequest request;
    int sent = 0;
  };
  std::vector<std::string> tenants;
  std::map<std::string, Pending, std::less<>> pending;
  std::unordered_set<std::string> seen;
  seen.reserve(usage.size());
  auto flush = [&](const std::string& tenant, Pending& p) {
    messages.push_back(
        common::OutboxMessage{tenant, kCostBatchDestination,
                              absl::StrCat(tenant.size(), ":", tenant, "/", origin, "#", p.sent),
                              p.request.SerializeAsString()});
    ++p.sent;
    p.request.Clear();
  };
  for (const LlmUsageRecord& record : usage) {
    if (!seen.insert(UsageIdempotencyKey(record)).second) continue;
    auto it = pending.find(record.tenant);
    if (it == pending.end()) {
      it = pending.emplace(record.tenant, Pending{}).first;
      tenants.push_back(record.tenant);
    }
    FillUsage(record, *it->second.request.add_records());
    if (static_cast<size_t>(it->second.request.records_size()) >= kMaxUsagePerMessage) {
      flush(it->first, it->second);
    }
  }
  for (const std::string& tenant : tenants) {
    Pending& p = pending.find(tenant)->second;
    if (p.request.records_size() > 0) flush(tenant, p);
  }
  return messages;
}

std::string UsageIdempotencyKey(const LlmUsageRecord& record) {
  // Length-prefixed so that no (tenant, record_id) pair can collide with
  // another.
  return absl::StrCat(record.tenant.size(), ":", record.tenant, "/", record.record_id);
}

}  // namespace agentwatch::monitor
