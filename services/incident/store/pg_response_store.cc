#include "incident/store/pg_response_store.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/core/paging.h"
#include "incident/store/pg_incident_rows.h"

namespace agentwatch::incident {
namespace {

#define AW_MICROS(col) "(extract(epoch from " col ") * 1000000)::bigint"

constexpr char kLeaseTriggers[] =
    "WITH picked AS (SELECT tenant_id, entry_id FROM incident.response_triggers "
    "WHERE lease_until <= $1::timestamptz ORDER BY trigger_time, entry_id LIMIT $3 "
    "FOR UPDATE SKIP LOCKED) "
    "UPDATE incident.response_triggers t SET lease_until = $2::timestamptz FROM picked "
    "WHERE t.tenant_id = picked.tenant_id AND t.entry_id = picked.entry_id "
    "RETURNING t.tenant_id, t.entry_id, t.incident_id, t.fingerprint, " AW_MICROS("t.trigger_time");

constexpr char kTriggerAlert[] =
    "SELECT name, severity, labels::text FROM incident.alerts "
    "WHERE tenant_id = $1 AND incident_id = $2 AND fingerprint = $3";

constexpr char kDeleteTrigger[] =
    "DELETE FROM incident.response_triggers WHERE tenant_id = $1 AND entry_id = $2";

constexpr char kLockRule[] = "SELECT pg_advisory_xact_lock($1::integer, $2::integer)";

constexpr char kFindClaim[] =
    "SELECT id, state FROM incident.response_executions "
    "WHERE tenant_id = $1 AND rule_id = $2 AND trigger_key = $3";

constexpr char kLastForIncident[] =
    "SELECT " AW_MICROS("max(create_time)") " FROM incident.response_executions "
    "WHERE tenant_id = $1 AND rule_id = $2 AND incident_id = $3 AND state <> 4";

constexpr char kRecent[] =
    "SELECT " AW_MICROS("create_time") " FROM incident.response_executions "
    "WHERE tenant_id = $1 AND rule_id = $2 AND state <> 4 AND create_time > $3::timestamptz";

constexpr char kInsertExecution[] =
    "INSERT INTO incident.response_executions (tenant_id, id, rule_id, incident_id, trigger_key, "
    "rule_body, fingerprint, alert_name, alert_severity, alert_labels, state, create_time, "
    "update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::timestamptz, "
    "$12::timestamptz)";

constexpr char kInsertTimeline[] =
    "INSERT INTO incident.timeline (tenant_id, incident_id, entry_time, actor, kind, entry_text, "
    "details) VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7::jsonb)";

#define AW_EXECUTION_COLUMNS                                                                \
  "e.tenant_id, e.id, e.rule_id, e.incident_id, e.rule_body, e.fingerprint, e.alert_name, " \
  "e.alert_severity, e.alert_labels::text, e.state, e.next_action, e.action_attempts, "     \
  "e.failed, " AW_MICROS("e.create_time") ", e.lease_token"

constexpr char kLeaseExecution[] =
    "WITH picked AS (SELECT tenant_id, id FROM incident.response_executions "
    "WHERE state = 1 AND lease_until <= $1::timestamptz ORDER BY create_time, id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) "
    "UPDATE incident.response_executions e SET lease_until = $2::timestamptz, "
    "lease_token = e.lease_token + 1, action_attempts = e.action_attempts + 1 FROM picked "
    "WHERE e.tenant_id = picked.tenant_id AND e.id = picked.id RETURNING " AW_EXECUTION_COLUMNS;

constexpr char kAdvanceExecution[] =
    "UPDATE incident.response_executions SET next_action = $4 + 1, action_attempts = 0, "
    "failed = failed OR $5, state = CASE WHEN $6 THEN (CASE WHEN failed OR $5 THEN 3 ELSE 2 END) "
    "ELSE 1 END, lease_until = $7::timestamptz, update_time = $8::timestamptz "
    "WHERE tenant_id = $1 AND id = $2 AND lease_token = $3 AND next_action = $4 AND state = 1";

constexpr char kRetryExecution[] =
    "UPDATE incident.response_executions SET lease_until = $4::timestamptz "
    "WHERE tenant_id = $1 AND id = $2 AND lease_token = $3 AND state = 1";

constexpr char kListExecutions[] =
    "SELECT " AW_EXECUTION_COLUMNS
    " FROM incident.response_executions e "
    "WHERE e.tenant_id = $1 AND e.rule_id = $2 ORDER BY e.create_time, e.id";

#undef AW_EXECUTION_COLUMNS
#undef AW_MICROS

std::string JsonLabels(const Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&out, first ? "" : ",", JsonString(name), ":", JsonString(value));
    first = false;
  }
  out.push_back('}');
  return out;
}

