#include "monitor/store/pg_slo_store.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/outbox.h"
#include "common/status_macros.h"
#include "monitor/store/outbox_payloads.h"
#include "monitor/store/pg_text.h"

namespace agentwatch::monitor {
namespace {

#define AW_SLO_COLUMNS                                                                        \
  "tenant_id, id, name, description, scope_team, scope_workflow, scope_agent, scope_model, "  \
  "scope_provider, ARRAY(SELECT key FROM jsonb_each_text(scope_tags) ORDER BY key), "         \
  "ARRAY(SELECT value FROM jsonb_each_text(scope_tags) ORDER BY key), subject, sli_kind, "    \
  "latency_threshold_us, objective, window_us, burn_long_us::text[], burn_short_us::text[], " \
  "burn_rates::text[], burn_severities::text[], "                                             \
  "ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key), "                             \
  "ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key), "                           \
  "(extract(epoch FROM create_time) * 1000000)::bigint, "                                     \
  "(extract(epoch FROM update_time) * 1000000)::bigint "

#define AW_SLO_ALERT_COLUMNS                                                          \
  "tenant_id, fingerprint, rule, name, "                                              \
  "ARRAY(SELECT key FROM jsonb_each_text(labels) ORDER BY key), "                     \
  "ARRAY(SELECT value FROM jsonb_each_text(labels) ORDER BY key), firing, severity, " \
  "(extract(epoch FROM starts_at) * 1000000)::bigint, "                               \
  "(extract(epoch FROM ends_at) * 1000000)::bigint, value, rule_id, "                 \
  "(extract(epoch FROM active_since) * 1000000)::bigint, "                            \
  "ARRAY(SELECT key FROM jsonb_each_text(annotations) ORDER BY key), "                \
  "ARRAY(SELECT value FROM jsonb_each_text(annotations) ORDER BY key), "              \
  "(extract(epoch FROM last_evaluation) * 1000000)::bigint "

constexpr char kLockTenantSlosSql[] =
    "SELECT pg_advisory_xact_lock(hashtext('monitor.slos:' || $1::text))";

constexpr char kLockSloSql[] =
    "SELECT pg_advisory_xact_lock(hashtext('monitor.slo:' || $1::text || ':' || $2::text))";

constexpr char kSloByRequestSql[] =
    "SELECT " AW_SLO_COLUMNS "FROM monitor.slos WHERE tenant_id = $1 AND request_id = $2";

constexpr char kSloNameTakenSql[] =
    "SELECT 1 FROM monitor.slos WHERE tenant_id = $1 AND name = $2 AND id <> $3";

constexpr char kCountSlosSql[] = "SELECT count(*) FROM monitor.slos WHERE tenant_id = $1";

constexpr char kSloByIdSql[] = "SELECT " AW_SLO_COLUMNS "FROM monitor.slos WHERE id = $1";

constexpr char kSloByKeySql[] =
    "SELECT " AW_SLO_COLUMNS "FROM monitor.slos WHERE tenant_id = $1 AND id = $2";

constexpr char kInsertSloSql[] = R"sql(
INSERT INTO monitor.slos (tenant_id, id, name, description, scope_team, scope_workflow,
    scope_agent, scope_model, scope_provider, scope_tags, subject, sli_kind, metric,
    latency_threshold_us, objective, window_us, burn_long_us, burn_short_us, burn_rates,
    burn_severities, labels, request_id, create_time, update_time)
VALUES ($1, 's' || replace(gen_random_uuid()::text, '-', ''), $2, $3, $4, $5, $6, $7, $8,
        $9::jsonb, $10, $11, $12, $13, $14::float8, $15, $16::bigint[], $17::bigint[],
        $18::float8[], $19::integer[], $20::jsonb, $21, $22::timestamptz, $22::timestamptz)
RETURNING id)sql";

constexpr char kUpdateSloSql[] = R"sql(
UPDATE monitor.slos SET name = $3, description = $4, scope_team = $5, scope_workflow = $6,
    scope_agent = $7, scope_model = $8, scope_provider = $9, scope_tags = $10::jsonb,
    subject = $11, sli_kind = $12, metric = $13, latency_threshold_us = $14,
    objective = $15::float8, window_us = $16, burn_long_us = $17::bigint[],
    burn_short_us = $18::bigint[], burn_rates = $19::float8[], burn_severities = $20::integer[],
    labels = $21::jsonb, update_time = $22::timestamptz
WHERE tenant_id = $1 AND id = $2)sql";

