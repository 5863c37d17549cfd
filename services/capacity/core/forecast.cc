#include "capacity/core/forecast.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "capacity/core/accuracy.h"
#include "capacity/core/damped_trend.h"
#include "capacity/core/fourier_regression.h"
#include "capacity/core/seasonal_ar.h"
#include "capacity/core/seasonal_profile.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr const char* kPlannedModels[] = {"holt_winters"};
constexpr const char* kOfferedModels[] = {kSeasonalNaiveModel,     kNaiveModel,
                                          kFourierRegressionModel, kDampedTrendModel,
                                          kSeasonalProfileModel,   kSeasonalArModel};
// The local scale's window is at least kMinLocalScaleWindow steps, and the
// local scale at least kLocalScaleFloor times the whole history's (so that a
// flat stretch does not make it vanish).
constexpr int64_t kMinLocalScaleWindow = 28;
constexpr double kLocalScaleFloor = 0.05;
// The phase profile: at most this many buckets per cycle, a bucket's factor
// needs this many pairs, and is at least kPhaseFloor.
constexpr int64_t kPhaseBuckets = 24;
constexpr int64_t kMinPhasePairs = 10;
constexpr double kPhaseFloor = 0.1;
// Combinations tried: the mean of the best two, and of the best three.
constexpr size_t kEnsembleSizes[] = {2, 3};
// The recent-break check (RecentBreakChoice): windows of the last
// kMinRecentWindow steps, then twice as many and so on, while within the
// horizon and max(kMinRecentWindow, n / kRecentWindowDivisor); the backtest's
// choice gives way when its error in a window is over kBreakRatio times the
// best candidate's and over kBreakScales times the history's seasonal-naive
// error.
constexpr int64_t kMinRecentWindow = 6;
constexpr int64_t kRecentWindowDivisor = 36;
constexpr double kBreakRatio = 3.0;
constexpr double kBreakScales = 4.0;

// The models to backtest, in tie-breaking order: the simplest first, so that
// a more complex model must be strictly better to be chosen.
absl::StatusOr<std::vector<std::unique_ptr<ForecastModel>>> Candidates(absl::string_view requested,
                                                                       const SeasonPeriods& periods,
                                                                       int64_t points) {
  const int64_t season = periods.Primary(points);
  const bool fourier_applicable = FourierApplicable(periods, points);
  std::vector<std::unique_ptr<ForecastModel>> models;
  const auto fourier = [&] {
    return std::make_unique<FourierRegressionModel>(
        points >= 3 * periods.daily ? periods.daily : 1,
        points >= 3 * periods.weekly ? periods.weekly : 1);
  };
  if (requested.empty()) {
    if (season >= 2) models.push_back(std::make_unique<SeasonalNaiveModel>(season));
    models.push_back(std::make_unique<NaiveModel>());
    if (fourier_applicable) models.push_back(fourier());
    models.push_back(std::make_unique<DampedTrendModel>());
    if (SeasonalProfileApplicable(periods, points)) {
      models.push_back(std::make_unique<SeasonalProfileModel>(periods.daily, periods.weekly));
    }
    if (season >= 2 && points > SeasonalArModel(season).MinHistory()) {
      models.push_back(std::make_unique<SeasonalArModel>(season));
    }
  } else if (requested == kSeasonalProfileModel) {
    if (!SeasonalProfileApplicable(periods, points)) {
      if (periods.daily < 2 && periods.weekly < 2) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model: ", requested,
            " needs a step that divides one day (or one week) into at least two steps"));
      }
      const SeasonalProfileModel model(periods.daily, periods.weekly);
      return absl::FailedPreconditionError(
          absl::StrCat("model: ", requested, " needs more than ", model.MinHistory(),
                       " points of history at this step, got ", points));
    }
    models.push_back(std::make_unique<SeasonalProfileModel>(periods.daily, periods.weekly));
  } else if (requested == kSeasonalNaiveModel || requested == kFourierRegressionModel) {
    if (periods.daily < 2 && periods.weekly < 2) {
      return absl::FailedPreconditionError(
          absl::StrCat("model: ", requested,
                       " needs a step that divides one day (or one week) into at least two steps"));
    }
    const bool seasonal_naive = requested == kSeasonalNaiveModel;
    if (seasonal_naive ? season < 2 : !fourier_applicable) {
      // Seasonal naive repeats a season and scores it on the next; the
      // regression fits two and is backtested on a third.
      const int64_t seasons = seasonal_naive ? 2 : 3;
      const int64_t needed = seasons * (periods.daily >= 2 ? periods.daily : periods.weekly);
      return absl::FailedPreconditionError(
          absl::StrCat("model: ", requested, " needs at least ", seasonal_naive ? "two" : "three",
                       " ", periods.daily >= 2 ? "days" : "weeks", " of history (", needed,
                       " points at this step), got ", points));
    }
    if (requested == kSeasonalNaiveModel) {
      models.push_back(std::make_unique<SeasonalNaiveModel>(season));
    } else {
      models.push_back(fourier());
    }
  } else if (requested == kSeasonalArModel) {
    if (season < 2 || points <= SeasonalArModel(season).MinHistory()) {
      if (periods.daily < 2 && periods.weekly < 2) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model: ", requested,
            " needs a step that divides one day (or one week) into at least two steps"));
      }
      const int64_t cycle = periods.daily >= 2 ? periods.daily : periods.weekly;
      return absl::FailedPreconditionError(absl::StrCat(
          "model: ", requested, " needs at least two ", periods.daily >= 2 ? "days" : "weeks",
          " of history (", std::max(2 * cycle, cycle + 4), " points at this step), got ", points));
    }
    models.push_back(std::make_unique<SeasonalArModel>(season));
  } else if (requested == kDampedTrendModel) {
    models.push_back(std::make_unique<DampedTrendModel>());
  } else {
    models.push_back(std::make_unique<NaiveModel>());
  }
  return models;
}

