// Text forms of values bound as Postgres parameters: array literals for the
// unnest(...) bulk statements and JSON objects for jsonb label sets.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "monitor/core/types.h"

#include "common/pg.h"

namespace agentwatch::monitor {

// A text[] literal: {"a","b \"c\""}; every element quoted and escaped.
using common::PgTextArray;

// A bigint[] literal: {1,2,3}.
std::string PgInt64Array(const std::vector<int64_t>& values);

// A float8[] literal with round-trip precision. Values must be finite.
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
