#include "capacity/core/fourier_regression.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr double kOutlierSigmas = 4.0;
constexpr int kTrimRounds = 4;
constexpr double kMaxAr1 = 0.995;
constexpr double kMaxSeasonalAr = 0.95;
constexpr int64_t kMinWindow = 168;
constexpr int64_t kWindowPeriods = 8;

int Harmonics(int64_t period, int wanted) {
  if (period < 3) return 0;
  return static_cast<int>(std::min<int64_t>(wanted, (period - 1) / 2));
}

std::vector<double> PhaseTable(int64_t period, int harmonics) {
  std::vector<double> table(static_cast<size_t>(period) * 2 * static_cast<size_t>(harmonics));
  for (int64_t phase = 0; phase < period; ++phase) {
    for (int k = 1; k <= harmonics; ++k) {
      const double angle = 2 * M_PI * k * static_cast<double>(phase) / static_cast<double>(period);
      const size_t at = static_cast<size_t>(phase) * 2 * harmonics + 2 * (k - 1);
      table[at] = std::cos(angle);
      table[at + 1] = std::sin(angle);
    }
  }
  return table;
}

// Solves (a + ridge) x = b for a symmetric positive semi-definite p x p
// matrix by Cholesky; the small ridge keeps collinear columns (a trend on a
// short window, a season barely covered) solvable.
std::vector<double> SolveSymmetric(std::vector<double> a, std::vector<double> b, int p) {
  double max_diagonal = 0;
  for (int i = 0; i < p; ++i) max_diagonal = std::max(max_diagonal, a[i * p + i]);
  const double ridge = 1e-9 * max_diagonal + 1e-12;
  for (int i = 0; i < p; ++i) a[i * p + i] += ridge;
  for (int j = 0; j < p; ++j) {
    double d = a[j * p + j];
    for (int k = 0; k < j; ++k) d -= a[j * p + k] * a[j * p + k];
    d = std::sqrt(std::max(d, ridge));
    a[j * p + j] = d;
    for (int i = j + 1; i < p; ++i) {
      double s = a[i * p + j];
      for (int k = 0; k < j; ++k) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / d;
    }
  }
  for (int i = 0; i < p; ++i) {
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= a[i * p + k] * b[k];
    b[i] = s / a[i * p + i];
  }
  for (int i = p - 1; i >= 0; --i) {
    double s = b[i];
    for (int k = i + 1; k < p; ++k) s -= a[k * p + i] * b[k];
    b[i] = s / a[i * p + i];
  }
  return b;
}

// Adds sign * w x x' to the lower triangle of a and sign * w x y to b.
void Accumulate(const double* x, double y, double sign, int p, std::vector<double>* a,
                std::vector<double>* b) {
  for (int i = 0; i < p; ++i) {
    const double xi = sign * x[i];
    double* row = a->data() + static_cast<size_t>(i) * p;
    for (int j = 0; j <= i; ++j) row[j] += xi * x[j];
    (*b)[i] += xi * y;
  }
}

void MirrorLower(std::vector<double>* a, int p) {
  for (int i = 0; i < p; ++i) {
    for (int j = i + 1; j < p; ++j) (*a)[i * p + j] = (*a)[j * p + i];
  }
}

}  // namespace

struct FourierRegressionModel::Solved {
  std::vector<double> beta;
  double ar1 = 0;
  double seasonal_ar = 0;
  double rms = 0;
  // The last residual_season_ + 1 residuals before the origin (fewer when the
  // window is shorter), oldest first, clipped to the outlier limit.
  std::vector<double> recent;
  int64_t outliers = 0;
  // Residuals beyond this are outliers.
  double limit = 0;
  // SeasonalTable(beta).
  std::vector<double> seasonal;
};

FourierRegressionModel::FourierRegressionModel(int64_t daily_period, int64_t weekly_period)
    : daily_period_(daily_period),
      weekly_period_(weekly_period),
      daily_harmonics_(Harmonics(daily_period, kDailyHarmonics)),
      weekly_harmonics_(Harmonics(weekly_period, kWeeklyHarmonics)) {
  assert(daily_harmonics_ + weekly_harmonics_ > 0);
  const int64_t longest = std::max(daily_harmonics_ > 0 ? daily_period_ : 1,
                                   weekly_harmonics_ > 0 ? weekly_period_ : 1);
  window_ = std::max(kMinWindow, kWindowPeriods * longest);
  residual_season_ = daily_harmonics_ > 0 ? daily_period_ : weekly_period_;
  // The weekly period is a whole number of days, so one week of phases
  // holds both seasons.
  table_period_ = weekly_harmonics_ > 0 ? weekly_period_ : daily_period_;
  if (daily_harmonics_ > 0) daily_table_ = PhaseTable(daily_period_, daily_harmonics_);
  if (weekly_harmonics_ > 0) weekly_table_ = PhaseTable(weekly_period_, weekly_harmonics_);
}

