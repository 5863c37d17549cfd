// The Alertmanager and PagerDuty webhooks over the in-memory store: mapping,
// intake, idempotency, the answers to bad input, auth and an unavailable
// database.
#include "incident/api/webhooks.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/testing/status_matchers.h"
#include "incident/store/memory_incident_store.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// An Alertmanager v4 body with one alert; `extra_labels` is JSON members
// appended to its labels (",\"severity\":\"critical\"").
std::string AlertmanagerBody(const std::string& status, const std::string& fingerprint,
                             const std::string& extra_labels = "",
                             const std::string& ends_at = "0001-01-01T00:00:00Z") {
  return absl::StrCat(
      R"({"version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","status":")", status,
      R"(","receiver":"aw","groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{},)",
      R"("commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,"alerts":[{)",
      R"("status":")", status, R"(","labels":{"alertname":"HighErrorRate","service":"api")",
      extra_labels, R"(},"annotations":{"summary":"Errors are high"},)",
      R"("startsAt":"2023-11-14T22:00:00.123456789Z","endsAt":")", ends_at,
      R"(","generatorURL":"http://prom/graph","fingerprint":")", fingerprint, R"("}]})");
}

// A body's JSON object.
google::protobuf::Struct Json(const std::string& body) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &out).ok()) << body;
  return out;
}

std::string Field(const google::protobuf::Struct& json, const std::string& key) {
  const auto it = json.fields().find(key);
  return it == json.fields().end() ? "<absent>" : it->second.string_value();
}

