// Paging as pure rules: escalation policies (ordered tiers of targets with
// delays, repeated N times, an acknowledgement timeout), on-call schedules
// (rotations with restrictions, overrides) and notification channels
// (webhook, Slack, PagerDuty Events v2, email), and the escalation step that
// decides, from an incident and its escalation state, which tier pages when.
// No I/O: stores persist these values and the escalation engine
// (api/escalation_engine.h) runs the steps.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/query.h"
#include "incident/core/silence.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Limits of the paging configuration.
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxDescriptionBytes = size_t{16} * 1024;
inline constexpr size_t kMaxTiers = 20;
inline constexpr size_t kMaxTargetsPerTier = 50;
inline constexpr int kMaxRepeatCount = 20;
inline constexpr size_t kMaxRotations = 20;
inline constexpr size_t kMaxParticipants = 200;
inline constexpr size_t kMaxOverrides = 1000;
inline constexpr size_t kMaxRecipients = 50;
inline constexpr size_t kMaxHeaders = 32;
// The longest GetOnCall range.
inline constexpr absl::Duration kMaxOnCallRange = absl::Hours(24 * 31);
// A chain repeats after waiting as long as its longest tier delay, but never
// sooner than this, so a one-tier policy with no delay does not page in a
// burst.
inline constexpr absl::Duration kMinRepeatDelay = absl::Minutes(1);

// Timeline entry kinds written by paging.
namespace timeline_kind {
inline constexpr absl::string_view kEscalated = "escalated";
inline constexpr absl::string_view kNotified = "notified";
inline constexpr absl::string_view kNotificationFailed = "notification_failed";
}  // namespace timeline_kind

// The actor of escalation steps on the timeline.
inline constexpr absl::string_view kEscalationActor = "escalation";

// Who a tier notifies (exactly one of person, schedule, channel).
struct EscalationTarget {
  enum class Kind : int { kUnspecified = 0, kPerson = 1, kSchedule = 2, kChannel = 3 };
  Kind kind = Kind::kUnspecified;
  std::string value;  // person handle, schedule id or channel id
};

struct EscalationTier {
  // After the trigger (tier 0) or after the previous tier paged.
  absl::Duration delay = absl::ZeroDuration();
  std::vector<EscalationTarget> targets;
};

struct EscalationPolicy {
  std::string id;
  std::string name;
  std::string tenant;
  std::string description;
  std::vector<LabelMatcher> matchers;  // all must match the incident labels
  int32_t priority = 0;                // lowest wins among matching policies
  std::vector<EscalationTier> tiers;
  int32_t repeat_count = 0;                           // extra passes over the chain
  std::optional<absl::Duration> acknowledge_timeout;  // unset: never
};

// The id of the built-in default policy (used when no policy matches).
inline constexpr absl::string_view kDefaultPolicyId = "default";

// The default chain for `tenant`: person "oncall" at once, person
// "team-lead" 15 minutes later, person "engineering-manager" 30 minutes
// after the trigger; no repeat, no acknowledgement timeout. A tenant routes
// these roles by giving channels those person handles.
EscalationPolicy DefaultEscalationPolicy(absl::string_view tenant);

// Checks a policy as a client sends it: tenant, name, matchers (RE2),
// 1..kMaxTiers tiers with non-negative delays and 1..kMaxTargetsPerTier
// targets each (kind set, value non-empty), repeat_count in
// [0, kMaxRepeatCount], a positive acknowledge_timeout when set.
// INVALID_ARGUMENT naming the field under `field` ("policy.tiers[1].delay").
absl::Status ValidateEscalationPolicy(const EscalationPolicy& policy, absl::string_view field);

// The policy for an incident with `labels`: the matching one with the lowest
// priority (then the smallest id), or DefaultEscalationPolicy(tenant) when
// none matches. Every policy must belong to `tenant`.
EscalationPolicy SelectPolicy(const std::vector<EscalationPolicy>& policies,
                              absl::string_view tenant, const Labels& labels);

// How long a chain waits after its last tier before it repeats: its longest
// tier delay, at least kMinRepeatDelay.
absl::Duration RepeatDelay(const EscalationPolicy& policy);

// ---------------------------------------------------------------------------
// On-call schedules

struct Rotation {
  std::string name;
  std::vector<std::string> participants;  // turn order
  absl::Time start_time = absl::UnixEpoch();
  absl::Duration shift_length = absl::Hours(24 * 7);
  std::vector<WeeklyWindow> restrictions;  // empty: always on call
};

