#include "monitor/store/anomaly_state_store.h"

#include "absl/strings/str_format.h"
#include "common/pg.h"
#include "monitor/store/pg_text.h"

namespace agentwatch::monitor {
namespace {

constexpr char kLoadSql[] = R"sql(
SELECT fingerprint, group_values, condition_hash,
       (extract(epoch FROM first_minute) * 1000000)::bigint,
       (extract(epoch FROM last_minute) * 1000000)::bigint,
       (extract(epoch FROM last_data) * 1000000)::bigint, last_score, detector
FROM monitor.anomaly_state
WHERE tenant_id = $1 AND rule_id = $2
ORDER BY fingerprint)sql";

constexpr char kSaveSql[] = R"sql(
INSERT INTO monitor.anomaly_state (tenant_id, rule_id, fingerprint, group_values, condition_hash,
    first_minute, last_minute, last_data, last_score, detector, updated_at)
VALUES ($1, $2, $3, $4::text[], $5, $6::timestamptz, $7::timestamptz, $8::timestamptz,
        $9::float8, $10, now())
ON CONFLICT (tenant_id, rule_id, fingerprint) DO UPDATE SET
  group_values = excluded.group_values, condition_hash = excluded.condition_hash,
  first_minute = excluded.first_minute, last_minute = excluded.last_minute,
  last_data = excluded.last_data, last_score = excluded.last_score,
  detector = excluded.detector, updated_at = now())sql";

constexpr char kDeleteSql[] =
    "DELETE FROM monitor.anomaly_state WHERE tenant_id = $1 AND rule_id = $2 "
    "AND fingerprint = $3";

}  // namespace

std::vector<AnomalySeriesState> PgLoadAnomalyStates(pqxx::work& txn, const std::string& tenant,
                                                    const std::string& rule_id) {
  std::vector<AnomalySeriesState> out;
  for (const auto& row : txn.exec_params(kLoadSql, tenant, rule_id)) {
    AnomalySeriesState state;
    state.tenant = tenant;
    state.rule_id = rule_id;
    state.fingerprint = row[0].as<std::string>();
    state.group = ParseTextArray(row[1]);
    state.condition_hash = row[2].as<std::string>();
    state.first_minute = absl::FromUnixMicros(row[3].as<int64_t>());
    state.last_minute = absl::FromUnixMicros(row[4].as<int64_t>());
    state.last_data = absl::FromUnixMicros(row[5].as<int64_t>());
    state.last_score = row[6].as<double>();
    state.detector = pqxx::binarystring(row[7]).str();
    out.push_back(std::move(state));
  }
  return out;
}

void PgSaveAnomalyState(pqxx::work& txn, const AnomalySeriesState& state) {
  txn.exec_params(kSaveSql, state.tenant, state.rule_id, state.fingerprint,
                  PgTextArray(state.group), state.condition_hash,
                  common::PgTimestamp(state.first_minute), common::PgTimestamp(state.last_minute),
                  common::PgTimestamp(state.last_data), absl::StrFormat("%.17g", state.last_score),
                  pqxx::binarystring(state.detector));
}

void PgDeleteAnomalyState(pqxx::work& txn, const std::string& tenant, const std::string& rule_id,
                          const std::string& fingerprint) {
  txn.exec_params(kDeleteSql, tenant, rule_id, fingerprint);
}

}  // namespace agentwatch::monitor