// Interval levels: lower and upper 80 %, lower and upper 95 %.
constexpr double kLevels[] = {0.10, 0.90, 0.025, 0.975};

// Quantile() of *values (not empty) by selection instead of a full sort: the
// two order statistics the Weibull position falls between. Reorders *values.
double SelectQuantile(std::vector<double>* values, double q) {
  const size_t n = values->size();
  const double rank = std::clamp(std::clamp(q, 0.0, 1.0) * (static_cast<double>(n) + 1), 1.0,
                                 static_cast<double>(n));
  const size_t below = static_cast<size_t>(std::floor(rank)) - 1;
  std::nth_element(values->begin(), values->begin() + static_cast<std::ptrdiff_t>(below),
                   values->end());
  const double low = (*values)[below];
  if (below + 1 >= n) return low;
  const double high =
      *std::min_element(values->begin() + static_cast<std::ptrdiff_t>(below) + 1, values->end());
  return low + (high - low) * (rank - std::floor(rank));
}

// Backtest-calibrated intervals: step k's interval is the point plus
// quantiles[i] * scale[k].
struct Calibration {
  // Error scale per backtest step; -1 where the step's pool holds too few
  // errors (the model's deviation is used there).
  std::vector<double> scale;
  // Quantiles (kLevels) of the errors divided by their step's scale, pooled
  // over every step.
  std::array<double, 4> quantiles{};
};

