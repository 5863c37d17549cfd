// The process around a service: logging, metrics, the HTTP port, the gRPC
// server (callback API, health, reflection, interceptors, size limits, TLS),
// the Postgres pool with migrations, Redis, authentication, the blocking
// executor, background workers, and clean shutdown on SIGTERM / SIGINT.
// main() builds one, registers its components and calls Run().
#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/pg.h"
#include "common/pg_probe.h"
#include "common/redis.h"
#include "common/rpc.h"

namespace agentwatch::common {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts
// later; call first thing in main(). Run() then waits for them.
void BlockTerminationSignals();

// Parses `flags`; prints usage and exits 0 on --help; prints the error naming
// the flag and exits 2 on a bad value.
void ParseFlagsOrExit(FlagSet& flags, int argc, char** argv);

struct RuntimeOptions {
  std::string service;  // "monitor": logs, metric prefix agentwatch_monitor
  std::string schema;   // the Postgres schema the service owns
  const std::vector<Migration>* migrations = nullptr;
  ServiceConfig config;
  int executor_threads = 16;
  size_t executor_queue = 10000;
};

class ServiceRuntime {
 public:
  // Validates the config, sets up logging, metrics and the clients. Does not
  // connect yet: Postgres may come later, and the service reports NOT_SERVING
  // until it has and migrations are applied.
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(RuntimeOptions options);
  ~ServiceRuntime();

  Clock& clock() { return RealClock::Get(); }
  prometheus::Registry& registry() { return *registry_; }
  PgPool& pg() { return *pg_; }
  RedisClient& redis() { return *redis_; }
  RpcRunner& rpc() { return *rpc_; }
  HttpServer& http() { return *http_; }
  const ServiceConfig& config() const { return options_.config; }
  const std::string& metric_prefix() const { return metric_prefix_; }

  void AddGrpcService(grpc::Service* service) { services_.push_back(service); }

  // A channel to a peer service at `address`, with this service's peer token
  // and TLS settings and trace propagation.
  std::shared_ptr<grpc::Channel> PeerChannel(const std::string& address) const;
  // A worker started once the database is migrated and stopped before exit.
  void AddWorker(std::function<void()> start, std::function<void()> stop);

  bool ready() const { return ready_.load(); }

  // Starts the HTTP and gRPC servers and the health loop (which applies
  // migrations and starts the workers once Postgres answers). UNAVAILABLE when
  // a port cannot be bound; INVALID_ARGUMENT for unreadable TLS files.
  absl::Status Start();

  // Stops accepting work, drains in-flight calls within a deadline, stops the
  // workers and the servers. Idempotent.
  void Shutdown();

  // Start(), wait for SIGTERM/SIGINT (blocked by BlockTerminationSignals),
  // Shutdown(). Returns the process exit code.
  int Run();

  // The bound ports (useful with port 0 in tests).
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_->port(); }

 private:
  explicit ServiceRuntime(RuntimeOptions options);
  void HealthLoop();

  RuntimeOptions options_;
  std::string metric_prefix_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<PgPool> pg_;
  // Readiness' own connection, answered within --health_probe_timeout.
  std::unique_ptr<PgProbe> pg_probe_;
  std::unique_ptr<RedisClient> redis_;
  Authorizer authorizer_;
  std::string peer_token_;
  std::unique_ptr<BlockingExecutor> executor_;
  std::unique_ptr<RpcRunner> rpc_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<grpc::Service*> services_;
  std::vector<std::pair<std::function<void()>, std::function<void()>>> workers_;
  bool workers_started_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> migrated_{false};
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool shut_down_ = false;
  int grpc_port_ = 0;
  std::thread health_thread_;
  std::mutex health_mu_;
  std::condition_variable health_cv_;
  prometheus::Gauge* pg_up_ = nullptr;
  prometheus::Gauge* redis_up_ = nullptr;
};

}  // namespace agentwatch::common
