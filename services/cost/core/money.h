// Exact money arithmetic for the cost service. Pure; Abseil only.
//
// Units:
// - Money is int64 nano-USD (1 USD = 1,000,000,000 nano-USD; about +-9.2e9 USD).
// - Token prices are int64 nano-USD per MILLION tokens (1e-15 USD per token),
//   so per-token prices finer than a nano-USD stay exact: 0.15 USD per million
//   tokens (1.5e-07 USD = 150 nano-USD per token) is 150,000,000, and 1.3e-10
//   USD per token (0.13 nano-USD) is 130,000 nano-USD per million tokens.
// - Infrastructure quantities are milli-units of the canonical unit and their
//   prices nano-USD per whole unit.
//
// Rounding is defined once, here: an amount is computed exactly in 128-bit
// integers and divided with RoundHalfAwayFromZero exactly once per record
// (never per token kind), so a record's cost is the exact value rounded to
// the nearest nano-USD, halves away from zero. Every total is then a plain
// integer sum of record costs, so totals add up across any breakdown.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentwatch::cost {

// Nano-USD in one USD.
inline constexpr int64_t kNanoUsdPerUsd = 1'000'000'000;
// Token prices are quoted per this many tokens.
inline constexpr int64_t kTokensPerPriceUnit = 1'000'000;
// Infrastructure quantities are in milli-units: this many per unit.
inline constexpr int64_t kMilliPerUnit = 1'000;

// Divides a non-negative exact amount by `divisor` (> 0), rounding half away
// from zero (for non-negative values: halves up). OUT_OF_RANGE when the
// quotient does not fit int64; INVALID_ARGUMENT when divisor <= 0.
absl::StatusOr<int64_t> RoundHalfAwayFromZero(unsigned __int128 amount, int64_t divisor);

// An exact running sum of int64 amounts (128-bit), for totals and batches.
class NanoSum {
 public:
  void Add(int64_t amount) { sum_ += amount; }
  // The sum; OUT_OF_RANGE when it does not fit int64.
  absl::StatusOr<int64_t> Value() const;

 private:
  __int128 sum_ = 0;
};

// Converts a decimal USD-per-token price as written in JSON ("1.5e-07",
// "0.000003", "2") to nano-USD per million tokens by exact decimal arithmetic
// (the value times 10^15), rounded half away from zero. INVALID_ARGUMENT for
// malformed text or a negative value; OUT_OF_RANGE when it does not fit int64.
absl::StatusOr<int64_t> UsdPerTokenTextToNanoPerMillion(absl::string_view text);

// The shortest decimal text that parses back to exactly `value` (what Python
// and JavaScript print for a JSON number), e.g. 1.5e-07 -> "1.5e-07". A JSON
// number that was written by such a serializer (LiteLLM's file is) is thus
// recovered digit for digit from its double. `value` must be finite.
std::string ShortestDecimal(double value);

// Formats nano-USD as USD with exactly 9 decimals: 1500000000 -> "1.500000000",
// -1 -> "-0.000000001".
std::string FormatUsd(int64_t nano_usd);

}  // namespace agentwatch::cost