// Each step's scale is the root mean square of the backtest errors of the
// steps within r of it, r being h / 10 or, while that pool holds fewer than
// `min_errors` errors, up to max(2, h / 4): neighbouring steps have nearly
// the same error distribution, and pooling them steadies the estimate. The
// errors divided by their step's scale are then pooled over all steps and
// their quantiles taken (Weibull positions, as Quantile), so that the
// intervals follow how the errors grow with the horizon and keep their
// empirical shape (skew, heavy tails) without a per-step sample large enough
// for tail quantiles.
Calibration Calibrate(const BacktestScore& score, int64_t steps, int64_t min_errors) {
  Calibration out;
  out.scale.assign(static_cast<size_t>(steps), -1);
  std::vector<int64_t> count_prefix(static_cast<size_t>(steps) + 1, 0);
  std::vector<double> square_prefix(static_cast<size_t>(steps) + 1, 0);
  for (int64_t k = 0; k < steps; ++k) {
    double squares = 0;
    for (const double e : score.errors_by_step[static_cast<size_t>(k)]) squares += e * e;
    count_prefix[static_cast<size_t>(k) + 1] =
        count_prefix[static_cast<size_t>(k)] +
        static_cast<int64_t>(score.errors_by_step[static_cast<size_t>(k)].size());
    square_prefix[static_cast<size_t>(k) + 1] = square_prefix[static_cast<size_t>(k)] + squares;
  }
  std::vector<double> standardized;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t h = k + 1;
    const int64_t widest = std::max<int64_t>(2, h / 4);
    for (int64_t r = std::min(h / 10, widest); r <= widest; ++r) {
      const size_t from = static_cast<size_t>(std::max<int64_t>(0, k - r));
      const size_t to = static_cast<size_t>(std::min(steps, k + r + 1));
      const int64_t count = count_prefix[to] - count_prefix[from];
      if (count < min_errors) continue;
      out.scale[static_cast<size_t>(k)] =
          std::sqrt((square_prefix[to] - square_prefix[from]) / static_cast<double>(count));
      break;
    }
    const double scale = out.scale[static_cast<size_t>(k)];
    if (scale <= 0) continue;
    for (const double e : score.errors_by_step[static_cast<size_t>(k)]) {
      standardized.push_back(e / scale);
    }
  }
  if (!standardized.empty()) {
    for (size_t i = 0; i < 4; ++i) out.quantiles[i] = SelectQuantile(&standardized, kLevels[i]);
  }
  return out;
}

// Prefix sums of |values[t] - values[t - period]| over observed pairs, for
// LocalErrorScale at many ends in O(1) each.
class LocalScales {
 public:
  LocalScales(const FilledSeries& filled, int64_t period, int64_t window, double floor)
      : period_(period), window_(window), floor_(floor) {
    const size_t n = filled.values.size();
    sum_.assign(n + 1, 0);
    count_.assign(n + 1, 0);
    for (size_t t = 0; t < n; ++t) {
      sum_[t + 1] = sum_[t];
      count_[t + 1] = count_[t];
      if (static_cast<int64_t>(t) < period_) continue;
      const size_t before = t - static_cast<size_t>(period_);
      if (!filled.observed[t] || !filled.observed[before]) continue;
      sum_[t + 1] += std::fabs(filled.values[t] - filled.values[before]);
      ++count_[t + 1];
    }
  }

  // LocalErrorScale(filled, end, period, window, floor); end in [0, n].
  double At(int64_t end) const {
    const size_t to = static_cast<size_t>(end);
    const size_t from = static_cast<size_t>(std::max<int64_t>(0, end - window_));
    const int64_t count = count_[to] - count_[from];
    if (count == 0) return floor_;
    return std::max(floor_, (sum_[to] - sum_[from]) / static_cast<double>(count));
  }

 private:
  int64_t period_;
  int64_t window_;
  double floor_;
  std::vector<double> sum_;
  std::vector<int64_t> count_;
};

// How the spread of the errors varies with the phase of the cycle (hour of
// day for sub-daily steps, day of week for daily ones): the mean absolute
// seasonal difference of the history per phase bucket, relative to the mean
// over all buckets. A bucket with fewer than kMinPhasePairs pairs, or a
// history without a cycle, gets 1; every factor is at least kPhaseFloor.
class PhaseProfile {
 public:
  PhaseProfile(const FilledSeries& filled, const SeasonPeriods& periods, int64_t lag) {
    period_ = periods.daily >= 2 ? periods.daily : periods.weekly;
    if (period_ < 2 || lag < 1) return;
    buckets_ = std::min<int64_t>(period_, kPhaseBuckets);
    std::vector<double> sum(static_cast<size_t>(buckets_), 0);
    std::vector<int64_t> count(static_cast<size_t>(buckets_), 0);
    double total = 0;
    int64_t pairs = 0;
    for (size_t t = static_cast<size_t>(lag); t < filled.values.size(); ++t) {
      const size_t before = t - static_cast<size_t>(lag);
      if (!filled.observed[t] || !filled.observed[before]) continue;
      const double d = std::fabs(filled.values[t] - filled.values[before]);
      const size_t b = Bucket(static_cast<int64_t>(t));
      sum[b] += d;
      ++count[b];
      total += d;
      ++pairs;
    }
    if (pairs == 0 || total <= 0) return;
    const double mean = total / static_cast<double>(pairs);
    factor_.assign(static_cast<size_t>(buckets_), 1.0);
    for (size_t b = 0; b < factor_.size(); ++b) {
      if (count[b] < kMinPhasePairs) continue;
      factor_[b] = std::max(kPhaseFloor, sum[b] / static_cast<double>(count[b]) / mean);
    }
  }

