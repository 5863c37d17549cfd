// Mapping between the agentwatch.cost.v1 protos and the cost core types,
// with the request-level validation that needs the proto (presence of
// messages and timestamps, enum values). Field names in errors are the
// request's, e.g. "records[3].time".
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/common/v1/common.pb.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "cost/core/budget.h"
#include "cost/core/price.h"
#include "cost/core/report.h"
#include "cost/core/scope.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {

// A valid Timestamp (years 1..9999, nanos in range) as absl::Time, floored to
// the microsecond (the ledger's resolution). INVALID_ARGUMENT naming `field`.
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field);
void TimeToProto(absl::Time time, google::protobuf::Timestamp* timestamp);
// A finite duration as a protobuf Duration (seconds and nanos of the same sign).
void DurationToProto(absl::Duration duration, google::protobuf::Duration* out);

// Converts a scope; the model is in catalog spelling (CanonicalModel: with
// provider "openai", "openai/gpt-4o" is "gpt-4o"), so usage, filters and
// budgets name a model the same way.
Scope ScopeFromProto(const agentwatch::common::v1::Scope& scope);
void ScopeToProto(const Scope& scope, agentwatch::common::v1::Scope* out);

// Converts and validates records[index]: record_id, time, scope (tenant
// required), the LLM or infrastructure usage (provider and model required
// and consistent with the scope, which they fill; tokens >= 0 and cached
// parts within the input; requests 0 -> 1; unit matching the resource), the
// client cost, run outcome. The model is stored in catalog spelling.
// INVALID_ARGUMENT naming records[index].<field>.
absl::StatusOr<UsageRecord> UsageRecordFromProto(const v1::UsageRecord& record, int index);
// The same into `out`, which must be default-constructed (a batch converts
// into its vector's slots); on an error `out` holds a partial record.
absl::Status UsageRecordFromProto(const v1::UsageRecord& record, int index, UsageRecord* out);

// The records of a RecordUsageRequest straight from its wire bytes, without
// building the generated messages: true, with `out` holding exactly what
// parsing the request and UsageRecordFromProto of each record give, when the
// bytes are a common, unambiguous encoding (every field known and at most
// once per message, ASCII strings, at most kMaxTags map entries, each with
// one key and one value, no repeated tag key) of 1..kMaxRecordsPerBatch
// records that are all valid. False otherwise (`out` then unspecified): the
// caller parses the request with the generated code and converts it with
// UsageRecordFromProto, which decides (the error naming the field, or the
// same records for an encoding outside the subset).
bool UsageRecordsFromWire(absl::string_view request, std::vector<UsageRecord>* out);

// Converts a Price for UpsertPrice (model in catalog spelling, source
// "manual" by default) and validates it. INVALID_ARGUMENT naming price.<field>.
absl::StatusOr<PriceVersion> PriceVersionFromProto(const v1::Price& price);
void PriceVersionToProto(const PriceVersion& version, v1::Price* out);

// Converts a report request (end defaults to `now`, time zone to "UTC") and
// validates it with ValidateReportQuery.
absl::StatusOr<ReportQuery> ReportQueryFromProto(const v1::GetCostReportRequest& request,
                                                 absl::Time now);

// Fills a CostRow: group values of the queried dimensions, bucket, figures
// and per-run figures.
void ReportRowToProto(const ReportRow& row, const ReportQuery& query, v1::CostRow* out);

// Converts a budget to create (defaults: SOFT, "UTC", severity P2, thresholds
// [80, 100]) and validates it with NormalizeBudget. INVALID_ARGUMENT naming
// budget.<field>.
absl::StatusOr<Budget> BudgetFromProto(const v1::Budget& budget, absl::string_view request_id);
void BudgetToProto(const Budget& budget, v1::Budget* out);

}  // namespace agentwatch::cost
