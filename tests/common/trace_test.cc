#include "common/trace.h"

#include <gtest/gtest.h>

namespace agentwatch::common {
namespace {

TEST(TraceparentTest, RoundTrips) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto parsed = ParseTraceparent(header);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(parsed->sampled);
  EXPECT_EQ(parsed->ToTraceparent(), header);
}

TEST(TraceparentTest, RejectsMalformedHeaders) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",           // no flags
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero span
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version ff
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // upper case
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // v00 extra
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // separator
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(TraceparentTest, FutureVersionsMayCarryMoreFields) {
  EXPECT_TRUE(
      ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what").has_value());
}

TEST(TraceContextTest, ChildKeepsTraceAndChangesSpan) {
  const TraceContext root = TraceContext::NewRoot();
  ASSERT_TRUE(root.valid());
  EXPECT_EQ(root.trace_id.size(), 32u);
  EXPECT_EQ(root.span_id.size(), 16u);
  const TraceContext child = root.Child();
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_NE(child.span_id, root.span_id);
  EXPECT_TRUE(ParseTraceparent(child.ToTraceparent()).has_value());
}

TEST(ScopedTraceTest, SetsAndRestoresTheThreadTrace) {
  EXPECT_FALSE(CurrentTrace().valid());
  const TraceContext outer = TraceContext::NewRoot();
  {
    ScopedTrace a(outer);
    EXPECT_EQ(CurrentTrace().trace_id, outer.trace_id);
    const TraceContext inner = TraceContext::NewRoot();
    {
      ScopedTrace b(inner);
      EXPECT_EQ(CurrentTrace().trace_id, inner.trace_id);
    }
    EXPECT_EQ(CurrentTrace().trace_id, outer.trace_id);
  }
  EXPECT_FALSE(CurrentTrace().valid());
}

}  // namespace
}  // namespace agentwatch::common