  // The factor of history index t (t may lie beyond the history).
  double At(int64_t t) const {
    if (factor_.empty()) return 1;
    return factor_[Bucket(t)];
  }

 private:
  size_t Bucket(int64_t t) const { return static_cast<size_t>((t % period_) * buckets_ / period_); }

  int64_t period_ = 1;
  int64_t buckets_ = 1;
  std::vector<double> factor_;
};

// The backtest errors of every candidate, flattened point by point (steps in
// order, origins within a step), with the half of the origins each point
// belongs to: the parity of its origin's position in the plan.
struct FlatErrors {
  std::vector<std::vector<double>> by_model;
  std::vector<uint8_t> fold;
};

FlatErrors Flatten(const std::vector<BacktestScore>& scores, const std::vector<int64_t>& origins,
                   const std::vector<std::vector<int64_t>>& origins_by_step) {
  FlatErrors flat;
  for (size_t k = 0; k < origins_by_step.size(); ++k) {
    for (const int64_t origin : origins_by_step[k]) {
      const auto at = std::lower_bound(origins.begin(), origins.end(), origin);
      flat.fold.push_back(static_cast<uint8_t>((at - origins.begin()) % 2));
    }
  }
  flat.by_model.resize(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    flat.by_model[i].reserve(flat.fold.size());
    for (const std::vector<double>& errors : scores[i].errors_by_step) {
      flat.by_model[i].insert(flat.by_model[i].end(), errors.begin(), errors.end());
    }
  }
  return flat;
}

// Mean absolute error of the mean forecast of `members` over the backtest
// points of `fold`; NaN when the fold holds no point.
double FoldMae(const FlatErrors& flat, absl::Span<const size_t> members, uint8_t fold) {
  double sum = 0;
  int64_t count = 0;
  const double weight = 1.0 / static_cast<double>(members.size());
  for (size_t p = 0; p < flat.fold.size(); ++p) {
    if (flat.fold[p] != fold) continue;
    double error = 0;
    for (const size_t i : members) error += flat.by_model[i][p];
    sum += std::fabs(weight * error);
    ++count;
  }
  return count == 0 ? std::nan("") : sum / static_cast<double>(count);
}

// The choice ForecastSeries makes (the best candidate, or the mean of the
// best two or three when strictly better), made on the points of `fold` only;
// empty when the fold scores no candidate.
std::vector<size_t> ChooseOnFold(const FlatErrors& flat, uint8_t fold,
                                 absl::Span<const size_t> ensemble_sizes) {
  std::vector<double> mae(flat.by_model.size());
  std::vector<size_t> ranked;
  for (size_t i = 0; i < flat.by_model.size(); ++i) {
    const size_t single[] = {i};
    mae[i] = FoldMae(flat, single, fold);
    if (std::isfinite(mae[i])) ranked.push_back(i);
  }
  if (ranked.empty()) return {};
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](size_t a, size_t b) { return mae[a] < mae[b]; });
  std::vector<size_t> chosen{ranked.front()};
  double best = mae[ranked.front()];
  for (const size_t size : ensemble_sizes) {
    if (ranked.size() < size) break;
    const absl::Span<const size_t> members(ranked.data(), size);
    const double combined = FoldMae(flat, members, fold);
    if (combined < best) {
      best = combined;
      chosen.assign(members.begin(), members.end());
    }
  }
  return chosen;
}