int64_t FourierRegressionModel::MinHistory() const {
  return MinHistoryFor(daily_period_, weekly_period_);
}

int64_t FourierRegressionModel::MinHistoryFor(int64_t daily_period, int64_t weekly_period) {
  const int daily_harmonics = Harmonics(daily_period, kDailyHarmonics);
  const int weekly_harmonics = Harmonics(weekly_period, kWeeklyHarmonics);
  const int64_t longest =
      std::max(daily_harmonics > 0 ? daily_period : 1, weekly_harmonics > 0 ? weekly_period : 1);
  const int64_t columns = 2 + 2 * (daily_harmonics + weekly_harmonics);
  return std::max<int64_t>(2 * longest, columns + 8);
}

void FourierRegressionModel::Row(int64_t t, double* x) const {
  x[0] = 1;
  x[1] = static_cast<double>(t) / static_cast<double>(window_);
  double* out = x + 2;
  if (daily_harmonics_ > 0) {
    const double* from = daily_table_.data() + (t % daily_period_) * 2 * daily_harmonics_;
    out = std::copy(from, from + 2 * daily_harmonics_, out);
  }
  if (weekly_harmonics_ > 0) {
    const double* from = weekly_table_.data() + (t % weekly_period_) * 2 * weekly_harmonics_;
    std::copy(from, from + 2 * weekly_harmonics_, out);
  }
}

std::vector<double> FourierRegressionModel::SeasonalTable(const std::vector<double>& beta) const {
  const int p = Columns();
  std::vector<double> x(static_cast<size_t>(p));
  std::vector<double> table(static_cast<size_t>(table_period_));
  for (int64_t phase = 0; phase < table_period_; ++phase) {
    Row(phase, x.data());
    double sum = 0;
    for (int i = 2; i < p; ++i) sum += x[static_cast<size_t>(i)] * beta[static_cast<size_t>(i)];
    table[static_cast<size_t>(phase)] = sum;
  }
  return table;
}

FourierRegressionModel::Solved FourierRegressionModel::SolveAt(absl::Span<const double> history,
                                                               int64_t origin,
                                                               const std::vector<double>& a_in,
                                                               const std::vector<double>& b_in,
                                                               std::vector<uint8_t>* flags) const {
  const int p = Columns();
  const int64_t start = std::max<int64_t>(0, origin - window_);
  std::vector<double> x(static_cast<size_t>(p));
  // The normal equations without the points flagged as outliers.
  const auto solve_without_flagged = [&] {
    std::vector<double> a = a_in;
    std::vector<double> b = b_in;
    for (int64_t t = start; t < origin; ++t) {
      if (!(*flags)[static_cast<size_t>(t)]) continue;
      Row(t, x.data());
      Accumulate(x.data(), history[static_cast<size_t>(t)], -1, p, &a, &b);
    }
    MirrorLower(&a, p);
    return SolveSymmetric(std::move(a), std::move(b), p);
  };
  Solved solved;
  solved.beta = solve_without_flagged();

  const size_t count = static_cast<size_t>(origin - start);
  std::vector<double> residuals(count);
  std::vector<double> magnitudes(count);
  const auto outlier = [&](size_t i) { return (*flags)[static_cast<size_t>(start) + i] != 0; };
  // Trimmed refits: the outliers' terms are taken out of the normal
  // equations and the fit redone, until the set of outliers stops changing.
  for (int round = 0; round < kTrimRounds; ++round) {
    const std::vector<double> seasonal = SeasonalTable(solved.beta);
    const double trend = solved.beta[1] / static_cast<double>(window_);
    for (int64_t t = start; t < origin; ++t) {
      const size_t i = static_cast<size_t>(t - start);
      const double fitted = solved.beta[0] + trend * static_cast<double>(t) +
                            seasonal[static_cast<size_t>(t % table_period_)];
      residuals[i] = history[static_cast<size_t>(t)] - fitted;
      magnitudes[i] = std::fabs(residuals[i]);
    }
    std::nth_element(magnitudes.begin(), magnitudes.begin() + count / 2, magnitudes.end());
    const double limit = kOutlierSigmas * 1.4826 * magnitudes[count / 2];
    bool changed = false;
    int64_t outliers = 0;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t now = std::fabs(residuals[i]) > limit ? 1 : 0;
      uint8_t& flag = (*flags)[static_cast<size_t>(start) + i];
      changed = changed || now != flag;
      flag = now;
      outliers += now;
    }
    solved.outliers = outliers;
    solved.limit = limit;
    if (!changed || outliers >= static_cast<int64_t>(count) - p) break;
    solved.beta = solve_without_flagged();
  }

  const size_t season = static_cast<size_t>(residual_season_);
  double lagged = 0;
  double seasonal_lagged = 0;
  double squares = 0;
  int64_t kept = 0;
  const auto inside = [&](size_t i) { return !outlier(i); };
  for (size_t i = 0; i < count; ++i) {
    if (!inside(i)) continue;
    squares += residuals[i] * residuals[i];
    ++kept;
    if (i > 0 && inside(i - 1)) lagged += residuals[i] * residuals[i - 1];
    if (season >= 2 && i >= season && inside(i - season)) {
      seasonal_lagged += residuals[i] * residuals[i - season];
    }
  }
  solved.seasonal = SeasonalTable(solved.beta);
  solved.rms = kept > 0 ? std::sqrt(squares / static_cast<double>(kept)) : 0;
  solved.ar1 = squares > 0 ? std::clamp(lagged / squares, 0.0, kMaxAr1) : 0;
  solved.seasonal_ar = squares > 0 ? std::clamp(seasonal_lagged / squares, 0.0, kMaxSeasonalAr) : 0;
  return solved;
}

