#include "capacity/store/pg_recompute_store.h"

#include "absl/strings/str_cat.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/outbox.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr common::PgStatement kClaimDue{"capacity_recompute_claim_due", R"sql(
WITH due AS (
  SELECT tenant_id, resource_id FROM capacity.resource_results
  WHERE next_run_at <= $1::timestamptz
  ORDER BY next_run_at
  LIMIT $3::bigint
  FOR UPDATE SKIP LOCKED)
UPDATE capacity.resource_results r
SET next_run_at = $2::timestamptz, claimed_by = $4
FROM due
WHERE r.tenant_id = due.tenant_id AND r.resource_id = due.resource_id
RETURNING r.resource_id::text
)sql"};

constexpr common::PgStatement kLockState{"capacity_recompute_lock_state", R"sql(
SELECT breach_firing, (extract(epoch FROM fired_at) * 1000000)::bigint
FROM capacity.resource_results
WHERE tenant_id = $1 AND resource_id = $2::uuid
FOR UPDATE
)sql"};

constexpr common::PgStatement kSaveOutcome{"capacity_recompute_save_outcome", R"sql(
UPDATE capacity.resource_results
SET next_run_at = $3::timestamptz, computed_at = $4::timestamptz, computed_by = $5,
    runs = runs + 1, error = $6, model = $7, recommendations = $8,
    breach_firing = $9::boolean,
    fired_at = CASE WHEN $10 = '' THEN NULL ELSE $10::timestamptz END,
    breach_time = CASE WHEN $11 = '' THEN NULL ELSE $11::timestamptz END,
    breach_probability = CASE WHEN $11 = '' THEN NULL ELSE $12::float8 END
WHERE tenant_id = $1 AND resource_id = $2::uuid
)sql"};

constexpr common::PgStatement kGetState{"capacity_recompute_get_state", R"sql(
SELECT runs, computed_by, error, model, recommendations, breach_firing,
       (extract(epoch FROM breach_time) * 1000000)::bigint
FROM capacity.resource_results
WHERE tenant_id = $1 AND resource_id = $2::uuid
)sql"};

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

}  // namespace

std::string SerializeBreachAlert(const BreachAlert& alert) {
  incident::v1::Alert out;
  out.set_fingerprint(alert.fingerprint);
  out.set_name(alert.name);
  out.set_severity(static_cast<common::v1::Severity>(alert.severity));
  out.set_tenant(alert.tenant);
  out.mutable_labels()->insert(alert.labels.begin(), alert.labels.end());
  out.mutable_annotations()->insert(alert.annotations.begin(), alert.annotations.end());
  SetTime(alert.starts_at, out.mutable_starts_at());
  if (alert.firing) {
    out.set_status(incident::v1::ALERT_STATUS_FIRING);
  } else {
    out.set_status(incident::v1::ALERT_STATUS_RESOLVED);
    SetTime(alert.ends_at, out.mutable_ends_at());
  }
  out.set_source(kBreachAlertSource);
  return out.SerializeAsString();
}

PgRecomputeStore::PgRecomputeStore(common::PgPool& pool) : pool_(pool) {
  pool_.AddStatements({kClaimDue, kLockState, kSaveOutcome, kGetState});
}

absl::StatusOr<std::vector<std::string>> PgRecomputeStore::ClaimDue(absl::Time now,
                                                                    absl::Duration lease, int limit,
                                                                    const std::string& runner) {
  return pool_.Transact<std::vector<std::string>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> ids;
        for (const pqxx::row& row : txn.exec_prepared(kClaimDue.name, common::PgTimestamp(now),
                                                      common::PgTimestamp(now + lease),
                                                      static_cast<int64_t>(limit), runner)) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      });
}

absl::StatusOr<BreachTransition> PgRecomputeStore::SaveOutcome(const Resource& resource,
                                                               const RecomputeOutcome& outcome) {
  return pool_.Transact<BreachTransition>([&](pqxx::work& txn) -> absl::StatusOr<BreachTransition> {
    const pqxx::result state = txn.exec_prepared(kLockState.name, resource.tenant, resource.id);
    if (state.empty()) {
      return absl::NotFoundError(absl::StrCat("resource ", resource.id, " was deleted"));
    }
    bool firing = state[0][0].as<bool>();
    std::optional<absl::Time> fired_at;
    if (!state[0][1].is_null()) fired_at = common::FromUnixMicros(state[0][1].as<int64_t>());
    BreachTransition transition = BreachTransition::kNone;
    if (outcome.error.empty()) {
      transition = DecideBreachTransition(firing, outcome.breach.has_value());
    }
    if (transition == BreachTransition::kFire) {
      const BreachAlert alert = FiringBreachAlert(resource, *outcome.breach, outcome.computed_at);
      common::EnqueueOutbox(
          txn, kOutboxSchema,
          {resource.tenant, kIncidentDestination,
           absl::StrCat(alert.fingerprint, ":firing:", absl::ToUnixMicros(alert.starts_at)),
           SerializeBreachAlert(alert)});
      firing = true;
      fired_at = outcome.computed_at;
    } else if (transition == BreachTransition::kResolve) {
      const BreachAlert alert = ResolvedBreachAlert(
          resource, fired_at.value_or(outcome.computed_at), outcome.computed_at);
      common::EnqueueOutbox(
          txn, kOutboxSchema,
          {resource.tenant, kIncidentDestination,
           absl::StrCat(alert.fingerprint, ":resolved:", absl::ToUnixMicros(alert.ends_at)),
           SerializeBreachAlert(alert)});
      firing = false;
      fired_at.reset();
    }
    const std::string breach_time =
        outcome.breach.has_value() ? common::PgTimestamp(outcome.breach->breach_time) : "";
    const double probability = outcome.breach.has_value() ? outcome.breach->probability : 0;
    txn.exec_prepared(kSaveOutcome.name, resource.tenant, resource.id,
                      common::PgTimestamp(outcome.next_run_at),
                      common::PgTimestamp(outcome.computed_at), outcome.runner, outcome.error,
                      outcome.model, pqxx::binarystring(outcome.recommendations), firing,
                      fired_at.has_value() ? common::PgTimestamp(*fired_at) : std::string(),
                      breach_time, probability);
    return transition;
  });
}

absl::StatusOr<RecomputeState> PgRecomputeStore::GetState(const std::string& tenant,
                                                          const std::string& resource_id) {
  return pool_.Transact<RecomputeState>([&](pqxx::work& txn) -> absl::StatusOr<RecomputeState> {
    const pqxx::result rows = txn.exec_prepared(kGetState.name, tenant, resource_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("resource ", resource_id));
    RecomputeState state;
    state.runs = rows[0][0].as<int64_t>();
    state.computed_by = rows[0][1].as<std::string>();
    state.error = rows[0][2].as<std::string>();
    state.model = rows[0][3].as<std::string>();
    if (!rows[0][4].is_null()) state.recommendations = pqxx::binarystring(rows[0][4]).str();
    state.breach_firing = rows[0][5].as<bool>();
    if (!rows[0][6].is_null()) state.breach_time = common::FromUnixMicros(rows[0][6].as<int64_t>());
    return state;
  });
}

}  // namespace agentwatch::capacity