// Backtest errors of the selection itself, for calibrating the intervals of an
// automatically chosen model: the choice made on one half of the origins
// (alternate origins) is scored on the other half, and the other way round.
// The errors of the model chosen on all origins are optimistic (it was chosen
// because they are small); these are not. Empty errors when a half scores
// nothing.
BacktestScore CrossFittedErrors(const std::vector<BacktestScore>& scores,
                                const std::vector<int64_t>& origins,
                                const std::vector<std::vector<int64_t>>& origins_by_step,
                                absl::Span<const size_t> ensemble_sizes) {
  const FlatErrors flat = Flatten(scores, origins, origins_by_step);
  std::vector<size_t> members_of[2];
  for (uint8_t fold = 0; fold < 2; ++fold) {
    members_of[fold] = ChooseOnFold(flat, static_cast<uint8_t>(1 - fold), ensemble_sizes);
    if (members_of[fold].empty()) return BacktestScore{};
  }
  const BacktestScore& first = scores.front();
  BacktestScore out;
  out.errors_by_step.resize(first.errors_by_step.size());
  size_t p = 0;
  for (size_t k = 0; k < first.errors_by_step.size(); ++k) {
    std::vector<double>& errors = out.errors_by_step[k];
    errors.reserve(first.errors_by_step[k].size());
    for (size_t j = 0; j < first.errors_by_step[k].size(); ++j, ++p) {
      const std::vector<size_t>& members = members_of[flat.fold[p]];
      double error = 0;
      for (const size_t i : members) error += flat.by_model[i][p];
      errors.push_back(error / static_cast<double>(members.size()));
    }
  }
  return out;
}

// The origin of each backtest error: origins_by_step[k][j] is the origin of
// errors_by_step[k][j] of a Backtest on `plan` (origins in order, those whose
// step k + 1 is imputed skipped, as Backtest skips them).
std::vector<std::vector<int64_t>> OriginsByStep(const BacktestPlan& plan,
                                                const FilledSeries& filled) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(plan.horizon));
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].reserve(plan.origins.size());
    for (const int64_t origin : plan.origins) {
      if (filled.observed[static_cast<size_t>(origin) + k]) out[k].push_back(origin);
    }
  }
  return out;
}

// Prefers any number to NaN, then the lower value.
bool Better(double candidate, double best) {
  if (std::isnan(candidate)) return false;
  return std::isnan(best) || candidate < best;
}

}  // namespace

int64_t DailySeasonPeriod(absl::Duration step) {
  if (step <= absl::ZeroDuration() || step > absl::Hours(12)) return 1;
  absl::Duration remainder;
  const int64_t period = absl::IDivDuration(absl::Hours(24), step, &remainder);
  return remainder == absl::ZeroDuration() ? period : 1;
}

int64_t WeeklySeasonPeriod(absl::Duration step) {
  if (step <= absl::ZeroDuration() || step > absl::Hours(84)) return 1;
  absl::Duration remainder;
  const int64_t period = absl::IDivDuration(absl::Hours(24 * 7), step, &remainder);
  return remainder == absl::ZeroDuration() ? period : 1;
}

SeasonPeriods SeasonPeriodsFor(absl::Duration step) {
  return {DailySeasonPeriod(step), WeeklySeasonPeriod(step)};
}

int64_t SeasonPeriods::Primary(int64_t points) const {
  if (daily >= 2 && points >= 2 * daily) return daily;
  if (daily < 2 && weekly >= 2 && points >= 2 * weekly) return weekly;
  return 1;
}

bool FourierApplicable(const SeasonPeriods& periods, int64_t points) {
  const int64_t daily = points >= 3 * periods.daily ? periods.daily : 1;
  const int64_t weekly = points >= 3 * periods.weekly ? periods.weekly : 1;
  if (daily < 3 && weekly < 3) return false;
  return points > FourierRegressionModel::MinHistoryFor(daily, weekly);
}

bool SeasonalProfileApplicable(const SeasonPeriods& periods, int64_t points) {
  if (periods.daily < 2 && periods.weekly < 2) return false;
  return points > SeasonalProfileModel(periods.daily, periods.weekly).MinHistory();
}

double LocalErrorScale(const FilledSeries& filled, int64_t end, int64_t period, int64_t window,
                       double floor) {
  return LocalScales(filled, period, window, floor).At(end);
}

absl::Status CheckModelName(absl::string_view name) {
  if (name.empty()) return absl::OkStatus();
  for (const char* offered : kOfferedModels) {
    if (name == offered) return absl::OkStatus();
  }
  for (const char* planned : kPlannedModels) {
    if (name == planned) {
      return absl::UnimplementedError(absl::StrCat("model: ", name,
                                                   " is not available yet; use one of ",
                                                   absl::StrJoin(kOfferedModels, ", ")));
    }
  }
  return common::InvalidField(
      "model", absl::StrCat("unknown model '", name, "'; expected one of ",
                            absl::StrJoin(kOfferedModels, ", "), " or empty for automatic"));
}

