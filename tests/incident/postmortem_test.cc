// Postmortem rules (core/postmortem.h): validation with the field named,
// action item ids, the closed-incident rule, the timeline entries and the
// Markdown export; and CloseIncident's postmortem requirement
// (core/lifecycle.h).
#include "incident/core/postmortem.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/testing/status_matchers.h"
#include "incident/core/lifecycle.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14 22:13:20 UTC

Postmortem Valid() {
  Postmortem p;
  p.id = "pm-1";
  p.incident_id = "inc-1";
  p.tenant = "acme";
  p.title = "Checkout outage";
  p.summary = "Checkout failed.";
  p.impact = "30% of orders.";
  p.root_cause = "Bad config.";
  p.author = "alice";
  p.action_items = {ActionItem{"ai-1", "Canary configs", "bob", ActionItemStatus::kOpen,
                               std::nullopt, "https://tracker/1"}};
  p.create_time = kT0;
  p.update_time = kT0;
  return p;
}

TEST(PostmortemValidationTest, AcceptsAValidPostmortemAndDefaults) {
  Postmortem p = Valid();
  p.status = PostmortemStatus::kUnspecified;
  p.action_items[0].status = ActionItemStatus::kUnspecified;
  ApplyPostmortemDefaults(&p);
  EXPECT_EQ(p.status, PostmortemStatus::kDraft);
  EXPECT_EQ(p.action_items[0].status, ActionItemStatus::kOpen);
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"), IsOk());
}

