#include "capacity/core/changepoint.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <queue>
#include <tuple>

namespace agentwatch::capacity {
namespace {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

// sigma from the MAD of the first differences: a difference of two
// independent values has sqrt(2) x sigma; level shifts are rare outliers.
double NoiseSigma(const std::vector<double>& values) {
  std::vector<double> diffs;
  diffs.reserve(values.size());
  for (size_t i = 1; i < values.size(); ++i) diffs.push_back(values[i] - values[i - 1]);
  const double center = Median(diffs);
  for (double& d : diffs) d = std::abs(d - center);
  return 1.4826 * Median(diffs) / std::sqrt(2.0);
}

struct Split {
  double statistic = 0;
  int64_t begin = 0;
  int64_t end = 0;
  int64_t index = 0;
  bool operator<(const Split& other) const {
    return std::tie(statistic, other.index) < std::tie(other.statistic, index);
  }
};

}  // namespace

std::vector<LevelChange> DetectChangepoints(const std::vector<double>& values,
                                            const ChangepointOptions& options) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t min_segment = std::max<int64_t>(options.min_segment, 2);
  if (n < 2 * min_segment) return {};
  std::vector<double> prefix(values.size() + 1, 0);
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    prefix[i + 1] = prefix[i] + values[i];
    scale = std::max(scale, std::abs(values[i]));
  }
  // A noiseless series still needs a positive sigma; relative to its scale.
  const double sigma = std::max(NoiseSigma(values), 1e-9 * std::max(scale, 1.0));
  const double threshold = options.threshold > 0
                               ? options.threshold
                               : 1.5 * std::sqrt(2.0 * std::log(static_cast<double>(n)));
  const auto mean = [&prefix](int64_t begin, int64_t end) {
    return (prefix[end] - prefix[begin]) / static_cast<double>(end - begin);
  };
  // The best admissible split of [begin, end), if any.
  const auto best_split = [&](int64_t begin, int64_t end) -> std::optional<Split> {
    std::optional<Split> best;
    for (int64_t k = begin + min_segment; k + min_segment <= end; ++k) {
      const double left = mean(begin, k);
      const double right = mean(k, end);
      const double n_left = static_cast<double>(k - begin);
      const double n_right = static_cast<double>(end - k);
      const double statistic =
          std::abs(right - left) / (sigma * std::sqrt(1.0 / n_left + 1.0 / n_right));
      if (!best.has_value() || statistic > best->statistic) best = Split{statistic, begin, end, k};
    }
    if (!best.has_value() || best->statistic < threshold) return std::nullopt;
    const double left = mean(begin, best->index);
    const double right = mean(best->index, end);
    const double level = std::max(std::abs(left), std::abs(right));
    if (std::abs(right - left) < options.min_relative_shift * level) return std::nullopt;
    return best;
  };

  std::priority_queue<Split> candidates;
  if (auto split = best_split(0, n)) candidates.push(*split);
  std::vector<int64_t> found;
  while (!candidates.empty() && static_cast<int64_t>(found.size()) < options.max_changepoints) {
    const Split split = candidates.top();
    candidates.pop();
    found.push_back(split.index);
    if (auto left = best_split(split.begin, split.index)) candidates.push(*left);
    if (auto right = best_split(split.index, split.end)) candidates.push(*right);
  }
  std::sort(found.begin(), found.end());
  std::vector<LevelChange> changes;
  for (size_t i = 0; i < found.size(); ++i) {
    const int64_t begin = i == 0 ? 0 : found[i - 1];
    const int64_t end = i + 1 == found.size() ? n : found[i + 1];
    changes.push_back({found[i], mean(begin, found[i]), mean(found[i], end)});
  }
  return changes;
}

}  // namespace agentwatch::capacity
