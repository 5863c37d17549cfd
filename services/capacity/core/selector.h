// How a series is selected: label matchers as in Prometheus. Plain types
// shared by the history client, the store and the API mapping.
#pragma once

#include <string>

namespace agentwatch::capacity {

// How a label matcher compares a label's value.
enum class MatchOp {
  kEqual,     // =
  kNotEqual,  // !=
  kRegex,     // =~ (RE2, anchored)
  kNotRegex,  // !~
};

// The operator as PromQL writes it ("=", "!=", "=~", "!~").
const char* MatchOpSymbol(MatchOp op);

// A label filter {name, op, value}; a list of them selects what all select.
struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;

  bool operator==(const LabelMatcher& other) const {
    return name == other.name && op == other.op && value == other.value;
  }
};

}  // namespace agentwatch::capacity
