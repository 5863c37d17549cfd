// Stable hashing for identities that must not change between processes,
// replicas or releases (series keys, alert fingerprints, cache keys):
// SHA-256, unlike absl::Hash, which is seeded per process.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace agentwatch::monitor {

// The SHA-256 digest of `data` (FIPS 180-4).
std::array<uint8_t, 32> Sha256(absl::string_view data);

// The SHA-256 digest of `data` in lowercase hex (64 characters).
std::string Sha256Hex(absl::string_view data);

// A 128-bit stable hash of `parts` in lowercase hex (32 characters): the
// first half of the SHA-256 of the parts, each length-prefixed, so that
// ("ab", "c") and ("a", "bc") differ.
std::string StableHash(std::initializer_list<absl::string_view> parts);

}  // namespace agentwatch::monitor
