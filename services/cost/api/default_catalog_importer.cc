#include "cost/api/default_catalog_importer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "cost/api/litellm_json.h"

namespace agentwatch::cost {
namespace {

constexpr absl::Duration kFirstRetry = absl::Seconds(1);
constexpr absl::Duration kMaxRetry = absl::Seconds(30);

bool Retryable(const absl::Status& status) {
  return !absl::IsInvalidArgument(status) && !absl::IsResourceExhausted(status);
}

}  // namespace

DefaultCatalogImporter::DefaultCatalogImporter(CostStore& store, std::string json,
                                               std::string origin)
    : store_(store), json_(std::move(json)), origin_(std::move(origin)) {}

DefaultCatalogImporter::~DefaultCatalogImporter() { Stop(); }

absl::Status DefaultCatalogImporter::ImportOnce() {
  if (!conversion_.has_value()) {
    ASSIGN_OR_RETURN(conversion_, ConvertLiteLlmJson(json_, "--default_catalog"));
  }
  ASSIGN_OR_RETURN(bool imported, store_.ImportDefaultCatalogIfEmpty(conversion_->prices));
  if (imported) {
    common::LogInfo("default price catalog imported",
                    {{"origin", origin_},
                     {"prices", absl::StrCat(conversion_->prices.size())},
                     {"skipped", absl::StrCat(conversion_->issues.size())}});
  } else {
    common::LogInfo("global price catalog present; default catalog not imported",
                    {{"origin", origin_}});
  }
  return absl::OkStatus();
}

void DefaultCatalogImporter::Start() {
  absl::Status status = ImportOnce();
  if (status.ok()) return;
  if (!Retryable(status)) {
    common::LogError("default price catalog unusable; not imported",
                     {{"origin", origin_}, {"error", status.ToString()}});
    return;
  }
  common::LogWarning("default price catalog import failed; retrying",
                     {{"error", status.ToString()}});
  retry_thread_ = std::thread([this] {
    absl::Duration delay = kFirstRetry;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(delay),
                              [this] { return stopping_; })) {
          return;
        }
      }
      absl::Status retry = ImportOnce();
      if (retry.ok() || !Retryable(retry)) {
        if (!retry.ok()) {
          common::LogError("default price catalog unusable; not imported",
                           {{"error", retry.ToString()}});
        }
        return;
      }
      common::LogWarning("default price catalog import failed; retrying",
                         {{"error", retry.ToString()}});
      delay = std::min(delay * 2, kMaxRetry);
    }
  });
}

void DefaultCatalogImporter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (retry_thread_.joinable()) retry_thread_.join();
}

}  // namespace agentwatch::cost