using pg_rows::ParseJsonMap;

void InsertEntry(pqxx::work& txn, const TimelineEntry& e) {
  txn.exec_params(kInsertTimeline, e.tenant, e.incident_id, common::PgTimestamp(e.time), e.actor,
                  e.kind, e.text, JsonLabels(e.details));
}

absl::StatusOr<Execution> ParseExecution(const pqxx::row& row) {
  Execution e;
  e.tenant = row[0].as<std::string>();
  e.id = row[1].as<std::string>();
  e.rule_id = row[2].as<std::string>();
  e.incident_id = row[3].as<std::string>();
  e.rule_body = pqxx::binarystring(row[4]).str();
  e.alert.fingerprint = row[5].as<std::string>();
  e.alert.name = row[6].as<std::string>();
  e.alert.severity = static_cast<Severity>(row[7].as<int>());
  ASSIGN_OR_RETURN(e.alert.labels, ParseJsonMap(row[8]));
  e.state = static_cast<ExecutionState>(row[9].as<int>());
  e.next_action = row[10].as<int>();
  e.action_attempts = row[11].as<int>();
  e.failed = row[12].as<bool>();
  e.create_time = absl::FromUnixMicros(row[13].as<int64_t>());
  e.lease_token = row[14].as<int64_t>();
  return e;
}

// The two keys of a rule's advisory lock.
int RuleLockKey(absl::string_view tenant, absl::string_view rule_id) {
  return static_cast<int>(static_cast<uint32_t>(Fnv1a64(absl::StrCat(tenant, "\n", rule_id))));
}

}  // namespace

absl::StatusOr<std::vector<ResponseTrigger>> PgResponseStore::LeaseTriggers(absl::Time now,
                                                                            absl::Duration lease,
                                                                            int limit) {
  return pool_.Transact<std::vector<ResponseTrigger>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<ResponseTrigger>> {
        std::vector<ResponseTrigger> out;
        const pqxx::result rows = txn.exec_params(kLeaseTriggers, common::PgTimestamp(now),
                                                  common::PgTimestamp(now + lease), limit);
        for (const pqxx::row& row : rows) {
          ResponseTrigger t;
          t.tenant = row[0].as<std::string>();
          t.entry_id = row[1].as<int64_t>();
          t.incident_id = row[2].as<std::string>();
          t.alert.fingerprint = row[3].as<std::string>();
          t.time = absl::FromUnixMicros(row[4].as<int64_t>());
          const pqxx::result alert =
              txn.exec_params(kTriggerAlert, t.tenant, t.incident_id, t.alert.fingerprint);
          if (alert.empty()) {
            // The alert left the incident (cannot happen today): nothing to match.
            txn.exec_params(kDeleteTrigger, t.tenant, t.entry_id);
            continue;
          }
          t.alert.name = alert[0][0].as<std::string>();
          t.alert.severity = static_cast<Severity>(alert[0][1].as<int>());
          ASSIGN_OR_RETURN(t.alert.labels, ParseJsonMap(alert[0][2]));
          out.push_back(std::move(t));
        }
        std::sort(out.begin(), out.end(), [](const ResponseTrigger& a, const ResponseTrigger& b) {
          return std::tie(a.time, a.entry_id) < std::tie(b.time, b.entry_id);
        });
        return out;
      });
}

