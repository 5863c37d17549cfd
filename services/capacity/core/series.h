// Regular time series as the forecast core sees them: aligning the sparse
// series a history source returns onto a fixed grid, and filling gaps.
// Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agentwatch::capacity {

// A regularly spaced series: values[i] is the value of the step that starts
// at start + i * step. A NaN (or any non-finite value) marks a gap: a step
// with no observation.
struct RegularSeries {
  absl::Time start;
  absl::Duration step;
  std::vector<double> values;
};

// One point of a sparse series: the value of the step starting at `time`.
struct TimedValue {
  absl::Time time;
  double value = 0;
};

// What a step without any point means when sparse series are aligned.
enum class MissingStep {
  // Nothing happened in that step: the value is 0 (event counters). Steps
  // before the first observed one stay NaN (the series did not exist yet).
  kZero,
  // Nothing was measured in that step: a gap (NaN) to fill (gauges).
  kGap,
};

// Aligns `series` onto the grid of steps [start, end) and sums them: a step's
// value is the sum of the finite points of every series that fall in it (a
// point belongs to the step containing its time; points outside the range are
// ignored). A step with no finite point is 0 under MissingStep::kZero (NaN
// before the first step with one) and NaN under MissingStep::kGap. The grid has ceil((end - start) / step) steps.
// INVALID_ARGUMENT ("step: ...") when step is not positive, ("range: ...")
// when end is before start.
absl::StatusOr<RegularSeries> AlignAndSum(const std::vector<std::vector<TimedValue>>& series,
                                          absl::Time start, absl::Time end, absl::Duration step,
                                          MissingStep missing);

// A history ready for fitting: no gaps, leading gaps removed.
struct FilledSeries {
  // Time of values[0] (the first observed step of the input).
  absl::Time start;
  absl::Duration step;
  // Finite values, one per step.
  std::vector<double> values;
  // observed[i] is 1 when values[i] was observed, 0 when it was imputed.
  std::vector<uint8_t> observed;
  // Number of imputed values (gaps inside or after the observed data).
  int64_t imputed = 0;
  // Number of leading gap steps removed before the first observation.
  int64_t trimmed = 0;
  // Number of observed values.
  int64_t observed_count = 0;
};

// Fills the gaps of `series`:
// - leading gaps (before the first observation) are removed, not imputed:
//   the history starts at its first observation;
// - every other gap takes the observed value one season earlier
//   (values[i - season]) or, failing that, one season later; `season` < 2
//   disables this;
// - otherwise linear interpolation between the nearest observed neighbours;
// - otherwise (gaps after the last observation with no seasonal value) the
//   last observed value.
// Only observed values are used as sources, so the result does not depend on
// the order of filling. INVALID_ARGUMENT ("step: ...") when step is not
// positive; FAILED_PRECONDITION ("history: ...") when nothing is observed.
absl::StatusOr<FilledSeries> FillGaps(const RegularSeries& series, int64_t season);

}  // namespace agentwatch::capacity
