// Mapping between the capacity model's core types and their protobuf
// messages: resources (with defaults and update masks), recommendations and
// usage patterns.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "agentwatch/capacity/v1/capacity.pb.h"
#include "capacity/core/recommendation.h"
#include "capacity/core/resource.h"
#include "capacity/core/usage_patterns.h"

namespace agentwatch::capacity {

// The writable fields of `in` as a core Resource, defaults applied
// (alert_horizon unset: 1 day; alert_severity UNSPECIFIED: P2; headroom
// unset: 0.15). Read-only fields (id, create/update time) are ignored.
// INVALID_ARGUMENT naming the field under `prefix` (e.g. "resource.") for an
// unknown kind, matcher op or severity, or a malformed duration. Does not
// validate the values: see ValidateResource.
absl::StatusOr<Resource> ResourceFromProto(const v1::Resource& in, absl::string_view prefix);

// Applies the fields `paths` names from `patch` (converted by
// ResourceFromProto) to `target`; an empty `paths` replaces every writable
// field. INVALID_ARGUMENT ("update_mask: ...") for an unknown path or a
// read-only one (id, tenant, create_time, update_time).
absl::Status ApplyResourceMask(const Resource& patch, const std::vector<std::string>& paths,
                               Resource* target);

// `r` as a message.
void ResourceToProto(const Resource& r, v1::Resource* out);

// `r` as a message.
void RecommendationToProto(const Recommendation& r, v1::Recommendation* out);

// `p` as a message.
void UsagePatternsToProto(const UsagePatterns& p, v1::UsagePatterns* out);

// Timestamp helpers.
void SetProtoTime(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

}  // namespace agentwatch::capacity
