// Automated response rules: when a firing alert joins an incident (opening it
// or not) and matches a rule's condition, the rule's actions run in order
// (call a webhook, attach a capacity recommendation, notify channels,
// escalate now, add a note), at most once per cooldown for one incident and
// at most max_per_hour times per rolling hour across incidents. Pure values
// and rules: no I/O, no proto types; the clock is an argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/query.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Cooldown of a rule that sets none.
inline constexpr absl::Duration kDefaultResponseCooldown = absl::Minutes(10);
// Longest cooldown accepted (a week).
inline constexpr absl::Duration kMaxResponseCooldown = absl::Hours(24 * 7);
// Timeout of a webhook action that sets none, and the longest accepted.
inline constexpr absl::Duration kDefaultResponseWebhookTimeout = absl::Seconds(10);
inline constexpr absl::Duration kMaxResponseWebhookTimeout = absl::Seconds(60);
// Limits on a rule's size.
inline constexpr size_t kMaxResponseActions = 16;
inline constexpr size_t kMaxResponseMatchers = 32;
inline constexpr size_t kMaxResponseNames = 64;
inline constexpr size_t kMaxNotifyChannels = 16;
inline constexpr size_t kMaxResponseHeaders = 16;
inline constexpr int32_t kMaxResponsePerHour = 10000;
// The window max_per_hour counts executions in.
inline constexpr absl::Duration kResponseCapWindow = absl::Hours(1);

// Timeline kinds written by response rules: one "response_rule" entry per
// execution (started, finished, or skipped by cooldown/hourly cap) and one
// "response_action" entry per action result (add_note writes a "note").
namespace timeline_kind {
inline constexpr absl::string_view kResponseRule = "response_rule";
inline constexpr absl::string_view kResponseAction = "response_action";
}  // namespace timeline_kind

// When a rule runs; every set part must match (empty parts match anything).
struct ResponseCondition {
  std::vector<std::string> alert_names;
  std::vector<LabelMatcher> matchers;  // on the alert labels (with alertname)
  std::vector<Severity> severities;
};

// Kinds of actions (wire values of the ResponseAction oneof cases).
enum class ResponseActionKind : int {
  kUnspecified = 0,
  kWebhook = 1,
  kCapacityRecommendation = 2,
  kNotify = 3,
  kEscalate = 4,
  kAddNote = 5,
};

// "webhook", "capacity_recommendation", "notify", "escalate", "add_note".
const char* ResponseActionName(ResponseActionKind kind);

// One action; the fields its kind uses are set.
struct ResponseAction {
  ResponseActionKind kind = ResponseActionKind::kUnspecified;
  // kWebhook
  std::string url;
  std::string hmac_secret_ref;  // "" sends unsigned requests
  Labels headers;
  absl::Duration timeout = kDefaultResponseWebhookTimeout;
  // kCapacityRecommendation: "" derives a scope from the alert labels.
  std::string resource_id;
  // kNotify
  std::vector<std::string> channel_ids;
  // kAddNote: a template (RenderNoteTemplate).
  std::string text;
  // A failure of this action does not stop the following ones.
  bool continue_on_error = false;
};

// A response rule.
struct ResponseRule {
  std::string id;
  std::string name;
  std::string tenant;
  ResponseCondition condition;
  std::vector<ResponseAction> actions;
  absl::Duration cooldown = kDefaultResponseCooldown;  // per incident
  int32_t max_per_hour = 0;                            // 0: no limit
  bool disabled = false;
};

// Checks a rule: name and tenant (required), condition (names, matchers with
// valid regular expressions, known severities), 1..kMaxResponseActions
// actions each valid for its kind (http(s) URL, secret reference, timeout
// in (0, 60s], 1..16 channel ids, note text 1 byte..64 KiB), cooldown in
// [0, 7 days], max_per_hour in [0, 10000]. INVALID_ARGUMENT naming the field
// under `field` ("rule.actions[1].webhook.url: ...").
absl::Status ValidateResponseRule(const ResponseRule& rule, absl::string_view field);

