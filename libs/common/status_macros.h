// Status helpers that Abseil 20220623 lacks. Depends on Abseil only, so pure
// cores may use it.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// RETURN_IF_ERROR(expr): returns the absl::Status of `expr` from the
// enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                           \
  do {                                                  \
    ::absl::Status aw_status_ = ::absl::Status((expr)); \
    if (!aw_status_.ok()) return aw_status_;            \
  } while (false)

#define AW_STATUS_CONCAT_INNER_(x, y) x##y
#define AW_STATUS_CONCAT_(x, y) AW_STATUS_CONCAT_INNER_(x, y)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may be
// a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  AW_ASSIGN_OR_RETURN_IMPL_(AW_STATUS_CONCAT_(aw_statusor_, __LINE__), lhs, expr)

#define AW_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

namespace agentwatch::common {

// The INVALID_ARGUMENT every bad field gets: names the field and the reason,
// e.g. InvalidField("events[3].time", "must be set").
absl::Status InvalidField(absl::string_view field, absl::string_view reason);

}  // namespace agentwatch::common
