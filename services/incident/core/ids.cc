#include "incident/core/ids.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace agentwatch::incident {

std::string FormatUuid(uint64_t hi, uint64_t lo) {
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

std::string RandomIdGenerator::NewId(absl::Time now) {
  const uint64_t millis =
      static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now))) & 0xffffffffffffULL;
  uint64_t rand_a;
  uint64_t rand_b;
  {
    absl::MutexLock lock(&mu_);
    rand_a = absl::Uniform<uint64_t>(gen_);
    rand_b = absl::Uniform<uint64_t>(gen_);
  }
  // Version 7 in the top nibble of the third group, variant 10 in the fourth.
  const uint64_t hi = (millis << 16) | 0x7000 | (rand_a & 0x0fff);
  const uint64_t lo = (rand_b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return FormatUuid(hi, lo);
}

}  // namespace agentwatch::incident
