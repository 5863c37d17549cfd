// HTTP webhooks of the incident service, served on its HTTP port:
//
//   POST /api/v1/alerts/alertmanager   Alertmanager's webhook (payload v4)
//   POST /v2/enqueue                   PagerDuty Events API v2
//
// Both feed the same intake as ReportAlerts (same validation, grouping and
// idempotency). Bodies are JSON (RFC 8259, UTF-8) checked field by field;
// unknown fields are ignored. Alertmanager bodies are read directly into
// alerts (a strict reader that keeps only the fields below); PagerDuty events
// through protobuf's JSON parser into google.protobuf.Struct. When authentication is on, both need an operator token in
// `Authorization: Bearer TOKEN` (401 without a known token, 403 below
// operator). 503 when Postgres is unreachable (nothing was written), 405 for
// a method other than POST.
//
// Alertmanager mapping, per alert of `alerts[]`:
//   fingerprint  <- fingerprint (required)
//   name         <- labels.alertname (required)
//   tenant       <- labels.tenant, else the `?tenant=` query parameter, else
//                   "default"
//   severity     <- labels.priority when it is P0..P3 (case-insensitive), else
//                   labels.severity: P0..P3 as is, critical -> P1,
//                   error -> P2, warning -> P3, info -> P3; anything else P2
//   status       <- status ("firing" | "resolved", required)
//   starts_at    <- startsAt, ends_at <- endsAt (RFC 3339; Go's zero time
//                   0001-01-01T00:00:00Z means unset; ends_at is read for
//                   resolved alerts only)
//   labels, annotations, generator_url <- labels, annotations, generatorURL
//   source       <- "alertmanager"
// 200 {"status":"success","accepted":N,"duplicates":N,"incident_ids":[...]};
// 400 {"status":"error","field":"alerts[0].fingerprint","error":"..."}.
//
// PagerDuty mapping (https://developer.pagerduty.com/docs/events-api-v2):
//   routing_key (required) IS the tenant.
//   trigger      a firing alert: fingerprint = dedup_key (a new UUID when
//                absent, returned in the answer), name = payload.class or else
//                payload.summary (cut to 512 bytes), severity critical -> P1,
//                error -> P2, warning -> P3, info -> P3, labels severity,
//                source, component, group, class (those given), annotations
//                summary and custom_details (its JSON text), starts_at =
//                payload.timestamp (else the time of receipt), generator_url
//                = client_url, source "pagerduty".
//   acknowledge  acknowledges the open incident holding the alert dedup_key
//                as actor "pagerduty:<payload.source>" (or "pagerduty");
//                nothing happens when no open incident holds it, or when it
//                is past acknowledgement (mitigated), as PagerDuty accepts
//                such events too.
//   resolve      a resolved alert for dedup_key (ends_at = receipt).
// 202 {"status":"success","message":"Event processed","dedup_key":"..."};
// 400 {"status":"invalid event","message":"Event object is invalid",
//      "errors":["payload.summary: required", ...]}.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "incident/api/grouping_resolver.h"
#include "incident/api/incident_metrics.h"
#include "incident/core/grouping.h"
#include "incident/core/ids.h"
#include "incident/core/types.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

// The paths the webhooks answer on.
inline constexpr char kAlertmanagerPath[] = "/api/v1/alerts/alertmanager";
inline constexpr char kPagerDutyPath[] = "/v2/enqueue";

// The tenant of alerts that name none.
inline constexpr absl::string_view kDefaultTenant = "default";

// The severity an alert's labels ask for (see the mapping above).
Severity SeverityFromLabels(const Labels& labels);

// The alerts of an Alertmanager v4 webhook body, not yet validated by the
// core. `default_tenant` applies to alerts without a tenant label.
// INVALID_ARGUMENT naming the field ("alerts[1].status: ...").
absl::StatusOr<std::vector<AlertReport>> AlertsFromAlertmanager(absl::string_view body,
                                                                absl::string_view default_tenant);

// A PagerDuty Events API v2 event, validated.
struct PagerDutyEvent {
  enum class Action { kTrigger, kAcknowledge, kResolve };
  Action action = Action::kTrigger;
  std::string tenant;     // the routing key
  std::string dedup_key;  // empty on a trigger that gave none
  std::string actor;      // "pagerduty:<payload.source>" or "pagerduty"
  AlertReport alert;      // trigger and resolve only
};

// Parses and checks a PagerDuty event. On failure returns every problem, each
// naming its field ("routing_key: required"); the list is empty on success.
PagerDutyEvent PagerDutyEventFromJson(absl::string_view body, std::vector<std::string>* errors);

// The value of `name` in a URL query string ("a=1&tenant=acme"),
// percent-decoded; "" when absent.
std::string QueryParameter(absl::string_view query, absl::string_view name);

// Thread-safe; every dependency must outlive it.
class IncidentWebhooks {
 public:
  // `dedup_keys` makes the dedup_key of triggers that gave none.
  IncidentWebhooks(IncidentStore& store, const common::Authorizer& authorizer,
                   const common::Clock& clock, IncidentMetrics& metrics, GroupingConfig grouping,
                   IdGenerator& dedup_keys);

  // Groups each tenant's alerts by `resolver`'s grouping instead of the
  // constructor's (which then applies to no one). `resolver` must outlive
  // this; call before Register.
  void SetGroupingResolver(GroupingResolver* resolver) { grouping_resolver_ = resolver; }

  // Routes both paths on `http` (before it starts).
  void Register(common::HttpServer& http);

  common::HttpResponse Alertmanager(const common::HttpRequest& request);
  common::HttpResponse PagerDuty(const common::HttpRequest& request);

 private:
  // The intake of `reports` received at `now`: validates, prepares (taking
  // the reports over) and stores.
  absl::StatusOr<IntakeSummary> Intake(std::vector<AlertReport> reports,
                                       const std::vector<std::string>& fields, absl::Time now);
  // Acknowledges the open incident holding the event's alert, if any.
  absl::Status Acknowledge(const PagerDutyEvent& event, absl::Time now);

  IncidentStore& store_;
  const common::Authorizer& authorizer_;
  const common::Clock& clock_;
  IncidentMetrics& metrics_;
  const GroupingConfig grouping_;
  IdGenerator& dedup_keys_;
  GroupingResolver* grouping_resolver_ = nullptr;
};

}  // namespace agentwatch::incident
