#include "common/log.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/trace.h"

namespace agentwatch::common {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b"), "a\\\"b");
  EXPECT_EQ(JsonEscape("a\\b"), "a\\\\b");
  EXPECT_EQ(JsonEscape("l1\nl2\t"), "l1\\nl2\\t");
  EXPECT_EQ(JsonEscape(std::string("\x01", 1)), "\\u0001");
}

TEST(LogLevelTest, Parses) {
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

TEST(LogTest, WritesOneJsonLineWithTraceAndFields) {
  ::testing::internal::CaptureStderr();
  InitLogging("unit", LogLevel::kInfo);
  {
    ScopedTrace trace(*ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    LogInfo("hello \"world\"", {{"k", "v"}});
  }
  LogDebug("filtered out");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("\"service\":\"unit\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"msg\":\"hello \\\"world\\\"\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""), std::string::npos);
  EXPECT_NE(out.find("\"fields\":{\"k\":\"v\"}"), std::string::npos) << out;
  EXPECT_EQ(out.find("filtered out"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace agentwatch::common