constexpr char kDeleteSloSql[] = "DELETE FROM monitor.slos WHERE tenant_id = $1 AND id = $2";

constexpr char kListSlosSql[] = "SELECT " AW_SLO_COLUMNS
                                "FROM monitor.slos "
                                "WHERE ($1::text = '' OR tenant_id = $1::text) "
                                "  AND (name, id) > ($2::text, $3::text) "
                                "ORDER BY name, id LIMIT $4";

constexpr char kSlosOfMetricsSql[] = "SELECT " AW_SLO_COLUMNS
                                     "FROM monitor.slos s WHERE EXISTS ("
                                     "  SELECT 1 FROM unnest($1::text[], $2::text[]) AS b(t, m)"
                                     "  WHERE s.tenant_id = b.t AND s.metric = b.m) "
                                     "ORDER BY tenant_id, id";

constexpr char kSloMetricsSql[] =
    "SELECT tenant_id, metric FROM monitor.slos WHERE tenant_id = ANY($1::text[])";

constexpr char kSlosWithFiringSql[] = "SELECT " AW_SLO_COLUMNS
                                      "FROM monitor.slos s WHERE EXISTS ("
                                      "  SELECT 1 FROM monitor.alert_state a"
                                      "  WHERE a.tenant_id = s.tenant_id AND a.rule_id = s.id"
                                      "    AND a.rule = 'slo_burn_rate' AND a.firing) "
                                      "ORDER BY tenant_id, id LIMIT $1";

constexpr char kSloAlertsSql[] = "SELECT " AW_SLO_ALERT_COLUMNS
                                 "FROM monitor.alert_state "
                                 "WHERE tenant_id = $1 AND rule_id = $2 "
                                 "  AND rule = 'slo_burn_rate' AND firing "
                                 "ORDER BY fingerprint";

constexpr char kLockSloAlertsSql[] = "SELECT " AW_SLO_ALERT_COLUMNS
                                     "FROM monitor.alert_state "
                                     "WHERE tenant_id = $1 AND rule_id = $2 "
                                     "  AND rule = 'slo_burn_rate' "
                                     "ORDER BY fingerprint FOR UPDATE";

constexpr char kSaveSloAlertSql[] = R"sql(
INSERT INTO monitor.alert_state AS a (tenant_id, fingerprint, rule, name, labels, firing, severity,
    starts_at, ends_at, value, rule_id, pending, active_since, clear_since, annotations,
    last_evaluation, updated_at)
VALUES ($1, $2, 'slo_burn_rate', $3, $4::jsonb, $5::boolean, $6::smallint,
        nullif($7::text, '')::timestamptz, nullif($8::text, '')::timestamptz, $9::float8, $10,
        false, nullif($11::text, '')::timestamptz, NULL, $12::jsonb,
        nullif($13::text, '')::timestamptz, now())
ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET
  name = excluded.name, labels = excluded.labels, firing = excluded.firing,
  severity = excluded.severity, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
  value = excluded.value, pending = false, active_since = excluded.active_since,
  annotations = excluded.annotations, last_evaluation = excluded.last_evaluation,
  updated_at = now())sql";

constexpr char kDeleteSloAlertSql[] =
    "DELETE FROM monitor.alert_state WHERE tenant_id = $1 AND fingerprint = $2 "
    "AND rule = 'slo_burn_rate'";

std::string OptionalTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? common::PgTimestamp(*t) : std::string();
}

