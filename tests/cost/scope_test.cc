// Unit tests of ScopeMatcher: the same answers as ScopeCovers for every
// filter and subject drawn from small value sets (each field empty, equal or
// different; tags missing, equal or different).
#include "cost/core/scope.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentwatch::cost {
namespace {

std::vector<Scope> Scopes(bool with_empty_tenant) {
  std::vector<Scope> out;
  const std::vector<std::string> tenants =
      with_empty_tenant ? std::vector<std::string>{"", "acme", "beta"}
                        : std::vector<std::string>{"acme", "beta"};
  const std::vector<std::string> values = {"", "x", "y"};
  const std::vector<std::map<std::string, std::string>> tags = {
      {}, {{"env", "prod"}}, {{"env", "dev"}}, {{"env", "prod"}, {"region", "eu"}}};
  for (const std::string& tenant : tenants) {
    for (const std::string& team : values) {
      for (const std::string& workflow : values) {
        for (const char* model : {"", "m"}) {
          for (const auto& t : tags) {
            Scope s;
            s.tenant = tenant;
            s.team = team;
            s.workflow = workflow;
            s.agent = team.empty() ? "" : "agent";
            s.model = model;
            s.provider = s.model.empty() ? "" : "openai";
            s.service = workflow == "y" ? "svc" : "";
            s.tags = t;
            out.push_back(std::move(s));
          }
        }
      }
    }
  }
  return out;
}

TEST(ScopeMatcherTest, AnswersAsScopeCovers) {
  const std::vector<Scope> filters = Scopes(/*with_empty_tenant=*/true);
  const std::vector<Scope> subjects = Scopes(/*with_empty_tenant=*/false);
  int covered = 0;
  int not_covered = 0;
  for (const Scope& filter : filters) {
    const ScopeMatcher matcher(filter);
    for (const Scope& subject : subjects) {
      const bool expected = ScopeCovers(filter, subject);
      ASSERT_EQ(matcher.Covers(subject), expected)
          << "filter " << filter.tenant << "/" << filter.team << "/" << filter.workflow
          << " subject " << subject.tenant << "/" << subject.team << "/" << subject.workflow;
      (expected ? covered : not_covered)++;
    }
  }
  // Both answers occur often (the comparison is not vacuous).
  EXPECT_GT(covered, 1000);
  EXPECT_GT(not_covered, 1000);
}

TEST(ScopeMatcherTest, SubjectsOfTheTenantSkipOnlyTheTenant) {
  const std::vector<Scope> subjects = Scopes(/*with_empty_tenant=*/false);
  int covered = 0;
  for (const Scope& filter : Scopes(/*with_empty_tenant=*/false)) {
    const ScopeMatcher matcher(filter, /*subjects_of_tenant=*/true);
    for (const Scope& subject : subjects) {
      if (subject.tenant != filter.tenant) continue;  // the caller's promise
      const bool expected = ScopeCovers(filter, subject);
      ASSERT_EQ(matcher.Covers(subject), expected);
      covered += expected ? 1 : 0;
    }
  }
  EXPECT_GT(covered, 100);
  // A filter of one tenant still tells another tenant's subject apart when
  // the promise is not made.
  Scope acme;
  acme.tenant = "acme";
  Scope beta;
  beta.tenant = "beta";
  EXPECT_FALSE(ScopeMatcher(acme).Covers(beta));
  EXPECT_TRUE(ScopeMatcher(acme).Covers(acme));
}

TEST(ScopeMatcherTest, TagsMustAllBeOnTheSubjectWithEqualValues) {
  Scope filter;
  filter.tenant = "acme";
  filter.tags = {{"env", "prod"}, {"region", "eu"}};
  const ScopeMatcher matcher(filter, /*subjects_of_tenant=*/true);
  Scope subject;
  subject.tenant = "acme";
  subject.tags = {{"env", "prod"}};
  EXPECT_FALSE(matcher.Covers(subject));
  subject.tags["region"] = "us";
  EXPECT_FALSE(matcher.Covers(subject));
  subject.tags["region"] = "eu";
  EXPECT_TRUE(matcher.Covers(subject));
  subject.tags["extra"] = "anything";
  EXPECT_TRUE(matcher.Covers(subject));
}

}  // namespace
}  // namespace agentwatch::cost
