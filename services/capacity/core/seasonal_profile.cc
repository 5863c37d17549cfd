#include "capacity/core/seasonal_profile.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr int64_t kDaysPerWeek = 7;
// Level steps beyond this many robust standard deviations are clipped...
constexpr double kClipSigmas = 4.0;
// ...unless max(kShiftRun, period / 24) in a row (an hour at sub-daily
// steps) go the same way: then the level has shifted.
constexpr int64_t kShiftRun = 3;
// Half lives tried, as fractions of the period (at least one step).
constexpr double kHalfLives[] = {0, 1.0 / 12, 0.25, 1.0, 4.0};
// The level filter starts this many half lives (and at least two periods)
// before the origin.
constexpr double kWarmUpHalfLives = 6;

double Alpha(double half_life) { return 1 - std::pow(2.0, -1 / std::max(1.0, half_life)); }

// Consecutive clipped steps the same way of the level filter.
struct Run {
  int64_t length = 0;  // signed: positive for steps up
  double sum = 0;      // of their values
};

// One step of the level filter: the level moves alpha of the way to z, the
// step clipped to `clip`; once `shift` clipped steps in a row went the same
// way the level has shifted, and it restarts at their mean.
double NextLevel(double alpha, double clip, int64_t shift, double z, double level, Run* run) {
  double step = z - level;
  if (clip > 0 && std::fabs(step) > clip) {
    const int64_t sign = step > 0 ? 1 : -1;
    if (run->length != 0 && (run->length > 0) == (sign > 0)) {
      run->length += sign;
      run->sum += z;
    } else {
      run->length = sign;
      run->sum = z;
    }
    if (std::abs(run->length) >= shift) {
      const double mean = run->sum / static_cast<double>(std::abs(run->length));
      *run = Run{};
      return mean;
    }
    step = std::clamp(step, -clip, clip);
  } else {
    *run = Run{};
  }
  return level + alpha * step;
}

}  // namespace

struct SeasonalProfileModel::Parts {
  std::vector<double> profile;
  std::vector<double> day_offsets;
  double level = 0;
  double alpha = 1;
  double half_life = 1;
  // Level steps beyond this are clipped (unless a shift); 0: no clipping.
  double clip = 0;
  // In-sample root mean square error at each lead of `leads`.
  std::vector<int64_t> leads;
  std::vector<double> lead_rms;
};

SeasonalProfileModel::SeasonalProfileModel(int64_t daily_period, int64_t weekly_period)
    : period_(daily_period >= 2 ? daily_period : weekly_period),
      days_per_week_(
          daily_period >= 2 && weekly_period == kDaysPerWeek * daily_period ? kDaysPerWeek : 0),
      shift_run_(std::max(kShiftRun, period_ / 24)) {
  assert(period_ >= 2);
}

int64_t SeasonalProfileModel::MinHistory() const {
  return days_per_week_ > 0 ? (days_per_week_ + 1) * period_ : 2 * period_;
}

double SeasonalProfileModel::Seasonal(const Parts& parts, int64_t t) const {
  double value = parts.profile[static_cast<size_t>(t % period_)];
  if (!parts.day_offsets.empty()) {
    value += parts.day_offsets[static_cast<size_t>((t / period_) % days_per_week_)];
  }
  return value;
}