std::vector<std::string> TextElements(const pqxx::field& field) { return ParseTextArray(field); }

Slo ReadSlo(const pqxx::row& row) {
  Slo slo;
  slo.scope.tenant = row[0].as<std::string>();
  slo.id = row[1].as<std::string>();
  slo.name = row[2].as<std::string>();
  slo.description = row[3].as<std::string>();
  slo.scope.team = row[4].as<std::string>();
  slo.scope.workflow = row[5].as<std::string>();
  slo.scope.agent = row[6].as<std::string>();
  slo.scope.model = row[7].as<std::string>();
  slo.scope.provider = row[8].as<std::string>();
  slo.scope.tags = ParseLabelArrays(row[9], row[10]);
  slo.subject = static_cast<SloSubject>(row[11].as<int>());
  slo.sli_kind = static_cast<SliKind>(row[12].as<int>());
  slo.latency_threshold = absl::Microseconds(row[13].as<int64_t>());
  slo.objective = row[14].as<double>();
  slo.window = absl::Microseconds(row[15].as<int64_t>());
  const std::vector<std::string> longs = TextElements(row[16]);
  const std::vector<std::string> shorts = TextElements(row[17]);
  const std::vector<std::string> rates = TextElements(row[18]);
  const std::vector<std::string> severities = TextElements(row[19]);
  for (size_t i = 0;
       i < longs.size() && i < shorts.size() && i < rates.size() && i < severities.size(); ++i) {
    int64_t long_us = 0, short_us = 0;
    int severity = 0;
    BurnRateWindow window;
    if (!absl::SimpleAtoi(longs[i], &long_us) || !absl::SimpleAtoi(shorts[i], &short_us) ||
        !absl::SimpleAtod(rates[i], &window.burn_rate) ||
        !absl::SimpleAtoi(severities[i], &severity)) {
      continue;
    }
    window.long_window = absl::Microseconds(long_us);
    window.short_window = absl::Microseconds(short_us);
    window.severity = static_cast<Severity>(severity);
    slo.burn_rate_windows.push_back(window);
  }
  slo.labels = ParseLabelArrays(row[20], row[21]);
  slo.create_time = absl::FromUnixMicros(row[22].as<int64_t>());
  slo.update_time = absl::FromUnixMicros(row[23].as<int64_t>());
  return slo;
}

AlertState ReadSloAlert(const pqxx::row& row) {
  AlertState state;
  state.tenant = row[0].as<std::string>();
  state.fingerprint = row[1].as<std::string>();
  state.rule = row[2].as<std::string>();
  state.name = row[3].as<std::string>();
  state.labels = ParseLabelArrays(row[4], row[5]);
  state.firing = row[6].as<bool>();
  state.severity = static_cast<Severity>(row[7].as<int>());
  state.starts_at = ParseMicros(row[8]);
  state.ends_at = ParseMicros(row[9]);
  state.value = row[10].as<double>();
  state.rule_id = row[11].as<std::string>();
  state.active_since = ParseMicros(row[12]);
  state.annotations = ParseLabelArrays(row[13], row[14]);
  state.last_evaluation = ParseMicros(row[15]);
  return state;
}

std::vector<Slo> ReadSlos(const pqxx::result& rows) {
  std::vector<Slo> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(ReadSlo(row));
  return out;
}