void FourierRegressionModel::SetRecent(absl::Span<const double> history, int64_t origin,
                                       Solved* solved) const {
  const int64_t start = std::max<int64_t>(0, origin - window_);
  const int64_t recent = std::min<int64_t>(residual_season_ + 1, origin - start);
  const double limit = solved->limit;
  const double trend = solved->beta[1] / static_cast<double>(window_);
  solved->recent.clear();
  for (int64_t t = origin - recent; t < origin; ++t) {
    const double fitted = solved->beta[0] + trend * static_cast<double>(t) +
                          solved->seasonal[static_cast<size_t>(t % table_period_)];
    const double r = history[static_cast<size_t>(t)] - fitted;
    solved->recent.push_back(limit > 0 ? std::clamp(r, -limit, limit) : 0);
  }
}

ModelForecast FourierRegressionModel::FromSolved(const Solved& solved, int64_t origin,
                                                 int64_t horizon) const {
  // The residuals follow (1 - a B)(1 - c B^m) r_t = e_t: their forecasts and
  // the psi weights of the error variance come from the same recursion.
  const double a = solved.ar1;
  const double c = solved.seasonal_ar;
  const int64_t m = residual_season_;
  const int64_t known = static_cast<int64_t>(solved.recent.size());
  std::vector<double> path(solved.recent);  // residuals, then their forecasts
  path.reserve(static_cast<size_t>(known + horizon));
  std::vector<double> psi;
  psi.reserve(static_cast<size_t>(horizon));
  const auto at = [](const std::vector<double>& v, int64_t i) {
    return i >= 0 ? v[static_cast<size_t>(i)] : 0.0;
  };
  const double innovation_variance = solved.rms * solved.rms * (1 - a * a) * (1 - c * c);
  double psi_squares = 0;
  ModelForecast forecast;
  forecast.mean.resize(static_cast<size_t>(horizon));
  forecast.sd.resize(static_cast<size_t>(horizon));
  const double trend = solved.beta[1] / static_cast<double>(window_);
  for (int64_t h = 1; h <= horizon; ++h) {
    const int64_t i = known + h - 1;
    const double r = a * at(path, i - 1) + c * at(path, i - m) - a * c * at(path, i - m - 1);
    path.push_back(r);
    const int64_t j = h - 1;
    const double weight =
        j == 0 ? 1.0 : a * at(psi, j - 1) + c * at(psi, j - m) - a * c * at(psi, j - m - 1);
    psi.push_back(weight);
    psi_squares += weight * weight;
    const int64_t t = origin + h - 1;
    const size_t k = static_cast<size_t>(h - 1);
    forecast.mean[k] = solved.beta[0] + trend * static_cast<double>(t) +
                       solved.seasonal[static_cast<size_t>(t % table_period_)] + r;
    forecast.sd[k] = std::sqrt(innovation_variance * psi_squares);
  }
  return forecast;
}

