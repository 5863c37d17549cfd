#include "cost/core/scope.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

// Whether a scope value is within the size limit and free of NUL bytes.
bool ValueFits(const std::string& value) {
  return value.size() <= kMaxScopeValueBytes && value.find('\0') == std::string::npos;
}

// OK when ValueFits(value); else INVALID_ARGUMENT naming `prefix`.`field`.
absl::Status CheckSize(absl::string_view prefix, absl::string_view field,
                       const std::string& value) {
  if (ValueFits(value)) return absl::OkStatus();
  if (value.size() > kMaxScopeValueBytes) {
    return InvalidField(absl::StrCat(prefix, ".", field),
                        absl::StrCat("at most ", kMaxScopeValueBytes, " bytes"));
  }
  return InvalidField(absl::StrCat(prefix, ".", field), "must not contain NUL bytes");
}

bool FieldCovers(const std::string& filter, const std::string& subject) {
  return filter.empty() || filter == subject;
}

// Whether `subject` carries every tag of `filter` with an equal value.
bool TagsCover(const std::map<std::string, std::string>& filter,
               const std::map<std::string, std::string>& subject) {
  for (const auto& [key, value] : filter) {
    auto it = subject.find(key);
    if (it == subject.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

bool Scope::operator==(const Scope& other) const {
  return tenant == other.tenant && team == other.team && workflow == other.workflow &&
         agent == other.agent && model == other.model && provider == other.provider &&
         service == other.service && tags == other.tags;
}

bool IsValidTagKey(absl::string_view key) {
  if (key.empty()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (i > 0 && digit))) return false;
  }
  return true;
}

absl::Status ValidateScope(const Scope& scope, absl::string_view prefix, bool require_tenant) {
  if (require_tenant && scope.tenant.empty()) {
    return InvalidField(absl::StrCat(prefix, ".tenant"), "required");
  }
  RETURN_IF_ERROR(CheckSize(prefix, "tenant", scope.tenant));
  RETURN_IF_ERROR(CheckSize(prefix, "team", scope.team));
  RETURN_IF_ERROR(CheckSize(prefix, "workflow", scope.workflow));
  RETURN_IF_ERROR(CheckSize(prefix, "agent", scope.agent));
  RETURN_IF_ERROR(CheckSize(prefix, "model", scope.model));
  RETURN_IF_ERROR(CheckSize(prefix, "provider", scope.provider));
  RETURN_IF_ERROR(CheckSize(prefix, "service", scope.service));
  if (scope.tags.size() > static_cast<size_t>(kMaxTags)) {
    return InvalidField(absl::StrCat(prefix, ".tags"), absl::StrCat("at most ", kMaxTags, " tags"));
  }
  for (const auto& [key, value] : scope.tags) {
    if (!IsValidTagKey(key)) {
      return InvalidField(absl::StrCat(prefix, ".tags"),
                          absl::StrCat("key '", key, "' must match [a-zA-Z_][a-zA-Z0-9_]*"));
    }
    // The field name is built only for a value that fails.
    if (!ValueFits(value)) return CheckSize(prefix, absl::StrCat("tags[", key, "]"), value);
  }
  return absl::OkStatus();
}

bool ScopeCovers(const Scope& filter, const Scope& subject) {
  if (!FieldCovers(filter.tenant, subject.tenant) || !FieldCovers(filter.team, subject.team) ||
      !FieldCovers(filter.workflow, subject.workflow) ||
      !FieldCovers(filter.agent, subject.agent) || !FieldCovers(filter.model, subject.model) ||
      !FieldCovers(filter.provider, subject.provider) ||
      !FieldCovers(filter.service, subject.service)) {
    return false;
  }
  return TagsCover(filter.tags, subject.tags);
}

ScopeMatcher::ScopeMatcher(const Scope& filter, bool subjects_of_tenant) : tags_(&filter.tags) {
  if (!subjects_of_tenant && !filter.tenant.empty()) {
    fields_.emplace_back(&Scope::tenant, filter.tenant);
  }
  for (std::string Scope::*field : {&Scope::team, &Scope::workflow, &Scope::agent, &Scope::model,
                                    &Scope::provider, &Scope::service}) {
    if (!(filter.*field).empty()) fields_.emplace_back(field, filter.*field);
  }
}

bool ScopeMatcher::Covers(const Scope& subject) const {
  for (const auto& [field, value] : fields_) {
    if (absl::string_view(subject.*field) != value) return false;
  }
  return TagsCover(*tags_, subject.tags);
}

}  // namespace agentwatch::cost
