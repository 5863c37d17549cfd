// Builders of valid core events for the monitor's tests.
#pragma once

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor::fixtures {

// The fixed "now" of the tests: a whole minute.
inline absl::Time TestNow() { return absl::FromUnixSeconds(1'700'000'040); }

inline Event MakeEvent(EventKind kind, absl::Time time = TestNow(), std::string tenant = "acme") {
  Event event;
  event.time = time;
  event.tenant = std::move(tenant);
  event.kind = std::move(kind);
  return event;
}

inline WorkflowRun MakeRun(std::string workflow, RunStatus status,
                           absl::Duration duration = absl::Seconds(2)) {
  WorkflowRun run;
  run.workflow = std::move(workflow);
  run.run_id = "run-1";
  run.team = "search";
  run.status = status;
  run.duration = duration;
  run.step_count = 3;
  return run;
}

inline AgentExecution MakeExecution(std::string agent, RunStatus status, int retries = 0) {
  AgentExecution execution;
  execution.agent = std::move(agent);
  execution.workflow = "triage";
  execution.run_id = "run-1";
  execution.status = status;
  execution.duration = absl::Milliseconds(1500);
  execution.retries = retries;
  return execution;
}

inline LlmCall MakeCall(std::string model, RunStatus status = RunStatus::kSucceeded,
                        bool throttled = false) {
  LlmCall call;
  call.provider = "openai";
  call.model = std::move(model);
  call.workflow = "triage";
  call.run_id = "run-1";
  call.agent = "planner";
  call.team = "search";
  call.latency = absl::Milliseconds(800);
  call.time_to_first_token = absl::Milliseconds(200);
  call.input_tokens = 1000;
  call.output_tokens = 200;
  call.cached_input_tokens = 300;
  call.cache_creation_tokens = 100;
  call.status = status;
  call.throttled = throttled;
  return call;
}

}  // namespace agentwatch::monitor::fixtures
