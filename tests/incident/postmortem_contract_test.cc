// The postmortem part of the store contract (store_contract.h): storing,
// updating and listing postmortems, the incident's postmortem_id and
// timeline, and CloseIncident's postmortem rule read under the incident
// lock. Both the in-memory and the Postgres test binaries run it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/testing/status_matchers.h"
#include "incident/core/postmortem.h"
#include "incident/store/postmortem_store.h"
#include "store_contract.h"

namespace agentwatch::incident::testing {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

Postmortem MakePostmortem(const std::string& id, const std::string& incident_id, absl::Time now) {
  Postmortem p;
  p.id = id;
  p.incident_id = incident_id;
  p.title = "Checkout \"down\" | 5xx";
  p.summary = "The API returned 5xx for 12 minutes.";
  p.impact = "30% of checkouts failed; \\ backslash kept";
  p.root_cause = "A bad config push.";
  p.author = "alice";
  p.action_items = {ActionItem{"ai-1", "Add a config canary", "bob", ActionItemStatus::kOpen,
                               now + absl::Hours(72), "https://tracker.example/1"},
                    ActionItem{"ai-2", "Alert on 5xx ratio — über", "", ActionItemStatus::kDone,
                               std::nullopt, ""}};
  p.create_time = now;
  p.update_time = now;
  return p;
}

// Opens a P0 incident and returns its id.
std::string OpenP0(
    IncidentStoreContractTest* test,
    const std::function<absl::StatusOr<IntakeSummary>(const std::vector<AlertReport>&, absl::Time)>&
        report,
    const std::string& tenant, const std::string& fingerprint) {
  AlertReport a = Firing(tenant, fingerprint, "CheckoutDown", kT0);
  a.severity = Severity::kP0;
  a.labels = {{"service", fingerprint}};  // one group (incident) per fingerprint
  auto summary = report({a}, kT0);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return summary.ok() ? summary->incident_ids.at(0) : "";
}

TEST_P(IncidentStoreContractTest, PostmortemRoundTripsAndLinksItsIncident) {
  ASSERT_NE(store().postmortems(), nullptr);
  PostmortemStore& postmortems = *store().postmortems();
  const std::string id = OpenP0(
      this, [&](const auto& r, absl::Time t) { return Report(r, t); }, "acme", "fp1");
  const Postmortem p = MakePostmortem("pm-1", id, kT0 + absl::Hours(1));
  auto created = postmortems.CreatePostmortem(p);
  ASSERT_THAT(created, IsOk());
  Postmortem expected = p;
  expected.tenant = "acme";
  EXPECT_EQ(*created, expected);
  auto got = postmortems.GetPostmortem("pm-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, expected);
  auto of = postmortems.GetPostmortemOfIncident(id);
  ASSERT_THAT(of, IsOk());
  EXPECT_EQ(*of, expected);

  auto detail = store().GetIncident(id);
  ASSERT_THAT(detail, IsOk());
  EXPECT_EQ(detail->incident.postmortem_id, "pm-1");
  EXPECT_THAT(Kinds(id), ElementsAre("created", "alert_firing", "postmortem"));
  EXPECT_EQ(detail->timeline.back().actor, "alice");
  EXPECT_EQ(detail->timeline.back().details.at("postmortem_id"), "pm-1");

  EXPECT_THAT(postmortems.GetPostmortem("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("postmortem nope")));
  EXPECT_THAT(postmortems.GetPostmortemOfIncident("nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("incident nope")));
  EXPECT_THAT(postmortems.CreatePostmortem(MakePostmortem("pm-2", "nope", kT0)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("incident nope")));
}

TEST_P(IncidentStoreContractTest, PostmortemTitleDefaultsToTheIncidentsAndOnePerIncident) {
  PostmortemStore& postmortems = *store().postmortems();
  const std::string id = OpenP0(
      this, [&](const auto& r, absl::Time t) { return Report(r, t); }, "acme", "fp1");
  const std::string other = OpenP0(
      this, [&](const auto& r, absl::Time t) { return Report(r, t); }, "acme", "fp2");
  EXPECT_THAT(postmortems.GetPostmortemOfIncident(id),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("has no postmortem")));
  Postmortem p = MakePostmortem("pm-1", id, kT0);
  p.title.clear();
  auto created = postmortems.CreatePostmortem(p);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->title, "CheckoutDown");
  // A retried create (same id) returns the first, even with other content.
  Postmortem retry = p;
  retry.summary = "changed";
  auto again = postmortems.CreatePostmortem(retry);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *created);
  EXPECT_THAT(Kinds(id), ElementsAre("created", "alert_firing", "postmortem"));
  EXPECT_THAT(postmortems.CreatePostmortem(MakePostmortem("pm-2", id, kT0)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already has postmortem pm-1")));
  EXPECT_THAT(postmortems.CreatePostmortem(MakePostmortem("pm-2", other, kT0)), IsOk());
}

TEST_P(IncidentStoreContractTest, PostmortemUpdatesKeepIdentityAndRecordStatusChanges) {
  PostmortemStore& postmortems = *store().postmortems();
  const std::string id = OpenP0(
      this, [&](const auto& r, absl::Time t) { return Report(r, t); }, "acme", "fp1");
  ASSERT_THAT(postmortems.CreatePostmortem(MakePostmortem("pm-1", id, kT0)), IsOk());
  const absl::Time t1 = kT0 + absl::Minutes(5);
  auto updated = postmortems.UpdatePostmortem(
      "pm-1", [&](const Postmortem& current, const Incident& incident) {
        EXPECT_EQ(incident.id, id);
        EXPECT_EQ(incident.status, IncidentStatus::kTriggered);
        Postmortem next = current;
        next.incident_id = "tampered";
        next.tenant = "tampered";
        next.create_time = t1;
        next.lessons = "Canary config pushes.";
        next.action_items.pop_back();
        next.update_time = t1;
        return absl::StatusOr<Postmortem>(next);
      });
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->incident_id, id);
  EXPECT_EQ(updated->tenant, "acme");
  EXPECT_EQ(updated->create_time, kT0);
  EXPECT_EQ(updated->update_time, t1);
  EXPECT_THAT(updated->action_items, SizeIs(1));
  auto got = postmortems.GetPostmortem("pm-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, *updated);
  // No status change: no timeline entry.
  EXPECT_THAT(Kinds(id), ElementsAre("created", "alert_firing", "postmortem"));

  auto published =
      postmortems.UpdatePostmortem("pm-1", [&](const Postmortem& current, const Incident&) {
        Postmortem next = current;
        next.status = PostmortemStatus::kPublished;
        next.update_time = t1 + absl::Seconds(1);
        return absl::StatusOr<Postmortem>(next);
      });
  ASSERT_THAT(published, IsOk());
  auto detail = store().GetIncident(id);
  ASSERT_THAT(detail, IsOk());
  ASSERT_THAT(detail->timeline, SizeIs(4));
  EXPECT_EQ(detail->timeline.back().details.at("from"), "DRAFT");
  EXPECT_EQ(detail->timeline.back().details.at("to"), "PUBLISHED");

  // A mutator's error changes nothing.
  EXPECT_THAT(postmortems.UpdatePostmortem(
                  "pm-1",
                  [](const Postmortem&, const Incident&) -> absl::StatusOr<Postmortem> {
                    return absl::InvalidArgumentError("postmortem.title: bad");
                  }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  got = postmortems.GetPostmortem("pm-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, *published);
  EXPECT_THAT(postmortems.UpdatePostmortem("nope",
                                           [](const Postmortem& p, const Incident&) {
                                             return absl::StatusOr<Postmortem>(p);
                                           }),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, HighSeverityClosesOnlyWithAPublishedPostmortem) {
  PostmortemStore& postmortems = *store().postmortems();
  const std::string id = OpenP0(
      this, [&](const auto& r, absl::Time t) { return Report(r, t); }, "acme", "fp1");
  ASSERT_THAT(Step(id, IncidentStatus::kResolved, kT0 + absl::Minutes(1)), IsOk());
  EXPECT_THAT(Step(id, IncidentStatus::kClosed, kT0 + absl::Minutes(2)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("it has none")));
  ASSERT_THAT(postmortems.CreatePostmortem(MakePostmortem("pm-1", id, kT0)), IsOk());
  EXPECT_THAT(Step(id, IncidentStatus::kClosed, kT0 + absl::Minutes(3)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("postmortem pm-1 is not PUBLISHED")));
  const auto set_status = [&](PostmortemStatus status, absl::Time at) {
    return postmortems.UpdatePostmortem("pm-1", [&](const Postmortem& current, const Incident&) {
      Postmortem next = current;
      next.status = status;
      next.update_time = at;
      return absl::StatusOr<Postmortem>(next);
    });
  };
  ASSERT_THAT(set_status(PostmortemStatus::kPublished, kT0 + absl::Minutes(4)), IsOk());
  ASSERT_THAT(Step(id, IncidentStatus::kClosed, kT0 + absl::Minutes(5)), IsOk());
  // The closed incident's postmortem stays published.
  EXPECT_THAT(set_status(PostmortemStatus::kDraft, kT0 + absl::Minutes(6)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("must stay PUBLISHED")));
  auto got = postmortems.GetPostmortem("pm-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->status, PostmortemStatus::kPublished);
  EXPECT_THAT(Kinds(id), ElementsAre("created", "alert_firing", "resolved", "postmortem",
                                     "postmortem", "closed"));
}

TEST_P(IncidentStoreContractTest, PostmortemsListNewestFirstWithFiltersAndPages) {
  PostmortemStore& postmortems = *store().postmortems();
  for (int i = 0; i < 5; ++i) {
    const std::string tenant = i % 2 == 0 ? "acme" : "globex";
    const std::string id = OpenP0(
        this, [&](const auto& r, absl::Time t) { return Report(r, t); }, tenant,
        absl::StrFormat("fp%d", i));
    Postmortem p = MakePostmortem(absl::StrFormat("pm-%d", i), id, kT0 + absl::Minutes(i));
    if (i == 4) p.status = PostmortemStatus::kPublished;
    ASSERT_THAT(postmortems.CreatePostmortem(p), IsOk());
  }
  const auto ids = [](const PostmortemPage& page) {
    std::vector<std::string> out;
    for (const Postmortem& p : page.postmortems) out.push_back(p.id);
    return out;
  };
  PostmortemQuery query;
  query.page_size = 2;
  auto page = postmortems.ListPostmortems(query);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(ids(*page), ElementsAre("pm-4", "pm-3"));
  ASSERT_TRUE(page->next.has_value());
  query.after = page->next;
  page = postmortems.ListPostmortems(query);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(ids(*page), ElementsAre("pm-2", "pm-1"));
  query.after = page->next;
  page = postmortems.ListPostmortems(query);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(ids(*page), ElementsAre("pm-0"));
  EXPECT_FALSE(page->next.has_value());

  PostmortemQuery acme;
  acme.tenant = "acme";
  page = postmortems.ListPostmortems(acme);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(ids(*page), ElementsAre("pm-4", "pm-2", "pm-0"));
  acme.statuses = {PostmortemStatus::kDraft};
  page = postmortems.ListPostmortems(acme);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(ids(*page), ElementsAre("pm-2", "pm-0"));
}

}  // namespace
}  // namespace agentwatch::incident::testing
