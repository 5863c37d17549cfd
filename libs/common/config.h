// Configuration from command-line flags, each overridable by the environment
// variable AGENTWATCH_<FLAG> (upper case). Precedence: flag, then environment,
// then the default. Parsed once at start into plain structs; a bad value stops
// the process with a message naming the flag.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace agentwatch::common {

// Looks up an environment variable; injected so tests control it.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
EnvLookup ProcessEnv();

// A set of typed flags bound to caller-owned variables that hold the defaults.
class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  void AddString(const std::string& name, std::string* target, std::string help);
  void AddInt(const std::string& name, int64_t* target, std::string help, int64_t min, int64_t max);
  void AddBool(const std::string& name, bool* target, std::string help);
  // Accepts absl duration syntax: "500ms", "30s", "5m", "1h30m".
  void AddDuration(const std::string& name, absl::Duration* target, std::string help);

  // Parses `--name=value` / `--name value` / `--bool_flag`. Unknown flags,
  // positional arguments and unparsable values are INVALID_ARGUMENT naming
  // the flag. `--help` sets help_requested() and returns OK.
  absl::Status Parse(const std::vector<std::string>& args, const EnvLookup& env);
  absl::Status Parse(int argc, char** argv) {
    return Parse(std::vector<std::string>(argv + 1, argv + argc), ProcessEnv());
  }

  bool help_requested() const { return help_requested_; }
  std::string Usage() const;

  // "grpc_listen" -> "AGENTWATCH_GRPC_LISTEN".
  static std::string EnvName(const std::string& flag);

 private:
  struct Flag {
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<absl::Status(const std::string&)> set;
  };
  void Add(const std::string& name, Flag flag);

  std::string program_;
  std::map<std::string, Flag> flags_;
  bool help_requested_ = false;
};

// The configuration every service shares.
struct ServiceConfig {
  std::string grpc_listen;
  std::string http_listen;
  std::string pg_dsn = "host=127.0.0.1 port=55432 user=postgres dbname=agentwatch";
  int64_t pg_pool_size = 8;
  std::string redis = "127.0.0.1:56379";
  std::string auth_tokens_file;  // empty: authentication off
  std::string tls_cert_file;     // empty: plaintext
  std::string tls_key_file;
  std::string peer_token_file;   // file holding the bearer token sent to peers; empty: none
  std::string peer_tls_ca_file;  // CA that signed the peers' certificates; empty: plaintext
  std::string log_level = "info";
  int64_t max_message_bytes = 16 << 20;
  absl::Duration health_probe_interval = absl::Seconds(1);
  // How long the Postgres health probe waits for its answer before the
  // service reports itself not ready (common::PgProbe).
  absl::Duration health_probe_timeout = absl::Seconds(2);
  // Nice value of the blocking executor's threads (ExecutorOptions::nice).
  int64_t executor_nice = 0;
};

// Registers the shared flags with their defaults for a service whose default
// ports are `grpc_port` and `http_port`.
void RegisterServiceFlags(FlagSet& flags, ServiceConfig* config, int grpc_port, int http_port);

// Checks cross-field rules (both TLS files or neither, host:port syntax).
absl::Status ValidateServiceConfig(const ServiceConfig& config);

// Splits "host:port"; INVALID_ARGUMENT naming `flag` when malformed.
absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port);

}  // namespace agentwatch::common
