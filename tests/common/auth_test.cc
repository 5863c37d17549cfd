#include "common/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/testing/status_matchers.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/aw_tokens_XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(AuthorizerTest, OffAllowsEverything) {
  Authorizer off;
  EXPECT_FALSE(off.enabled());
  EXPECT_THAT(off.CheckHeader("", Role::kAdmin), IsOk());
}

TEST(AuthorizerTest, RolesAreOrdered) {
  Authorizer auth({{"v", Role::kViewer}, {"o", Role::kOperator}, {"a", Role::kAdmin}});
  EXPECT_THAT(auth.CheckHeader("Bearer v", Role::kViewer), IsOk());
  EXPECT_THAT(auth.CheckHeader("Bearer v", Role::kOperator),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("operator")));
  EXPECT_THAT(auth.CheckHeader("Bearer o", Role::kOperator), IsOk());
  EXPECT_THAT(auth.CheckHeader("Bearer o", Role::kAdmin),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(auth.CheckHeader("Bearer a", Role::kAdmin), IsOk());
}

TEST(AuthorizerTest, MissingOrUnknownTokenIsUnauthenticated) {
  Authorizer auth({{"secret", Role::kAdmin}});
  EXPECT_THAT(auth.CheckHeader("", Role::kViewer), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(auth.CheckHeader("secret", Role::kViewer),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(auth.CheckHeader("Bearer wrong", Role::kViewer),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unknown token")));
}

TEST(AuthorizerTest, ReadsTokenFile) {
  const std::string path = WriteTemp("# comment\n\ntok1 viewer\ntok2   admin\n");
  auto auth = Authorizer::FromFile(path);
  ASSERT_THAT(auth, IsOk());
  EXPECT_TRUE(auth->enabled());
  EXPECT_THAT(auth->CheckHeader("Bearer tok2", Role::kAdmin), IsOk());
  EXPECT_THAT(auth->CheckHeader("Bearer tok1", Role::kAdmin),
              StatusIs(absl::StatusCode::kPermissionDenied));
  std::remove(path.c_str());
}

TEST(AuthorizerTest, BadTokenFilesAreRejectedWithTheLine) {
  const std::string bad_role = WriteTemp("tok1 superuser\n");
  EXPECT_THAT(Authorizer::FromFile(bad_role),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  const std::string empty = WriteTemp("# nothing\n");
  EXPECT_THAT(Authorizer::FromFile(empty),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no tokens")));
  EXPECT_THAT(Authorizer::FromFile("/nonexistent/tokens"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot read")));
  EXPECT_FALSE(Authorizer::FromFile("")->enabled());
  std::remove(bad_role.c_str());
  std::remove(empty.c_str());
}

}  // namespace
}  // namespace agentwatch::common