struct ScheduleOverride {
  std::string id;
  std::string person;
  absl::Time start = absl::UnixEpoch();
  absl::Time end = absl::UnixEpoch();
};

// Later rotations win over earlier ones where both are on call; overrides
// win over rotations (the later override in the list when they overlap).
struct Schedule {
  std::string id;
  std::string name;
  std::string tenant;
  std::string time_zone;  // IANA; empty means UTC
  std::vector<Rotation> rotations;
  std::vector<ScheduleOverride> overrides;
};

// Checks a schedule: tenant, name, a known time zone, 1..kMaxRotations
// rotations each with 1..kMaxParticipants non-empty participants and a shift
// of at least 1 hour, valid restriction windows; overrides with a person and
// end after start. INVALID_ARGUMENT naming the field under `field`.
absl::Status ValidateSchedule(const Schedule& schedule, absl::string_view field);

// One stretch of on-call duty.
struct OnCallShift {
  std::string person;
  std::string rotation;  // rotation name, or "override"
  absl::Time start = absl::UnixEpoch();
  absl::Time end = absl::UnixEpoch();
  bool is_override = false;

  friend bool operator==(const OnCallShift& a, const OnCallShift& b);
};

// Who is on call at `at`: the override covering it, else the latest rotation
// on call then (started, inside its restrictions), as the shift containing
// `at` (a rotation shift runs between handoffs; restrictions do not cut it).
// Empty when nobody is.
std::optional<OnCallShift> OnCallAt(const Schedule& schedule, absl::Time at);

// OK when [start, end) is a range ShiftsBetween takes: INVALID_ARGUMENT
// naming range.end when end <= start, range when it exceeds kMaxOnCallRange.
absl::Status ValidateOnCallRange(absl::Time start, absl::Time end);

// The effective on-call shifts over [start, end), in time order, clipped to
// the range, adjacent stretches of the same person and rotation merged and
// restriction windows honoured; gaps with nobody on call are left out.
// INVALID_ARGUMENT when end <= start or the range exceeds kMaxOnCallRange.
absl::StatusOr<std::vector<OnCallShift>> ShiftsBetween(const Schedule& schedule, absl::Time start,
                                                       absl::Time end);

// ---------------------------------------------------------------------------
// Notification channels

enum class ChannelKind : int {
  kUnspecified = 0,
  kWebhook = 1,
  kSlack = 2,
  kPagerDuty = 3,
  kEmail = 4
};

struct NotificationChannel {
  std::string id;
  std::string name;
  std::string tenant;
  std::string person;  // owner handle for person targets; "" for shared
  ChannelKind kind = ChannelKind::kUnspecified;
  // kWebhook: url (required), hmac_secret_ref, headers, timeout.
  // kSlack: secret_ref = webhook URL reference (required), slack_channel.
  // kPagerDuty: secret_ref = routing key reference (required), url = events
  //   endpoint (default kPagerDutyEventsUrl).
  // kEmail: smtp_host, smtp_port, starttls, username, secret_ref = password
  //   reference, from_address, to_addresses.
  std::string url;
  std::string secret_ref;
  std::map<std::string, std::string> headers;
  absl::Duration timeout = absl::Seconds(5);
  std::string slack_channel;
  std::string smtp_host;
  int32_t smtp_port = 587;
  bool starttls = false;
  std::string username;
  std::string from_address;
  std::vector<std::string> to_addresses;
  Severity min_severity = Severity::kUnspecified;  // unspecified: all
  bool disabled = false;
};

inline constexpr absl::string_view kPagerDutyEventsUrl = "https://events.pagerduty.com/v2/enqueue";

// A secret reference: "env:NAME" or "file:/absolute/path".
bool IsValidSecretRef(absl::string_view ref);

// Checks a channel: tenant, name, the kind's required settings (http(s)
// URLs, secret references, SMTP host, port 1..65535, addresses with '@',
// 1..kMaxRecipients recipients), a positive timeout, a valid min_severity.
// INVALID_ARGUMENT naming the field under `field`.
absl::Status ValidateChannel(const NotificationChannel& channel, absl::string_view field);

// Whether a channel takes notifications about an incident of `severity`
// (enabled, and the incident at least as severe as min_severity).
bool ChannelAccepts(const NotificationChannel& channel, Severity severity);