// Binds the writable columns of `slo`, after (tenant, id or name).
pqxx::result WriteSlo(pqxx::work& txn, const Slo& slo, const std::string& request_id,
                      absl::Time now, bool insert) {
  std::vector<int64_t> longs, shorts, severities;
  std::vector<double> rates;
  for (const BurnRateWindow& w : slo.burn_rate_windows) {
    longs.push_back(absl::ToInt64Microseconds(w.long_window));
    shorts.push_back(absl::ToInt64Microseconds(w.short_window));
    rates.push_back(w.burn_rate);
    severities.push_back(static_cast<int64_t>(w.severity));
  }
  const HealthScope& s = slo.scope;
  const std::string metric = SliSourceOf(slo).metric;
  const std::string objective = absl::StrFormat("%.17g", slo.objective);
  if (insert) {
    return txn.exec_params(kInsertSloSql, slo.tenant(), slo.name, slo.description, s.team,
                           s.workflow, s.agent, s.model, s.provider, JsonObject(s.tags),
                           static_cast<int>(slo.subject), static_cast<int>(slo.sli_kind), metric,
                           absl::ToInt64Microseconds(slo.latency_threshold), objective,
                           absl::ToInt64Microseconds(slo.window), PgInt64Array(longs),
                           PgInt64Array(shorts), PgFloat8Array(rates), PgInt64Array(severities),
                           JsonObject(slo.labels), request_id, common::PgTimestamp(now));
  }
  return txn.exec_params(kUpdateSloSql, slo.tenant(), slo.id, slo.name, slo.description, s.team,
                         s.workflow, s.agent, s.model, s.provider, JsonObject(s.tags),
                         static_cast<int>(slo.subject), static_cast<int>(slo.sli_kind), metric,
                         absl::ToInt64Microseconds(slo.latency_threshold), objective,
                         absl::ToInt64Microseconds(slo.window), PgInt64Array(longs),
                         PgInt64Array(shorts), PgFloat8Array(rates), PgInt64Array(severities),
                         JsonObject(slo.labels), common::PgTimestamp(now));
}

absl::Status NameTaken(pqxx::work& txn, const Slo& slo) {
  if (!txn.exec_params(kSloNameTakenSql, slo.tenant(), slo.name, slo.id).empty()) {
    return absl::AlreadyExistsError(absl::StrCat("slo.name: tenant \"", slo.tenant(),
                                                 "\" has an SLO named \"", slo.name, "\""));
  }
  return absl::OkStatus();
}

// SloAlertContext over one transaction.
class PgSloContext final : public SloAlertContext {
 public:
  explicit PgSloContext(pqxx::work& txn) : txn_(txn) {}

  absl::StatusOr<std::vector<AlertState>> LockSloAlerts(const std::string& tenant,
                                                        const std::string& slo_id) override {
    std::vector<AlertState> out;
    for (const auto& row : txn_.exec_params(kLockSloAlertsSql, tenant, slo_id)) {
      out.push_back(ReadSloAlert(row));
    }
    return out;
  }

  absl::Status SaveSloAlert(const AlertState& state) override {
    txn_.exec_params(kSaveSloAlertSql, state.tenant, state.fingerprint, state.name,
                     JsonObject(state.labels), state.firing, static_cast<int>(state.severity),
                     OptionalTime(state.starts_at), OptionalTime(state.ends_at), state.value,
                     state.rule_id, OptionalTime(state.active_since), JsonObject(state.annotations),
                     OptionalTime(state.last_evaluation));
    return absl::OkStatus();
  }

  absl::Status DeleteSloAlert(const std::string& tenant, const std::string& fingerprint) override {
    txn_.exec_params(kDeleteSloAlertSql, tenant, fingerprint);
    return absl::OkStatus();
  }

  absl::Status EmitAlert(const AlertNotice& notice) override {
    common::EnqueueOutbox(
        txn_, kOutboxSchema,
        {notice.tenant, kIncidentDestination, notice.IdempotencyKey(), SerializeAlert(notice)});
    ++emitted_;
    return absl::OkStatus();
  }

  int64_t emitted() const { return emitted_; }

 private:
  pqxx::work& txn_;
  int64_t emitted_ = 0;
};

}  // namespace

void PgSloStore::ForgetSloMetrics(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  ++generation_;
  slo_metrics_.erase(tenant);
}

