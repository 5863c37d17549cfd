// Usage records and how one is priced from the catalog. Pure; Abseil only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cost/core/price.h"
#include "cost/core/scope.h"

namespace agentwatch::cost {

// What a record measures.
enum class UsageKind {
  kOutcome,  // only a run outcome (run_succeeded), no usage
  kLlm,      // LLM tokens
  kInfra,    // infrastructure usage
};

// Stable names of the kinds, as stored: "outcome", "llm", "infra".
absl::string_view UsageKindName(UsageKind kind);
bool ParseUsageKind(absl::string_view name, UsageKind* kind);

// Infrastructure resources; each has a canonical unit.
enum class InfraResource {
  kComputeSeconds,    // "vcpu_seconds"
  kMemoryGibHours,    // "gib_hours"
  kStorageGibHours,   // "gib_hours"
  kExternalApiCalls,  // "calls"
};

// Price-key names: "compute_seconds", "memory_gib_hours", "storage_gib_hours",
// "external_api_calls".
absl::string_view InfraResourceName(InfraResource resource);
bool ParseInfraResource(absl::string_view name, InfraResource* resource);
// The canonical unit: "vcpu_seconds", "gib_hours" or "calls".
absl::string_view InfraResourceUnit(InfraResource resource);

// At most this many records per RecordUsage batch.
inline constexpr int kMaxRecordsPerBatch = 10'000;
// At most this many bytes in a record id.
inline constexpr size_t kMaxRecordIdBytes = 256;

// One usage record. For kLlm, scope.provider and scope.model are the priced
// provider and model.
struct UsageRecord {
  std::string record_id;
  absl::Time time;
  Scope scope;
  std::string run_id;
  std::optional<bool> run_succeeded;
  UsageKind kind = UsageKind::kOutcome;
  // kLlm only.
  LlmTokens tokens;
  int64_t requests = 0;  // calls covered; 1 when the client sends 0
  // kInfra only.
  InfraResource infra_resource = InfraResource::kComputeSeconds;
  int64_t infra_quantity_milli = 0;
  std::string infra_sku;
  // Client-supplied cost, overriding the computed one.
  std::optional<int64_t> client_cost_nano_usd;
};

// Checks a record (after the API filled scope.provider/model from the LLM
// usage): record_id 1..256 bytes, scope (tenant required), LLM provider and
// model set, tokens valid, requests >= 0, infra quantity >= 0, client cost >=
// 0, run_id set when run_succeeded is, a kind or a run outcome.
// INVALID_ARGUMENT naming `prefix`.<field>, e.g. "records[3].llm.model".
absl::Status ValidateUsageRecord(const UsageRecord& record, absl::string_view prefix);

// The price applied to a record (what PriceRecord decides).
struct UsagePricing {
  int64_t cost_nano_usd = 0;
  // False when no price was found (cost 0): unknown model or unpriced infra.
  bool priced = false;
  // True when the client's cost was used.
  bool client_priced = false;
  // The catalog version applied, when one was.
  std::optional<std::string> price_tenant;
  std::optional<absl::Time> price_effective_time;
};

// A record with its price applied: what the ledger stores.
struct PricedUsage : UsagePricing {
  UsageRecord record;
};

// A (provider, model) key of the catalog.
using PriceKey = std::pair<std::string, std::string>;

// The catalog keys a record may be priced with, most specific first: for LLM
// (provider, CanonicalModel(provider, model)); for infrastructure
// ("infra", "<resource>/<sku>") when a sku is set, then ("infra",
// "<resource>"). None for outcome records and client-priced records.
std::vector<PriceKey> PriceKeysFor(const UsageRecord& record);

// Price versions by catalog key, loaded for a batch.
class PriceBook {
 public:
  void Add(PriceVersion version);
  // The version in effect for `tenant` at `at` (SelectPriceVersion), or nullptr.
  const PriceVersion* Find(const PriceKey& key, absl::string_view tenant, absl::Time at) const;

 private:
  std::map<PriceKey, std::vector<PriceVersion>> versions_;
};

// Prices a validated record: the client's cost when given; else the first of
// PriceKeysFor(record) with a version in effect at record.time (tenant
// override before global); else unpriced with cost 0. Outcome records cost 0
// and count as priced. OUT_OF_RANGE naming `prefix` when the cost overflows.
absl::StatusOr<PricedUsage> PriceUsage(const UsageRecord& record, const PriceBook& book,
                                       absl::string_view prefix);

// The pricing PriceUsage gives `record`, without copying the record, from
// `keys` == PriceKeysFor(record) (which callers pricing many records reuse
// across records of the same provider and model). OUT_OF_RANGE naming
// `prefix` when the cost overflows.
absl::StatusOr<UsagePricing> PriceRecord(const UsageRecord& record,
                                         const std::vector<PriceKey>& keys, const PriceBook& book,
                                         absl::string_view prefix);

}  // namespace agentwatch::cost
