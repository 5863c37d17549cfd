// Incident ids. Generation is injected so that tests get predictable ids.
#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentwatch::incident {

// Makes ids for new incidents. Implementations are thread-safe and never
// repeat an id.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A new id for something created at `now`.
  virtual std::string NewId(absl::Time now) = 0;
};

// UUIDv7 (RFC 9562): 48 bits of Unix milliseconds then 74 random bits, so ids
// sort roughly by creation time and keep B-tree inserts local.
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewId(absl::Time now) override;

 private:
  absl::Mutex mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
};

// Formats the 16 bytes (hi, lo) as a UUID string, 8-4-4-4-12 lowercase hex.
std::string FormatUuid(uint64_t hi, uint64_t lo);

}  // namespace agentwatch::incident