TEST(PostmortemValidationTest, NamesTheBadField) {
  const auto bad = [](const std::function<void(Postmortem*)>& change) {
    Postmortem p = Valid();
    change(&p);
    return ValidatePostmortem(p, "postmortem");
  };
  EXPECT_THAT(bad([](Postmortem* p) { p->status = static_cast<PostmortemStatus>(9); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.status")));
  EXPECT_THAT(bad([](Postmortem* p) { p->title = std::string(kMaxPostmortemTitleBytes + 1, 'x'); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.title")));
  EXPECT_THAT(bad([](Postmortem* p) { p->impact = std::string("a\0b", 3); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.impact")));
  EXPECT_THAT(
      bad([](Postmortem* p) { p->lessons = std::string(kMaxPostmortemTextBytes + 1, 'x'); }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.lessons")));
  EXPECT_THAT(bad([](Postmortem* p) { p->action_items[0].description.clear(); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("postmortem.action_items[0].description: required")));
  EXPECT_THAT(
      bad([](Postmortem* p) { p->action_items[0].status = static_cast<ActionItemStatus>(7); }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.action_items[0].status")));
  EXPECT_THAT(
      bad([](Postmortem* p) { p->action_items[0].url = "javascript:alert(1)"; }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.action_items[0].url")));
  EXPECT_THAT(
      bad([](Postmortem* p) { p->action_items.assign(kMaxActionItems + 1, p->action_items[0]); }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.action_items")));
}

TEST(PostmortemValidationTest, PublishingNeedsSummaryImpactAndRootCause) {
  Postmortem p = Valid();
  p.status = PostmortemStatus::kPublished;
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"), IsOk());
  p.root_cause.clear();
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("postmortem.root_cause: required to publish")));
  p.status = PostmortemStatus::kInReview;
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"), IsOk());
  p.status = PostmortemStatus::kPublished;
  p.root_cause = "x";
  p.summary.clear();
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.summary")));
  p.summary = "x";
  p.impact.clear();
  EXPECT_THAT(ValidatePostmortem(p, "postmortem"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postmortem.impact")));
}

TEST(ActionItemIdsTest, NewItemsGetIdsAndUnknownIdsAreRefused) {
  int counter = 0;
  const auto new_id = [&] { return "new-" + std::to_string(++counter); };
  Postmortem created = Valid();
  created.action_items[0].id.clear();
  created.action_items.push_back(ActionItem{"", "Second", "", ActionItemStatus::kOpen, {}, ""});
  ASSERT_THAT(AssignActionItemIds(nullptr, &created, "postmortem", new_id), IsOk());
  EXPECT_EQ(created.action_items[0].id, "new-1");
  EXPECT_EQ(created.action_items[1].id, "new-2");

  Postmortem with_id = Valid();
  EXPECT_THAT(AssignActionItemIds(nullptr, &with_id, "postmortem", new_id),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("postmortem.action_items[0].id: must be empty on create")));

  Postmortem next = created;
  next.action_items.push_back(ActionItem{"", "Third", "", ActionItemStatus::kOpen, {}, ""});
  ASSERT_THAT(AssignActionItemIds(&created, &next, "postmortem", new_id), IsOk());
  EXPECT_EQ(next.action_items[0].id, "new-1");
  EXPECT_EQ(next.action_items[2].id, "new-3");

  Postmortem foreign = created;
  foreign.action_items[1].id = "ai-other";
  EXPECT_THAT(AssignActionItemIds(&created, &foreign, "postmortem", new_id),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("postmortem.action_items[1].id: no action item ai-other")));
  Postmortem twice = created;
  twice.action_items[1].id = "new-1";
  EXPECT_THAT(AssignActionItemIds(&created, &twice, "postmortem", new_id),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
}

TEST(PostmortemStatusChangeTest, AClosedIncidentsPostmortemStaysPublished) {
  Incident incident;
  incident.id = "inc-1";
  incident.status = IncidentStatus::kResolved;
  EXPECT_THAT(
      CheckPostmortemStatusChange(incident, PostmortemStatus::kPublished, PostmortemStatus::kDraft),
      IsOk());
  incident.status = IncidentStatus::kClosed;
  EXPECT_THAT(CheckPostmortemStatusChange(incident, PostmortemStatus::kPublished,
                                          PostmortemStatus::kPublished),
              IsOk());
  EXPECT_THAT(
      CheckPostmortemStatusChange(incident, PostmortemStatus::kDraft, PostmortemStatus::kPublished),
      IsOk());
  EXPECT_THAT(CheckPostmortemStatusChange(incident, PostmortemStatus::kPublished,
                                          PostmortemStatus::kInReview),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("inc-1 is CLOSED")));
}

TEST(PostmortemTimelineTest, EntriesNameThePostmortemAndTheChange) {
  Postmortem p = Valid();
  const TimelineEntry created = PostmortemCreatedEntry(p);
  EXPECT_EQ(created.kind, "postmortem");
  EXPECT_EQ(created.actor, "alice");
  EXPECT_EQ(created.incident_id, "inc-1");
  EXPECT_EQ(created.time, kT0);
  p.status = PostmortemStatus::kPublished;
  p.author.clear();
  p.update_time = kT0 + absl::Hours(1);
  const TimelineEntry changed = PostmortemStatusEntry(p, PostmortemStatus::kDraft);
  EXPECT_EQ(changed.actor, "system");
  EXPECT_EQ(changed.time, kT0 + absl::Hours(1));
  EXPECT_EQ(changed.details.at("from"), "DRAFT");
  EXPECT_EQ(changed.details.at("to"), "PUBLISHED");
}

TEST(PostmortemMarkdownTest, RendersSectionsItemsAndTimeline) {
  Postmortem p = Valid();
  p.action_items[0].description = "Canary | configs\nfirst";
  p.action_items[0].due_time = kT0 + absl::Hours(48);
  p.lessons.clear();
  Incident incident;
  incident.id = "inc-1";
  incident.tenant = "acme";
  incident.title = "CheckoutDown";
  incident.severity = Severity::kP0;
  incident.status = IncidentStatus::kResolved;
  incident.start_time = kT0 - absl::Minutes(2);
  incident.create_time = kT0;
  incident.acknowledge_time = kT0 + absl::Minutes(4) + absl::Seconds(5);
  incident.resolve_time = kT0 + absl::Hours(1) + absl::Minutes(30);
  TimelineEntry entry;
  entry.time = kT0;
  entry.actor = "system";
  entry.kind = "created";
  entry.text = "Opened";
  const std::string md = RenderPostmortemMarkdown(p, incident, {entry});
  EXPECT_THAT(md, HasSubstr("# Postmortem: Checkout outage\n"));
  EXPECT_THAT(md, HasSubstr("| Severity | P0 |"));
  EXPECT_THAT(md, HasSubstr("| Detected | 2023-11-14 22:13:20 UTC (after 2m 0s) |"));
  EXPECT_THAT(md, HasSubstr("| Acknowledged | 2023-11-14 22:17:25 UTC (after 4m 5s) |"));
  EXPECT_THAT(md, HasSubstr("(after 1h 30m 0s)"));
  EXPECT_THAT(md, HasSubstr("## Root cause\n\nBad config.\n"));
  EXPECT_THAT(md, HasSubstr("## Lessons learned\n\n_Not written._\n"));
  EXPECT_THAT(
      md, HasSubstr("| OPEN | Canary \\| configs first | bob | 2023-11-16 | https://tracker/1 |"));
  EXPECT_THAT(md, HasSubstr("| 2023-11-14 22:13:20 UTC | system | created | Opened |"));
  EXPECT_THAT(md, Not(HasSubstr("| Closed |")));
  EXPECT_EQ(PostmortemFileName(p), "postmortem-inc-1.md");
  p.incident_id = "a/b c";
  EXPECT_EQ(PostmortemFileName(p), "postmortem-a_b_c.md");
}

TEST(CloseRuleTest, HighSeverityNeedsAPublishedPostmortemAndSaysWhy) {
  Incident incident;
  incident.id = "inc-1";
  incident.status = IncidentStatus::kResolved;
  incident.severity = Severity::kP1;
  EXPECT_THAT(Transition(incident, IncidentStatus::kClosed, "alice", "", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("it has none: create one with CreatePostmortem")));
  incident.postmortem_id = "pm-1";
  EXPECT_THAT(Transition(incident, IncidentStatus::kClosed, "alice", "", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("postmortem pm-1 is not PUBLISHED")));
  incident.postmortem_published = true;
  EXPECT_THAT(Transition(incident, IncidentStatus::kClosed, "alice", "", kT0), IsOk());
  // P2 and P3 close without one.
  incident.postmortem_id.clear();
  incident.postmortem_published = false;
  incident.severity = Severity::kP2;
  EXPECT_THAT(Transition(incident, IncidentStatus::kClosed, "alice", "", kT0), IsOk());
  incident.severity = Severity::kP3;
  EXPECT_THAT(Transition(incident, IncidentStatus::kClosed, "alice", "", kT0), IsOk());
}

}  // namespace
}  // namespace agentwatch::incident