absl::Status PgResponseStore::CompleteTriggers(const std::vector<ResponseTrigger>& triggers) {
  if (triggers.empty()) return absl::OkStatus();
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    for (const ResponseTrigger& t : triggers) txn.exec_params(kDeleteTrigger, t.tenant, t.entry_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<ClaimResult> PgResponseStore::ClaimExecution(const ExecutionClaim& claim) {
  const ResponseTrigger& t = claim.trigger;
  const std::string key = TriggerKey(t);
  return pool_.Transact<ClaimResult>([&](pqxx::work& txn) -> absl::StatusOr<ClaimResult> {
    txn.exec_params(kLockRule, kRuleLockSpace, RuleLockKey(t.tenant, claim.rule.id));
    ClaimResult result;
    const pqxx::result found = txn.exec_params(kFindClaim, t.tenant, claim.rule.id, key);
    if (!found.empty()) {
      result.duplicate = true;
      result.execution_id = found[0][0].as<std::string>();
      result.decision = found[0][1].as<int>() == static_cast<int>(ExecutionState::kSkipped)
                            ? ExecutionDecision::kCooldown
                            : ExecutionDecision::kRun;
      return result;
    }
    ExecutionHistory history;
    const pqxx::result last =
        txn.exec_params(kLastForIncident, t.tenant, claim.rule.id, t.incident_id);
    if (!last.empty() && !last[0][0].is_null()) {
      history.last_for_incident = absl::FromUnixMicros(last[0][0].as<int64_t>());
    }
    for (const pqxx::row& row :
         txn.exec_params(kRecent, t.tenant, claim.rule.id,
                         common::PgTimestamp(claim.now - kResponseCapWindow))) {
      history.recent.push_back(absl::FromUnixMicros(row[0].as<int64_t>()));
    }
    result.decision = DecideExecution(claim.rule, history, claim.now);
    result.created = result.decision == ExecutionDecision::kRun;
    result.execution_id = ExecutionId(t.tenant, claim.rule.id, key);
    const ExecutionState state =
        result.created ? ExecutionState::kPending : ExecutionState::kSkipped;
    txn.exec_params(kInsertExecution, t.tenant, result.execution_id, claim.rule.id, t.incident_id,
                    key, pqxx::binarystring(claim.rule_body), t.alert.fingerprint, t.alert.name,
                    static_cast<int>(t.alert.severity), JsonLabels(t.alert.labels),
                    static_cast<int>(state), common::PgTimestamp(claim.now));
    InsertEntry(txn, ClaimEntry(claim.rule, t.tenant, t.incident_id, t.alert, result.decision,
                                result.execution_id, claim.now,
                                NextAllowed(claim.rule, history, claim.now)));
    return result;
  });
}

absl::StatusOr<std::optional<Execution>> PgResponseStore::LeaseExecution(absl::Time now,
                                                                         absl::Duration lease) {
  return pool_.Transact<std::optional<Execution>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::optional<Execution>> {
        const pqxx::result rows = txn.exec_params(kLeaseExecution, common::PgTimestamp(now),
                                                  common::PgTimestamp(now + lease));
        if (rows.empty()) return std::optional<Execution>();
        ASSIGN_OR_RETURN(Execution e, ParseExecution(rows[0]));
        return std::optional<Execution>(std::move(e));
      });
}

absl::Status PgResponseStore::AdvanceExecution(const Execution& execution,
                                               const ActionOutcome& outcome,
                                               const std::optional<TimelineEntry>& finish_entry,
                                               absl::Time lease_until) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const absl::Time now = outcome.entries.empty() ? lease_until : outcome.entries.back().time;
    const pqxx::result updated = txn.exec_params(
        kAdvanceExecution, execution.tenant, execution.id, execution.lease_token, outcome.index,
        outcome.failed, outcome.stop, common::PgTimestamp(lease_until), common::PgTimestamp(now));
    if (updated.affected_rows() == 0) {
      return absl::AbortedError(absl::StrCat("execution ", execution.id, " lease lost"));
    }
    for (const TimelineEntry& entry : outcome.entries) InsertEntry(txn, entry);
    if (outcome.stop && finish_entry.has_value()) InsertEntry(txn, *finish_entry);
    return absl::OkStatus();
  });
}

absl::Status PgResponseStore::RetryExecution(const Execution& execution, absl::Time at) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    const pqxx::result updated = txn.exec_params(kRetryExecution, execution.tenant, execution.id,
                                                 execution.lease_token, common::PgTimestamp(at));
    if (updated.affected_rows() == 0) {
      return absl::AbortedError(absl::StrCat("execution ", execution.id, " lease lost"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Execution>> PgResponseStore::ListExecutions(absl::string_view tenant,
                                                                       absl::string_view rule_id) {
  return pool_.Transact<std::vector<Execution>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<Execution>> {
        std::vector<Execution> out;
        for (const pqxx::row& row :
             txn.exec_params(kListExecutions, std::string(tenant), std::string(rule_id))) {
          ASSIGN_OR_RETURN(Execution e, ParseExecution(row));
          out.push_back(std::move(e));
        }
        return out;
      });
}

}  // namespace agentwatch::incident