absl::StatusOr<FourierFit> FourierRegressionModel::Fit(absl::Span<const double> history) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, 1));
  const int p = Columns();
  const int64_t n = static_cast<int64_t>(history.size());
  std::vector<double> a(static_cast<size_t>(p) * p, 0);
  std::vector<double> b(static_cast<size_t>(p), 0);
  std::vector<double> x(static_cast<size_t>(p));
  for (int64_t t = std::max<int64_t>(0, n - window_); t < n; ++t) {
    Row(t, x.data());
    Accumulate(x.data(), history[static_cast<size_t>(t)], 1, p, &a, &b);
  }
  std::vector<uint8_t> flags(history.size(), 0);
  Solved solved = SolveAt(history, n, a, b, &flags);
  FourierFit fit;
  fit.coefficients = std::move(solved.beta);
  fit.coefficients[1] /= static_cast<double>(window_);
  fit.ar1 = solved.ar1;
  fit.seasonal_ar = solved.seasonal_ar;
  fit.residual_rms = solved.rms;
  fit.outliers = solved.outliers;
  return fit;
}

absl::StatusOr<ModelForecast> FourierRegressionModel::Forecast(absl::Span<const double> history,
                                                               int64_t horizon) const {
  RETURN_IF_ERROR(CheckForecastInputs(*this, history, horizon));
  const int64_t origin = static_cast<int64_t>(history.size());
  ASSIGN_OR_RETURN(std::vector<ModelForecast> forecasts,
                   ForecastFromOrigins(history, absl::MakeConstSpan(&origin, 1), horizon));
  return std::move(forecasts.front());
}

absl::StatusOr<std::vector<ModelForecast>> FourierRegressionModel::ForecastFromOrigins(
    absl::Span<const double> history, absl::Span<const int64_t> origins, int64_t horizon) const {
  RETURN_IF_ERROR(CheckOrigins(origins, static_cast<int64_t>(history.size())));
  std::vector<ModelForecast> out;
  if (origins.empty()) return out;
  RETURN_IF_ERROR(CheckForecastInputs(
      *this, history.subspan(0, static_cast<size_t>(origins.front())), horizon));
  const int p = Columns();
  const size_t cells = static_cast<size_t>(p) * p;

  // The regression is refitted at the first origin and then once the origin
  // has moved a residual season (a day, or a week for daily data) past the
  // last fit; in between, an origin keeps the coefficients of the last fit
  // (made on less data, never on data at or after the origin) and only
  // recomputes its recent residuals. Forecast() always fits at its origin.
  std::vector<int64_t> fits;
  for (const int64_t origin : origins) {
    if (fits.empty() || origin - fits.back() >= residual_season_) fits.push_back(origin);
  }
  // Prefix sums of the normal equations at every window start and fit
  // origin, gathered in one pass.
  std::vector<int64_t> checkpoints;
  for (const int64_t origin : fits) {
    checkpoints.push_back(std::max<int64_t>(0, origin - window_));
    checkpoints.push_back(origin);
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
  std::vector<std::vector<double>> prefix_a(checkpoints.size());
  std::vector<std::vector<double>> prefix_b(checkpoints.size());
  std::vector<double> a(cells, 0);
  std::vector<double> b(static_cast<size_t>(p), 0);
  std::vector<double> x(static_cast<size_t>(p));
  int64_t t = 0;
  for (size_t c = 0; c < checkpoints.size(); ++c) {
    for (; t < checkpoints[c]; ++t) {
      Row(t, x.data());
      Accumulate(x.data(), history[static_cast<size_t>(t)], 1, p, &a, &b);
    }
    prefix_a[c] = a;
    prefix_b[c] = b;
  }
  const auto index_of = [&](int64_t point) {
    return static_cast<size_t>(std::lower_bound(checkpoints.begin(), checkpoints.end(), point) -
                               checkpoints.begin());
  };

  // Outlier flags carry from one fit to the next as the starting set of the
  // trimmed refits (windows overlap), so that a settled set costs one pass.
  std::vector<uint8_t> flags(history.size(), 0);
  out.reserve(origins.size());
  Solved solved;
  size_t next_fit = 0;
  for (const int64_t origin : origins) {
    if (next_fit < fits.size() && fits[next_fit] == origin) {
      ++next_fit;
      const size_t from = index_of(std::max<int64_t>(0, origin - window_));
      const size_t to = index_of(origin);
      for (size_t i = 0; i < cells; ++i) a[i] = prefix_a[to][i] - prefix_a[from][i];
      for (int i = 0; i < p; ++i) b[i] = prefix_b[to][i] - prefix_b[from][i];
      solved = SolveAt(history, origin, a, b, &flags);
    }
    SetRecent(history, origin, &solved);
    out.push_back(FromSolved(solved, origin, horizon));
  }
  return out;
}

}  // namespace agentwatch::capacity
