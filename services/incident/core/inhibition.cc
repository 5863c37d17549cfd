#include "incident/core/inhibition.h"

#include <re2/re2.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/core/silence.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

absl::Status ValidateMatcherList(const std::vector<LabelMatcher>& matchers,
                                 const std::string& field) {
  if (matchers.empty()) return InvalidField(field, "at least one matcher");
  if (matchers.size() > kMaxInhibitionMatchers) {
    return InvalidField(field, absl::StrCat("at most ", kMaxInhibitionMatchers));
  }
  for (size_t i = 0; i < matchers.size(); ++i) {
    const std::string mf = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(ValidateMatcher(matchers[i], mf));
    RETURN_IF_ERROR(
        ValidateOptional(matchers[i].value, absl::StrCat(mf, ".value"), kMaxLabelValueBytes));
    if (matchers[i].op == MatchOp::kRegex || matchers[i].op == MatchOp::kNotRegex) {
      const RE2 re(matchers[i].value, RE2::Quiet);
      if (!re.ok()) {
        return InvalidField(absl::StrCat(mf, ".value"),
                            absl::StrCat("invalid regular expression: ", re.error()));
      }
    }
  }
  return absl::OkStatus();
}

bool MatchesAll(const std::vector<LabelMatcher>& matchers, const Labels& labels) {
  for (const LabelMatcher& matcher : matchers) {
    if (!Matches(matcher, labels)) return false;
  }
  return true;
}

}  // namespace

bool operator==(const InhibitionRule& a, const InhibitionRule& b) {
  auto same = [](const std::vector<LabelMatcher>& x, const std::vector<LabelMatcher>& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].name != y[i].name || x[i].op != y[i].op || x[i].value != y[i].value) return false;
    }
    return true;
  };
  return a.id == b.id && a.name == b.name && a.tenant == b.tenant &&
         same(a.source_matchers, b.source_matchers) && same(a.target_matchers, b.target_matchers) &&
         a.equal == b.equal && a.create_time == b.create_time && a.update_time == b.update_time;
}

absl::Status ValidateInhibitionRule(const InhibitionRule& rule, absl::string_view field) {
  RETURN_IF_ERROR(ValidateRequired(rule.tenant, absl::StrCat(field, ".tenant"), kMaxTenantBytes));
  RETURN_IF_ERROR(ValidateOptional(rule.name, absl::StrCat(field, ".name"), kMaxLabelValueBytes));
  RETURN_IF_ERROR(
      ValidateMatcherList(rule.source_matchers, absl::StrCat(field, ".source_matchers")));
  RETURN_IF_ERROR(
      ValidateMatcherList(rule.target_matchers, absl::StrCat(field, ".target_matchers")));
  if (rule.equal.size() > kMaxInhibitionEqual) {
    return InvalidField(absl::StrCat(field, ".equal"),
                        absl::StrCat("at most ", kMaxInhibitionEqual));
  }
  for (size_t i = 0; i < rule.equal.size(); ++i) {
    if (!IsValidLabelName(rule.equal[i])) {
      return InvalidField(absl::StrCat(field, ".equal[", i, "]"),
                          absl::StrCat("not a label name: \"", rule.equal[i], "\""));
    }
  }
  return absl::OkStatus();
}

bool Inhibits(const InhibitionRule& rule, const Labels& source, const Labels& target) {
  if (!MatchesAll(rule.target_matchers, target) || !MatchesAll(rule.source_matchers, source)) {
    return false;
  }
  for (const std::string& name : rule.equal) {
    auto s = source.find(name);
    auto t = target.find(name);
    const bool s_has = s != source.end() && !s->second.empty();
    const bool t_has = t != target.end() && !t->second.empty();
    if (s_has != t_has) return false;
    if (s_has && s->second != t->second) return false;
  }
  return true;
}

}  // namespace agentwatch::incident
