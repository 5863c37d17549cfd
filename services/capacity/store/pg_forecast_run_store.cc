#include "capacity/store/pg_forecast_run_store.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr common::PgStatement kInsertRun{"capacity_insert_forecast_run", R"sql(
INSERT INTO capacity.forecast_runs
  (tenant_id, metric, matchers, created_at, horizon, step, history, requested_model, model,
   mase, smape, history_points, points)
VALUES ($1, $2, $3::jsonb, $4::timestamptz,
        $5::bigint * interval '1 microsecond', $6::bigint * interval '1 microsecond',
        $7::bigint * interval '1 microsecond', $8, $9, $10::float8, $11::float8, $12::bigint, $13)
RETURNING id::text
)sql"};

constexpr common::PgStatement kGetRun{"capacity_get_forecast_run", R"sql(
SELECT metric,
       (extract(epoch FROM created_at) * 1000000)::bigint,
       (extract(epoch FROM horizon) * 1000000)::bigint,
       (extract(epoch FROM step) * 1000000)::bigint,
       (extract(epoch FROM history) * 1000000)::bigint,
       requested_model, model, mase, smape, history_points, points
FROM capacity.forecast_runs
WHERE tenant_id = $1 AND id = $2::uuid
)sql"};

constexpr common::PgStatement kGetRunMatchers{"capacity_get_forecast_run_matchers", R"sql(
SELECT m.matcher->>'name', m.matcher->>'op', m.matcher->>'value'
FROM capacity.forecast_runs r,
     jsonb_array_elements(r.matchers) WITH ORDINALITY AS m(matcher, position)
WHERE r.tenant_id = $1 AND r.id = $2::uuid
ORDER BY m.position
)sql"};

constexpr common::PgStatement kDeleteRunsBefore{"capacity_delete_forecast_runs_before", R"sql(
DELETE FROM capacity.forecast_runs
WHERE (tenant_id, id) IN (
  SELECT tenant_id, id FROM capacity.forecast_runs
  WHERE created_at < $1::timestamptz
  ORDER BY created_at
  LIMIT $2::bigint)
)sql"};

std::string MatchersJson(const std::vector<LabelMatcher>& matchers) {
  std::string json = "[";
  for (size_t i = 0; i < matchers.size(); ++i) {
    absl::StrAppend(&json, i == 0 ? "" : ",", "{\"name\":\"", common::JsonEscape(matchers[i].name),
                    "\",\"op\":\"", MatchOpSymbol(matchers[i].op), "\",\"value\":\"",
                    common::JsonEscape(matchers[i].value), "\"}");
  }
  json += "]";
  return json;
}

absl::StatusOr<MatchOp> ParseMatchOp(const std::string& symbol) {
  for (MatchOp op : {MatchOp::kEqual, MatchOp::kNotEqual, MatchOp::kRegex, MatchOp::kNotRegex}) {
    if (symbol == MatchOpSymbol(op)) return op;
  }
  return absl::InternalError(
      absl::StrCat("forecast_runs.matchers holds unknown op '", symbol, "'"));
}

}  // namespace

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

PgForecastRunStore::PgForecastRunStore(common::PgPool& pool) : pool_(pool) {
  pool_.AddStatements({kInsertRun, kGetRun, kGetRunMatchers, kDeleteRunsBefore});
}

absl::StatusOr<std::string> PgForecastRunStore::SaveRun(const ForecastRun& run) {
  return pool_.Transact<std::string>([&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    const pqxx::result rows = txn.exec_prepared(
        kInsertRun.name, run.tenant, run.metric, MatchersJson(run.matchers),
        common::PgTimestamp(run.created_at), absl::ToInt64Microseconds(run.horizon),
        absl::ToInt64Microseconds(run.step), absl::ToInt64Microseconds(run.history),
        run.requested_model, run.model, run.mase, run.smape, run.history_points,
        pqxx::binarystring(run.response));
    return rows[0][0].as<std::string>();
  });
}

absl::StatusOr<ForecastRun> PgForecastRunStore::GetRun(absl::string_view tenant,
                                                       absl::string_view id) {
  if (!IsUuid(id)) return absl::NotFoundError(absl::StrCat("forecast run ", id, " not found"));
  const std::string tenant_text(tenant);
  const std::string id_text(id);
  return pool_.Transact<ForecastRun>([&](pqxx::work& txn) -> absl::StatusOr<ForecastRun> {
    const pqxx::result rows = txn.exec_prepared(kGetRun.name, tenant_text, id_text);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("forecast run ", id, " not found"));
    const pqxx::row row = rows[0];
    ForecastRun run;
    run.tenant = tenant_text;
    run.id = id_text;
    run.metric = row[0].as<std::string>();
    run.created_at = common::FromUnixMicros(row[1].as<int64_t>());
    run.horizon = absl::Microseconds(row[2].as<int64_t>());
    run.step = absl::Microseconds(row[3].as<int64_t>());
    run.history = absl::Microseconds(row[4].as<int64_t>());
    run.requested_model = row[5].as<std::string>();
    run.model = row[6].as<std::string>();
    run.mase = row[7].as<double>();
    run.smape = row[8].as<double>();
    run.history_points = row[9].as<int64_t>();
    run.response = pqxx::binarystring(row[10]).str();
    for (const pqxx::row& matcher : txn.exec_prepared(kGetRunMatchers.name, tenant_text, id_text)) {
      ASSIGN_OR_RETURN(const MatchOp op, ParseMatchOp(matcher[1].as<std::string>()));
      run.matchers.push_back({matcher[0].as<std::string>(), op, matcher[2].as<std::string>()});
    }
    return run;
  });
}

absl::StatusOr<int64_t> PgForecastRunStore::DeleteRunsBefore(absl::Time cutoff, int64_t limit) {
  return pool_.Transact<int64_t>([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    const pqxx::result done =
        txn.exec_prepared(kDeleteRunsBefore.name, common::PgTimestamp(cutoff), limit);
    return static_cast<int64_t>(done.affected_rows());
  });
}

}  // namespace agentwatch::capacity