SeasonalProfileModel::Parts SeasonalProfileModel::Decompose(absl::Span<const double> history,
                                                            int64_t origin) const {
  Parts parts;
  const int64_t m = period_;
  // Day-of-week offsets over the last whole weeks of whole days.
  if (days_per_week_ > 0) {
    const int64_t days = origin / m;  // whole days [0, days)
    const int64_t weeks = std::min(kProfileWeeks, days / days_per_week_);
    if (weeks >= 1) {
      // deviations[w * 7 + d]: day d of week w minus its week's mean.
      std::vector<double> deviations(static_cast<size_t>(weeks * days_per_week_));
      parts.day_offsets.assign(static_cast<size_t>(days_per_week_), 0);
      const int64_t first_day = days - weeks * days_per_week_;
      for (int64_t w = 0; w < weeks; ++w) {
        double* week = deviations.data() + w * days_per_week_;
        double week_sum = 0;
        for (int64_t k = 0; k < days_per_week_; ++k) {
          const int64_t day = first_day + w * days_per_week_ + k;
          double sum = 0;
          for (int64_t t = day * m; t < (day + 1) * m; ++t) sum += history[static_cast<size_t>(t)];
          week[k] = sum / static_cast<double>(m);
          week_sum += week[k];
        }
        const double week_mean = week_sum / static_cast<double>(days_per_week_);
        for (int64_t k = 0; k < days_per_week_; ++k) {
          week[k] -= week_mean;
          const int64_t day = first_day + w * days_per_week_ + k;
          parts.day_offsets[static_cast<size_t>(day % days_per_week_)] +=
              week[k] / static_cast<double>(weeks);
        }
      }
      // Shrink the offsets towards 0 by how much of their spread the
      // week-to-week noise explains (James-Stein), so that a series without
      // a weekly cycle gets none: with one week there is no noise estimate,
      // and they count half.
      double shrink = 0.5;
      if (weeks >= 2) {
        double noise = 0;
        double spread = 0;
        for (int64_t d = 0; d < days_per_week_; ++d) {
          spread +=
              parts.day_offsets[static_cast<size_t>(d)] * parts.day_offsets[static_cast<size_t>(d)];
        }
        for (int64_t w = 0; w < weeks; ++w) {
          for (int64_t k = 0; k < days_per_week_; ++k) {
            const int64_t day = first_day + w * days_per_week_ + k;
            const double e = deviations[static_cast<size_t>(w * days_per_week_ + k)] -
                             parts.day_offsets[static_cast<size_t>(day % days_per_week_)];
            noise += e * e;
          }
        }
        // Variance of one offset's estimate: the day noise over the weeks.
        const double offset_variance =
            noise / static_cast<double>(days_per_week_ * (weeks - 1)) / static_cast<double>(weeks);
        const double mean_square = spread / static_cast<double>(days_per_week_);
        shrink = mean_square > 0 ? std::max(0.0, 1 - offset_variance / mean_square) : 0;
      }
      for (double& offset : parts.day_offsets) offset *= shrink;
    }
  }
  // The deseasonalised-by-day values of the last whole seasons before the
  // origin, season k (k = 0 the most recent) at [k * m, (k + 1) * m) by phase.
  const int64_t seasons = std::min(kProfileSeasons, origin / m);
  std::vector<double> departures(static_cast<size_t>(seasons * m));
  for (int64_t k = 0; k < seasons; ++k) {
    const int64_t from = origin - (k + 1) * m;
    double* row = departures.data() + k * m;
    double sum = 0;
    for (int64_t t = from; t < from + m; ++t) {
      double value = history[static_cast<size_t>(t)];
      if (!parts.day_offsets.empty()) {
        value -= parts.day_offsets[static_cast<size_t>((t / m) % days_per_week_)];
      }
      row[t % m] = value;
      sum += value;
    }
    const double mean = sum / static_cast<double>(m);
    for (int64_t j = 0; j < m; ++j) row[j] -= mean;
  }
  // Per phase, the mean leaving out the smallest and the largest value from
  // five seasons on.
  parts.profile.resize(static_cast<size_t>(m));
  const bool trim = seasons >= 5;
  for (int64_t j = 0; j < m; ++j) {
    double sum = 0;
    double low = departures[static_cast<size_t>(j)];
    double high = low;
    for (int64_t k = 0; k < seasons; ++k) {
      const double value = departures[static_cast<size_t>(k * m + j)];
      sum += value;
      low = std::min(low, value);
      high = std::max(high, value);
    }
    parts.profile[static_cast<size_t>(j)] =
        trim ? (sum - low - high) / static_cast<double>(seasons - 2)
             : sum / static_cast<double>(seasons);
  }
  return parts;
}

void SeasonalProfileModel::SmoothLevel(absl::Span<const double> history, int64_t origin,
                                       Parts* parts) const {
  const int64_t warm_up =
      std::max<int64_t>(2 * period_, static_cast<int64_t>(kWarmUpHalfLives * parts->half_life));
  const int64_t start = std::max<int64_t>(0, origin - warm_up);
  const int64_t first = std::min(origin, start + period_);
  double sum = 0;
  for (int64_t t = start; t < first; ++t) {
    sum += history[static_cast<size_t>(t)] - Seasonal(*parts, t);
  }
  double level = sum / static_cast<double>(first - start);
  Run run;
  for (int64_t t = start; t < origin; ++t) {
    level = NextLevel(parts->alpha, parts->clip, shift_run_,
                      history[static_cast<size_t>(t)] - Seasonal(*parts, t), level, &run);
  }
  parts->level = level;
}

