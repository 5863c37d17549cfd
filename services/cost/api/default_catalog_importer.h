// Imports the default price catalog into an empty global catalog at start.
// Runs as a runtime worker: Start() tries once right away (the service
// reports ready only after workers started, so a fresh stack prices usage
// from its first call) and, if the database failed, keeps retrying in the
// background with backoff until it succeeds or Stop() is called. Replicas
// starting together import once (CostStore::ImportDefaultCatalogIfEmpty).
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cost/core/litellm.h"
#include "cost/store/cost_store.h"

namespace agentwatch::cost {

class DefaultCatalogImporter {
 public:
  // `json` is a LiteLLM document; `origin` names it in logs.
  DefaultCatalogImporter(CostStore& store, std::string json, std::string origin);
  ~DefaultCatalogImporter();
  DefaultCatalogImporter(const DefaultCatalogImporter&) = delete;
  DefaultCatalogImporter& operator=(const DefaultCatalogImporter&) = delete;

  // Parses the document (once) and imports it when the global catalog is
  // empty. INVALID_ARGUMENT when the document is not LiteLLM JSON (not
  // retried); UNAVAILABLE and others from the store.
  absl::Status ImportOnce();

  // Worker hooks (see above). Not thread-safe against each other.
  void Start();
  void Stop();

 private:
  CostStore& store_;
  const std::string json_;
  const std::string origin_;
  std::optional<LiteLlmConversion> conversion_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread retry_thread_;
};

}  // namespace agentwatch::cost
