#include "monitor/store/outbox_payloads.h"

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/proto_wire.h"
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

// Protobuf wire format, written directly: PackGroupUsage encodes each
// record as cost::v1::UsageRecord's generated serializer does for the
// fields FillUsage sets (fields in number order, proto3 defaults left out,
// the set submessages always present), without building messages. The unit
// test compares the bytes with SerializeUsage's.
using common::wire::AppendVarint;
using common::wire::kLength;
using common::wire::kVarint;

void AppendTag(uint32_t field, uint32_t wire_type, std::string* out) {
  AppendVarint((field << 3) | wire_type, out);
}

// A length-delimited field (string or submessage), left out when empty
// unless `always` (a set submessage).
void AppendBytes(uint32_t field, absl::string_view bytes, std::string* out, bool always = false) {
  if (bytes.empty() && !always) return;
  AppendTag(field, kLength, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// An int64 / int32 field (negative values as 10-byte varints), left out
// when 0.
void AppendInt(uint32_t field, int64_t value, std::string* out) {
  if (value == 0) return;
  AppendTag(field, kVarint, out);
  AppendVarint(static_cast<uint64_t>(value), out);
}

// Scratch buffers of the submessages, reused from record to record.
struct UsageEncoder {
  std::string time, scope, llm, record;

  // Appends `record` to `out` as field 1 (records) of a RecordUsageRequest.
  void AppendRecord(const LlmUsageRecord& usage, std::string* out) {
    const int64_t seconds = absl::ToUnixSeconds(usage.time);
    const int64_t nanos = absl::ToInt64Nanoseconds(usage.time - absl::FromUnixSeconds(seconds));
    time.clear();
    AppendInt(1, seconds, &time);
    AppendInt(2, static_cast<int32_t>(nanos), &time);
    scope.clear();
    AppendBytes(1, usage.tenant, &scope);
    AppendBytes(2, usage.team, &scope);
    AppendBytes(3, usage.workflow, &scope);
    AppendBytes(4, usage.agent, &scope);
    AppendBytes(5, usage.model, &scope);
    AppendBytes(6, usage.provider, &scope);
    llm.clear();
    AppendBytes(1, usage.provider, &llm);
    AppendBytes(2, usage.model, &llm);
    AppendInt(3, usage.input_tokens, &llm);
    AppendInt(4, usage.output_tokens, &llm);
    AppendInt(5, usage.cached_input_tokens, &llm);
    AppendInt(6, usage.cache_creation_tokens, &llm);
    AppendInt(7, 1, &llm);
    record.clear();
    AppendBytes(1, usage.record_id, &record);
    AppendBytes(2, time, &record, /*always=*/true);
    AppendBytes(3, scope, &record, /*always=*/true);
    AppendBytes(4, usage.run_id, &record);
    AppendBytes(6, llm, &record, /*always=*/true);
    AppendBytes(1, record, out, /*always=*/true);
  }
};

}  // namespace

std::string SerializeUsage(const LlmUsageRecord& record) {
  cost::v1::UsageRecord usage;
  FillUsage(record, usage);
  return usage.SerializeAsString();
}

std::vector<common::OutboxMessage> PackUsage(const std::vector<LlmUsageRecord>& usage,
                                             absl::string_view origin) {
  return PackGroupUsage({&usage}, origin);
}

std::vector<common::OutboxMessage> PackGroupUsage(
    const std::vector<const std::vector<LlmUsageRecord>*>& runs, absl::string_view origin) {
  std::vector<common::OutboxMessage> messages;
  size_t total = 0;
  for (const std::vector<LlmUsageRecord>* run : runs) total += run->size();
  if (total == 0) return messages;
  // Per tenant: the payload being filled (a serialized
  // RecordUsageRequest), its records and how many messages it sent.
  struct Pending {
    std::string payload;
    size_t records = 0;
    int sent = 0;
  };
  std::vector<absl::string_view> tenants;
  absl::flat_hash_map<absl::string_view, Pending> pending;
  // (tenant, record_id) of the records packed so far: UsageIdempotencyKey
  // without building it.
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
  seen.reserve(total);
  UsageEncoder encoder;
  auto flush = [&](absl::string_view tenant, Pending& p) {
    messages.push_back(common::OutboxMessage{
        std::string(tenant), kCostBatchDestination,
        absl::StrCat(tenant.size(), ":", tenant, "/", origin, "#", p.sent), std::move(p.payload)});
    ++p.sent;
    p.payload.clear();
    p.records = 0;
  };
  for (const std::vector<LlmUsageRecord>* run : runs) {
    for (const LlmUsageRecord& record : *run) {
      if (!seen.insert({record.tenant, record.record_id}).second) continue;
      auto [it, added] = pending.try_emplace(record.tenant);
      if (added) tenants.push_back(record.tenant);
      encoder.AppendRecord(record, &it->second.payload);
      if (++it->second.records >= kMaxUsagePerMessage) flush(it->first, it->second);
    }
  }
  for (absl::string_view tenant : tenants) {
    Pending& p = pending.find(tenant)->second;
    if (p.records > 0) flush(tenant, p);
  }
  return messages;
}

std::string UsageIdempotencyKey(const LlmUsageRecord& record) {
  // Length-prefixed so that no (tenant, record_id) pair can collide with
  // another.
  return absl::StrCat(record.tenant.size(), ":", record.tenant, "/", record.record_id);
}

}  // namespace agentwatch::monitor
