#include "common/status_macros.h"

#include "absl/strings/str_cat.h"

namespace agentwatch::common {

absl::Status InvalidField(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

}  // namespace agentwatch::common
