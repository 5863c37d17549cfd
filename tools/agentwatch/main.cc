// agentwatch: the command-line tool for the agentwatch services.
#include <iostream>
#include <string>
#include <vector>

#include "agentwatch/anomaly_csv.h"
#include "agentwatch/commands.h"

namespace {

constexpr char kUsage[] = R"(usage: agentwatch <command> [arguments] [flags]

commands:
  check                      health of the four services (gRPC health protocol)
  status                     health indicators per workflow, agent and model
  incidents list             incidents, newest first
  incidents show ID          one incident with its alerts and timeline
  cost report                spend grouped by dimensions over a period
  forecast METRIC            forecast of a monitor series, with a sparkline
  forecast --csv FILE        offline forecast of a timestamp,value file (--horizon N)
  send                       send test workflow-run events to monitor
  anomaly --csv FILE         offline anomaly scores of a timestamp,value file (NAB format)

Every command takes --help, --output table|json, the service addresses
(--monitor_addr, --incident_addr, --cost_addr, --capacity_addr) and --token,
each also settable as AGENTWATCH_<FLAG> in the environment.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace agentwatch::cli;  // NOLINT: the command table reads better unqualified
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (command == "check") return CheckCommand(rest);
  if (command == "status") return StatusCommand(rest);
  if (command == "send") return SendCommand(rest);
  if (command == "forecast") return ForecastCommand(rest);
  if (command == "anomaly") return AnomalyCsvCommand(rest);
  if (command == "incidents" || command == "cost") {
    if (rest.empty() || rest[0] == "--help") {
      std::cout << kUsage;
      return rest.empty() ? 2 : 0;
    }
    const Args sub(rest.begin() + 1, rest.end());
    if (command == "incidents" && rest[0] == "list") return IncidentsListCommand(sub);
    if (command == "incidents" && rest[0] == "show") return IncidentsShowCommand(sub);
    if (command == "cost" && rest[0] == "report") return CostReportCommand(sub);
    std::cerr << "agentwatch: unknown subcommand '" << command << " " << rest[0]
              << "'; see agentwatch --help\n";
    return 2;
  }
  std::cerr << "agentwatch: unknown command '" << command << "'; see agentwatch --help\n";
  return 2;
}