namespace {

// A break at the end of the history (a level shift or ramp in its last
// hours) falls after every backtest origin's horizon, so the backtest cannot
// see it, and a model fitted to the whole history (a seasonal regression)
// can win on the earlier data while forecasting as if the break never
// happened. The check: every candidate forecasts the recent window from its
// start; when the chosen models' mean forecast misses the observed values
// there by far more than the best candidate does and than the series' usual
// error (see the constants), that candidate is returned to be used instead.
// Windows are tried shortest first (a candidate must have seen part of the
// break before the window to follow it). None when no window holds enough
// observed points or nothing stands out.
std::optional<size_t> RecentBreakChoiceIn(
    const std::vector<std::unique_ptr<ForecastModel>>& models, const FilledSeries& filled,
    const std::vector<size_t>& chosen, double scale, int64_t window) {
  const int64_t n = static_cast<int64_t>(filled.values.size());
  const int64_t origin = n - window;
  int64_t observed = 0;
  for (int64_t t = origin; t < n; ++t) observed += filled.observed[t] != 0;
  if (origin < 1 || observed < kMinRecentWindow) return std::nullopt;
  const absl::Span<const double> before(filled.values.data(), static_cast<size_t>(origin));
  std::vector<std::vector<double>> means(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i]->MinHistory() > origin) continue;
    absl::StatusOr<ModelForecast> one = models[i]->Forecast(before, window);
    if (one.ok()) means[i] = std::move(one->mean);
  }
  auto mae = [&](const std::vector<double>& mean) {
    double sum = 0;
    for (int64_t t = origin; t < n; ++t) {
      if (filled.observed[t] != 0) sum += std::abs(mean[t - origin] - filled.values[t]);
    }
    return sum / static_cast<double>(observed);
  };
  std::vector<double> chosen_mean(static_cast<size_t>(window), 0);
  for (const size_t i : chosen) {
    if (means[i].empty()) return std::nullopt;
    for (size_t k = 0; k < chosen_mean.size(); ++k) {
      chosen_mean[k] += means[i][k] / static_cast<double>(chosen.size());
    }
  }
  const double chosen_mae = mae(chosen_mean);
  std::optional<size_t> best;
  double best_mae = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    if (means[i].empty()) continue;
    const double error = mae(means[i]);
    if (std::isfinite(error) && (!best.has_value() || error < best_mae)) {
      best = i;
      best_mae = error;
    }
  }
  if (!best.has_value() || !(chosen_mae > kBreakRatio * best_mae) ||
      !(chosen_mae > kBreakScales * scale)) {
    return std::nullopt;
  }
  return best;
}

