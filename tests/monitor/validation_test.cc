#include "monitor/core/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/names.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;
using fixtures::MakeCall;
using fixtures::MakeEvent;
using fixtures::MakeExecution;
using fixtures::MakeRun;
using fixtures::TestNow;
using ::testing::Eq;

Batch ValidBatch() {
  Batch batch;
  batch.producer_id = "platform-a/pod-7";
  batch.sequence = 42;
  batch.events.push_back(MakeEvent(MakeRun("triage", RunStatus::kSucceeded)));
  batch.events.push_back(MakeEvent(MakeExecution("planner", RunStatus::kFailed, 2)));
  batch.events.push_back(MakeEvent(MakeCall("gpt-4o-mini")));
  ResourceSample resource;
  resource.component = "router";
  resource.cpu_utilization = 0.5;
  batch.events.push_back(MakeEvent(resource));
  batch.events.push_back(MakeEvent(MetricSample{"queue:wait_seconds", 1.5}));
  batch.events.push_back(MakeEvent(QualityScore{"faithfulness", 0.9, "triage", "planner", "r"}));
  return batch;
}

absl::Status Validate(const Batch& batch, RejectReason* reason = nullptr,
                      IngestLimits limits = {}) {
  return ValidateBatch(batch, limits, TestNow(), reason);
}

// Applies `mutate` to event `index` of a valid batch and validates it.
absl::Status ValidateWith(size_t index, const std::function<void(Event&)>& mutate) {
  Batch batch = ValidBatch();
  mutate(batch.events[index]);
  return Validate(batch);
}

template <typename Kind>
absl::Status ValidateKind(size_t index, const std::function<void(Kind&)>& mutate) {
  return ValidateWith(index, [&](Event& event) { mutate(std::get<Kind>(event.kind)); });
}

TEST(ValidateBatchTest, AcceptsEveryKind) {
  RejectReason reason = RejectReason::kStoreError;
  EXPECT_THAT(Validate(ValidBatch(), &reason), IsOk());
}

TEST(ValidateBatchTest, ProducerId) {
  Batch batch = ValidBatch();
  batch.producer_id = "";
  EXPECT_THAT(Validate(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("producer_id: required")));
  batch.producer_id = std::string(128, 'p');
  EXPECT_THAT(Validate(batch), IsOk());
  batch.producer_id = std::string(129, 'p');
  EXPECT_THAT(Validate(batch), StatusIs(absl::StatusCode::kInvalidArgument,
                                        Eq("producer_id: longer than 128 bytes")));
  batch.producer_id = std::string("a\0b", 3);
  EXPECT_THAT(Validate(batch), StatusIs(absl::StatusCode::kInvalidArgument,
                                        Eq("producer_id: must not contain NUL characters")));
}

TEST(ValidateBatchTest, EventCountLimits) {
  Batch batch = ValidBatch();
  batch.events.clear();
  EXPECT_THAT(Validate(batch),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("events: required (1 to 10000)")));

  batch.events.assign(10000, MakeEvent(MakeRun("triage", RunStatus::kSucceeded)));
  EXPECT_THAT(Validate(batch), IsOk());
  batch.events.push_back(batch.events.front());
  RejectReason reason = RejectReason::kInvalid;
  EXPECT_THAT(Validate(batch, &reason),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       Eq("events: 10001 events in the batch, at most 10000")));
  EXPECT_EQ(reason, RejectReason::kBatchTooLarge);

  IngestLimits small;
  small.max_batch_events = 5;
  EXPECT_THAT(Validate(ValidBatch(), &reason, small),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       Eq("events: 6 events in the batch, at most 5")));
}

