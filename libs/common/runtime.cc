#include "common/runtime.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <prometheus/gauge.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/channel.h"
#include "common/log.h"
#include "common/status.h"

namespace agentwatch::common {
namespace {

constexpr int kMaxConnectionAgeMs = 5 * 60 * 1000;
constexpr int kMaxConnectionAgeGraceMs = 30 * 1000;

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidField(absl::StrCat("--", flag), absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void ParseFlagsOrExit(FlagSet& flags, int argc, char** argv) {
  absl::Status status = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    std::exit(0);
  }
  if (!status.ok()) {
    std::cerr << argv[0] << ": " << status.message() << "\n";
    std::exit(2);
  }
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(RuntimeOptions options) {
  RETURN_IF_ERROR(ValidateServiceConfig(options.config));
  LogLevel level;
  if (!ParseLogLevel(options.config.log_level, &level)) {
    return InvalidField("--log_level", "must be debug, info, warning or error");
  }
  InitLogging(options.service, level);
  ASSIGN_OR_RETURN(Authorizer authorizer, Authorizer::FromFile(options.config.auth_tokens_file));
  std::string peer_token;
  if (!options.config.peer_token_file.empty()) {
    ASSIGN_OR_RETURN(peer_token, ReadFile("peer_token_file", options.config.peer_token_file));
    peer_token = std::string(absl::StripAsciiWhitespace(peer_token));
    if (peer_token.empty()) return InvalidField("--peer_token_file", "the file is empty");
  }
  std::unique_ptr<ServiceRuntime> runtime(new ServiceRuntime(std::move(options)));
  runtime->authorizer_ = std::move(authorizer);
  runtime->peer_token_ = std::move(peer_token);
  return runtime;
}

ServiceRuntime::ServiceRuntime(RuntimeOptions options)
    : options_(std::move(options)),
      metric_prefix_(absl::StrCat("agentwatch_", options_.service)),
      registry_(std::make_shared<prometheus::Registry>()) {
  rpc_metrics_ = std::make_unique<RpcMetrics>(*registry_, metric_prefix_);
  PgPoolOptions pg_options;
  pg_options.dsn = options_.config.pg_dsn;
  pg_options.size = static_cast<int>(options_.config.pg_pool_size);
  pg_ = std::make_unique<PgPool>(pg_options);
  pg_probe_ = std::make_unique<PgProbe>(options_.config.pg_dsn);
  RedisOptions redis_options;
  int redis_port = 0;
  (void)ParseHostPort("redis", options_.config.redis, &redis_options.host, &redis_port);
  redis_options.port = redis_port;
  redis_ = std::make_unique<RedisClient>(redis_options);
  ExecutorOptions executor_options;
  executor_options.threads = options_.executor_threads;
  executor_options.max_queue = options_.executor_queue;
  executor_options.nice = static_cast<int>(options_.config.executor_nice);
  executor_ = std::make_unique<BlockingExecutor>(std::move(executor_options));
  rpc_ = std::make_unique<RpcRunner>(authorizer_, *executor_);
  http_ = std::make_unique<HttpServer>(options_.config.http_listen);
  auto& up = prometheus::BuildGauge()
                 .Name(metric_prefix_ + "_dependency_up")
                 .Help("1 when the dependency answered the last health probe")
                 .Register(*registry_);
  pg_up_ = &up.Add({{"dependency", "postgres"}});
  redis_up_ = &up.Add({{"dependency", "redis"}});
}

ServiceRuntime::~ServiceRuntime() { Shutdown(); }

std::shared_ptr<grpc::Channel> ServiceRuntime::PeerChannel(const std::string& address) const {
  ChannelOptions options;
  options.token = peer_token_;
  options.tls_ca_file = options_.config.peer_tls_ca_file;
  options.max_message_bytes = static_cast<int>(options_.config.max_message_bytes);
  return MakeChannel(address, options);
}

void ServiceRuntime::AddWorker(std::function<void()> start, std::function<void()> stop) {
  workers_.emplace_back(std::move(start), std::move(stop));
}

void ServiceRuntime::HealthLoop() {
  while (!stopping_.load()) {
    // The probe, not the pool: a pool connection waits as long as the server
    // does, and a server that stops answering would then leave the service
    // "ready" until it answers again.
    absl::Status pg_status = pg_probe_->Ping(options_.config.health_probe_timeout);
    if (pg_status.ok() && !migrated_.load()) {
      absl::Status migrate = options_.migrations == nullptr
                                 ? absl::OkStatus()
                                 : ApplyMigrations(*pg_, options_.schema, *options_.migrations);
      if (migrate.ok()) {
        migrated_ = true;
        LogInfo("database ready", {{"schema", options_.schema}});
      } else {
        LogError("migrations failed; will retry", {{"error", migrate.ToString()}});
        pg_status = migrate;
      }
    }
    if (migrated_.load() && !workers_started_) {
      for (auto& worker : workers_) worker.first();
      workers_started_ = true;
    }
    const bool redis_ok = redis_->Ping().ok();
    pg_up_->Set(pg_status.ok() ? 1 : 0);
    redis_up_->Set(redis_ok ? 1 : 0);
    const bool ready = pg_status.ok() && migrated_.load();
    if (ready != ready_.load()) {
      if (ready) {
        LogInfo("serving");
      } else {
        LogWarning("not serving: a dependency is down", {{"postgres", pg_status.ToString()}});
      }
    }
    ready_ = ready;
    if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(ready);
    std::unique_lock<std::mutex> lock(health_mu_);
    health_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.config.health_probe_interval),
                        [this] { return stopping_.load(); });
  }
}

absl::Status ServiceRuntime::Start() {
  const ServiceConfig& config = options_.config;
  http_->Handle("/metrics", [this](const HttpRequest&) {
    return HttpResponse{
        200, "text/plain; version=0.0.4; charset=utf-8", RenderMetrics(*registry_), {}};
  });
  http_->Handle("/healthz", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain; charset=utf-8", "ok\n", {}};
  });
  http_->Handle("/readyz", [this](const HttpRequest&) {
    return ready_.load() ? HttpResponse{200, "text/plain; charset=utf-8", "ready\n", {}}
                         : HttpResponse{503,
                                        "text/plain; charset=utf-8",
                                        "not ready: postgres unreachable or not migrated\n",
                                        {}};
  });

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!config.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(std::string cert, ReadFile("tls_cert_file", config.tls_cert_file));
    ASSIGN_OR_RETURN(std::string key, ReadFile("tls_key_file", config.tls_key_file));
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    credentials = grpc::SslServerCredentials(ssl);
  }
  RETURN_IF_ERROR(http_->Start());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.grpc_listen, credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes));
  // Close connections after 5 minutes (with 30 s for calls in flight) so that
  // clients re-resolve and new replicas after a scale-out receive traffic:
  // gRPC's long-lived HTTP/2 connections otherwise stay on the old pods.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, kMaxConnectionAgeMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, kMaxConnectionAgeGraceMs);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<MetricsInterceptorFactory>(*rpc_metrics_));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    http_->Stop();
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", config.grpc_listen));
  }
  server_->GetHealthCheckService()->SetServingStatus(false);
  started_ = true;
  LogInfo("listening", {{"grpc", config.grpc_listen},
                        {"http", config.http_listen},
                        {"auth", authorizer_.enabled() ? "on" : "off"},
                        {"tls", config.tls_cert_file.empty() ? "off" : "on"}});
  health_thread_ = std::thread([this] { HealthLoop(); });
  return absl::OkStatus();
}

void ServiceRuntime::Shutdown() {
  if (!started_ || shut_down_) return;
  shut_down_ = true;
  stopping_ = true;
  health_cv_.notify_all();
  health_thread_.join();
  ready_ = false;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  for (auto it = workers_.rbegin(); workers_started_ && it != workers_.rend(); ++it) it->second();
  http_->Stop();
  LogInfo("stopped");
}

int ServiceRuntime::Run() {
  if (absl::Status status = Start(); !status.ok()) {
    LogError("cannot start", {{"error", status.ToString()}});
    return absl::IsInvalidArgument(status) ? 2 : 1;
  }
  sigset_t set = TerminationSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  Shutdown();
  return 0;
}

}  // namespace agentwatch::common