// What one notification says.
struct NotificationEvent {
  std::string tenant;
  std::string incident_id;
  std::string title;
  Severity severity = Severity::kP2;
  IncidentStatus status = IncidentStatus::kTriggered;
  std::string event;   // "triggered", "escalated", "test"
  int32_t tier = 0;    // policy tier (0-based)
  int32_t cycle = 0;   // pass over the chain (0 = first)
  std::string person;  // the paged person ("" for a channel target)
  std::string channel_id;
  std::string idempotency_key;
  absl::Time time = absl::UnixEpoch();
};

// The idempotency key of the page of `channel_id` for an incident's
// escalation `epoch` (restarts), `cycle` and `tier`.
std::string PageKey(absl::string_view incident_id, int epoch, int cycle, int tier,
                    absl::string_view channel_id);

// JSON renderings (UTF-8, compact).
// The generic webhook body: {"idempotency_key", "event", "tenant",
// "incident": {"id", "title", "severity", "status"}, "tier", "cycle",
// "person", "channel_id", "time"}.
std::string WebhookBody(const NotificationEvent& event);
// A Slack incoming-webhook message: {"text", ["channel"]}.
std::string SlackBody(const NotificationEvent& event, absl::string_view slack_channel);
// A PagerDuty Events v2 trigger: {"routing_key", "event_action":"trigger",
// "dedup_key": incident id, "payload": {"summary", "source":"agentwatch",
// "severity", "custom_details"}}.
std::string PagerDutyBody(const NotificationEvent& event, absl::string_view routing_key);
// The email subject and plain-text body.
std::string EmailSubject(const NotificationEvent& event);
std::string EmailText(const NotificationEvent& event);
// A complete RFC 5322 message (CRLF line ends, dot-safe body lines are left
// to the SMTP client) with Message-ID derived from the idempotency key.
std::string EmailMessage(const NotificationEvent& event, const NotificationChannel& channel);

// JSON string literal of `text` (quotes included).
std::string JsonString(absl::string_view text);

// ---------------------------------------------------------------------------
// Escalation

// The escalation state of one incident, kept by the store.
struct EscalationState {
  std::string policy_id;
  int32_t epoch = 0;                          // bumped on every restart (reopen, ack timeout)
  int32_t tier = -1;                          // tier paged last; -1 before the first
  int32_t cycle = 0;                          // pass over the chain
  absl::Time started_at = absl::UnixEpoch();  // trigger time of this epoch
  std::optional<absl::Time> last_page_at;

  friend bool operator==(const EscalationState& a, const EscalationState& b);
};

// What the next escalation step does.
enum class EscalationAction : int { kPage = 1, kAcknowledgeTimeout = 2 };

struct EscalationStep {
  EscalationAction action = EscalationAction::kPage;
  int32_t tier = 0;   // kPage: the tier to page
  int32_t cycle = 0;  // kPage: the pass it belongs to
  absl::Time due = absl::UnixEpoch();
};

// The state an incident escalates with: `current` when it has one and the
// incident did not restart (a reopen resets incident.escalation_tier to -1
// while the state has paged); otherwise a fresh state on `policy` — epoch 0
// starting at create_time for a new incident, the next epoch starting at
// `now` for a restart.
EscalationState EffectiveState(const Incident& incident,
                               const std::optional<EscalationState>& current,
                               const EscalationPolicy& policy, absl::Time now);

// The next step for `incident` in `state` under `policy`, whenever due:
// - TRIGGERED: tier 0 at started_at + tiers[0].delay (for epoch 0 not before
//   create_time + group_wait); tier k+1 at last_page_at + tiers[k+1].delay;
//   after the last tier, tier 0 of the next cycle at last_page_at +
//   RepeatDelay while cycle < repeat_count; then nothing.
// - ACKNOWLEDGED with an acknowledge_timeout: kAcknowledgeTimeout at
//   acknowledge_time + timeout.
// - otherwise nothing.
std::optional<EscalationStep> NextEscalation(const Incident& incident, const EscalationState& state,
                                             const EscalationPolicy& policy,
                                             absl::Duration group_wait);

// The result of an acknowledgement timeout at `now`: the incident back in
// TRIGGERED with escalation_tier -1, a restarted state (next epoch, started
// at `now`) and an "escalated" entry by kEscalationActor.
struct AcknowledgeTimeoutChange {
  Incident incident;
  EscalationState state;
  TimelineEntry entry;
};
AcknowledgeTimeoutChange AcknowledgeTimedOut(const Incident& incident, const EscalationState& state,
                                             absl::Time now);

}  // namespace agentwatch::incident