TEST(ValidateBatchTest, EventIdTimeAndTenant) {
  EXPECT_THAT(ValidateWith(0, [](Event& e) { e.event_id = std::string(256, 'e'); }), IsOk());
  EXPECT_THAT(ValidateWith(0, [](Event& e) { e.event_id = std::string(257, 'e'); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("events[0].event_id: longer than 256 bytes")));
  EXPECT_THAT(ValidateWith(1, [](Event& e) { e.time.reset(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("events[1].time: required")));
  EXPECT_THAT(ValidateWith(1, [](Event& e) { e.time = TestNow() + absl::Hours(1); }), IsOk());
  EXPECT_THAT(
      ValidateWith(1, [](Event& e) { e.time = TestNow() + absl::Hours(1) + absl::Nanoseconds(1); }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               Eq("events[1].time: more than 1h in the future")));
  EXPECT_THAT(ValidateWith(1, [](Event& e) { e.time = TestNow() - absl::Hours(24 * 90); }), IsOk());
  EXPECT_THAT(
      ValidateWith(
          1, [](Event& e) { e.time = TestNow() - absl::Hours(24 * 90) - absl::Nanoseconds(1); }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               Eq("events[1].time: older than the retention period (2160h)")));
  EXPECT_THAT(ValidateWith(2, [](Event& e) { e.tenant.clear(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, Eq("events[2].tenant: required")));
  EXPECT_THAT(
      ValidateWith(2, [](Event& e) { e.tenant = std::string(129, 't'); }),
      StatusIs(absl::StatusCode::kInvalidArgument, Eq("events[2].tenant: longer than 128 bytes")));
}

TEST(ValidateBatchTest, Labels) {
  auto with_labels = [](int n) {
    return [n](Event& e) {
      for (int i = 0; i < n; ++i) e.labels[absl::StrCat("l", i)] = "v";
    };
  };
  EXPECT_THAT(ValidateWith(0, with_labels(32)), IsOk());
  Batch batch = ValidBatch();
  with_labels(33)(batch.events[3]);
  RejectReason reason = RejectReason::kInvalid;
  EXPECT_THAT(Validate(batch, &reason), StatusIs(absl::StatusCode::kResourceExhausted,
                                                 Eq("events[3].labels: 33 labels, at most 32")));
  EXPECT_EQ(reason, RejectReason::kTooManyLabels);

  for (const std::string name : {"1abc", "a-b", "", "é"}) {
    EXPECT_THAT(ValidateWith(0, [&](Event& e) { e.labels[name] = "v"; }),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::StartsWith("events[0].labels: invalid label name")))
        << name;
  }
  EXPECT_THAT(ValidateWith(0, [](Event& e) { e.labels[std::string(129, 'a')] = "v"; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("events[0].labels: invalid label name")));
  for (const std::string name : {"workflow", "tenant", "status", "model", "__name__"}) {
    EXPECT_THAT(ValidateWith(0, [&](Event& e) { e.labels[name] = "v"; }),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         Eq(absl::StrCat("events[0].labels: label name \"", name,
                                         "\" is reserved for a built-in label"))))
        << name;
  }
  EXPECT_THAT(ValidateWith(0, [](Event& e) { e.labels["env"] = std::string(256, 'v'); }), IsOk());
  EXPECT_THAT(ValidateWith(0, [](Event& e) { e.labels["env"] = std::string(257, 'v'); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("events[0].labels[env]: longer than 256 bytes")));
}

TEST(ValidateBatchTest, KindRequired) {
  EXPECT_THAT(ValidateWith(4, [](Event& e) { e.kind = std::monostate(); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::StartsWith("events[4].kind: required")));
}

TEST(ValidateBatchTest, WorkflowRun) {
  auto check = [](const std::function<void(WorkflowRun&)>& mutate) {
    return ValidateKind<WorkflowRun>(0, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(check([](WorkflowRun& r) { r.workflow.clear(); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.workflow: required")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.workflow = std::string(257, 'w'); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.workflow: longer than 256 bytes")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.run_id.clear(); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.run_id: required")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.team = std::string(257, 't'); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.team: longer than 256 bytes")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.status = RunStatus::kUnspecified; }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.status: required")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.status = static_cast<RunStatus>(9); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.status: unknown value 9")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.duration = absl::Seconds(-1); }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.duration: must not be negative")));
  EXPECT_THAT(check([](WorkflowRun& r) { r.duration.reset(); }), IsOk());
  EXPECT_THAT(check([](WorkflowRun& r) { r.step_count = -1; }),
              StatusIs(kInvalid, Eq("events[0].workflow_run.step_count: must not be negative")));
}

TEST(ValidateBatchTest, AgentExecution) {
  auto check = [](const std::function<void(AgentExecution&)>& mutate) {
    return ValidateKind<AgentExecution>(1, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(check([](AgentExecution& a) { a.agent.clear(); }),
              StatusIs(kInvalid, Eq("events[1].agent_execution.agent: required")));
  EXPECT_THAT(check([](AgentExecution& a) { a.workflow.clear(); }), IsOk());
  EXPECT_THAT(check([](AgentExecution& a) { a.status = RunStatus::kUnspecified; }),
              StatusIs(kInvalid, Eq("events[1].agent_execution.status: required")));
  EXPECT_THAT(check([](AgentExecution& a) { a.duration = absl::Milliseconds(-5); }),
              StatusIs(kInvalid, Eq("events[1].agent_execution.duration: must not be negative")));
  EXPECT_THAT(check([](AgentExecution& a) { a.retries = -1; }),
              StatusIs(kInvalid, Eq("events[1].agent_execution.retries: must not be negative")));
  EXPECT_THAT(check([](AgentExecution& a) { a.run_id = std::string(257, 'r'); }),
              StatusIs(kInvalid, Eq("events[1].agent_execution.run_id: longer than 256 bytes")));
}

TEST(ValidateBatchTest, LlmCall) {
  auto check = [](const std::function<void(LlmCall&)>& mutate) {
    return ValidateKind<LlmCall>(2, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(check([](LlmCall& c) { c.provider.clear(); }),
              StatusIs(kInvalid, Eq("events[2].llm_call.provider: required")));
  EXPECT_THAT(check([](LlmCall& c) { c.model.clear(); }),
              StatusIs(kInvalid, Eq("events[2].llm_call.model: required")));
  EXPECT_THAT(check([](LlmCall& c) { c.status = RunStatus::kUnspecified; }),
              StatusIs(kInvalid, Eq("events[2].llm_call.status: required")));
  EXPECT_THAT(check([](LlmCall& c) { c.latency = absl::Seconds(-1); }),
              StatusIs(kInvalid, Eq("events[2].llm_call.latency: must not be negative")));
  EXPECT_THAT(
      check([](LlmCall& c) { c.time_to_first_token = absl::Seconds(-1); }),
      StatusIs(kInvalid, Eq("events[2].llm_call.time_to_first_token: must not be negative")));
  EXPECT_THAT(check([](LlmCall& c) { c.input_tokens = -1; }),
              StatusIs(kInvalid, Eq("events[2].llm_call.input_tokens: must not be negative")));
  EXPECT_THAT(check([](LlmCall& c) { c.output_tokens = -1; }),
              StatusIs(kInvalid, Eq("events[2].llm_call.output_tokens: must not be negative")));
  EXPECT_THAT(
      check([](LlmCall& c) { c.cached_input_tokens = -1; }),
      StatusIs(kInvalid, Eq("events[2].llm_call.cached_input_tokens: must not be negative")));
  EXPECT_THAT(
      check([](LlmCall& c) { c.cache_creation_tokens = -1; }),
      StatusIs(kInvalid, Eq("events[2].llm_call.cache_creation_tokens: must not be negative")));
  // 300 cached + 100 created of 1000 input: up to 900 cached is fine.
  EXPECT_THAT(check([](LlmCall& c) { c.cached_input_tokens = 900; }), IsOk());
  EXPECT_THAT(check([](LlmCall& c) { c.cached_input_tokens = 901; }),
              StatusIs(kInvalid, Eq("events[2].llm_call.cached_input_tokens: "
                                    "cached_input_tokens (901) + cache_creation_tokens (100) "
                                    "exceed input_tokens (1000)")));
  EXPECT_THAT(check([](LlmCall& c) { c.error_type = std::string(257, 'x'); }),
              StatusIs(kInvalid, Eq("events[2].llm_call.error_type: longer than 256 bytes")));
  EXPECT_THAT(check([](LlmCall& c) { c.agent = std::string("a\0", 2); }),
              StatusIs(kInvalid, Eq("events[2].llm_call.agent: must not contain NUL characters")));
}

TEST(ValidateBatchTest, ResourceSample) {
  auto check = [](const std::function<void(ResourceSample&)>& mutate) {
    return ValidateKind<ResourceSample>(3, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(
      check([](ResourceSample& r) { r.component.clear(); }),
      StatusIs(kInvalid, Eq("events[3].resource_sample.component: required unless pod is set")));
  EXPECT_THAT(check([](ResourceSample& r) {
                r.component.clear();
                r.pod = "router-7";
              }),
              IsOk());
  EXPECT_THAT(check([](ResourceSample& r) { r.cpu_utilization = std::nan(""); }),
              StatusIs(kInvalid, Eq("events[3].resource_sample.cpu_utilization: must be a "
                                    "finite number >= 0")));
  EXPECT_THAT(
      check([](ResourceSample& r) { r.cpu_utilization = -0.1; }),
      StatusIs(kInvalid, ::testing::StartsWith("events[3].resource_sample.cpu_utilization:")));
  EXPECT_THAT(check([](ResourceSample& r) { r.cpu_utilization = 1.7; }), IsOk());
  EXPECT_THAT(
      check([](ResourceSample& r) {
        r.memory_utilization = std::numeric_limits<double>::infinity();
      }),
      StatusIs(kInvalid, ::testing::StartsWith("events[3].resource_sample.memory_utilization:")));
  EXPECT_THAT(check([](ResourceSample& r) { r.queue_depth = -1; }),
              StatusIs(kInvalid, Eq("events[3].resource_sample.queue_depth: must not be "
                                    "negative")));
  EXPECT_THAT(check([](ResourceSample& r) { r.processing_lag = absl::Seconds(-1); }),
              StatusIs(kInvalid, Eq("events[3].resource_sample.processing_lag: must not be "
                                    "negative")));
  EXPECT_THAT(
      check([](ResourceSample& r) { r.cpu_utilization.reset(); }),
      StatusIs(kInvalid, ::testing::StartsWith("events[3].resource_sample: no measurement set")));
}

TEST(ValidateBatchTest, MetricSample) {
  auto check = [](const std::function<void(MetricSample&)>& mutate) {
    return ValidateKind<MetricSample>(4, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(check([](MetricSample& m) { m.name.clear(); }),
              StatusIs(kInvalid, Eq("events[4].metric_sample.name: required")));
  EXPECT_THAT(check([](MetricSample& m) { m.name = "9lives"; }),
              StatusIs(kInvalid, ::testing::StartsWith(
                                     "events[4].metric_sample.name: \"9lives\" must match")));
  EXPECT_THAT(check([](MetricSample& m) { m.name = ":ok_name"; }), IsOk());
  EXPECT_THAT(check([](MetricSample& m) { m.name = "llm_calls_total"; }),
              StatusIs(kInvalid, Eq("events[4].metric_sample.name: \"llm_calls_total\" is a "
                                    "built-in metric")));
  EXPECT_THAT(check([](MetricSample& m) { m.value = std::nan(""); }),
              StatusIs(kInvalid, Eq("events[4].metric_sample.value: must be finite")));
  EXPECT_THAT(check([](MetricSample& m) { m.value = -std::numeric_limits<double>::infinity(); }),
              StatusIs(kInvalid, Eq("events[4].metric_sample.value: must be finite")));
}

TEST(ValidateBatchTest, QualityScore) {
  auto check = [](const std::function<void(QualityScore&)>& mutate) {
    return ValidateKind<QualityScore>(5, mutate);
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(check([](QualityScore& q) { q.name.clear(); }),
              StatusIs(kInvalid, Eq("events[5].quality_score.name: required")));
  EXPECT_THAT(check([](QualityScore& q) { q.value = std::nan(""); }),
              StatusIs(kInvalid, Eq("events[5].quality_score.value: must be finite")));
  EXPECT_THAT(check([](QualityScore& q) { q.value = 1.5; }), IsOk());
}

TEST(ValidateBatchTest, ReportsTheFirstBadEventInOrder) {
  Batch batch = ValidBatch();
  std::get<LlmCall>(batch.events[2].kind).model.clear();
  batch.events[4].tenant.clear();
  EXPECT_THAT(Validate(batch), StatusIs(absl::StatusCode::kInvalidArgument,
                                        Eq("events[2].llm_call.model: required")));
}

TEST(RejectReasonTest, Labels) {
  EXPECT_STREQ(RejectReasonLabel(RejectReason::kInvalid), "invalid");
  EXPECT_STREQ(RejectReasonLabel(RejectReason::kBatchTooLarge), "batch_too_large");
  EXPECT_STREQ(RejectReasonLabel(RejectReason::kTooManyLabels), "too_many_labels");
  EXPECT_STREQ(RejectReasonLabel(RejectReason::kSeriesLimit), "series_limit");
  EXPECT_STREQ(RejectReasonLabel(RejectReason::kStoreError), "store_error");
}

// A NUL anywhere in a text field is refused: first, last, alone, or the
// last of the most bytes allowed; the same bytes without it pass.
TEST(ValidationTest, ANulAnywhereInATextIsRefused) {
  std::string longest(256, 'v');
  longest.back() = '\0';
  for (const std::string& value :
       {std::string("\0", 1), std::string("\0ab", 3), std::string("ab\0", 3), longest}) {
    EXPECT_THAT(ValidateWith(0, [&](Event& e) { e.labels["env"] = value; }),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         Eq("events[0].labels[env]: must not contain NUL characters")));
    if (value.size() <= kMaxTenantBytes) {
      EXPECT_THAT(ValidateWith(0, [&](Event& e) { e.tenant = value; }),
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           Eq("events[0].tenant: must not contain NUL characters")));
    }
    std::string clean = value;
    std::replace(clean.begin(), clean.end(), '\0', 'x');
    EXPECT_THAT(ValidateWith(0, [&](Event& e) { e.labels["env"] = clean; }), IsOk());
  }
}

// Every built-in label name is reserved, and only the exact name: a name
// that one of them starts or ends, or that differs in length or case, is not.
TEST(ValidationTest, ExactlyTheBuiltInLabelNamesAreReserved) {
  for (const absl::string_view name :
       {kLabelTenant, kLabelWorkflow, kLabelTeam, kLabelStatus, kLabelAgent, kLabelProvider,
        kLabelModel, kLabelErrorType, kLabelComponent, kLabelPod, kLabelScore, kLabelMetric}) {
    EXPECT_TRUE(IsReservedLabelName(name)) << name;
    const std::string longer = absl::StrCat(name, "s");
    EXPECT_FALSE(IsReservedLabelName(longer)) << longer;
    EXPECT_FALSE(IsReservedLabelName(name.substr(0, name.size() - 1))) << name;
    std::string upper(name);
    upper[0] = static_cast<char>(upper[0] - 'a' + 'A');
    EXPECT_FALSE(IsReservedLabelName(upper)) << upper;
  }
  EXPECT_TRUE(IsReservedLabelName("__name__"));
  EXPECT_FALSE(IsReservedLabelName("env"));
  EXPECT_FALSE(IsReservedLabelName(""));
}

}  // namespace
}  // namespace agentwatch::monitor
