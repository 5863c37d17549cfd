// The response engine: a background worker (one per replica) that evaluates
// the response rules of every firing alert that joined an incident and runs
// the actions of the executions it claims.
//
// Exactly once across replicas: triggers are leased (SKIP LOCKED), a claim is
// serialized per rule and unique per (rule, trigger) (ResponseStore), and an
// execution's actions run under a lease token, each result recorded with the
// step that moves the execution on. A runner that dies mid-action leaves its
// lease to expire; the next runner repeats that action only, so a webhook is
// called at least once, with the same Idempotency-Key header
// ("response/<execution id>/<action index>") every time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "incident/api/notifier.h"
#include "incident/core/response_rules.h"
#include "incident/store/incident_store.h"
#include "incident/store/response_store.h"

namespace grpc {
class Channel;
}

namespace agentwatch::incident {

// A capacity recommendation, ready for the timeline.
struct CapacityAdvice {
  std::string text;  // one line per recommendation
  Labels details;    // "recommendations": count, "rec<i>": compact summaries
};

// Asks the capacity service for recommendations. Thread-safe.
class CapacityAdvisor {
 public:
  virtual ~CapacityAdvisor() = default;
  // Recommendations for `resource_id`, or (when empty) for the scope the
  // alert labels give (tenant, service, model, provider, team). The peer's
  // error (UNAVAILABLE when it is down, DEADLINE_EXCEEDED after `timeout`).
  virtual absl::StatusOr<CapacityAdvice> Recommend(absl::string_view tenant,
                                                   absl::string_view resource_id,
                                                   const ResponseSubject& alert,
                                                   absl::Duration timeout) = 0;
};

// CapacityAdvisor over gRPC (capacity.v1.CapacityService.GetRecommendations).
std::unique_ptr<CapacityAdvisor> MakeGrpcCapacityAdvisor(std::shared_ptr<grpc::Channel> channel);

// Sends one HTTP POST; the outcome as Notifier classifies it (OK, UNAVAILABLE
// retryable, FAILED_PRECONDITION permanent).
using HttpPoster =
    std::function<SendResult(const std::string& url, const std::vector<std::string>& headers,
                             const std::string& body, absl::Duration timeout)>;

// The libcurl poster.
SendResult CurlPost(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, absl::Duration timeout);

struct ResponseEngineOptions {
  absl::Duration interval = absl::Milliseconds(500);  // scan period
  absl::Duration lease = absl::Seconds(90);           // longer than any action
  int trigger_batch = 200;
  int max_attempts = 3;  // of one action failing with a retryable error
  absl::Duration retry_delay = absl::Seconds(5);
  absl::Duration capacity_timeout = absl::Seconds(5);
};

class ResponseEngine {
 public:
  // Dependencies must outlive the engine. `notifier` sends notify actions
  // (without one they fail); `capacity` answers capacity actions (without
  // one they fail); `on_paged` runs after an escalate action.
  ResponseEngine(IncidentStore& incidents, ResponseStore& store, const common::Clock& clock,
                 Notifier* notifier, CapacityAdvisor* capacity, HttpPoster post,
                 ResponseEngineOptions options = {});
  ~ResponseEngine();
  ResponseEngine(const ResponseEngine&) = delete;
  ResponseEngine& operator=(const ResponseEngine&) = delete;

  // Starts the worker thread; Stop() ends it and waits. Start once.
  void Start();
  void Stop();

  // Evaluates the queued triggers at clock.Now(): claims executions.
  // Returns the number of executions created. UNAVAILABLE.
  absl::StatusOr<int> EvaluateOnce();

  // Runs pending executions at clock.Now() until none is left to lease.
  // Returns the number of actions run. UNAVAILABLE.
  absl::StatusOr<int> RunOnce();

 private:
  struct Result {
    bool ok = true;
    bool retry = false;  // a retryable failure (attempts remain)
    std::string text;
    Labels details;
    std::vector<TimelineEntry> extra;  // replaces the result entry when set (add_note)
  };

  absl::StatusOr<std::vector<std::pair<ResponseRule, std::string>>> LoadRules(
      const std::string& tenant);
  Result Run(const Execution& execution, const ResponseRule& rule, int index,
             const Incident& incident, absl::Time now);
  Result RunWebhook(const Execution& execution, const ResponseRule& rule, int index,
                    const Incident& incident, absl::Time now);
  Result RunCapacity(const Execution& execution, const ResponseAction& action);
  Result RunNotify(const Execution& execution, const ResponseRule& rule, int index,
                   const Incident& incident, absl::Time now);
  Result RunEscalate(const Execution& execution, absl::Time now);
  absl::Status RunExecution(const Execution& execution, int* actions);
  void Loop();

  IncidentStore& incidents_;
  ResponseStore& store_;
  const common::Clock& clock_;
  Notifier* const notifier_;
  CapacityAdvisor* const capacity_;
  const HttpPoster post_;
  const ResponseEngineOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agentwatch::incident