absl::StatusOr<Slo> PgSloStore::CreateSlo(const Slo& slo, const std::string& request_id,
                                          absl::Time now) {
  // Before and after the write: a lookup that read in between does not
  // install its reading (the generation moved).
  ForgetSloMetrics(slo.tenant());
  absl::Cleanup forget = [&] { ForgetSloMetrics(slo.tenant()); };
  return pool_.Transact<Slo>([&](pqxx::work& txn) -> absl::StatusOr<Slo> {
    txn.exec_params(kLockTenantSlosSql, slo.tenant());
    if (!request_id.empty()) {
      const pqxx::result existing = txn.exec_params(kSloByRequestSql, slo.tenant(), request_id);
      if (!existing.empty()) return ReadSlo(existing[0]);
    }
    RETURN_IF_ERROR(NameTaken(txn, slo));
    if (txn.exec_params(kCountSlosSql, slo.tenant())[0][0].as<int64_t>() >= kMaxSlosPerTenant) {
      return absl::ResourceExhaustedError(absl::StrCat("slo: tenant \"", slo.tenant(), "\" has ",
                                                       kMaxSlosPerTenant, " SLOs, the most"));
    }
    Slo stored = slo;
    stored.id = WriteSlo(txn, slo, request_id, now, true)[0][0].as<std::string>();
    stored.create_time = absl::FromUnixMicros(absl::ToUnixMicros(now));
    stored.update_time = stored.create_time;
    return stored;
  });
}

absl::StatusOr<Slo> PgSloStore::GetSlo(const std::string& id) {
  return pool_.Transact<Slo>([&](pqxx::work& txn) -> absl::StatusOr<Slo> {
    const pqxx::result rows = txn.exec_params(kSloByIdSql, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no SLO \"", id, "\""));
    return ReadSlo(rows[0]);
  });
}

absl::StatusOr<Slo> PgSloStore::UpdateSlo(const Slo& slo, absl::Time now) {
  ForgetSloMetrics(slo.tenant());
  absl::Cleanup forget = [&] { ForgetSloMetrics(slo.tenant()); };
  return pool_.Transact<Slo>([&](pqxx::work& txn) -> absl::StatusOr<Slo> {
    const pqxx::result rows = txn.exec_params(kSloByIdSql, slo.id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("slo.id: no SLO \"", slo.id, "\""));
    const Slo previous = ReadSlo(rows[0]);
    if (previous.tenant() != slo.tenant()) {
      return common::InvalidField("slo.scope.tenant", "cannot change");
    }
    txn.exec_params(kLockTenantSlosSql, slo.tenant());
    txn.exec_params(kLockSloSql, slo.tenant(), slo.id);
    RETURN_IF_ERROR(NameTaken(txn, slo));
    WriteSlo(txn, slo, "", now, false);
    Slo stored = slo;
    stored.create_time = previous.create_time;
    stored.update_time = absl::FromUnixMicros(absl::ToUnixMicros(now));
    return stored;
  });
}

absl::StatusOr<SweepResult> PgSloStore::DeleteSlo(const std::string& id, absl::Time now) {
  return pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
    const pqxx::result rows = txn.exec_params(kSloByIdSql, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("id: no SLO \"", id, "\""));
    const Slo slo = ReadSlo(rows[0]);
    txn.exec_params(kLockSloSql, slo.tenant(), slo.id);
    SweepResult result;
    PgSloContext context(txn);
    RETURN_IF_ERROR(ResolveSloAlerts(slo, context, now, &result.alerts));
    result.outbox_enqueued = context.emitted();
    txn.exec_params(kDeleteSloSql, slo.tenant(), slo.id);
    return result;
  });
}

absl::StatusOr<SloPage> PgSloStore::ListSlos(
    const std::string& tenant, const std::optional<std::pair<std::string, std::string>>& after,
    int page_size) {
  return pool_.Transact<SloPage>([&](pqxx::work& txn) -> absl::StatusOr<SloPage> {
    const pqxx::result rows =
        txn.exec_params(kListSlosSql, tenant, after.has_value() ? after->first : std::string(),
                        after.has_value() ? after->second : std::string(), page_size + 1);
    SloPage page;
    page.slos = ReadSlos(rows);
    if (static_cast<int>(page.slos.size()) > page_size) {
      page.slos.resize(page_size);
      page.next = std::make_pair(page.slos.back().name, page.slos.back().id);
    }
    return page;
  });
}

