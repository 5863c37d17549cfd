// Opaque page tokens (AIP-158): a position plus a fingerprint of the request
// that produced it, so a token is rejected when any other request field
// changed. Stable across processes and replicas. Pure; Abseil only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentwatch::cost {

// Page sizes: 0 means kDefaultPageSize; larger than kMaxPageSize is clamped;
// negative is INVALID_ARGUMENT ("page_size").
inline constexpr int32_t kDefaultPageSize = 100;
inline constexpr int32_t kMaxPageSize = 1000;
absl::StatusOr<int32_t> EffectivePageSize(int32_t requested);

// 64-bit FNV-1a of `bytes`: a stable fingerprint (not a security measure).
uint64_t Fingerprint(absl::string_view bytes);

// Encodes `position` (any bytes, e.g. an offset or the last key) with the
// request fingerprint into a URL-safe token.
std::string EncodePageToken(uint64_t fingerprint, absl::string_view position);

// Decodes a token made by EncodePageToken for a request with `fingerprint`
// into its position. INVALID_ARGUMENT ("page_token: ...") when malformed or
// made for a different request.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t fingerprint);

// Packs key parts into a token position (length-prefixed, so any bytes are
// safe) and unpacks it; INVALID_ARGUMENT ("page_token") when the position
// does not hold exactly `parts` parts.
std::string PackPosition(const std::vector<std::string>& parts);
absl::StatusOr<std::vector<std::string>> UnpackPosition(absl::string_view position, size_t parts);

}  // namespace agentwatch::cost
