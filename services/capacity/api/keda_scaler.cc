#include "capacity/api/keda_scaler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "capacity/api/demand.h"
#include "common/log.h"
#include "common/status.h"
#include "common/status_macros.h"

namespace agentwatch::capacity {
namespace {

constexpr absl::Duration kMinLookahead = absl::Minutes(1);
constexpr absl::Duration kMaxLookahead = absl::Hours(24);
// The history a lookahead forecast is fitted on: three days carry a daily
// season three times.
constexpr absl::Duration kScalerHistory = absl::Hours(24 * 3);

// One-minute steps for lookaheads up to an hour, five minutes beyond.
absl::Duration ScalerStep(absl::Duration lookahead) {
  return lookahead <= absl::Hours(1) ? absl::Minutes(1) : absl::Minutes(5);
}

double LatestFinite(const std::vector<double>& values) {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (std::isfinite(*it)) return *it;
  }
  return 0;
}

}  // namespace

absl::StatusOr<ScalerMetadata> ParseScalerMetadata(const externalscaler::ScaledObjectRef& ref) {
  ScalerMetadata out;
  const auto& metadata = ref.scalermetadata();
  const auto id = metadata.find("resourceId");
  if (id == metadata.end() || id->second.empty()) {
    return common::InvalidField("scalerMetadata.resourceId", "must be set");
  }
  out.resource_id = id->second;
  if (const auto it = metadata.find("lookahead"); it != metadata.end() && !it->second.empty()) {
    if (!absl::ParseDuration(it->second, &out.lookahead)) {
      return common::InvalidField("scalerMetadata.lookahead",
                                  "must be a duration such as \"15m\" or \"1h30m\"");
    }
    if (out.lookahead < kMinLookahead || out.lookahead > kMaxLookahead) {
      return common::InvalidField("scalerMetadata.lookahead", "must be between 1m and 24h");
    }
  }
  if (const auto it = metadata.find("activationThreshold");
      it != metadata.end() && !it->second.empty()) {
    if (!absl::SimpleAtod(it->second, &out.activation_threshold) ||
        !std::isfinite(out.activation_threshold)) {
      return common::InvalidField("scalerMetadata.activationThreshold", "must be a number");
    }
  }
  return out;
}

std::string ScalerMetricName(absl::string_view resource_name) {
  std::string name = "agentwatch-forecast-";
  for (char c : resource_name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name.push_back((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ? lower : '-');
  }
  return name;
}

// StreamIsActive: a thread evaluates the activity every interval and writes
// it when it changed; the reactor deletes itself once gRPC is done with it.
class KedaScalerImpl::ActivityStream final
    : public grpc::ServerWriteReactor<externalscaler::IsActiveResponse> {
 public:
  ActivityStream(KedaScalerImpl& scaler, externalscaler::ScaledObjectRef ref)
      : scaler_(scaler), ref_(std::move(ref)) {
    thread_ = std::thread([this] { Run(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) stopping_ = true;
    wake_.notify_all();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }

  void OnDone() override {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
    delete this;
  }

 private:
  void Run() {
    std::optional<bool> last;
    absl::Status final_status = absl::OkStatus();
    while (true) {
      const absl::StatusOr<bool> active = scaler_.Active(ref_);
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) break;
      if (!active.ok()) {
        final_status = active.status();
        break;
      }
      if (!last.has_value() || *last != *active) {
        last = *active;
        response_.set_result(*active);
        writing_ = true;
        // gRPC may run OnWriteDone on this thread: not under the lock.
        lock.unlock();
        StartWrite(&response_);
        lock.lock();
        wake_.wait(lock, [this] { return !writing_ || stopping_; });
        if (stopping_) break;
      }
      // The pause between evaluations is real time: it paces polling.
      if (wake_.wait_for(lock, absl::ToChronoMilliseconds(scaler_.options_.stream_interval),
                         [this] { return stopping_; })) {
        break;
      }
    }
    {
      // A write still in flight must complete before Finish.
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return !writing_; });
    }
    Finish(common::ToGrpcStatus(final_status));
  }

  KedaScalerImpl& scaler_;
  const externalscaler::ScaledObjectRef ref_;
  externalscaler::IsActiveResponse response_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

KedaScalerImpl::KedaScalerImpl(common::RpcRunner& rpc, const common::Clock& clock,
                               HistorySource& history, ResourceStore& resources,
                               ForecastCache& cache, KedaScalerOptions options)
    : rpc_(rpc),
      clock_(clock),
      history_(history),
      resources_(resources),
      cache_(cache),
      options_(options) {}

absl::StatusOr<double> KedaScalerImpl::MetricValue(const externalscaler::ScaledObjectRef& ref) {
  ASSIGN_OR_RETURN(const ScalerMetadata metadata, ParseScalerMetadata(ref));
  ASSIGN_OR_RETURN(const Resource resource, resources_.GetResource(metadata.resource_id));
  const absl::Duration step = ScalerStep(metadata.lookahead);
  const absl::Time now = clock_.Now();
  const absl::Time step_start = absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), step);
  // Several KEDA operators and replicas poll the same resource: the value is
  // shared through the cache for the rest of the step.
  const ForecastCacheKey key{
      resource.tenant,
      absl::StrCat("keda/v1;", resource.id, ";", absl::ToUnixMicros(resource.update_time), ";",
                   absl::ToInt64Seconds(metadata.lookahead), ";", absl::ToUnixSeconds(step_start))};
  const absl::StatusOr<std::optional<std::string>> cached = cache_.Get(key);
  double value = 0;
  if (cached.ok() && cached->has_value() && absl::SimpleAtod(**cached, &value)) return value;

  const absl::StatusOr<Demand> demand =
      ForecastDemand(history_, resource, metadata.lookahead, step, kScalerHistory, now);
  if (demand.ok()) {
    value = LatestFinite(demand->history.values);
    for (const ForecastPoint& point : demand->forecast.points) value = std::max(value, point.value);
  } else if (absl::IsFailedPrecondition(demand.status())) {
    ASSIGN_OR_RETURN(const RegularSeries history,
                     DemandHistory(history_, resource, step, kScalerHistory, now));
    value = LatestFinite(history.values);
  } else {
    return demand.status();
  }
  if (const absl::Status put = cache_.Put(key, absl::StrFormat("%.17g", value), step); !put.ok()) {
    common::LogWarning("scaler cache unavailable; value not cached", {{"error", put.ToString()}});
  }
  return value;
}

