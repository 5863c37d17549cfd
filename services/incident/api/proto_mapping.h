// Conversions between the agentwatch.incident.v1 messages and the core types,
// with the checks only the wire format needs (timestamp ranges, regular
// expressions). INVALID_ARGUMENT names the field.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "incident/core/query.h"
#include "incident/core/silence.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// A Timestamp between 1970-01-01 and 9999-12-31 (UTC) as absl::Time.
// INVALID_ARGUMENT naming `field` outside that range or for bad nanos.
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts,
                                         absl::string_view field);

// `t` as a Timestamp.
void TimeToProto(absl::Time t, google::protobuf::Timestamp* ts);

// The report in `alert` (not yet validated by the core; only its timestamps
// are checked here). ends_at is read for resolved alerts only: firing alerts
// are identified without it (Alertmanager moves it on every resend).
absl::StatusOr<AlertReport> AlertFromProto(const v1::Alert& alert, absl::string_view field);

void IncidentToProto(const Incident& incident, v1::Incident* out);
void AlertToProto(const AlertState& alert, v1::Alert* out);
void TimelineEntryToProto(const TimelineEntry& entry, v1::TimelineEntry* out);

// The digest of a ListIncidents request's filters (page_size and page_token
// excluded), which a page token must match.
uint64_t FilterDigest(const v1::ListIncidentsRequest& request);

// The validated query of a ListIncidents request, its page token decoded.
// INVALID_ARGUMENT for an unknown status or severity, a bad matcher (name,
// operator, RE2 syntax), an empty or reversed range, a negative page size,
// or a page token that is malformed or from other filters.
absl::StatusOr<IncidentQuery> QueryFromProto(const v1::ListIncidentsRequest& request);

// The silence in `silence` as a client sends it, with starts_at defaulting to
// `now` (truncated to microseconds) and the recurrence days sorted and
// unique; only the wire format is checked here (timestamps), the rest by
// ValidateSilence. INVALID_ARGUMENT naming the field under `field`.
absl::StatusOr<Silence> SilenceFromProto(const v1::Silence& silence, absl::string_view field,
                                         absl::Time now);

// `silence` with its state at `now`.
void SilenceToProto(const Silence& silence, absl::Time now, v1::Silence* out);

// The digest of a ListSilences request's filters, which a page token must
// match.
uint64_t FilterDigest(const v1::ListSilencesRequest& request);

}  // namespace agentwatch::incident
