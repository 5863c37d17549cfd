// Where forecast runs are recorded: every forecast computed, with its
// request, chosen model, backtest scores and the full response.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "capacity/core/selector.h"

namespace agentwatch::capacity {

// One forecast run.
struct ForecastRun {
  // Tenant the forecast is for; empty for "every tenant the caller may see".
  std::string tenant;
  // Assigned by the store (a UUID); ignored by SaveRun.
  std::string id;
  std::string metric;
  std::vector<LabelMatcher> matchers;
  absl::Time created_at;
  absl::Duration horizon;
  absl::Duration step;
  absl::Duration history;
  // The model asked for; empty when chosen by backtest.
  std::string requested_model;
  // The model used and its backtest scores.
  std::string model;
  double mase = 0;
  double smape = 0;
  int64_t history_points = 0;
  // The serialized agentwatch.capacity.v1.GetForecastResponse.
  std::string response;
};

// Forecast run storage. Implementations are thread-safe.
class ForecastRunStore {
 public:
  virtual ~ForecastRunStore() = default;

  // Records `run` durably and returns its new id. UNAVAILABLE when the
  // database is unreachable.
  virtual absl::StatusOr<std::string> SaveRun(const ForecastRun& run) = 0;

  // The run `id` of `tenant`. NOT_FOUND when there is none (including a
  // malformed id); UNAVAILABLE.
  virtual absl::StatusOr<ForecastRun> GetRun(absl::string_view tenant, absl::string_view id) = 0;

  // Deletes up to `limit` runs created before `cutoff`, oldest first, and
  // returns how many it deleted. UNAVAILABLE.
  virtual absl::StatusOr<int64_t> DeleteRunsBefore(absl::Time cutoff, int64_t limit) = 0;
};

}  // namespace agentwatch::capacity