// Always UNAVAILABLE, like a store whose database is down.
class DownStore final : public IncidentStore {
 public:
  absl::StatusOr<IntakeSummary> ReportAlerts(const std::vector<IncomingAlert>&,
                                             absl::Time) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<std::string> MutateIncident(absl::string_view, const RequestKey&,
                                             const IncidentMutator&,
                                             const ResponseEncoder&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<IncidentDetail> GetIncident(absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<IncidentPage> ListIncidents(const IncidentQuery&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<std::string> FindOpenIncident(absl::string_view, absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<std::vector<std::string>> AutoResolveDue(absl::Time, absl::Duration,
                                                          int) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<Silence> CreateSilence(const Silence&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<Silence> GetSilence(absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::Status DeleteSilence(absl::string_view, absl::Time) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<Silence> UpdateSilence(
      absl::string_view,
      const std::function<absl::StatusOr<Silence>(const Silence&)>&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<SilencePage> ListSilences(const SilenceQuery&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<InhibitionRule> CreateInhibitionRule(const InhibitionRule&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<InhibitionRule> GetInhibitionRule(absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<InhibitionRule> UpdateInhibitionRule(const InhibitionRule&) override {
    return absl::UnavailableError("database down");
  }
  absl::Status DeleteInhibitionRule(absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<InhibitionRulePage> ListInhibitionRules(const InhibitionRuleQuery&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<ConfigRecord> CreateConfig(const ConfigRecord&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<ConfigRecord> GetConfig(absl::string_view, absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<ConfigRecord> UpdateConfig(const ConfigRecord&, absl::Time) override {
    return absl::UnavailableError("database down");
  }
  absl::Status DeleteConfig(absl::string_view, absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<ConfigPage> ListConfigs(const ConfigQuery&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<std::vector<EscalationCandidate>> ListEscalationCandidates(int) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<bool> Escalate(absl::string_view, absl::string_view,
                                const EscalationPlanner&) override {
    return absl::UnavailableError("database down");
  }
  absl::StatusOr<bool> WasDelivered(absl::string_view, absl::string_view) override {
    return absl::UnavailableError("database down");
  }
  absl::Status RecordDelivery(const DeliveryRecord&) override {
    return absl::UnavailableError("database down");
  }
  absl::Status AppendTimeline(const TimelineEntry&) override {
    return absl::UnavailableError("database down");
  }
};

class WebhooksTest : public ::testing::Test {
 protected:
  WebhooksTest()
      : clock_(kNow),
        metrics_(registry_, "agentwatch_incident"),
        store_(ids_),
        webhooks_(store_, authorizer_, clock_, metrics_, *ParseGroupBy("group_by", "alertname"),
                  dedup_ids_) {}

  static common::HttpRequest Post(const std::string& path, const std::string& body,
                                  const std::string& query = "") {
    common::HttpRequest request;
    request.method = "POST";
    request.path = path;
    request.query = query;
    request.body = body;
    request.headers["content-type"] = "application/json";
    return request;
  }

  common::HttpResponse Alertmanager(const std::string& body, const std::string& query = "") {
    return webhooks_.Alertmanager(Post(kAlertmanagerPath, body, query));
  }
  common::HttpResponse PagerDuty(const std::string& body) {
    return webhooks_.PagerDuty(Post(kPagerDutyPath, body));
  }

  // The only incident of `tenant`; fails the test when there is not exactly one.
  IncidentDetail OnlyIncident(const std::string& tenant) {
    IncidentQuery query;
    query.tenant = tenant;
    absl::StatusOr<IncidentPage> page = store_.ListIncidents(query);
    EXPECT_TRUE(page.ok());
    EXPECT_THAT(page->incidents, SizeIs(1));
    if (!page.ok() || page->incidents.size() != 1) return {};
    return *store_.GetIncident(page->incidents[0].id);
  }

  common::FakeClock clock_;
  prometheus::Registry registry_;
  IncidentMetrics metrics_;
  testing::SequentialIds ids_;
  testing::SequentialIds dedup_ids_;
  MemoryIncidentStore store_;
  common::Authorizer authorizer_;
  IncidentWebhooks webhooks_;
};

TEST(SeverityFromLabelsTest, MapsPriorityThenSeverity) {
  EXPECT_EQ(SeverityFromLabels({}), Severity::kUnspecified);
  EXPECT_EQ(SeverityFromLabels({{"severity", "critical"}}), Severity::kP1);
  EXPECT_EQ(SeverityFromLabels({{"severity", "Critical"}}), Severity::kP1);
  EXPECT_EQ(SeverityFromLabels({{"severity", "error"}}), Severity::kP2);
  EXPECT_EQ(SeverityFromLabels({{"severity", "warning"}}), Severity::kP3);
  EXPECT_EQ(SeverityFromLabels({{"severity", "info"}}), Severity::kP3);
  EXPECT_EQ(SeverityFromLabels({{"severity", "p0"}}), Severity::kP0);
  EXPECT_EQ(SeverityFromLabels({{"severity", "page-me"}}), Severity::kUnspecified);
  EXPECT_EQ(SeverityFromLabels({{"priority", "P0"}, {"severity", "warning"}}), Severity::kP0);
  EXPECT_EQ(SeverityFromLabels({{"priority", "high"}, {"severity", "warning"}}), Severity::kP3);
}

TEST(QueryParameterTest, DecodesAndFinds) {
  EXPECT_EQ(QueryParameter("a=1&tenant=acme%2Dcorp&b", "tenant"), "acme-corp");
  EXPECT_EQ(QueryParameter("tenant=a+b", "tenant"), "a b");
  EXPECT_EQ(QueryParameter("tenants=x", "tenant"), "");
  EXPECT_EQ(QueryParameter("", "tenant"), "");
}

TEST(AlertsFromAlertmanagerTest, MapsEveryField) {
  absl::StatusOr<std::vector<AlertReport>> reports = AlertsFromAlertmanager(
      AlertmanagerBody("resolved", "fp1", R"(,"severity":"warning")", "2023-11-14T22:05:00Z"),
      "dflt");
  ASSERT_TRUE(reports.ok()) << reports.status();
  ASSERT_THAT(*reports, SizeIs(1));
  const AlertReport& report = (*reports)[0];
  EXPECT_EQ(report.fingerprint, "fp1");
  EXPECT_EQ(report.name, "HighErrorRate");
  EXPECT_EQ(report.tenant, "dflt");
  EXPECT_EQ(report.severity, Severity::kP3);
  EXPECT_EQ(report.status, AlertStatus::kResolved);
  EXPECT_EQ(report.source, "alertmanager");
  EXPECT_EQ(report.generator_url, "http://prom/graph");
  EXPECT_EQ(report.annotations.at("summary"), "Errors are high");
  EXPECT_EQ(report.labels.at("service"), "api");
  ASSERT_TRUE(report.starts_at.has_value());
  EXPECT_EQ(absl::ToUnixMicros(*report.starts_at), 1'699'999'200'123'456);
  ASSERT_TRUE(report.ends_at.has_value());
  EXPECT_EQ(*report.ends_at, absl::FromUnixSeconds(1'699'999'500));
}

// The direct reader of Alertmanager bodies: escapes, unknown members of any
// shape, nulls as absent, and strict JSON (the same answers protobuf's JSON
// parser gave).
TEST(AlertsFromAlertmanagerTest, ReadsEscapesAndSkipsUnknownMembers) {
  const std::string body = absl::StrCat(
      R"({"version":"4","extra":{"a":[1,-2.5e3,true,false,null,{"b":"\"}"}]},"alerts":[{)",
      R"("status":"firing","fingerprint":"fp\u00e9\ud83d\ude00","unknown":[[],{}],)",
      R"("labels":{"alertname":"Tab\tQuote\"Slash\\\/","service":"caf\u00e9 \u20ac"},)",
      R"("annotations":null,"endsAt":null,"generatorURL":null,"startsAt":"2023-11-14T22:00:00Z"}]})");
  absl::StatusOr<std::vector<AlertReport>> reports = AlertsFromAlertmanager(body, "t");
  ASSERT_TRUE(reports.ok()) << reports.status();
  ASSERT_THAT(*reports, SizeIs(1));
  const AlertReport& report = (*reports)[0];
  EXPECT_EQ(report.fingerprint, "fp\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(report.name, "Tab\tQuote\"Slash\\/");
  EXPECT_EQ(report.labels.at("service"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_TRUE(report.annotations.empty());
  EXPECT_EQ(report.generator_url, "");
  EXPECT_EQ(report.starts_at, absl::FromUnixSeconds(1'699'999'200));
}

TEST(AlertsFromAlertmanagerTest, RefusesMalformedJson) {
  constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
  const std::string good = AlertmanagerBody("firing", "fp");
  for (const std::string& bad : {
           good + "x",                                       // bytes after the value
           good.substr(0, good.size() - 1),                  // unterminated
           absl::StrReplaceAll(good, {{"\"fp\"", "\"f\xff\""}}),  // invalid UTF-8
           absl::StrReplaceAll(good, {{"\"fp\"", "\"f\\x\""}}),   // bad escape
           absl::StrReplaceAll(good, {{"\"fp\"", "\"\\ud800\""}}),  // lone surrogate
           absl::StrReplaceAll(good, {{"\"fp\"", "\"a\tb\""}}),   // raw control character
           absl::StrReplaceAll(good, {{"\"fp\"", "01"}}),         // leading zero
           absl::StrReplaceAll(good, {{"\"fp\"", "tru"}}),        // not a literal
           absl::StrReplaceAll(good, {{":\"fp\"", "\"fp\""}}),    // no colon
           std::string("\"alerts\""),                            // not an object
       }) {
    EXPECT_THAT(AlertsFromAlertmanager(bad, "t"),
                StatusIs(kInvalidArgument, HasSubstr("body: not a JSON object")))
        << bad;
  }
  EXPECT_THAT(AlertsFromAlertmanager(R"({"alerts":null})", "t"),
              StatusIs(kInvalidArgument, "alerts: required"));
  EXPECT_THAT(AlertsFromAlertmanager(R"({"alerts":[1]})", "t"),
              StatusIs(kInvalidArgument, "alerts[0]: must be an object"));
  EXPECT_THAT(AlertsFromAlertmanager(absl::StrReplaceAll(good, {{"\"fp\"", "7"}}), "t"),
              StatusIs(kInvalidArgument, "alerts[0].fingerprint: must be a string"));
  EXPECT_THAT(
      AlertsFromAlertmanager(
          absl::StrReplaceAll(good, {{R"("annotations":{"summary":"Errors are high"})",
                                      R"("annotations":["x"])"}}),
          "t"),
      StatusIs(kInvalidArgument, "alerts[0].annotations: must be an object of strings"));
}

TEST(AlertsFromAlertmanagerTest, ZeroEndsAtIsUnsetAndTenantLabelWins) {
  absl::StatusOr<std::vector<AlertReport>> reports =
      AlertsFromAlertmanager(AlertmanagerBody("resolved", "fp1", R"(,"tenant":"acme")"), "dflt");
  ASSERT_TRUE(reports.ok()) << reports.status();
  EXPECT_EQ((*reports)[0].tenant, "acme");
  EXPECT_FALSE((*reports)[0].ends_at.has_value());
}

TEST(AlertsFromAlertmanagerTest, NamesTheBadField) {
  constexpr absl::StatusCode kInvalidArgument = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(AlertsFromAlertmanager("", "t"), StatusIs(kInvalidArgument, HasSubstr("body:")));
  EXPECT_THAT(AlertsFromAlertmanager("[1]", "t"), StatusIs(kInvalidArgument, HasSubstr("body:")));
  EXPECT_THAT(AlertsFromAlertmanager("{}", "t"), StatusIs(kInvalidArgument, "alerts: required"));
  EXPECT_THAT(AlertsFromAlertmanager(R"({"alerts":{}})", "t"),
              StatusIs(kInvalidArgument, "alerts: must be an array"));
  EXPECT_THAT(AlertsFromAlertmanager(R"({"alerts":[]})", "t"),
              StatusIs(kInvalidArgument, HasSubstr("alerts:")));
  EXPECT_THAT(AlertsFromAlertmanager(AlertmanagerBody("pending", "fp"), "t"),
              StatusIs(kInvalidArgument, HasSubstr("alerts[0].status: must be firing")));
  EXPECT_THAT(AlertsFromAlertmanager(AlertmanagerBody("firing", ""), "t"),
              StatusIs(kInvalidArgument, "alerts[0].fingerprint: required"));
  EXPECT_THAT(AlertsFromAlertmanager(AlertmanagerBody("firing", "fp", R"(,"n":1)"), "t"),
              StatusIs(kInvalidArgument, "alerts[0].labels.n: must be a string"));
  const std::string no_name =
      absl::StrReplaceAll(AlertmanagerBody("firing", "fp"), {{"\"alertname\":\"High", "\"x\":\""}});
  EXPECT_THAT(AlertsFromAlertmanager(no_name, "t"),
              StatusIs(kInvalidArgument, "alerts[0].labels.alertname: required"));
  const std::string bad_time = absl::StrReplaceAll(
      AlertmanagerBody("firing", "fp"), {{"2023-11-14T22:00:00.123456789Z", "yesterday"}});
  EXPECT_THAT(AlertsFromAlertmanager(bad_time, "t"),
              StatusIs(kInvalidArgument, HasSubstr("alerts[0].startsAt: not an RFC 3339")));
}

TEST_F(WebhooksTest, AlertmanagerOpensAndResolvesIdempotently) {
  const common::HttpResponse opened =
      Alertmanager(AlertmanagerBody("firing", "fp1", R"(,"severity":"critical")"), "tenant=acme");
  ASSERT_EQ(opened.status, 200) << opened.body;
  EXPECT_EQ(opened.content_type, "application/json");
  const google::protobuf::Struct json = Json(opened.body);
  EXPECT_EQ(Field(json, "status"), "success");
  EXPECT_EQ(json.fields().at("accepted").number_value(), 1);
  ASSERT_EQ(json.fields().at("incident_ids").list_value().values_size(), 1);
  const std::string id = json.fields().at("incident_ids").list_value().values(0).string_value();

  IncidentDetail detail = OnlyIncident("acme");
  EXPECT_EQ(detail.incident.id, id);
  EXPECT_EQ(detail.incident.status, IncidentStatus::kTriggered);
  EXPECT_EQ(detail.incident.severity, Severity::kP1);
  EXPECT_EQ(detail.incident.title, "Errors are high");
  ASSERT_THAT(detail.alerts, SizeIs(1));
  EXPECT_EQ(detail.alerts[0].source, "alertmanager");
  EXPECT_EQ(detail.alerts[0].generator_url, "http://prom/graph");

  // Alertmanager resends the same firing alert on every repeat interval.
  const common::HttpResponse again =
      Alertmanager(AlertmanagerBody("firing", "fp1", R"(,"severity":"critical")"), "tenant=acme");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).fields().at("duplicates").number_value(), 1);

  const common::HttpResponse resolved = Alertmanager(
      AlertmanagerBody("resolved", "fp1", R"(,"severity":"critical")", "2023-11-14T22:05:00Z"),
      "tenant=acme");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  detail = OnlyIncident("acme");
  ASSERT_THAT(detail.alerts, SizeIs(1));
  EXPECT_EQ(detail.alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(detail.incident.firing_alert_count, 0);
}

TEST_F(WebhooksTest, AlertmanagerDefaultTenant) {
  ASSERT_EQ(Alertmanager(AlertmanagerBody("firing", "fp1")).status, 200);
  EXPECT_EQ(OnlyIncident("default").incident.severity, Severity::kP2);
}

TEST_F(WebhooksTest, AlertmanagerBadInputIs400NamingTheField) {
  const common::HttpResponse response = Alertmanager(AlertmanagerBody("firing", ""));
  EXPECT_EQ(response.status, 400);
  const google::protobuf::Struct json = Json(response.body);
  EXPECT_EQ(Field(json, "status"), "error");
  EXPECT_EQ(Field(json, "field"), "alerts[0].fingerprint");
  // Core validation too: a label name Prometheus would not accept.
  const common::HttpResponse bad_label =
      Alertmanager(AlertmanagerBody("firing", "fp", R"(,"bad-name":"x")"));
  EXPECT_EQ(bad_label.status, 400);
  EXPECT_THAT(Field(Json(bad_label.body), "field"), HasSubstr("alerts[0]"));
}

TEST_F(WebhooksTest, NotPostIs405) {
  common::HttpRequest request = Post(kAlertmanagerPath, "");
  request.method = "GET";
  EXPECT_EQ(webhooks_.Alertmanager(request).status, 405);
  EXPECT_EQ(webhooks_.PagerDuty(request).status, 405);
}

TEST(WebhooksAuthTest, NeedsAnOperatorToken) {
  common::FakeClock clock(kNow);
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  testing::SequentialIds ids;
  MemoryIncidentStore store(ids);
  common::Authorizer authorizer(
      {{"op-token", common::Role::kOperator}, {"view-token", common::Role::kViewer}});
  IncidentWebhooks webhooks(store, authorizer, clock, metrics,
                            *ParseGroupBy("group_by", "alertname"), ids);
  common::HttpRequest request;
  request.method = "POST";
  request.body = AlertmanagerBody("firing", "fp1");
  const common::HttpResponse missing = webhooks.Alertmanager(request);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.headers.at("WWW-Authenticate"), "Bearer");
  request.headers["authorization"] = "Bearer view-token";
  EXPECT_EQ(webhooks.Alertmanager(request).status, 403);
  request.headers["authorization"] = "Bearer op-token";
  EXPECT_EQ(webhooks.Alertmanager(request).status, 200);
  request.headers.clear();
  request.body = R"({"routing_key":"acme","event_action":"resolve","dedup_key":"k"})";
  EXPECT_EQ(webhooks.PagerDuty(request).status, 401);
}

TEST(WebhooksDownTest, DatabaseDownIs503) {
  common::FakeClock clock(kNow);
  prometheus::Registry registry;
  IncidentMetrics metrics(registry, "agentwatch_incident");
  testing::SequentialIds ids;
  DownStore store;
  common::Authorizer authorizer;
  IncidentWebhooks webhooks(store, authorizer, clock, metrics,
                            *ParseGroupBy("group_by", "alertname"), ids);
  common::HttpRequest request;
  request.method = "POST";
  request.body = AlertmanagerBody("firing", "fp1");
  const common::HttpResponse response = webhooks.Alertmanager(request);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.at("Retry-After"), "5");
  request.body = R"({"routing_key":"acme","event_action":"acknowledge","dedup_key":"k"})";
  EXPECT_EQ(webhooks.PagerDuty(request).status, 503);
}

constexpr char kTrigger[] = R"({"routing_key":"acme","event_action":"trigger",)"
                            R"("dedup_key":"disk-1","client_url":"http://mon/disk",)"
                            R"("payload":{"summary":"Disk full on db-1","source":"db-1",)"
                            R"("severity":"critical","component":"postgres","group":"prod",)"
                            R"("class":"disk","custom_details":{"free":"0%","n":3}}})";

TEST_F(WebhooksTest, PagerDutyTriggerAcknowledgeResolve) {
  const common::HttpResponse triggered = PagerDuty(kTrigger);
  ASSERT_EQ(triggered.status, 202) << triggered.body;
  google::protobuf::Struct json = Json(triggered.body);
  EXPECT_EQ(Field(json, "status"), "success");
  EXPECT_EQ(Field(json, "message"), "Event processed");
  EXPECT_EQ(Field(json, "dedup_key"), "disk-1");

  IncidentDetail detail = OnlyIncident("acme");
  EXPECT_EQ(detail.incident.severity, Severity::kP1);
  EXPECT_EQ(detail.incident.title, "Disk full on db-1");
  ASSERT_THAT(detail.alerts, SizeIs(1));
  const AlertState& alert = detail.alerts[0];
  EXPECT_EQ(alert.fingerprint, "disk-1");
  EXPECT_EQ(alert.name, "disk");
  EXPECT_EQ(alert.source, "pagerduty");
  EXPECT_EQ(alert.generator_url, "http://mon/disk");
  EXPECT_EQ(alert.labels.at("component"), "postgres");
  EXPECT_EQ(alert.labels.at("severity"), "critical");
  EXPECT_THAT(alert.annotations.at("custom_details"), HasSubstr("\"free\":\"0%\""));

  clock_.Advance(absl::Minutes(1));
  const common::HttpResponse acked =
      PagerDuty(R"({"routing_key":"acme","event_action":"acknowledge","dedup_key":"disk-1",)"
                R"("payload":{"source":"oncall-bot"}})");
  ASSERT_EQ(acked.status, 202) << acked.body;
  detail = OnlyIncident("acme");
  EXPECT_EQ(detail.incident.status, IncidentStatus::kAcknowledged);
  EXPECT_EQ(detail.timeline.back().kind, timeline_kind::kAcknowledged);
  EXPECT_EQ(detail.timeline.back().actor, "pagerduty:oncall-bot");
  // Acknowledging again is accepted and changes nothing.
  EXPECT_EQ(PagerDuty(R"({"routing_key":"acme","event_action":"acknowledge","dedup_key":"disk-1"})")
                .status,
            202);

  clock_.Advance(absl::Minutes(1));
  const common::HttpResponse resolved =
      PagerDuty(R"({"routing_key":"acme","event_action":"resolve","dedup_key":"disk-1"})");
  ASSERT_EQ(resolved.status, 202) << resolved.body;
  detail = OnlyIncident("acme");
  ASSERT_THAT(detail.alerts, SizeIs(1));
  EXPECT_EQ(detail.alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(detail.incident.firing_alert_count, 0);

  // A new trigger with the same dedup_key fires the alert again in the same
  // (still open) incident.
  clock_.Advance(absl::Minutes(1));
  ASSERT_EQ(PagerDuty(kTrigger).status, 202);
  detail = OnlyIncident("acme");
  EXPECT_EQ(detail.alerts[0].status, AlertStatus::kFiring);
  EXPECT_EQ(detail.incident.firing_alert_count, 1);
}

TEST_F(WebhooksTest, PagerDutyGeneratesTheDedupKey) {
  const std::string body = absl::StrReplaceAll(kTrigger, {{R"("dedup_key":"disk-1",)", ""}});
  const common::HttpResponse response = PagerDuty(body);
  ASSERT_EQ(response.status, 202) << response.body;
  const std::string key = Field(Json(response.body), "dedup_key");
  EXPECT_EQ(key, "inc-000001");
  ASSERT_THAT(OnlyIncident("acme").alerts, SizeIs(1));
  EXPECT_EQ(OnlyIncident("acme").alerts[0].fingerprint, key);
}

TEST_F(WebhooksTest, PagerDutyAcknowledgeOfUnknownKeyChangesNothing) {
  const common::HttpResponse response =
      PagerDuty(R"({"routing_key":"acme","event_action":"acknowledge","dedup_key":"nope"})");
  EXPECT_EQ(response.status, 202) << response.body;
  IncidentQuery query;
  EXPECT_THAT(store_.ListIncidents(query)->incidents, SizeIs(0));
}

TEST_F(WebhooksTest, PagerDutyInvalidEventListsEveryError) {
  const common::HttpResponse response =
      PagerDuty(R"({"event_action":"trigger","payload":{"severity":"fatal","source":7}})");
  ASSERT_EQ(response.status, 400);
  const google::protobuf::Struct json = Json(response.body);
  EXPECT_EQ(Field(json, "status"), "invalid event");
  EXPECT_EQ(Field(json, "message"), "Event object is invalid");
  std::vector<std::string> errors;
  for (const auto& value : json.fields().at("errors").list_value().values()) {
    errors.push_back(value.string_value());
  }
  EXPECT_THAT(errors, ::testing::Contains("routing_key: required"));
  EXPECT_THAT(errors, ::testing::Contains("payload.summary: required"));
  EXPECT_THAT(errors, ::testing::Contains("payload.source: must be a string"));
  EXPECT_THAT(errors, ::testing::Contains(HasSubstr("payload.severity: must be critical")));

  const auto first_error = [&](const std::string& body) {
    const common::HttpResponse r = PagerDuty(body);
    EXPECT_EQ(r.status, 400) << body;
    const google::protobuf::Struct j = Json(r.body);
    const auto it = j.fields().find("errors");
    return it == j.fields().end() || it->second.list_value().values_size() == 0
               ? std::string("<none>")
               : it->second.list_value().values(0).string_value();
  };
  EXPECT_EQ(first_error(R"({"routing_key":"acme","event_action":"resolve"})"),
            "dedup_key: required to resolve");
  EXPECT_THAT(first_error(R"({"routing_key":"acme","event_action":"snooze","dedup_key":"k"})"),
              HasSubstr("event_action: must be trigger"));
  EXPECT_EQ(first_error(R"({"routing_key":"acme","event_action":"trigger"})"),
            "payload: required for a trigger");
  EXPECT_THAT(first_error("not json"), HasSubstr("body: not a JSON object"));
  EXPECT_THAT(first_error(absl::StrReplaceAll(kTrigger, {{"\"class\":\"disk\"", "\"class\":\"\""},
                                                         {"Disk full", std::string(1100, 'x')}})),
              HasSubstr("payload.summary: longer than 1024"));
  EXPECT_THAT(first_error(absl::StrReplaceAll(kTrigger, {{"\"component\"",
                                                          "\"timestamp\":\"x\","
                                                          "\"component\""}})),
              HasSubstr("payload.timestamp: not an RFC 3339"));
  IncidentQuery query;
  EXPECT_THAT(store_.ListIncidents(query)->incidents, SizeIs(0));
}

}  // namespace
}  // namespace agentwatch::incident
