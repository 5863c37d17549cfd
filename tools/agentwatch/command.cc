#include "agentwatch/command.h"

#include <unistd.h>

#include <chrono>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/channel.h"
#include "common/metrics.h"

namespace agentwatch::cli {

namespace common_v1 = ::agentwatch::common::v1;

Command::Command(std::string command) : name(command), flags("agentwatch " + command) {
  flags.AddString("monitor_addr", &monitor_addr, "monitor gRPC address");
  flags.AddString("incident_addr", &incident_addr, "incident gRPC address");
  flags.AddString("capacity_addr", &capacity_addr, "capacity gRPC address");
  flags.AddString("cost_addr", &cost_addr, "cost gRPC address");
  flags.AddString("token", &token, "bearer token, when the services require one");
  flags.AddString("output", &output, "table or json");
  flags.AddDuration("timeout", &timeout, "deadline of each call");
}

bool Command::Parse(const Args& args, size_t max_positional, int* exit_code) {
  Args flag_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0 || args[i] == "-h") {
      flag_args.push_back(args[i]);
      // A value given as a separate word belongs to its flag.
      if (args[i].find('=') == std::string::npos && args[i] != "--help" && args[i] != "-h" &&
          i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        flag_args.push_back(args[++i]);
      }
    } else {
      positional.push_back(args[i]);
    }
  }
  absl::Status status = flags.Parse(flag_args, common::ProcessEnv());
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    *exit_code = 0;
    return false;
  }
  if (status.ok() && positional.size() > max_positional) {
    status = absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", positional[max_positional], "'"));
  }
  if (status.ok() && output != "table" && output != "json") {
    status = absl::InvalidArgumentError("--output: must be table or json");
  }
  if (!status.ok()) {
    std::cerr << "agentwatch " << name << ": " << status.message() << "\n";
    *exit_code = 2;
    return false;
  }
  return true;
}

std::shared_ptr<grpc::Channel> Command::Channel(const std::string& address) const {
  common::ChannelOptions options;
  options.token = token;
  return common::MakeChannel(address, options);
}

void Command::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

// Prints a failed call the way an operator needs it: which service, where,
// and what it said. Returns the exit code.
int Fail(const std::string& service, const std::string& address, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "agentwatch: cannot reach " << service << " at " << address << ": "
              << status.error_message() << " (is it running? scripts/up starts the stack)\n";
  } else {
    std::cerr << "agentwatch: " << service << " answered "
              << common::GrpcCodeName(status.error_code()) << ": " << status.error_message()
              << "\n";
  }
  return 1;
}

bool ParseDurationFlag(const std::string& flag, const std::string& text, absl::Duration* out) {
  std::string value = text;
  // Accept "7d" as well as absl's units.
  if (!value.empty() && value.back() == 'd') {
    int days;
    if (absl::SimpleAtoi(value.substr(0, value.size() - 1), &days) && days > 0) {
      *out = absl::Hours(24) * days;
      return true;
    }
  }
  if (absl::ParseDuration(value, out) && *out > absl::ZeroDuration()) return true;
  std::cerr << "agentwatch: --" << flag << ": '" << text
            << "' is not a positive duration like 90m, 24h or 7d\n";
  return false;
}

namespace {

const char* Colour(common_v1::HealthStatus status) {
  if (!isatty(STDOUT_FILENO)) return "";
  switch (status) {
    case common_v1::HEALTH_STATUS_HEALTHY:
      return "\033[32m";
    case common_v1::HEALTH_STATUS_WARNING:
      return "\033[33m";
    case common_v1::HEALTH_STATUS_CRITICAL:
      return "\033[31m";
    default:
      return "";
  }
}

}  // namespace

std::string StatusText(common_v1::HealthStatus status) {
  std::string name = common_v1::HealthStatus_Name(status);
  name = name.substr(std::string("HEALTH_STATUS_").size());
  const char* colour = Colour(status);
  return *colour ? absl::StrCat(colour, name, "\033[0m") : name;
}

std::string ShortEnum(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace agentwatch::cli
