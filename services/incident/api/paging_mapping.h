// Conversions between the paging messages of agentwatch.incident.v1
// (EscalationPolicy, Schedule, NotificationChannel) and core/paging.h, with
// the checks only the wire format needs (durations, timestamps, oneofs).
// INVALID_ARGUMENT names the field under the given prefix.
#pragma once

#include <google/protobuf/duration.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "incident/core/paging.h"

namespace agentwatch::incident {

// A Duration as absl::Duration. INVALID_ARGUMENT naming `field` for nanos out
// of range or signs that disagree.
absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& d,
                                                 absl::string_view field);
void DurationToProto(absl::Duration d, google::protobuf::Duration* out);

absl::StatusOr<EscalationPolicy> PolicyFromProto(const v1::EscalationPolicy& policy,
                                                 absl::string_view field);
absl::StatusOr<Schedule> ScheduleFromProto(const v1::Schedule& schedule, absl::string_view field);
// The channel with the defaults applied (webhook timeout 5 s, PagerDuty
// events URL, SMTP port 587).
absl::StatusOr<NotificationChannel> ChannelFromProto(const v1::NotificationChannel& channel,
                                                     absl::string_view field);

// The same defaults written into the message, so that what is stored and
// returned shows them.
void ApplyChannelDefaults(v1::NotificationChannel* channel);

void ShiftToProto(const OnCallShift& shift, v1::OnCallShift* out);

// The outbox payload of a notification (core WebhookBody) read back.
// INTERNAL for a payload this service did not write.
absl::StatusOr<NotificationEvent> ParseNotificationEvent(absl::string_view json);

}  // namespace agentwatch::incident