void SeasonalProfileModel::ChooseAlpha(absl::Span<const double> history, int64_t origin,
                                       int64_t horizon, Parts* parts) const {
  // Leads spread over the horizon.
  parts->leads.clear();
  for (const int64_t lead : {int64_t{1}, (horizon + 2) / 3, (2 * horizon + 2) / 3, horizon}) {
    if (parts->leads.empty() || lead > parts->leads.back()) parts->leads.push_back(lead);
  }
  // The deseasonalised values of the evaluation range.
  const int64_t span = std::min(origin, 3 * period_ + horizon);
  const int64_t start = origin - span;
  std::vector<double> z(static_cast<size_t>(span));
  for (int64_t t = start; t < origin; ++t) {
    z[static_cast<size_t>(t - start)] = history[static_cast<size_t>(t)] - Seasonal(*parts, t);
  }
  // Clip level steps at kClipSigmas robust standard deviations of the
  // step-to-step changes of the deseasonalised values (1.4826 times their
  // median absolute value, over sqrt 2).
  std::vector<double> changes;
  changes.reserve(z.size());
  for (size_t i = 1; i < z.size(); ++i) changes.push_back(std::fabs(z[i] - z[i - 1]));
  if (!changes.empty()) {
    std::nth_element(changes.begin(), changes.begin() + changes.size() / 2, changes.end());
    parts->clip = kClipSigmas * 1.4826 * changes[changes.size() / 2] / std::sqrt(2.0);
  }
  double best = -1;
  std::vector<double> levels(z.size());
  std::vector<double> rms(parts->leads.size());
  for (const double fraction : kHalfLives) {
    const double half_life = std::max(1.0, fraction * static_cast<double>(period_));
    const double alpha = Alpha(half_life);
    double level = z[0];
    Run run;
    for (size_t i = 0; i < z.size(); ++i) {
      level = NextLevel(alpha, parts->clip, shift_run_, z[i], level, &run);
      levels[i] = level;
    }
    // Errors of forecasts made after the first period (the level settled).
    double total = 0;
    const size_t from = std::min(z.size(), static_cast<size_t>(period_));
    rms.assign(parts->leads.size(), 0);
    for (size_t l = 0; l < parts->leads.size(); ++l) {
      const size_t lead = static_cast<size_t>(parts->leads[l]);
      double absolute = 0;
      double squares = 0;
      int64_t count = 0;
      for (size_t i = from; i + lead < z.size(); ++i) {
        const double error = z[i + lead] - levels[i];
        absolute += std::fabs(error);
        squares += error * error;
        ++count;
      }
      if (count == 0) {
        // A lead longer than the evaluation range: the last error scale, grown
        // as a random walk's.
        rms[l] = l > 0 ? rms[l - 1] * std::sqrt(static_cast<double>(parts->leads[l]) /
                                                static_cast<double>(parts->leads[l - 1]))
                       : 0;
        continue;
      }
      total += absolute / static_cast<double>(count);
      rms[l] = std::sqrt(squares / static_cast<double>(count));
    }
    if (best < 0 || total < best) {
      best = total;
      parts->alpha = alpha;
      parts->half_life = half_life;
      parts->lead_rms = rms;
    }
  }
}

ModelForecast SeasonalProfileModel::FromParts(const Parts& parts, int64_t origin,
                                              int64_t horizon) const {
  ModelForecast out;
  out.mean.resize(static_cast<size_t>(horizon));
  out.sd.resize(static_cast<size_t>(horizon));
  size_t l = 0;
  for (int64_t h = 1; h <= horizon; ++h) {
    const size_t k = static_cast<size_t>(h - 1);
    out.mean[k] = parts.level + Seasonal(parts, origin + h - 1);
    while (l + 1 < parts.leads.size() && parts.leads[l + 1] < h) ++l;
    double sd = parts.lead_rms[l];
    if (l + 1 < parts.leads.size() && h > parts.leads[l]) {
      const double fraction = static_cast<double>(h - parts.leads[l]) /
                              static_cast<double>(parts.leads[l + 1] - parts.leads[l]);
      sd += fraction * (parts.lead_rms[l + 1] - parts.lead_rms[l]);
    }
    out.sd[k] = sd;
  }
  return out;
}

absl::StatusOr<SeasonalProfileFit> SeasonalProfileModel::Fit(absl::Span<const double> history,
                                                             int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const int64_t origin = static_cast<int64_t>(history.size());
  Parts parts = Decompose(history, origin);
  ChooseAlpha(history, origin, horizon, &parts);
  SmoothLevel(history, origin, &parts);
  return SeasonalProfileFit{parts.profile, parts.day_offsets, parts.level, parts.alpha};
}

absl::StatusOr<ModelForecast> SeasonalProfileModel::Forecast(absl::Span<const double> history,
                                                             int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const int64_t origin = static_cast<int64_t>(history.size());
  Parts parts = Decompose(history, origin);
  ChooseAlpha(history, origin, horizon, &parts);
  SmoothLevel(history, origin, &parts);
  return FromParts(parts, origin, horizon);
}

absl::StatusOr<std::vector<ModelForecast>> SeasonalProfileModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  if (origins.empty()) return out;
  RETURN_IF_ERROR(CheckForecastInputs(
      *this, history.subspan(0, static_cast<size_t>(origins.front())), horizon));
  // The profile and offsets are redone once the origin has moved a season
  // past the last decomposition (origins in between keep them: made on less
  // data, never on data at or after the origin); the level filter runs once
  // through all origins, switching to each new decomposition as it comes.
  Parts parts = Decompose(history, origins.front());
  ChooseAlpha(history, origins.front(), horizon, &parts);
  SmoothLevel(history, origins.front(), &parts);
  int64_t decomposed = origins.front();
  int64_t filtered = origins.front();
  Run run;
  out.reserve(origins.size());
  for (const int64_t origin : origins) {
    if (origin - decomposed >= period_) {
      Parts fresh = Decompose(history, origin);
      parts.profile = std::move(fresh.profile);
      parts.day_offsets = std::move(fresh.day_offsets);
      decomposed = origin;
    }
    for (; filtered < origin; ++filtered) {
      const double z = history[static_cast<size_t>(filtered)] - Seasonal(parts, filtered);
      parts.level = NextLevel(parts.alpha, parts.clip, shift_run_, z, parts.level, &run);
    }
    out.push_back(FromParts(parts, origin, horizon));
  }
  return out;
}

}  // namespace agentwatch::capacity