std::optional<size_t> RecentBreakChoice(const std::vector<std::unique_ptr<ForecastModel>>& models,
                                        const FilledSeries& filled,
                                        const std::vector<size_t>& chosen, double scale,
                                        int64_t horizon) {
  if (!(scale > 0) || !std::isfinite(scale) || chosen.empty()) return std::nullopt;
  const int64_t n = static_cast<int64_t>(filled.values.size());
  const int64_t longest = std::min(horizon, std::max(kMinRecentWindow, n / kRecentWindowDivisor));
  for (int64_t window = kMinRecentWindow; window <= longest; window *= 2) {
    if (const std::optional<size_t> best =
            RecentBreakChoiceIn(models, filled, chosen, scale, window);
        best.has_value()) {
      return best;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ForecastResult> ForecastSeries(const RegularSeries& history,
                                              const ForecastSpec& spec) {
  if (history.step <= absl::ZeroDuration()) {
    return common::InvalidField("step", "must be positive");
  }
  if (spec.horizon < 1) return common::InvalidField("horizon", "must be at least one step");
  if (spec.min_errors_for_empirical < 2) {
    return common::InvalidField("min_errors_for_empirical", "must be at least 2");
  }
  RETURN_IF_ERROR(CheckModelName(spec.model));

  const SeasonPeriods periods = SeasonPeriodsFor(history.step);
  ASSIGN_OR_RETURN(const FilledSeries filled,
                   FillGaps(history, periods.daily >= 2 ? periods.daily : periods.weekly));
  if (filled.observed_count < kMinObservedPoints) {
    return absl::FailedPreconditionError(absl::StrCat("history: ", filled.observed_count,
                                                      " observed points; at least ",
                                                      kMinObservedPoints, " are needed"));
  }
  const int64_t n = static_cast<int64_t>(filled.values.size());
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<ForecastModel>> models,
                   Candidates(spec.model, periods, n));

  ForecastResult result;
  result.history_points = n;
  result.imputed_points = filled.imputed;
  result.trimmed_points = filled.trimmed;
  result.season_period = periods.Primary(n);

  ASSIGN_OR_RETURN(const double scale,
                   SeasonalNaiveMae(filled.values, filled.observed, result.season_period));
  int64_t min_train = 1;
  for (const auto& model : models) min_train = std::max(min_train, model->MinHistory());
  ASSIGN_OR_RETURN(const BacktestPlan plan,
                   PlanBacktest(n, spec.horizon, min_train, spec.backtest));
  result.backtest_origins = static_cast<int64_t>(plan.origins.size());
  result.backtest_horizon = plan.horizon;

  size_t best = 0;
  std::vector<BacktestScore> scores;
  for (size_t i = 0; i < models.size(); ++i) {
    ASSIGN_OR_RETURN(BacktestScore score, Backtest(*models[i], filled, plan, scale));
    if (i > 0 && Better(score.mase, scores[best].mase)) best = i;
    scores.push_back(std::move(score));
  }
  if (spec.model.empty()) {
    for (size_t i = 0; i < models.size(); ++i) {
      result.candidates.push_back(
          {std::string(models[i]->name()), scores[i].mase, scores[i].smape});
    }
  }
  std::vector<size_t> chosen{best};
  const BacktestScore* chosen_score = &scores[best];
  BacktestScore best_combination;
  if (spec.model.empty()) {
    std::vector<size_t> ranked;
    for (size_t i = 0; i < models.size(); ++i) {
      if (std::isfinite(scores[i].mase)) ranked.push_back(i);
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](size_t a, size_t b) { return scores[a].mase < scores[b].mase; });
    for (const size_t size : kEnsembleSizes) {
      if (ranked.size() < size) break;
      const std::vector<size_t> members(ranked.begin(), ranked.begin() + size);
      std::vector<const BacktestScore*> member_scores;
      for (const size_t i : members) member_scores.push_back(&scores[i]);
      ASSIGN_OR_RETURN(BacktestScore combined, CombineBacktests(member_scores, scale));
      if (combined.mase < chosen_score->mase) {
        chosen = members;
        best_combination = std::move(combined);
        chosen_score = &best_combination;
      }
    }
  }
  if (spec.model.empty()) {
    if (const std::optional<size_t> recent =
            RecentBreakChoice(models, filled, chosen, scale, spec.horizon);
        recent.has_value()) {
      chosen = {*recent};
      chosen_score = &scores[*recent];
      result.recent_break = true;
    }
  }
  if (chosen.size() == 1) {
    result.model = std::string(models[chosen[0]]->name());
  } else {
    result.model = kEnsembleModel;
    for (const size_t i : chosen) result.ensemble_members.emplace_back(models[i]->name());
  }
  result.backtest_mase = chosen_score->mase;
  result.backtest_smape = chosen_score->smape;

  ModelForecast forecast;
  forecast.mean.assign(static_cast<size_t>(spec.horizon), 0);
  forecast.sd.assign(static_cast<size_t>(spec.horizon), 0);
  for (const size_t i : chosen) {
    ASSIGN_OR_RETURN(const ModelForecast one, models[i]->Forecast(filled.values, spec.horizon));
    for (size_t k = 0; k < forecast.mean.size(); ++k) {
      forecast.mean[k] += one.mean[k] / static_cast<double>(chosen.size());
      forecast.sd[k] += one.sd[k] / static_cast<double>(chosen.size());
    }
  }

  // An automatic choice is calibrated on cross-fitted errors of the selection.
  const std::vector<std::vector<int64_t>> origins_by_step = OriginsByStep(plan, filled);
  const BacktestScore* calibrated = chosen_score;
  BacktestScore cross_fitted;
  if (spec.model.empty() && spec.cross_fit && plan.origins.size() >= 2 && models.size() >= 2) {
    cross_fitted = CrossFittedErrors(scores, plan.origins, origins_by_step, kEnsembleSizes);
    if (!cross_fitted.errors_by_step.empty()) calibrated = &cross_fitted;
  }
  // Scale-adaptive calibration: errors in units of the local scale at their
  // origin and of the phase factor of their target step; intervals in units
  // of the local scale at the end of the history and of their step's phase.
  bool aligned = origins_by_step.size() == calibrated->errors_by_step.size();
  for (size_t k = 0; aligned && k < origins_by_step.size(); ++k) {
    aligned = origins_by_step[k].size() == calibrated->errors_by_step[k].size();
  }
  const bool adaptive = scale > 0 && std::isfinite(scale) && aligned;
  const int64_t period = result.season_period;
  const LocalScales local(
      filled, period,
      std::max<int64_t>(kMinLocalScaleWindow,
                        std::max<int64_t>(1, spec.local_scale_seasons) * period),
      kLocalScaleFloor * scale);
  const PhaseProfile phase(filled, periods, spec.phase_profile ? period : 0);
  const bool normalize = adaptive && (spec.local_scale_seasons > 0 || spec.phase_profile);
  const double local_end = normalize && spec.local_scale_seasons > 0 ? local.At(n) : 1.0;
  const auto phase_at = [&](int64_t t) { return normalize ? phase.At(t) : 1.0; };
  BacktestScore normalized;
  if (normalize) {
    // The cross-fitted errors are ours to rescale in place.
    BacktestScore* target = &cross_fitted;
    if (calibrated != &cross_fitted) {
      normalized.errors_by_step = calibrated->errors_by_step;
      target = &normalized;
    }
    for (size_t k = 0; k < target->errors_by_step.size(); ++k) {
      std::vector<double>& errors = target->errors_by_step[k];
      for (size_t j = 0; j < errors.size(); ++j) {
        const int64_t origin = origins_by_step[k][j];
        if (spec.local_scale_seasons > 0) errors[j] /= local.At(origin);
        errors[j] /= phase.At(origin + static_cast<int64_t>(k));
      }
    }
    calibrated = target;
  }
  const Calibration calibration =
      Calibrate(*calibrated, std::min(spec.horizon, plan.horizon), spec.min_errors_for_empirical);
  // Finite-sample correction: the windows of overlapping origins are not
  // independent; the backtest holds about `independent` non-overlapping
  // windows, and the quantiles estimated from them are widened as a
  // prediction interval from that many draws is.
  const double independent = std::min<double>(
      static_cast<double>(plan.origins.size()),
      static_cast<double>(plan.origins.back() - plan.origins.front() + plan.horizon) /
          static_cast<double>(plan.horizon));
  const double widen = spec.finite_sample_correction ? std::sqrt(1 + 1 / independent) : 1.0;
  const absl::Time last = filled.start + (n - 1) * filled.step;
  result.points.reserve(static_cast<size_t>(spec.horizon));
  for (int64_t h = 1; h <= spec.horizon; ++h) {
    const size_t k = static_cast<size_t>(h - 1);
    ForecastPoint point;
    point.time = last + h * filled.step;
    point.value = forecast.mean[k];
    if (k < calibration.scale.size() && calibration.scale[k] >= 0) {
      const double scale =
          calibration.scale[k] * local_end * phase_at(n + static_cast<int64_t>(k)) * widen;
      point.lower_80 = point.value + calibration.quantiles[0] * scale;
      point.upper_80 = point.value + calibration.quantiles[1] * scale;
      point.lower_95 = point.value + calibration.quantiles[2] * scale;
      point.upper_95 = point.value + calibration.quantiles[3] * scale;
      ++result.empirical_interval_steps;
    } else {
      point.lower_80 = point.value - kZ80 * forecast.sd[k];
      point.upper_80 = point.value + kZ80 * forecast.sd[k];
      point.lower_95 = point.value - kZ95 * forecast.sd[k];
      point.upper_95 = point.value + kZ95 * forecast.sd[k];
    }
    if (spec.non_negative) {
      for (double* v :
           {&point.value, &point.lower_80, &point.upper_80, &point.lower_95, &point.upper_95}) {
        *v = std::max(0.0, *v);
      }
    }
    result.points.push_back(point);
  }
  return result;
}

}  // namespace agentwatch::capacity
