// Builders of agentwatch.monitor.v1 messages for the monitor's API tests.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "agentwatch/monitor/v1/monitor.pb.h"
#include "monitor/store/proto_time.h"

namespace agentwatch::monitor::fixtures {

inline v1::Event ProtoRun(const std::string& tenant, const std::string& workflow,
                          v1::RunStatus status, absl::Time time) {
  v1::Event event;
  event.set_tenant(tenant);
  ToProtoTimestamp(time, event.mutable_time());
  v1::WorkflowRun* run = event.mutable_workflow_run();
  run->set_workflow(workflow);
  run->set_run_id("run-1");
  run->set_team("search");
  run->set_status(status);
  run->mutable_duration()->set_seconds(2);
  run->set_step_count(3);
  return event;
}

inline v1::Event ProtoCall(const std::string& tenant, const std::string& model,
                           v1::RunStatus status, absl::Time time) {
  v1::Event event;
  event.set_tenant(tenant);
  ToProtoTimestamp(time, event.mutable_time());
  v1::LlmCall* call = event.mutable_llm_call();
  call->set_provider("openai");
  call->set_model(model);
  call->set_workflow("triage");
  call->set_run_id("run-1");
  call->set_agent("planner");
  call->set_team("search");
  call->mutable_latency()->set_nanos(800000000);
  call->set_input_tokens(1000);
  call->set_output_tokens(200);
  call->set_cached_input_tokens(300);
  call->set_cache_creation_tokens(100);
  call->set_status(status);
  return event;
}

}  // namespace agentwatch::monitor::fixtures
