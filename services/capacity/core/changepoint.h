// Level changepoints of a series by binary segmentation with a CUSUM-type
// statistic: the split of a segment that maximizes the two-sample mean
// difference in units of the noise's standard error is a changepoint when it
// is both significant and large. Pure and deterministic.
#pragma once

#include <cstdint>
#include <vector>

namespace agentwatch::capacity {

// How sensitive DetectChangepoints is.
struct ChangepointOptions {
  // Fewest points on either side of a changepoint, >= 2.
  int64_t min_segment = 12;
  // The statistic |mean_after - mean_before| / (sigma x sqrt(1/n_before +
  // 1/n_after)) must reach this; 0 means 1.5 x sqrt(2 ln n) for n points.
  // sigma is the noise's standard deviation estimated from the median
  // absolute deviation of the first differences (robust to level shifts).
  double threshold = 0;
  // And the shift must be at least this share of the larger absolute level.
  double min_relative_shift = 0.15;
  // At most this many changepoints, the most significant first.
  int64_t max_changepoints = 10;
};

// A level change: values[index] is the first value of the new level.
struct LevelChange {
  int64_t index = 0;
  // Mean of the segment before and after it (between neighbouring
  // changepoints).
  double level_before = 0;
  double level_after = 0;
};

// The changepoints of `values` (finite values), in index order. Empty for a
// series shorter than 2 x min_segment.
std::vector<LevelChange> DetectChangepoints(const std::vector<double>& values,
                                            const ChangepointOptions& options);

}  // namespace agentwatch::capacity
