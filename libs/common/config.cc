#include "common/config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace agentwatch::common {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string FlagSet::EnvName(const std::string& flag) {
  return absl::StrCat("AGENTWATCH_", absl::AsciiStrToUpper(flag));
}

void FlagSet::Add(const std::string& name, Flag flag) { flags_[name] = std::move(flag); }

void FlagSet::AddString(const std::string& name, std::string* target, std::string help) {
  Add(name, Flag{std::move(help), *target, false, [target](const std::string& v) {
                   *target = v;
                   return absl::OkStatus();
                 }});
}

void FlagSet::AddInt(const std::string& name, int64_t* target, std::string help, int64_t min,
                     int64_t max) {
  Add(name, Flag{std::move(help), absl::StrCat(*target), false,
                 [name, target, min, max](const std::string& v) {
                   int64_t parsed;
                   if (!absl::SimpleAtoi(v, &parsed)) {
                     return InvalidField(absl::StrCat("--", name),
                                         absl::StrCat("'", v, "' is not an integer"));
                   }
                   if (parsed < min || parsed > max) {
                     return InvalidField(
                         absl::StrCat("--", name),
                         absl::StrCat(parsed, " is outside [", min, ", ", max, "]"));
                   }
                   *target = parsed;
                   return absl::OkStatus();
                 }});
}

void FlagSet::AddBool(const std::string& name, bool* target, std::string help) {
  Add(name,
      Flag{std::move(help), *target ? "true" : "false", true, [name, target](const std::string& v) {
             if (!absl::SimpleAtob(v, target)) {
               return InvalidField(absl::StrCat("--", name),
                                   absl::StrCat("'", v, "' is not a boolean"));
             }
             return absl::OkStatus();
           }});
}

void FlagSet::AddDuration(const std::string& name, absl::Duration* target, std::string help) {
  Add(name, Flag{std::move(help), absl::FormatDuration(*target), false,
                 [name, target](const std::string& v) {
                   absl::Duration d;
                   if (!absl::ParseDuration(v, &d) || d < absl::ZeroDuration()) {
                     return InvalidField(
                         absl::StrCat("--", name),
                         absl::StrCat("'", v, "' is not a non-negative duration like 30s or 5m"));
                   }
                   *target = d;
                   return absl::OkStatus();
                 }});
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args, const EnvLookup& env) {
  // Environment first, so that flags override it.
  for (auto& [name, flag] : flags_) {
    if (auto value = env(EnvName(name))) {
      absl::Status status = flag.set(*value);
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(status.message(), " (from ", EnvName(name), ")"));
      }
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, "; see --help"));
    }
    if (!value) {
      if (it->second.is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidField(absl::StrCat("--", name), "needs a value");
      }
    }
    RETURN_IF_ERROR(it->second.set(*value));
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [flags]\n\nflags (each also settable as ",
                                 "AGENTWATCH_<FLAG> in the environment):\n");
  for (const auto& [name, flag] : flags_) {
    absl::StrAppend(&out, "  --", name, "  ", flag.help, " (default \"", flag.default_text,
                    "\")\n");
  }
  return out;
}

absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidField(absl::StrCat("--", flag), absl::StrCat("'", value, "' is not host:port"));
  }
  int parsed;
  if (!absl::SimpleAtoi(value.substr(colon + 1), &parsed) || parsed < 0 || parsed > 65535) {
    return InvalidField(absl::StrCat("--", flag), absl::StrCat("'", value, "' has no valid port"));
  }
  *host = value.substr(0, colon);
  *port = parsed;
  return absl::OkStatus();
}

void RegisterServiceFlags(FlagSet& flags, ServiceConfig* config, int grpc_port, int http_port) {
  config->grpc_listen = absl::StrCat("127.0.0.1:", grpc_port);
  config->http_listen = absl::StrCat("127.0.0.1:", http_port);
  flags.AddString("grpc_listen", &config->grpc_listen, "gRPC listen address host:port");
  flags.AddString("http_listen", &config->http_listen,
                  "HTTP listen address host:port for /metrics, /healthz, /readyz");
  flags.AddString("pg_dsn", &config->pg_dsn, "Postgres connection string (libpq)");
  flags.AddInt("pg_pool_size", &config->pg_pool_size, "Postgres connections in the pool", 1, 256);
  flags.AddString("redis", &config->redis, "Redis address host:port");
  flags.AddString("auth_tokens_file", &config->auth_tokens_file,
                  "file of 'token role' lines (viewer|operator|admin); empty turns auth off");
  flags.AddString("tls_cert_file", &config->tls_cert_file, "PEM certificate; empty: plaintext");
  flags.AddString("tls_key_file", &config->tls_key_file, "PEM private key for --tls_cert_file");
  flags.AddString("peer_token_file", &config->peer_token_file,
                  "file holding the bearer token this service presents to its peers");
  flags.AddString("peer_tls_ca_file", &config->peer_tls_ca_file,
                  "PEM CA for TLS connections to peers; empty: plaintext");
  flags.AddString("log_level", &config->log_level, "debug, info, warning or error");
  flags.AddInt("max_message_bytes", &config->max_message_bytes,
               "largest gRPC message accepted or sent", 1024, 1 << 30);
  flags.AddDuration("health_probe_interval", &config->health_probe_interval,
                    "how often dependencies are probed for health");
  flags.AddDuration("health_probe_timeout", &config->health_probe_timeout,
                    "how long the Postgres probe waits for an answer before the service "
                    "reports not ready (a server that stops answering without closing its "
                    "connections)");
  flags.AddInt("executor_nice", &config->executor_nice,
               "nice value added to the threads that run queued RPC work (0..19); calls "
               "answered on gRPC's own threads then go first when the CPU is saturated",
               0, 19);
}

absl::Status ValidateServiceConfig(const ServiceConfig& config) {
  std::string host;
  int port;
  RETURN_IF_ERROR(ParseHostPort("grpc_listen", config.grpc_listen, &host, &port));
  RETURN_IF_ERROR(ParseHostPort("http_listen", config.http_listen, &host, &port));
  RETURN_IF_ERROR(ParseHostPort("redis", config.redis, &host, &port));
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return InvalidField("--tls_cert_file", "needs --tls_key_file too, and the other way round");
  }
  if (config.pg_dsn.empty()) return InvalidField("--pg_dsn", "must be set");
  if (config.health_probe_interval < absl::Milliseconds(10)) {
    return InvalidField("--health_probe_interval", "must be at least 10ms");
  }
  if (config.health_probe_timeout < absl::Milliseconds(10)) {
    return InvalidField("--health_probe_timeout", "must be at least 10ms");
  }
  return absl::OkStatus();
}

}  // namespace agentwatch::common