absl::StatusOr<std::vector<Slo>> PgSloStore::SlosOfMetrics(
    const std::vector<std::pair<std::string, std::string>>& tenant_metrics) {
  // Pairs whose tenant has a fresh reading without the metric need no read.
  std::vector<std::string> tenants, metrics;
  std::set<std::string> stale;
  uint64_t generation = 0;
  {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(metrics_mu_);
    generation = generation_;
    for (const auto& [tenant, metric] : tenant_metrics) {
      const auto it = slo_metrics_.find(tenant);
      const bool fresh = it != slo_metrics_.end() && now - it->second.read_at <= kSloMetricsTtl;
      if (fresh && it->second.metrics.count(metric) == 0) continue;
      if (!fresh) stale.insert(tenant);
      tenants.push_back(tenant);
      metrics.push_back(metric);
    }
  }
  if (tenants.empty()) return std::vector<Slo>();
  std::map<std::string, SloMetrics> read;
  absl::StatusOr<std::vector<Slo>> slos =
      pool_.Transact<std::vector<Slo>>([&](pqxx::work& txn) -> absl::StatusOr<std::vector<Slo>> {
        read.clear();
        if (!stale.empty()) {
          const auto read_at = std::chrono::steady_clock::now();
          for (const std::string& tenant : stale) read[tenant].read_at = read_at;
          for (const auto& row :
               txn.exec_params(kSloMetricsSql,
                               PgTextArray(std::vector<std::string>(stale.begin(), stale.end())))) {
            read[row[0].as<std::string>()].metrics.insert(row[1].as<std::string>());
          }
        }
        return ReadSlos(
            txn.exec_params(kSlosOfMetricsSql, PgTextArray(tenants), PgTextArray(metrics)));
      });
  if (slos.ok() && !read.empty()) {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    if (generation == generation_) {
      for (auto& [tenant, entry] : read) slo_metrics_[tenant] = std::move(entry);
    }
  }
  return slos;
}

absl::StatusOr<std::vector<Slo>> PgSloStore::SlosWithFiringAlerts(int limit) {
  return pool_.Transact<std::vector<Slo>>([&](pqxx::work& txn) -> absl::StatusOr<std::vector<Slo>> {
    return ReadSlos(txn.exec_params(kSlosWithFiringSql, limit));
  });
}

absl::StatusOr<std::vector<AlertState>> PgSloStore::SloAlerts(const std::string& tenant,
                                                              const std::string& slo_id) {
  return pool_.Transact<std::vector<AlertState>>(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<AlertState>> {
        std::vector<AlertState> out;
        for (const auto& row : txn.exec_params(kSloAlertsSql, tenant, slo_id)) {
          out.push_back(ReadSloAlert(row));
        }
        return out;
      });
}

absl::StatusOr<SweepResult> PgSloStore::EvaluateSlo(const Slo& slo,
                                                    const std::vector<SliBucket>& buckets,
                                                    absl::Time now) {
  return pool_.Transact<SweepResult>([&](pqxx::work& txn) -> absl::StatusOr<SweepResult> {
    SweepResult result;
    txn.exec_params(kLockSloSql, slo.tenant(), slo.id);
    const pqxx::result rows = txn.exec_params(kSloByKeySql, slo.tenant(), slo.id);
    if (rows.empty()) return result;  // deleted meanwhile
    const Slo current = ReadSlo(rows[0]);
    if (absl::ToUnixMicros(current.update_time) != absl::ToUnixMicros(slo.update_time)) {
      return result;  // changed meanwhile: the buckets may not be its data
    }
    PgSloContext context(txn);
    RETURN_IF_ERROR(EvaluateSloAlerts(current, buckets, context, now, &result.alerts));
    result.outbox_enqueued = context.emitted();
    return result;
  });
}

}  // namespace agentwatch::monitor
