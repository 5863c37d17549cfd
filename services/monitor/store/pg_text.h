// Text forms of values bound as Postgres parameters: array literals for the
// unnest(...) bulk statements and JSON objects for jsonb label sets.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/pg.h"
#include "monitor/core/types.h"

namespace agentwatch::monitor {

// A text[] literal: {"a","b \"c\""}; every element quoted and escaped.
using common::PgTextArray;

// PgTextArray of views (for columns of strings the caller keeps alive, not
// copied into the column).
using common::PgTextArrayOfViews;

// A bigint[] literal: {1,2,3}.
std::string PgInt64Array(const std::vector<int64_t>& values);

// A float8[] literal of each value's shortest text that reads back as the
// same double (std::to_chars), e.g. {0.1,-2.5,1e+300}. Values must be finite.
std::string PgFloat8Array(const std::vector<double>& values);

// A JSON object of string values, e.g. {"model":"gpt-4o"}.
std::string JsonObject(const Labels& labels);

// The elements of a text[] field (NULL elements as "").
std::vector<std::string> ParseTextArray(const pqxx::field& field);

// Zips two text[] fields of equal length (keys and values) into labels.
Labels ParseLabelArrays(const pqxx::field& keys, const pqxx::field& values);

// A timestamptz read as `(extract(epoch from col) * 1000000)::bigint`; empty
// when the field is NULL.
std::optional<absl::Time> ParseMicros(const pqxx::field& field);

}  // namespace agentwatch::monitor
