#include "cost/core/money.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentwatch::cost {
namespace {

constexpr unsigned __int128 kInt64Max = std::numeric_limits<int64_t>::max();
// The decimal exponent of nano-USD per million tokens relative to USD per token.
constexpr int kNanoPerMillionExponent = 15;

}  // namespace

absl::StatusOr<int64_t> RoundHalfAwayFromZero(unsigned __int128 amount, int64_t divisor) {
  if (divisor <= 0) return absl::InvalidArgumentError("divisor must be positive");
  const auto d = static_cast<unsigned __int128>(divisor);
  unsigned __int128 quotient = amount / d;
  const unsigned __int128 remainder = amount % d;
  // remainder >= divisor / 2, compared without overflow: a half rounds up.
  if (remainder >= d - remainder) ++quotient;
  if (quotient > kInt64Max) {
    return absl::OutOfRangeError("amount exceeds the int64 nano-USD range");
  }
  return static_cast<int64_t>(quotient);
}

absl::StatusOr<int64_t> NanoSum::Value() const {
  if (sum_ > static_cast<__int128>(std::numeric_limits<int64_t>::max()) ||
      sum_ < static_cast<__int128>(std::numeric_limits<int64_t>::min())) {
    return absl::OutOfRangeError("sum exceeds the int64 nano-USD range");
  }
  return static_cast<int64_t>(sum_);
}

absl::StatusOr<int64_t> UsdPerTokenTextToNanoPerMillion(absl::string_view text) {
  const std::string original(text);
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
  bool negative = false;
  if (!rest.empty() && rest.front() == '-') {
    negative = true;
    rest.remove_prefix(1);
  }
  // value = digits x 10^exponent, digits without leading zeros.
  std::string digits;
  int64_t exponent = 0;
  bool seen_digit = false;
  bool seen_point = false;
  size_t i = 0;
  for (; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (!digits.empty() || c != '0') digits.push_back(c);
      if (seen_point) --exponent;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) {
    return absl::InvalidArgumentError(absl::StrCat("'", original, "' is not a decimal number"));
  }
  if (i < rest.size()) {
    if (rest[i] != 'e' && rest[i] != 'E') {
      return absl::InvalidArgumentError(absl::StrCat("'", original, "' is not a decimal number"));
    }
    int64_t e = 0;
    absl::string_view e_text = rest.substr(i + 1);
    if (!e_text.empty() && e_text.front() == '+') e_text.remove_prefix(1);
    if (e_text.empty() || e_text.size() > 6 || !absl::SimpleAtoi(e_text, &e)) {
      return absl::InvalidArgumentError(absl::StrCat("'", original, "' has a malformed exponent"));
    }
    exponent += e;
  }
  if (digits.empty()) return 0;  // zero, whatever its sign
  if (negative) {
    return absl::InvalidArgumentError(absl::StrCat("'", original, "' is negative"));
  }
  exponent += kNanoPerMillionExponent;
  const absl::Status too_large =
      absl::OutOfRangeError(absl::StrCat("'", original, "' exceeds the int64 price range"));
  if (exponent >= 0) {
    if (static_cast<int64_t>(digits.size()) + exponent > 19) return too_large;
    unsigned __int128 value = 0;
    for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
    for (int64_t k = 0; k < exponent; ++k) value *= 10;
    if (value > kInt64Max) return too_large;
    return static_cast<int64_t>(value);
  }
  // Drop -exponent trailing digits, rounding half away from zero on the first
  // dropped digit (a dropped "5..." is at least a half).
  const int64_t drop = -exponent;
  const int64_t keep = static_cast<int64_t>(digits.size()) - drop;
  if (keep < 0) return 0;  // below half of the smallest unit
  if (keep > 19) return too_large;
  unsigned __int128 value = 0;
  for (int64_t k = 0; k < keep; ++k) value = value * 10 + static_cast<unsigned>(digits[k] - '0');
  if (keep < static_cast<int64_t>(digits.size()) && digits[keep] >= '5') ++value;
  if (value > kInt64Max) return too_large;
  return static_cast<int64_t>(value);
}

std::string ShortestDecimal(double value) {
  for (int precision = 1; precision < 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    double back = 0;
    if (absl::SimpleAtod(text, &back) && back == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

std::string FormatUsd(int64_t nano_usd) {
  // Work on the magnitude in unsigned space so INT64_MIN formats too.
  const bool negative = nano_usd < 0;
  const uint64_t magnitude =
      negative ? static_cast<uint64_t>(-(nano_usd + 1)) + 1 : static_cast<uint64_t>(nano_usd);
  return absl::StrFormat("%s%d.%09d", negative ? "-" : "", magnitude / kNanoUsdPerUsd,
                         magnitude % kNanoUsdPerUsd);
}

}  // namespace agentwatch::cost