absl::StatusOr<bool> KedaScalerImpl::Active(const externalscaler::ScaledObjectRef& ref) {
  ASSIGN_OR_RETURN(const ScalerMetadata metadata, ParseScalerMetadata(ref));
  ASSIGN_OR_RETURN(const double value, MetricValue(ref));
  return value > metadata.activation_threshold;
}

grpc::ServerUnaryReactor* KedaScalerImpl::IsActive(grpc::CallbackServerContext* context,
                                                   const externalscaler::ScaledObjectRef* request,
                                                   externalscaler::IsActiveResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(const bool active, Active(*request));
    response->set_result(active);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<externalscaler::IsActiveResponse>* KedaScalerImpl::StreamIsActive(
    grpc::CallbackServerContext* context, const externalscaler::ScaledObjectRef* request) {
  if (const absl::Status auth = rpc_.authorizer().Check(*context, common::Role::kViewer);
      !auth.ok()) {
    class Refused final : public grpc::ServerWriteReactor<externalscaler::IsActiveResponse> {
     public:
      explicit Refused(const absl::Status& status) { Finish(common::ToGrpcStatus(status)); }
      void OnDone() override { delete this; }
    };
    return new Refused(auth);
  }
  return new ActivityStream(*this, *request);
}

grpc::ServerUnaryReactor* KedaScalerImpl::GetMetricSpec(
    grpc::CallbackServerContext* context, const externalscaler::ScaledObjectRef* request,
    externalscaler::GetMetricSpecResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(const ScalerMetadata metadata, ParseScalerMetadata(*request));
    ASSIGN_OR_RETURN(const Resource resource, resources_.GetResource(metadata.resource_id));
    const double target = resource.per_unit_capacity * resource.target_utilization;
    externalscaler::MetricSpec* spec = response->add_metricspecs();
    spec->set_metricname(ScalerMetricName(resource.name));
    spec->set_targetsizefloat(target);
    spec->set_targetsize(std::max<int64_t>(1, std::llround(target)));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KedaScalerImpl::GetMetrics(
    grpc::CallbackServerContext* context, const externalscaler::GetMetricsRequest* request,
    externalscaler::GetMetricsResponse* response) {
  return rpc_.Unary(context, common::Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(const double value, MetricValue(request->scaledobjectref()));
    std::string name = request->metricname();
    if (name.empty()) {
      ASSIGN_OR_RETURN(const ScalerMetadata metadata,
                       ParseScalerMetadata(request->scaledobjectref()));
      ASSIGN_OR_RETURN(const Resource resource, resources_.GetResource(metadata.resource_id));
      name = ScalerMetricName(resource.name);
    }
    externalscaler::MetricValue* out = response->add_metricvalues();
    out->set_metricname(name);
    out->set_metricvaluefloat(value);
    out->set_metricvalue(std::llround(value));
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::capacity
