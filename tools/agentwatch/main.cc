// agentwatch: the command-line tool for the agentwatch services.
#include <iostream>
#include <string>
#include <vector>

#include "agentwatch/anomaly_csv.h"
#include "agentwatch/commands.h"

namespace {

constexpr char kUsage[] = R"(usage: agentwatch <command> [arguments] [flags]

commands:
  check                        health of the four services (gRPC health protocol)
  status                       health indicators per workflow, agent and model
  incidents list               incidents, newest first
  incidents show ID            one incident with its alerts and timeline
  incidents ack ID             acknowledge (--actor, --note)
  incidents resolve ID         resolve (--actor, --note)
  incidents note ID TEXT       add a note to the timeline
  incidents watch              follow incident changes live (--severity P0,P1 --initial --for 1h)
  incidents close ID           close a resolved incident (P0/P1: needs a published postmortem)
  incidents postmortem ID      show, write (--summary --impact --root_cause --action --publish)
                               or export (--export md) the incident's postmortem
  alerts                       alerts firing in monitor now (--pending for those not yet firing)
  rules list                   alert rules
  rules apply -f FILE          create or update alert rules from a JSON file ({"rules": [...]})
  slos [list]                  SLOs with their SLI, error budget left and burn-rate alerts firing
  slos status ID|NAME          one SLO: SLI, budget, burn rate per window, alerts firing
  slos report ID|NAME          SLI and budget used per day, week or month (--period, --since 90d)
  slos apply -f FILE           create or update SLOs from a JSON file ({"slos": [...]})
  slos delete ID|NAME          delete an SLO
  silences [list|add|delete]   silences (add: --match name=value --duration 2h --comment ...)
  cost report                  spend grouped by dimensions over a period (--by agent --since 7d)
  budgets [list|set|status]    budgets (set NAME --limit_usd 500 --team x --enforcement hard)
  forecast METRIC              forecast of a monitor series, with a sparkline
  forecast --csv FILE          offline forecast of a timestamp,value file (--horizon N)
  recommendations              capacity recommendations (replicas, HPA targets, schedules)
  send                         send test workflow-run events to monitor
  anomaly --csv FILE           offline anomaly scores of a timestamp,value file (NAB format)
  demo                         simulate an agent platform, inject faults, narrate the detections

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
  if (command == "demo") return DemoCommand(rest);
  if (command == "alerts") return AlertsCommand(rest);
  if (command == "silences") return SilencesCommand(rest);
  if (command == "slos") return SlosCommand(rest);
  if (command == "budgets") return BudgetsCommand(rest);
  if (command == "recommendations") return RecommendationsCommand(rest);
  if (command == "incidents" || command == "cost" || command == "rules") {
    if (rest.empty() || rest[0] == "--help") {
      std::cout << kUsage;
      return rest.empty() ? 2 : 0;
    }
    const Args sub(rest.begin() + 1, rest.end());
    const std::string& verb = rest[0];
    if (command == "incidents") {
      if (verb == "list") return IncidentsListCommand(sub);
      if (verb == "show") return IncidentsShowCommand(sub);
      if (verb == "ack") return IncidentsAckCommand(sub);
      if (verb == "resolve") return IncidentsResolveCommand(sub);
      if (verb == "note") return IncidentsNoteCommand(sub);
      if (verb == "postmortem") return IncidentsPostmortemCommand(sub);
      if (verb == "close") return IncidentsCloseCommand(sub);
      if (verb == "watch") return IncidentsWatchCommand(sub);
    }
    if (command == "cost" && verb == "report") return CostReportCommand(sub);
    if (command == "rules" && verb == "list") return RulesListCommand(sub);
    if (command == "rules" && verb == "apply") return RulesApplyCommand(sub);
    std::cerr << "agentwatch: unknown subcommand '" << command << " " << verb
              << "'; see agentwatch --help\n";
    return 2;
  }
  std::cerr << "agentwatch: unknown command '" << command << "'; see agentwatch --help\n";
  return 2;
}
