#include "incident/core/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/testing/status_matchers.h"
#include "test_util.h"

namespace agentwatch::incident {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using testing::Firing;
using ::testing::HasSubstr;

AlertReport Valid() { return Firing("acme", "fp1", "HighErrorRate", absl::FromUnixSeconds(100)); }

void ExpectInvalid(const AlertReport& report, const std::string& message) {
  EXPECT_THAT(ValidateAlertReport(report, "alerts[2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
      << message;
}

TEST(ValidateAlertReportTest, AcceptsAValidAlert) {
  EXPECT_THAT(ValidateAlertReport(Valid(), "alerts[0]"), IsOk());
  AlertReport full = Valid();
  full.severity = Severity::kP0;
  full.labels = {{"service", "api"}, {"_x9", ""}};
  full.annotations = {{"summary", "errors"}, {"runbook_url", "https://runbooks/x"}};
  full.generator_url = "https://prometheus/graph";
  EXPECT_THAT(ValidateAlertReport(full, "alerts[0]"), IsOk());
}

TEST(ValidateAlertReportTest, RequiredFields) {
  AlertReport r = Valid();
  r.fingerprint.clear();
  ExpectInvalid(r, "alerts[2].fingerprint: required");
  r = Valid();
  r.name.clear();
  ExpectInvalid(r, "alerts[2].name: required");
  r = Valid();
  r.tenant.clear();
  ExpectInvalid(r, "alerts[2].tenant: required");
  r = Valid();
  r.status = AlertStatus::kUnspecified;
  ExpectInvalid(r, "alerts[2].status: required");
}

TEST(ValidateAlertReportTest, UnknownEnumValues) {
  AlertReport r = Valid();
  r.status = static_cast<AlertStatus>(7);
  ExpectInvalid(r, "alerts[2].status: unknown value 7");
  r = Valid();
  r.severity = static_cast<Severity>(9);
  ExpectInvalid(r, "alerts[2].severity: unknown value 9");
  r = Valid();
  r.severity = Severity::kUnspecified;  // means P2
  EXPECT_THAT(ValidateAlertReport(r, "alerts[2]"), IsOk());
}

TEST(ValidateAlertReportTest, Lengths) {
  AlertReport r = Valid();
  r.fingerprint = std::string(kMaxFingerprintBytes + 1, 'f');
  ExpectInvalid(r, "alerts[2].fingerprint: longer than 256 bytes");
  r = Valid();
  r.fingerprint = std::string(kMaxFingerprintBytes, 'f');
  EXPECT_THAT(ValidateAlertReport(r, "alerts[2]"), IsOk());
  r = Valid();
  r.name = std::string(kMaxAlertNameBytes + 1, 'n');
  ExpectInvalid(r, "alerts[2].name: longer than");
  r = Valid();
  r.tenant = std::string(kMaxTenantBytes + 1, 't');
  ExpectInvalid(r, "alerts[2].tenant: longer than");
  r = Valid();
  r.source = std::string(kMaxSourceBytes + 1, 's');
  ExpectInvalid(r, "alerts[2].source: longer than");
  r = Valid();
  r.generator_url = std::string(kMaxUrlBytes + 1, 'u');
  ExpectInvalid(r, "alerts[2].generator_url: longer than");
}

TEST(ValidateAlertReportTest, LabelsAndAnnotations) {
  AlertReport r = Valid();
  r.labels = {{"bad-name", "x"}};
  ExpectInvalid(r, "alerts[2].labels[\"bad-name\"]: name must match");
  r = Valid();
  r.labels = {{"9lives", "x"}};
  ExpectInvalid(r, "alerts[2].labels[\"9lives\"]");
  r = Valid();
  r.labels = {{"service", std::string(kMaxLabelValueBytes + 1, 'v')}};
  ExpectInvalid(r, "alerts[2].labels[\"service\"]: longer than");
  r = Valid();
  for (size_t i = 0; i <= kMaxLabels; ++i) r.labels["l" + std::to_string(i)] = "v";
  ExpectInvalid(r, "alerts[2].labels: at most 64 entries");
  r = Valid();
  r.annotations = {{"", "x"}};
  ExpectInvalid(r, "alerts[2].annotations[\"\"]: name must match");
  r = Valid();
  r.annotations = {{"description", std::string(kMaxAnnotationValueBytes + 1, 'd')}};
  ExpectInvalid(r, "alerts[2].annotations[\"description\"]: longer than");
}

TEST(ValidateAlertReportTest, NulBytesAreRefused) {
  const std::string nul("a\0b", 3);
  AlertReport r = Valid();
  r.fingerprint = nul;
  ExpectInvalid(r, "alerts[2].fingerprint: must not contain NUL");
  r = Valid();
  r.labels = {{"service", nul}};
  ExpectInvalid(r, "alerts[2].labels[\"service\"]: must not contain NUL");
  r = Valid();
  r.source = nul;
  ExpectInvalid(r, "alerts[2].source: must not contain NUL");
}

// With several bad fields, the error names the first in the order
// fingerprint, name, tenant, status, severity, labels, annotations, source,
// generator_url, ends_at.
TEST(ValidateAlertReportTest, TheFirstBadFieldIsNamed) {
  const std::string nul("a\0b", 3);
  AlertReport r = testing::Resolved(Valid(), absl::FromUnixSeconds(50));
  r.generator_url = nul;
  ExpectInvalid(r, "alerts[2].generator_url: must not contain NUL");
  r.source = std::string(kMaxSourceBytes + 1, 's');
  ExpectInvalid(r, "alerts[2].source: longer than");
  r.annotations = {{"summary", nul}};
  ExpectInvalid(r, "alerts[2].annotations[\"summary\"]: must not contain NUL");
  r.labels = {{"a-b", "x"}};
  ExpectInvalid(r, "alerts[2].labels[\"a-b\"]: name must match");
  r.severity = static_cast<Severity>(9);
  ExpectInvalid(r, "alerts[2].severity: unknown value 9");
  r.status = AlertStatus::kUnspecified;
  ExpectInvalid(r, "alerts[2].status: required");
  r.tenant = nul;
  ExpectInvalid(r, "alerts[2].tenant: must not contain NUL");
  r.name = std::string(kMaxAlertNameBytes + 1, 'n');
  ExpectInvalid(r, "alerts[2].name: longer than");
  r.fingerprint.clear();
  ExpectInvalid(r, "alerts[2].fingerprint: required");
}

TEST(ValidateAlertReportTest, ResolvedMayNotEndBeforeItStarts) {
  AlertReport r = testing::Resolved(Valid(), absl::FromUnixSeconds(50));
  ExpectInvalid(r, "alerts[2].ends_at: before starts_at");
  r.ends_at = absl::FromUnixSeconds(100);
  EXPECT_THAT(ValidateAlertReport(r, "alerts[2]"), IsOk());
}

TEST(ValidateBatchSizeTest, EmptyAndTooLarge) {
  EXPECT_THAT(ValidateBatchSize(0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alerts: at least one")));
  EXPECT_THAT(ValidateBatchSize(1), IsOk());
  EXPECT_THAT(ValidateBatchSize(kMaxAlertsPerBatch), IsOk());
  EXPECT_THAT(ValidateBatchSize(kMaxAlertsPerBatch + 1),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("at most 10000")));
}

TEST(ValidateStringsTest, RequiredAndOptional) {
  EXPECT_THAT(ValidateRequired("", "actor", 10),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor: required")));
  EXPECT_THAT(ValidateRequired("abc", "actor", 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actor: longer than 2")));
  EXPECT_THAT(ValidateOptional("", "note", 10), IsOk());
  EXPECT_TRUE(IsValidLabelName("_a1"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("a.b"));
}

}  // namespace
}  // namespace agentwatch::incident
