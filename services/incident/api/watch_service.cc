// WatchIncidents: a server-streaming call over the replica's IncidentWatcher
// (api/incident_watcher.h), with the gRPC callback API: one write in flight
// at a time, the next started by OnWriteDone or by the poller's wake-up.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <utility>

#include "common/auth.h"
#include "common/status.h"
#include "incident/api/incident_service.h"
#include "incident/api/incident_watcher.h"

namespace agentwatch::incident {
namespace {

using common::Role;

// Answers a call that ends before it starts (refused, invalid, no watcher).
class FinishedWriteReactor final : public grpc::ServerWriteReactor<v1::IncidentEvent> {
 public:
  explicit FinishedWriteReactor(const absl::Status& status) {
    Finish(common::ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

// One watch stream. Deletes itself in OnDone, after detaching from its watch
// (no wake-up can reach it then).
class WatchReactor final : public grpc::ServerWriteReactor<v1::IncidentEvent>, public WatchSink {
 public:
  WatchReactor(IncidentWatcher& watcher, WatchSpec spec) : watcher_(watcher) {
    std::shared_ptr<Watch> watch = watcher_.Add(std::move(spec), this);
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_ = std::move(watch);
    }
    Pump();
  }

  void Wake() override { Pump(); }

  void OnSendInitialMetadataDone(bool ok) override { Done(ok); }
  void OnWriteDone(bool ok) override { Done(ok); }

  void OnCancel() override {
    watcher_.Remove(watch_);
    Pump();
  }

  void OnDone() override {
    watcher_.Remove(watch_);
    watch_->Detach();
    delete this;
  }

 private:
  void Done(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      if (!ok) broken_ = true;
    }
    Pump();
  }

  // Starts the next operation unless one is in flight.
  void Pump() {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_ == nullptr || busy_ || finished_) return;
    if (broken_) {
      // The client is gone (a write or the metadata failed).
      watcher_.Remove(watch_);
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    absl::Status end;
    switch (watch_->Pop(&event_, &end)) {
      case Watch::Next::kNone:
        return;
      case Watch::Next::kJoined:
        busy_ = true;
        StartSendInitialMetadata();
        return;
      case Watch::Next::kEvent:
        busy_ = true;
        StartWrite(&event_);
        return;
      case Watch::Next::kEnded:
        finished_ = true;
        Finish(common::ToGrpcStatus(end));
        return;
    }
  }

  IncidentWatcher& watcher_;
  std::mutex mu_;
  std::shared_ptr<Watch> watch_;
  v1::IncidentEvent event_;  // the write in flight
  bool busy_ = false;        // metadata or a write in flight
  bool broken_ = false;
  bool finished_ = false;
};

}  // namespace

void IncidentServiceImpl::SetWatcher(IncidentWatcher* watcher) {
  watcher_ = watcher;
  if (watcher_ != nullptr) {
    watcher_->SetDecorator(
        [this](const std::vector<v1::Incident*>& incidents) { return AddSlaFieldsTo(incidents); });
  }
}

grpc::ServerWriteReactor<v1::IncidentEvent>* IncidentServiceImpl::WatchIncidents(
    grpc::CallbackServerContext* context, const v1::WatchIncidentsRequest* request) {
  if (absl::Status auth = rpc_.authorizer().Check(*context, Role::kViewer); !auth.ok()) {
    return new FinishedWriteReactor(auth);
  }
  if (watcher_ == nullptr) {
    return new FinishedWriteReactor(
        absl::UnimplementedError("WatchIncidents is not enabled on this server"));
  }
  absl::StatusOr<WatchSpec> spec = WatchSpecFromProto(*request);
  if (!spec.ok()) return new FinishedWriteReactor(spec.status());
  return new WatchReactor(*watcher_, *std::move(spec));
}

}  // namespace agentwatch::incident
