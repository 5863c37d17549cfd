// The silence part of the store contract (store_contract.h): storing,
// listing and expiring silences, and intake muting silenced alerts. Both the
// in-memory and the Postgres test binaries run it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/testing/status_matchers.h"
#include "store_contract.h"

namespace agentwatch::incident::testing {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixMicros(1'700'000'000'123'456);

Silence MakeSilence(const std::string& id, const std::string& tenant, absl::Time created) {
  Silence s;
  s.id = id;
  s.tenant = tenant;
  s.matchers = {{"alertname", MatchOp::kEqual, "HighLatency"},
                {"service", MatchOp::kRegex, "api|web"}};
  s.starts_at = created;
  s.ends_at = created + absl::Hours(2);
  s.author = "alice";
  s.comment = "deploy \"v2\" \\ maintenance";
  s.create_time = created;
  s.update_time = created;
  return s;
}

TEST_P(IncidentStoreContractTest, SilenceRoundTripsWithRecurrence) {
  Silence s = MakeSilence("sil-1", "acme", kT0);
  s.ends_at.reset();
  s.recurrence =
      WeeklyWindow{{DayOfWeek::kMonday, DayOfWeek::kSunday}, 22 * 60, 120, "Europe/Berlin"};
  ASSERT_THAT(store().CreateSilence(s), IsOk());
  auto got = store().GetSilence("sil-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, s);
  EXPECT_THAT(store().GetSilence("nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, RetriedCreateReturnsTheFirstSilence) {
  const Silence first = MakeSilence("sil-1", "acme", kT0);
  ASSERT_THAT(store().CreateSilence(first), IsOk());
  Silence retry = first;
  retry.comment = "other";
  retry.create_time = kT0 + absl::Seconds(5);
  auto got = store().CreateSilence(retry);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, first);
}

TEST_P(IncidentStoreContractTest, DeleteExpiresTheSilenceOnce) {
  ASSERT_THAT(store().CreateSilence(MakeSilence("sil-1", "acme", kT0)), IsOk());
  const absl::Time at = kT0 + absl::Minutes(10);
  ASSERT_THAT(store().DeleteSilence("sil-1", at), IsOk());
  ASSERT_THAT(store().DeleteSilence("sil-1", at + absl::Minutes(1)), IsOk());
  auto got = store().GetSilence("sil-1");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->expire_time.has_value());
  EXPECT_EQ(*got->expire_time, at);
  EXPECT_EQ(StateAt(*got, at), SilenceState::kExpired);
  EXPECT_THAT(store().DeleteSilence("nope", at), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(IncidentStoreContractTest, ListSilencesPagesNewestFirstAndHidesExpired) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_THAT(store().CreateSilence(
                    MakeSilence(absl::StrFormat("sil-%d", i), "acme", kT0 + absl::Seconds(i))),
                IsOk());
  }
  ASSERT_THAT(store().CreateSilence(MakeSilence("sil-other", "globex", kT0)), IsOk());
  ASSERT_THAT(store().DeleteSilence("sil-3", kT0 + absl::Minutes(1)), IsOk());

  SilenceQuery query;
  query.tenant = "acme";
  query.now = kT0 + absl::Minutes(2);
  query.page_size = 2;
  std::vector<std::string> ids;
  for (int page_no = 0; page_no < 5; ++page_no) {
    auto page = store().ListSilences(query);
    ASSERT_THAT(page, IsOk());
    for (const Silence& s : page->silences) ids.push_back(s.id);
    if (!page->next) break;
    query.after = page->next;
  }
  EXPECT_THAT(ids, ElementsAre("sil-5", "sil-4", "sil-2", "sil-1"));

  query = SilenceQuery{};
  query.include_expired = true;
  query.now = kT0 + absl::Minutes(2);
  auto all = store().ListSilences(query);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(all->silences, SizeIs(6));
  EXPECT_FALSE(all->next.has_value());

  query.include_expired = false;
  query.now = kT0 + absl::Hours(3);  // every silence has ended
  auto none = store().ListSilences(query);
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(none->silences, IsEmpty());
}

TEST_P(IncidentStoreContractTest, SilencedFiringAlertIsRecordedButOpensNoIncident) {
  ASSERT_THAT(store().CreateSilence(MakeSilence("sil-1", "acme", kT0)), IsOk());
  AlertReport muted = Firing("acme", "fp1", "HighLatency", kT0);
  muted.labels = {{"service", "api"}};
  AlertReport other_service = Firing("acme", "fp2", "HighLatency", kT0);
  other_service.labels = {{"service", "db"}};
  AlertReport other_tenant = Firing("globex", "fp1", "HighLatency", kT0);
  other_tenant.labels = {{"service", "api"}};
  const absl::Time now = kT0 + absl::Minutes(1);

  auto summary = Report({muted, other_service, other_tenant}, now);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->silenced, 1);
  EXPECT_EQ(summary->accepted, 3);
  EXPECT_EQ(summary->incidents_opened, 2);
  ASSERT_THAT(summary->incident_ids, SizeIs(3));
  EXPECT_EQ(summary->incident_ids[0], "");
  EXPECT_NE(summary->incident_ids[1], "");
  EXPECT_NE(summary->incident_ids[2], "");

  // Recorded: a replay is a duplicate with no incident.
  auto replay = Report({muted}, now + absl::Seconds(1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_EQ(replay->duplicates, 1);
  EXPECT_EQ(replay->silenced, 0);
  EXPECT_THAT(replay->incident_ids, ElementsAre(""));
  EXPECT_THAT(store().FindOpenIncident("acme", "fp1"), ::agentwatch::testing::IsOkAndHolds(""));

  // Once the silence is deleted, a new firing opens an incident.
  ASSERT_THAT(store().DeleteSilence("sil-1", now + absl::Minutes(1)), IsOk());
  muted.starts_at = now + absl::Minutes(1);
  auto after = Report({muted}, now + absl::Minutes(2));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->silenced, 0);
  EXPECT_EQ(after->incidents_opened, 1);
  ASSERT_THAT(after->incident_ids, SizeIs(1));
  EXPECT_NE(after->incident_ids[0], "");
}

TEST_P(IncidentStoreContractTest, PendingSilenceDoesNotMute) {
  Silence s = MakeSilence("sil-1", "acme", kT0);
  s.starts_at = kT0 + absl::Hours(1);
  s.ends_at = kT0 + absl::Hours(2);
  ASSERT_THAT(store().CreateSilence(s), IsOk());
  AlertReport alert = Firing("acme", "fp1", "HighLatency", kT0);
  alert.labels = {{"service", "api"}};
  auto summary = Report({alert}, kT0 + absl::Minutes(1));
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->silenced, 0);
  EXPECT_EQ(summary->incidents_opened, 1);
}

TEST_P(IncidentStoreContractTest, UpdateSilenceReplacesTheRowAndKeepsItsIdentity) {
  const Silence original = MakeSilence("sil-1", "acme", kT0);
  ASSERT_THAT(store().CreateSilence(original), IsOk());
  const absl::Time at = kT0 + absl::Minutes(3);
  auto updated = store().UpdateSilence("sil-1", [&](const Silence& current) {
    Silence next = current;
    next.tenant = "globex";              // identity fields are kept by the store
    next.create_time = at;
    next.matchers = {{"service", MatchOp::kNotEqual, "batch"}};
    next.ends_at.reset();
    next.recurrence = WeeklyWindow{{DayOfWeek::kSaturday}, 23 * 60, 30, "America/New_York"};
    next.comment = "weekly";
    next.update_time = at;
    return absl::StatusOr<Silence>(next);
  });
  ASSERT_THAT(updated, IsOk());
  auto got = store().GetSilence("sil-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, *updated);
  EXPECT_EQ(got->tenant, "acme");
  EXPECT_EQ(got->create_time, kT0);
  EXPECT_EQ(got->update_time, at);
  EXPECT_EQ(got->comment, "weekly");
  EXPECT_FALSE(got->ends_at.has_value());
  ASSERT_TRUE(got->recurrence.has_value());
  EXPECT_EQ(got->recurrence->time_zone, "America/New_York");
  ASSERT_EQ(got->matchers.size(), 1u);
  EXPECT_EQ(got->matchers[0].name, "service");
  EXPECT_EQ(got->matchers[0].op, MatchOp::kNotEqual);
  EXPECT_EQ(got->matchers[0].value, "batch");
}

TEST_P(IncidentStoreContractTest, UpdateSilenceErrorWritesNothing) {
  const Silence original = MakeSilence("sil-1", "acme", kT0);
  ASSERT_THAT(store().CreateSilence(original), IsOk());
  EXPECT_THAT(store().UpdateSilence("sil-1",
                                    [](const Silence&) -> absl::StatusOr<Silence> {
                                      return absl::FailedPreconditionError("expired");
                                    }),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto got = store().GetSilence("sil-1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, original);
  bool called = false;
  EXPECT_THAT(store().UpdateSilence("nope",
                                    [&](const Silence& current) -> absl::StatusOr<Silence> {
                                      called = true;
                                      return current;
                                    }),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace agentwatch::incident::testing
