#include "capacity/core/selector.h"

namespace agentwatch::capacity {

const char* MatchOpSymbol(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegex:
      return "=~";
    case MatchOp::kNotRegex:
      return "!~";
  }
  return "=";
}

}  // namespace agentwatch::capacity
