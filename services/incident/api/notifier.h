// Notification delivery: sends one NotificationEvent through a channel
// (generic webhook with an HMAC-SHA256 signature, Slack incoming webhook,
// PagerDuty Events v2, email over SMTP, all through libcurl), and the outbox
// handler that delivers queued pages at least once and, thanks to the
// delivery record kept per idempotency key, never twice from a retried batch
// or another replica.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/outbox.h"
#include "incident/core/paging.h"
#include "incident/store/incident_store.h"

namespace agentwatch::incident {

// The header carrying the signature of a webhook body: "sha256=<hex>".
inline constexpr absl::string_view kSignatureHeader = "X-Agentwatch-Signature";
// The header carrying the notification's idempotency key.
inline constexpr absl::string_view kIdempotencyHeader = "Idempotency-Key";

// Lower-case hex HMAC-SHA256 of `body` under `key`.
std::string HmacSha256Hex(absl::string_view key, absl::string_view body);

// The value of a secret reference: "env:NAME" (the variable must be set) or
// "file:/path" (its content without trailing newlines). FAILED_PRECONDITION
// when it cannot be read.
absl::StatusOr<std::string> ResolveSecret(absl::string_view ref);

// The outcome of one send attempt.
struct SendResult {
  // OK when the receiver accepted it; UNAVAILABLE for a failure worth
  // retrying (network, 5xx, 408, 429); FAILED_PRECONDITION for one that will
  // not get better (other 4xx, an unreadable secret, SMTP rejection 5xx).
  absl::Status status;
  std::string detail;  // the receiver's answer or the error, for humans
};

// Thread-safe.
class Notifier {
 public:
  // `store` records deliveries; both must outlive the notifier.
  Notifier(IncidentStore& store, const common::Clock& clock);

  // Sends `event` through `channel` now, synchronously.
  SendResult Send(const NotificationChannel& channel, const NotificationEvent& event);

  // The outbox handler for kNotifyDestination: for each entry not delivered
  // before, loads its channel and sends; records the delivery (a "notified"
  // timeline entry) or a permanent failure ("notification_failed"), and for
  // a retryable failure adds a "notification_failed" entry on the first
  // attempt and returns the error so that the outbox retries. A deleted or
  // disabled channel is recorded as skipped.
  absl::Status Deliver(const std::vector<common::OutboxEntry>& entries);

 private:
  SendResult SendHttp(const std::string& url, const std::vector<std::string>& headers,
                      const std::string& body, absl::Duration timeout);
  SendResult SendEmail(const NotificationChannel& channel, const NotificationEvent& event);

  IncidentStore& store_;
  const common::Clock& clock_;
};

}  // namespace agentwatch::incident
