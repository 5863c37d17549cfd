#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace agentwatch::common {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using ::testing::HasSubstr;

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

struct Fixture {
  std::string name = "default";
  int64_t count = 3;
  bool verbose = false;
  absl::Duration window = absl::Minutes(5);
  FlagSet flags{"test"};
  Fixture() {
    flags.AddString("name", &name, "a name");
    flags.AddInt("count", &count, "a count", 1, 10);
    flags.AddBool("verbose", &verbose, "talk more");
    flags.AddDuration("window", &window, "a window");
  }
};

TEST(FlagSetTest, DefaultsStayWhenNothingIsGiven) {
  Fixture f;
  ASSERT_THAT(f.flags.Parse({}, NoEnv()), IsOk());
  EXPECT_EQ(f.name, "default");
  EXPECT_EQ(f.count, 3);
  EXPECT_FALSE(f.verbose);
  EXPECT_EQ(f.window, absl::Minutes(5));
}

TEST(FlagSetTest, ParsesBothSyntaxesAndBareBool) {
  Fixture f;
  ASSERT_THAT(f.flags.Parse({"--name=x", "--count", "7", "--verbose", "--window=90s"}, NoEnv()),
              IsOk());
  EXPECT_EQ(f.name, "x");
  EXPECT_EQ(f.count, 7);
  EXPECT_TRUE(f.verbose);
  EXPECT_EQ(f.window, absl::Seconds(90));
}

TEST(FlagSetTest, EnvironmentOverridesDefaultAndFlagOverridesEnvironment) {
  Fixture f;
  ASSERT_THAT(f.flags.Parse({"--count=9"},
                            Env({{"AGENTWATCH_NAME", "from-env"}, {"AGENTWATCH_COUNT", "2"}})),
              IsOk());
  EXPECT_EQ(f.name, "from-env");
  EXPECT_EQ(f.count, 9);
}

TEST(FlagSetTest, BadValuesNameTheFlag) {
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"--count=abc"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--count")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"--count=11"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside [1, 10]")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"--window=soon"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--window")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({}, Env({{"AGENTWATCH_COUNT", "0"}})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("AGENTWATCH_COUNT")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"--nope=1"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag --nope")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"--name"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a value")));
  }
  {
    Fixture f;
    EXPECT_THAT(f.flags.Parse({"positional"}, NoEnv()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected argument")));
  }
}

TEST(FlagSetTest, HelpIsRequestedAndUsageListsEnvNames) {
  Fixture f;
  ASSERT_THAT(f.flags.Parse({"--help"}, NoEnv()), IsOk());
  EXPECT_TRUE(f.flags.help_requested());
  EXPECT_THAT(f.flags.Usage(), HasSubstr("--window"));
  EXPECT_EQ(FlagSet::EnvName("grpc_listen"), "AGENTWATCH_GRPC_LISTEN");
}

TEST(ServiceConfigTest, DefaultsAreValidAndPortsFollowTheService) {
  ServiceConfig config;
  FlagSet flags("svc");
  RegisterServiceFlags(flags, &config, 50051, 9101);
  ASSERT_THAT(flags.Parse({}, NoEnv()), IsOk());
  EXPECT_EQ(config.grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(config.http_listen, "127.0.0.1:9101");
  EXPECT_THAT(ValidateServiceConfig(config), IsOk());
}

TEST(ServiceConfigTest, CrossFieldRules) {
  ServiceConfig config;
  FlagSet flags("svc");
  RegisterServiceFlags(flags, &config, 1, 2);
  ASSERT_THAT(flags.Parse({"--tls_cert_file=/x.pem"}, NoEnv()), IsOk());
  EXPECT_THAT(ValidateServiceConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls_cert_file")));
  config.tls_cert_file.clear();
  config.grpc_listen = "nonsense";
  EXPECT_THAT(ValidateServiceConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--grpc_listen")));
  config.grpc_listen = "127.0.0.1:70000";
  EXPECT_THAT(ValidateServiceConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no valid port")));
  config.grpc_listen = "127.0.0.1:50051";
  EXPECT_THAT(ValidateServiceConfig(config), IsOk());
  config.health_probe_timeout = absl::Milliseconds(5);
  EXPECT_THAT(ValidateServiceConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--health_probe_timeout")));
}

}  // namespace
}  // namespace agentwatch::common
