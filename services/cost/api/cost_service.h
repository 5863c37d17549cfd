// The gRPC CostService: validates requests, maps proto <-> core, calls the
// store and maps statuses (agentwatch.cost.v1, see cost.proto for each RPC's
// contract). Implemented: RecordUsage, GetCostReport, CheckBudget,
// UpsertPrice, GetPrice, ListPrices, ImportPrices, CreateBudget, GetBudget,
// DeleteBudget, ListBudgets. The other RPCs answer UNIMPLEMENTED (the
// generated base class does).
//
// Roles: reads (reports, prices, budgets, CheckBudget) need viewer;
// RecordUsage needs operator; the catalog and budgets (configuration) need
// admin.
#pragma once

#include "absl/status/status.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "cost/api/cost_metrics.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

class CostServiceImpl final : public v1::CostService::CallbackService {
 public:
  // All dependencies must outlive the service.
  CostServiceImpl(CostStore& store, common::RpcRunner& rpc, common::Clock& clock,
                  CostMetrics& metrics)
      : store_(store), rpc_(rpc), clock_(clock), metrics_(metrics) {}

  grpc::ServerUnaryReactor* RecordUsage(grpc::CallbackServerContext* context,
                                        const v1::RecordUsageRequest* request,
                                        v1::RecordUsageResponse* response) override;
  grpc::ServerUnaryReactor* GetCostReport(grpc::CallbackServerContext* context,
                                          const v1::GetCostReportRequest* request,
                                          v1::GetCostReportResponse* response) override;
  grpc::ServerUnaryReactor* CheckBudget(grpc::CallbackServerContext* context,
                                        const v1::CheckBudgetRequest* request,
                                        v1::CheckBudgetResponse* response) override;
  grpc::ServerUnaryReactor* UpsertPrice(grpc::CallbackServerContext* context,
                                        const v1::UpsertPriceRequest* request,
                                        v1::Price* response) override;
  grpc::ServerUnaryReactor* GetPrice(grpc::CallbackServerContext* context,
                                     const v1::GetPriceRequest* request,
                                     v1::Price* response) override;
  grpc::ServerUnaryReactor* ListPrices(grpc::CallbackServerContext* context,
                                       const v1::ListPricesRequest* request,
                                       v1::ListPricesResponse* response) override;
  grpc::ServerUnaryReactor* ImportPrices(grpc::CallbackServerContext* context,
                                         const v1::ImportPricesRequest* request,
                                         v1::ImportPricesResponse* response) override;
  grpc::ServerUnaryReactor* CreateBudget(grpc::CallbackServerContext* context,
                                         const v1::CreateBudgetRequest* request,
                                         v1::Budget* response) override;
  grpc::ServerUnaryReactor* GetBudget(grpc::CallbackServerContext* context,
                                      const v1::GetBudgetRequest* request,
                                      v1::Budget* response) override;
  grpc::ServerUnaryReactor* DeleteBudget(grpc::CallbackServerContext* context,
                                         const v1::DeleteBudgetRequest* request,
                                         google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ListBudgets(grpc::CallbackServerContext* context,
                                        const v1::ListBudgetsRequest* request,
                                        v1::ListBudgetsResponse* response) override;

  // The work of each RPC, without transport; public for direct tests.
  absl::Status DoRecordUsage(const v1::RecordUsageRequest& request,
                             v1::RecordUsageResponse* response);
  absl::Status DoGetCostReport(const v1::GetCostReportRequest& request,
                               v1::GetCostReportResponse* response);
  absl::Status DoCheckBudget(const v1::CheckBudgetRequest& request,
                             v1::CheckBudgetResponse* response);
  absl::Status DoUpsertPrice(const v1::UpsertPriceRequest& request, v1::Price* response);
  absl::Status DoGetPrice(const v1::GetPriceRequest& request, v1::Price* response);
  absl::Status DoListPrices(const v1::ListPricesRequest& request, v1::ListPricesResponse* response);
  absl::Status DoImportPrices(const v1::ImportPricesRequest& request,
                              v1::ImportPricesResponse* response);
  absl::Status DoCreateBudget(const v1::CreateBudgetRequest& request, v1::Budget* response);
  absl::Status DoGetBudget(const v1::GetBudgetRequest& request, v1::Budget* response);
  absl::Status DoDeleteBudget(const v1::DeleteBudgetRequest& request);
  absl::Status DoListBudgets(const v1::ListBudgetsRequest& request,
                             v1::ListBudgetsResponse* response);

 private:
  CostStore& store_;
  common::RpcRunner& rpc_;
  common::Clock& clock_;
  CostMetrics& metrics_;
};

}  // namespace agentwatch::cost
