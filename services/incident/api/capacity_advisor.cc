// The gRPC CapacityAdvisor: capacity.v1.CapacityService.GetRecommendations.
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "common/status.h"
#include "incident/api/response_engine.h"

namespace agentwatch::incident {
namespace {

// Recommendations attached to the timeline at most.
constexpr int kMaxAttached = 10;

class GrpcCapacityAdvisor final : public CapacityAdvisor {
 public:
  explicit GrpcCapacityAdvisor(std::shared_ptr<grpc::Channel> channel)
      : stub_(capacity::v1::CapacityService::NewStub(std::move(channel))) {}

  absl::StatusOr<CapacityAdvice> Recommend(absl::string_view tenant, absl::string_view resource_id,
                                           const ResponseSubject& alert,
                                           absl::Duration timeout) override {
    capacity::v1::GetRecommendationsRequest request;
    if (!resource_id.empty()) {
      request.set_resource_id(std::string(resource_id));
    } else {
      common::v1::Scope* scope = request.mutable_scope();
      scope->set_tenant(std::string(tenant));
      auto label = [&](const char* name) {
        auto it = alert.labels.find(name);
        return it == alert.labels.end() ? std::string() : it->second;
      };
      scope->set_service(label("service"));
      scope->set_model(label("model"));
      scope->set_provider(label("provider"));
      scope->set_team(label("team"));
    }
    request.set_page_size(kMaxAttached);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
    capacity::v1::GetRecommendationsResponse response;
    const grpc::Status status = stub_->GetRecommendations(&context, request, &response);
    if (!status.ok()) return common::FromGrpcStatus(status);
    CapacityAdvice advice;
    advice.details["recommendations"] = absl::StrCat(response.recommendations_size());
    std::vector<std::string> lines;
    for (int i = 0; i < response.recommendations_size() && i < kMaxAttached; ++i) {
      const capacity::v1::Recommendation& r = response.recommendations(i);
      const std::string line = absl::StrFormat(
          "%s: %s %g -> %g %s (%s)", r.resource_name().empty() ? r.resource() : r.resource_name(),
          capacity::v1::RecommendationKind_Name(r.kind()), r.current(), r.recommended(), r.unit(),
          r.reason());
      advice.details[absl::StrCat("rec", i)] = line;
      lines.push_back(line);
    }
    advice.text = lines.empty() ? "capacity has no recommendation for this scope"
                                : absl::StrJoin(lines, "; ");
    return advice;
  }

 private:
  std::unique_ptr<capacity::v1::CapacityService::Stub> stub_;
};

}  // namespace

std::unique_ptr<CapacityAdvisor> MakeGrpcCapacityAdvisor(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcCapacityAdvisor>(std::move(channel));
}

}  // namespace agentwatch::incident
