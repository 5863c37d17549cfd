// Throughput of the capacity forecast core: fit + forecast with backtest
// selection over synthetic agent-traffic series (two weeks of 5-minute data,
// one day ahead), on several threads. Used by bench/capacity_forecast; prints
// one JSON line: {"series":N,"threads":T,"seconds":S,"series_per_s":R,
// "models":{...}}.
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "capacity/core/forecast.h"

namespace {

namespace capacity = agentwatch::capacity;

constexpr int64_t kStepsPerDay = 288;

// Agent traffic: a business-hours daily profile, a weekend dip, growth,
// noise proportional to the level, rare spikes and a few gaps.
capacity::RegularSeries SyntheticSeries(uint32_t seed, int64_t days) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> normal(0, 1);
  const double base = 20 + 200 * uniform(random);
  const double growth = 0.002 * normal(random);  // per day, relative
  const double peak_hour = 11 + 6 * uniform(random);
  const double weekend = 0.3 + 0.5 * uniform(random);
  const double noise = 0.03 + 0.1 * uniform(random);
  capacity::RegularSeries series{absl::FromUnixSeconds(1'700'006'400), absl::Minutes(5), {}};
  double ar = 0;
  for (int64_t i = 0; i < days * kStepsPerDay; ++i) {
    const double hour = static_cast<double>(i % kStepsPerDay) / 12.0;
    const int64_t day = i / kStepsPerDay;
    const double daily = 0.35 + std::exp(-0.5 * std::pow((hour - peak_hour) / 3.5, 2));
    const double weekly = (day % 7 >= 5) ? weekend : 1.0;
    const double level = base * (1 + growth * static_cast<double>(day)) * daily * weekly;
    ar = 0.9 * ar + noise * normal(random);
    double value = level * (1 + ar) + std::sqrt(level) * normal(random);
    if (uniform(random) < 0.001) value *= 4;                                        // spike
    if (uniform(random) < 0.002) value = std::numeric_limits<double>::quiet_NaN();  // gap
    series.values.push_back(value);
  }
  return series;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t count = 2000;
  int64_t threads = 2;
  int64_t days = 14;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int64_t value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value) || value < 1) {
      std::cerr << "capacity_bench: " << flag << " needs a positive integer\n";
      return 2;
    }
    if (flag == "--series") {
      count = value;
    } else if (flag == "--threads") {
      threads = value;
    } else if (flag == "--days") {
      days = value;
    } else {
      std::cerr << "usage: capacity_bench [--series N] [--threads T] [--days D]\n";
      return 2;
    }
  }
  std::vector<capacity::RegularSeries> inputs;
  inputs.reserve(static_cast<size_t>(count));
  for (int64_t s = 0; s < count; ++s) inputs.push_back(SyntheticSeries(1000 + s, days));

  std::atomic<int64_t> next{0};
  std::atomic<int64_t> failed{0};
  std::mutex mutex;
  std::map<std::string, int64_t> models;
  const auto worker = [&] {
    std::map<std::string, int64_t> mine;
    for (int64_t s = next++; s < count; s = next++) {
      capacity::ForecastSpec spec;
      spec.horizon = kStepsPerDay;
      const auto result = capacity::ForecastSeries(inputs[static_cast<size_t>(s)], spec);
      if (result.ok()) {
        ++mine[result->model];
      } else if (failed++ == 0) {
        std::cerr << "capacity_bench: series " << s << ": " << result.status().message() << "\n";
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [model, n] : mine) models[model] += n;
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string chosen;
  for (const auto& [model, n] : models) {
    absl::StrAppend(&chosen, chosen.empty() ? "" : ",", "\"", model, "\":", n);
  }
  std::cout << "{\"series\":" << count << ",\"points_per_series\":" << days * kStepsPerDay
            << ",\"horizon\":" << kStepsPerDay << ",\"threads\":" << threads
            << ",\"seconds\":" << seconds
            << ",\"series_per_s\":" << static_cast<double>(count) / seconds
            << ",\"failed\":" << failed.load() << ",\"models\":{" << chosen << "}}" << std::endl;
  return failed.load() == 0 ? 0 : 1;
}
