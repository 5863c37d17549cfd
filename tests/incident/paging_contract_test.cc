// The paging part of the store contract (store_contract.h): configuration
// records (create idempotency, unique names, optimistic updates, references
// blocking deletes, paging), escalation state and deliveries. Both the
// in-memory and the Postgres test binaries run it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "store_contract.h"

namespace agentwatch::incident::testing {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::IsOkAndHolds;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

ConfigRecord Record(absl::string_view kind, const std::string& id, const std::string& name,
                    const std::string& tenant = "acme") {
  ConfigRecord r;
  r.tenant = tenant;
  r.kind = std::string(kind);
  r.id = id;
  r.name = name;
  r.body = std::string("body\0of ", 8) + id;
  r.create_time = kT0;
  r.update_time = kT0;
  return r;
}

std::vector<std::string> Ids(const ConfigPage& page) {
  std::vector<std::string> ids;
  for (const ConfigRecord& r : page.records) ids.push_back(r.id);
  return ids;
}

TEST_P(IncidentStoreContractTest, ConfigCreateIsIdempotentAndNamesAreUnique) {
  ConfigRecord r = Record(config_kind::kChannel, "c1", "ops");
  r.person = "alice";
  r.refs = {"x\"y", "z"};
  ASSERT_THAT(store().CreateConfig(r), IsOk());
  auto again = store().CreateConfig(Record(config_kind::kChannel, "c1", "other name"));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->name, "ops");
  auto got = store().GetConfig(config_kind::kChannel, "c1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->body, r.body);
  EXPECT_EQ(got->person, "alice");
  EXPECT_THAT(got->refs, ElementsAre("x\"y", "z"));
  EXPECT_EQ(got->create_time, kT0);
  EXPECT_THAT(store().CreateConfig(Record(config_kind::kChannel, "c2", "ops")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("name")));
  // Same name in another kind or tenant is fine.
  EXPECT_THAT(store().CreateConfig(Record(config_kind::kSchedule, "s1", "ops")), IsOk());
  EXPECT_THAT(store().CreateConfig(Record(config_kind::kChannel, "c3", "ops", "globex")), IsOk());
  EXPECT_THAT(store().GetConfig(config_kind::kSchedule, "c1"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetConfig(config_kind::kChannel, "nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("channel nope")));
}

TEST_P(IncidentStoreContractTest, ConfigUpdateIsOptimistic) {
  ASSERT_THAT(store().CreateConfig(Record(config_kind::kSchedule, "s1", "primary")), IsOk());
  ASSERT_THAT(store().CreateConfig(Record(config_kind::kSchedule, "s2", "secondary")), IsOk());
  ConfigRecord next = Record(config_kind::kSchedule, "s1", "primary-2");
  next.update_time = kT0 + absl::Seconds(1);
  auto updated = store().UpdateConfig(next, kT0);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->name, "primary-2");
  EXPECT_EQ(updated->update_time, kT0 + absl::Seconds(1));
  // A writer that read the old version loses.
  next.update_time = kT0 + absl::Seconds(2);
  EXPECT_THAT(store().UpdateConfig(next, kT0), StatusIs(absl::StatusCode::kAborted));
  ConfigRecord clash = Record(config_kind::kSchedule, "s1", "secondary");
  clash.update_time = kT0 + absl::Seconds(3);
  EXPECT_THAT(store().UpdateConfig(clash, kT0 + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store().UpdateConfig(Record(config_kind::kSchedule, "nope", "x"), kT0),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, ReferencedConfigCannotBeDeleted) {
  ASSERT_THAT(store().CreateConfig(Record(config_kind::kSchedule, "s1", "primary")), IsOk());
  ConfigRecord policy = Record(config_kind::kEscalationPolicy, "p1", "api");
  policy.refs = {"s1"};
  ASSERT_THAT(store().CreateConfig(policy), IsOk());
  EXPECT_THAT(store().DeleteConfig(config_kind::kSchedule, "s1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("p1")));
  EXPECT_THAT(store().DeleteConfig(config_kind::kEscalationPolicy, "p1"), IsOk());
  EXPECT_THAT(store().DeleteConfig(config_kind::kSchedule, "s1"), IsOk());
  EXPECT_THAT(store().DeleteConfig(config_kind::kSchedule, "s1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, ConfigsListInPriorityThenNameOrder) {
  for (int i = 0; i < 5; ++i) {
    ConfigRecord r =
        Record(config_kind::kEscalationPolicy, absl::StrCat("p", i), absl::StrCat("name-", 4 - i));
    r.priority = i % 2;
    ASSERT_THAT(store().CreateConfig(r), IsOk());
  }
  ASSERT_THAT(store().CreateConfig(Record(config_kind::kEscalationPolicy, "q", "x", "globex")),
              IsOk());
  ConfigQuery query;
  query.kind = std::string(config_kind::kEscalationPolicy);
  query.tenant = "acme";
  query.page_size = 2;
  auto first = store().ListConfigs(query);
  ASSERT_THAT(first, IsOk());
  // priority 0: p4 (name-0), p2 (name-2), p0 (name-4); priority 1: p3, p1.
  EXPECT_THAT(Ids(*first), ElementsAre("p4", "p2"));
  ASSERT_TRUE(first->next.has_value());
  query.after = first->next;
  auto second = store().ListConfigs(query);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(Ids(*second), ElementsAre("p0", "p3"));
  query.after = second->next;
  auto third = store().ListConfigs(query);
  ASSERT_THAT(third, IsOk());
  EXPECT_THAT(Ids(*third), ElementsAre("p1"));
  EXPECT_FALSE(third->next.has_value());
  query.tenant = "";
  query.after.reset();
  query.page_size = 100;
  EXPECT_EQ(store().ListConfigs(query)->records.size(), 6u);
}

TEST_P(IncidentStoreContractTest, ChannelsFilterByPerson) {
  ConfigRecord a = Record(config_kind::kChannel, "c1", "alice-mail");
  a.person = "alice";
  ConfigRecord b = Record(config_kind::kChannel, "c2", "bob-mail");
  b.person = "bob";
  ASSERT_THAT(store().CreateConfig(a), IsOk());
  ASSERT_THAT(store().CreateConfig(b), IsOk());
  ConfigQuery query;
  query.kind = std::string(config_kind::kChannel);
  query.person = "bob";
  EXPECT_THAT(Ids(*store().ListConfigs(query)), ElementsAre("c2"));
}

TEST_P(IncidentStoreContractTest, EscalateWritesStateTimelineAndIncident) {
  auto summary = Report({Firing("acme", "fp1", "ApiDown", kT0)}, kT0);
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  auto candidates = store().ListEscalationCandidates(100);
  ASSERT_THAT(candidates, IsOk());
  ASSERT_EQ(candidates->size(), 1u);
  EXPECT_FALSE((*candidates)[0].state.has_value());

  EscalationState state;
  state.policy_id = "p1";
  state.tier = 0;
  state.started_at = kT0;
  state.last_page_at = kT0 + absl::Seconds(5);
  std::optional<EscalationState> seen;
  auto applied = store().Escalate(
      "acme", id,
      [&](const Incident& incident,
          const std::optional<EscalationState>& current) -> absl::StatusOr<EscalationWrite> {
        seen = current;
        EscalationWrite write;
        write.incident = incident;
        write.incident.escalation_tier = 0;
        write.incident.update_time = kT0 + absl::Seconds(5);
        write.incident_changed = true;
        write.state = state;
        write.state_changed = true;
        TimelineEntry entry;
        entry.tenant = "acme";
        entry.incident_id = id;
        entry.time = kT0 + absl::Seconds(5);
        entry.actor = "escalation";
        entry.kind = "escalated";
        entry.text = "Paging tier 1";
        write.entries.push_back(entry);
        return write;
      });
  EXPECT_THAT(applied, IsOkAndHolds(true));
  EXPECT_FALSE(seen.has_value());
  candidates = store().ListEscalationCandidates(100);
  ASSERT_THAT(candidates, IsOk());
  ASSERT_TRUE((*candidates)[0].state.has_value());
  EXPECT_EQ(*(*candidates)[0].state, state);
  EXPECT_EQ((*candidates)[0].incident.escalation_tier, 0);
  EXPECT_EQ(Kinds(id).back(), "escalated");

  // A planner error aborts the step and writes nothing.
  EXPECT_THAT(store().Escalate(
                  "acme", id,
                  [](const Incident&, const std::optional<EscalationState>&)
                      -> absl::StatusOr<EscalationWrite> { return absl::InternalError("boom"); }),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(
      store().Escalate("acme", "nope",
                       [](const Incident&, const std::optional<EscalationState>&)
                           -> absl::StatusOr<EscalationWrite> { return EscalationWrite{}; }),
      StatusIs(absl::StatusCode::kNotFound));

  // Acknowledged incidents stay candidates (acknowledgement timeout); resolved
  // ones do not.
  ASSERT_THAT(Step(id, IncidentStatus::kAcknowledged, kT0 + absl::Minutes(1)), IsOk());
  EXPECT_EQ(store().ListEscalationCandidates(100)->size(), 1u);
  ASSERT_THAT(Step(id, IncidentStatus::kResolved, kT0 + absl::Minutes(2)), IsOk());
  EXPECT_TRUE(store().ListEscalationCandidates(100)->empty());
}

TEST_P(IncidentStoreContractTest, PolicyInUseByAnOpenIncidentCannotBeDeleted) {
  ASSERT_THAT(store().CreateConfig(Record(config_kind::kEscalationPolicy, "p1", "api")), IsOk());
  auto summary = Report({Firing("acme", "fp1", "ApiDown", kT0)}, kT0);
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  ASSERT_THAT(store().Escalate("acme", id,
                               [&](const Incident& incident, const std::optional<EscalationState>&)
                                   -> absl::StatusOr<EscalationWrite> {
                                 EscalationWrite write;
                                 write.state.policy_id = "p1";
                                 write.state.started_at = kT0;
                                 write.state_changed = true;
                                 return write;
                               }),
              IsOk());
  EXPECT_THAT(store().DeleteConfig(config_kind::kEscalationPolicy, "p1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(id)));
  ASSERT_THAT(Step(id, IncidentStatus::kResolved, kT0 + absl::Minutes(2)), IsOk());
  EXPECT_THAT(store().DeleteConfig(config_kind::kEscalationPolicy, "p1"), IsOk());
}

TEST_P(IncidentStoreContractTest, DeliveriesAreRecordedOnce) {
  auto summary = Report({Firing("acme", "fp1", "ApiDown", kT0)}, kT0);
  ASSERT_THAT(summary, IsOk());
  const std::string id = summary->incident_ids[0];
  EXPECT_THAT(store().WasDelivered("acme", "page/x"), IsOkAndHolds(false));
  DeliveryRecord record;
  record.tenant = "acme";
  record.idempotency_key = "page/x";
  record.incident_id = id;
  record.channel_id = "c1";
  record.person = "alice";
  record.time = kT0;
  record.entry.tenant = "acme";
  record.entry.incident_id = id;
  record.entry.time = kT0;
  record.entry.actor = "escalation";
  record.entry.kind = "notified";
  record.entry.text = "Notified alice";
  ASSERT_THAT(store().RecordDelivery(record), IsOk());
  ASSERT_THAT(store().RecordDelivery(record), IsOk());
  EXPECT_THAT(store().WasDelivered("acme", "page/x"), IsOkAndHolds(true));
  EXPECT_THAT(store().WasDelivered("globex", "page/x"), IsOkAndHolds(false));
  int notified = 0;
  for (const std::string& kind : Kinds(id)) notified += kind == "notified";
  EXPECT_EQ(notified, 1);

  TimelineEntry entry = record.entry;
  entry.kind = "notification_failed";
  EXPECT_THAT(store().AppendTimeline(entry), IsOk());
  EXPECT_EQ(Kinds(id).back(), "notification_failed");
  entry.incident_id = "nope";
  EXPECT_THAT(store().AppendTimeline(entry), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace agentwatch::incident::testing

namespace agentwatch::incident::testing {
namespace {

InhibitionRule Rule(const std::string& id, absl::Time created) {
  InhibitionRule rule;
  rule.id = id;
  rule.name = "down mutes latency";
  rule.tenant = "acme";
  rule.source_matchers = {{"alertname", MatchOp::kEqual, "ServiceDown"}};
  rule.target_matchers = {{"alertname", MatchOp::kRegex, "Latency\"|.*"}};
  rule.equal = {"service"};
  rule.create_time = created;
  rule.update_time = created;
  return rule;
}

TEST_P(IncidentStoreContractTest, InhibitionRulesRoundTripAndPage) {
  const absl::Time t0 = absl::FromUnixMicros(1'700'000'000'123'456);
  ASSERT_THAT(store().CreateInhibitionRule(Rule("r1", t0)), IsOk());
  ASSERT_THAT(store().CreateInhibitionRule(Rule("r2", t0 + absl::Seconds(1))), IsOk());
  InhibitionRule other = Rule("r3", t0 + absl::Seconds(2));
  other.tenant = "globex";
  ASSERT_THAT(store().CreateInhibitionRule(other), IsOk());
  auto got = store().GetInhibitionRule("r1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, Rule("r1", t0));
  // A retried create returns the first rule.
  InhibitionRule retry = Rule("r1", t0 + absl::Hours(1));
  retry.name = "changed";
  EXPECT_EQ(store().CreateInhibitionRule(retry)->name, "down mutes latency");

  InhibitionRule updated = Rule("r1", t0);
  updated.tenant = "ignored";
  updated.equal = {"service", "region"};
  updated.update_time = t0 + absl::Minutes(1);
  auto stored = store().UpdateInhibitionRule(updated);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->tenant, "acme");
  EXPECT_THAT(stored->equal, ElementsAre("service", "region"));
  EXPECT_EQ(stored->update_time, t0 + absl::Minutes(1));
  EXPECT_THAT(store().UpdateInhibitionRule(Rule("nope", t0)),
              StatusIs(absl::StatusCode::kNotFound));

  InhibitionRuleQuery query;
  query.tenant = "acme";
  query.page_size = 1;
  auto first = store().ListInhibitionRules(query);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->rules.size(), 1u);
  EXPECT_EQ(first->rules[0].id, "r2");
  ASSERT_TRUE(first->next.has_value());
  query.after = first->next;
  auto second = store().ListInhibitionRules(query);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->rules.size(), 1u);
  EXPECT_EQ(second->rules[0].id, "r1");
  EXPECT_FALSE(second->next.has_value());

  EXPECT_THAT(store().DeleteInhibitionRule("r1"), IsOk());
  EXPECT_THAT(store().DeleteInhibitionRule("r1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetInhibitionRule("r1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, FiringSourceInhibitsNewTargetsUntilResolved) {
  const absl::Time t0 = absl::FromUnixMicros(1'700'000'000'123'456);
  InhibitionRule rule = Rule("r1", t0);
  rule.target_matchers = {{"alertname", MatchOp::kEqual, "LatencyHigh"}};
  ASSERT_THAT(store().CreateInhibitionRule(rule), IsOk());
  AlertReport down = Firing("acme", "down", "ServiceDown", t0);
  down.labels = {{"service", "api"}};
  ASSERT_THAT(Report({down}, t0), IsOk());
  AlertReport latency = Firing("acme", "lat", "LatencyHigh", t0);
  latency.labels = {{"service", "api"}};
  auto muted = Report({latency}, t0 + absl::Seconds(1));
  ASSERT_THAT(muted, IsOk());
  EXPECT_EQ(muted->inhibited, 1);
  EXPECT_EQ(muted->incident_ids[0], "");
  // Replaying the muted report is a duplicate.
  EXPECT_EQ(Report({latency}, t0 + absl::Seconds(2))->duplicates, 1);
  AlertReport other = latency;
  other.fingerprint = "lat-web";
  other.labels = {{"service", "web"}};
  auto opened = Report({other}, t0 + absl::Seconds(2));
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->inhibited, 0);
  EXPECT_NE(opened->incident_ids[0], "");
  // Once the source resolves, a new firing of the target opens an incident.
  ASSERT_THAT(Report({Resolved(down, t0 + absl::Seconds(3))}, t0 + absl::Seconds(3)), IsOk());
  latency.starts_at = t0 + absl::Seconds(4);
  auto unmuted = Report({latency}, t0 + absl::Seconds(4));
  ASSERT_THAT(unmuted, IsOk());
  EXPECT_EQ(unmuted->inhibited, 0);
  EXPECT_NE(unmuted->incident_ids[0], "");
}

}  // namespace
}  // namespace agentwatch::incident::testing