// The alert a rule is evaluated against.
struct ResponseSubject {
  std::string fingerprint;
  std::string name;
  Severity severity = Severity::kP2;
  Labels labels;
};

// Whether `condition` selects `alert`: its name among alert_names (when
// set), its severity among severities (when set) and every matcher matching
// its labels plus alertname (an absent label equals "").
bool ConditionMatches(const ResponseCondition& condition, const ResponseSubject& alert);

// What the store knows about a rule's past executions when deciding a new
// one: the last execution for the same incident, and the start times of the
// rule's executions within the cap window before `now` (any order).
struct ExecutionHistory {
  std::optional<absl::Time> last_for_incident;
  std::vector<absl::Time> recent;
};

// The decision about one matching (rule, alert) pair.
enum class ExecutionDecision : int {
  kRun = 1,
  kCooldown = 2,   // the incident ran the rule less than `cooldown` ago
  kHourlyCap = 3,  // max_per_hour executions started in the last hour
};

// "run", "cooldown", "hourly_cap".
const char* DecisionName(ExecutionDecision decision);

// Decides at `now`: kCooldown while now < last_for_incident + cooldown (a
// zero cooldown never holds back); else kHourlyCap when max_per_hour > 0 and
// at least max_per_hour executions started in (now - 1 h, now]; else kRun.
ExecutionDecision DecideExecution(const ResponseRule& rule, const ExecutionHistory& history,
                                  absl::Time now);

// When the rule may run again for the incident after a kCooldown or
// kHourlyCap decision at `now` (the first instant the decision turns).
absl::Time NextAllowed(const ResponseRule& rule, const ExecutionHistory& history, absl::Time now);

// The actor of every timeline entry of a rule: "response_rule:<id>".
std::string ResponseActor(absl::string_view rule_id);

// The "response_rule" timeline entry recording a claim at `now` on
// (`tenant`, `incident_id`): the execution started (kRun) or why it was
// skipped and when the rule may run again (`next_allowed`).
TimelineEntry ClaimEntry(const ResponseRule& rule, absl::string_view tenant,
                         absl::string_view incident_id, const ResponseSubject& alert,
                         ExecutionDecision decision, absl::string_view execution_id, absl::Time now,
                         absl::Time next_allowed);

// Substitutes `{{alert.name}}`, `{{alert.fingerprint}}`, `{{alert.severity}}`,
// `{{alert.labels.X}}` (empty when absent) and `{{incident.id}}` in `text`;
// other `{{...}}` stay as written.
std::string RenderNoteTemplate(absl::string_view text, const ResponseSubject& alert,
                               absl::string_view incident_id);

// The id of the execution of `rule_id` triggered by timeline entry
// `trigger_key` of a tenant: the same on every replica, so that a trigger
// processed twice claims one execution.
std::string ExecutionId(absl::string_view tenant, absl::string_view rule_id,
                        absl::string_view trigger_key);

// The idempotency key of action `index` of an execution, sent with the
// webhook call and used for notifications.
std::string ActionIdempotencyKey(absl::string_view execution_id, int index);

// What a webhook action POSTs.
struct ResponseWebhookEvent {
  std::string idempotency_key;
  std::string tenant;
  std::string rule_id;
  std::string rule_name;
  std::string execution_id;
  int action_index = 0;
  std::string incident_id;
  std::string incident_title;
  Severity incident_severity = Severity::kP2;
  IncidentStatus incident_status = IncidentStatus::kTriggered;
  ResponseSubject alert;
  absl::Time time = absl::UnixEpoch();
};

// The JSON body (UTF-8, compact): {"event":"response_action",
// "idempotency_key", "tenant", "rule":{"id","name"}, "execution_id",
// "action_index", "incident":{"id","title","severity","status"},
// "alert":{"fingerprint","name","severity","labels":{...}}, "time"}.
std::string ResponseWebhookBody(const ResponseWebhookEvent& event);

}  // namespace agentwatch::incident
