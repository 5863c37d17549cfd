// The client defaults every connection gets, and the health probe that
// answers within its timeout whatever the server does: up, stopped, frozen,
// or a listener that never speaks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/pg.h"
#include "common/pg_probe.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_env.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::PrivatePostgres;
using ::agentwatch::testing::SilentListener;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

TEST(DsnWithClientDefaultsTest, AddsWhatTheKeywordDsnDoesNotSet) {
  EXPECT_EQ(DsnWithClientDefaults("host=db user=aw connect_timeout=10"),
            "host=db user=aw connect_timeout=10 keepalives_idle=30 keepalives_interval=10 "
            "keepalives_count=3 tcp_user_timeout=30000");
  EXPECT_EQ(DsnWithClientDefaults(""),
            "connect_timeout=5 keepalives_idle=30 keepalives_interval=10 keepalives_count=3 "
            "tcp_user_timeout=30000");
  const std::string all =
      "host=db connect_timeout=1 keepalives_idle=2 keepalives_interval=3 keepalives_count=4 "
      "tcp_user_timeout=5";
  EXPECT_EQ(DsnWithClientDefaults(all), all);
}

TEST(DsnWithClientDefaultsTest, AddsQueryParametersToAUri) {
  EXPECT_EQ(DsnWithClientDefaults("postgresql://aw@db:5432/agentwatch"),
            "postgresql://aw@db:5432/agentwatch?connect_timeout=5&keepalives_idle=30&"
            "keepalives_interval=10&keepalives_count=3&tcp_user_timeout=30000");
  EXPECT_EQ(DsnWithClientDefaults("postgres://db/aw?sslmode=require&tcp_user_timeout=1000"),
            "postgres://db/aw?sslmode=require&tcp_user_timeout=1000&connect_timeout=5&"
            "keepalives_idle=30&keepalives_interval=10&keepalives_count=3");
}

TEST(DsnWithClientDefaultsTest, LeavesWhatLibpqCannotParseForTheConnectionToReport) {
  EXPECT_EQ(DsnWithClientDefaults("host=db 'unterminated"), "host=db 'unterminated");
  EXPECT_EQ(DsnWithClientDefaults("nokey"), "nokey");
}

TEST(PgProbeTest, FollowsTheServerUpStoppedAndFrozen) {
  PrivatePostgres pg;
  PgProbe probe(pg.dsn());
  EXPECT_THAT(probe.Ping(absl::Seconds(2)), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(pg.Start(), IsOk());
  EXPECT_THAT(probe.Ping(absl::Seconds(10)), IsOk());
  EXPECT_THAT(probe.Ping(absl::Seconds(10)), IsOk());  // the same connection again

  // Frozen: the sockets stay open and the kernel still accepts, but nothing
  // answers. The probe gives up at its deadline (it would hang otherwise,
  // and the test with it) and reconnects once the server answers again.
  ASSERT_THAT(pg.Freeze(), IsOk());
  EXPECT_THAT(probe.Ping(absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer in time")));
  EXPECT_THAT(probe.Ping(absl::Milliseconds(300)),  // now while connecting
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer in time")));
  ASSERT_THAT(pg.Thaw(), IsOk());
  EXPECT_THAT(probe.Ping(absl::Seconds(10)), IsOk());

  ASSERT_THAT(pg.Stop(), IsOk());
  EXPECT_THAT(probe.Ping(absl::Seconds(10)), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(pg.Start(), IsOk());
  EXPECT_THAT(probe.Ping(absl::Seconds(10)), IsOk());
}

TEST(PgProbeTest, AListenerThatNeverSpeaksIsUnavailableAtTheDeadline) {
  // The server's first message never comes.
  SilentListener silent;
  PgProbe probe(absl::StrCat("host=127.0.0.1 port=", silent.port(),
                             " user=postgres dbname=postgres sslmode=disable"));
  EXPECT_THAT(probe.Ping(absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("did not answer in time")));
}

}  // namespace
}  // namespace agentwatch::common
