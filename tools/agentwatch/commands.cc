#include "agentwatch/commands.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "agentwatch/command.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/forecast_csv.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "agentwatch/render.h"
#include "common/channel.h"
#include "common/config.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace agentwatch::cli {
namespace {

namespace capacity_v1 = ::agentwatch::capacity::v1;
namespace common_v1 = ::agentwatch::common::v1;
namespace cost_v1 = ::agentwatch::cost::v1;
namespace incident_v1 = ::agentwatch::incident::v1;
namespace monitor_v1 = ::agentwatch::monitor::v1;
using ::google::protobuf::util::TimeUtil;

std::string ScopeName(const monitor_v1::ScopeHealth& scope) {
  const common_v1::Scope& s = scope.scope();
  if (scope.kind() == "workflow") return s.workflow();
  if (scope.kind() == "agent") return s.agent();
  if (scope.kind() == "model")
    return absl::StrCat(s.provider(), s.provider().empty() ? "" : "/", s.model());
  return s.tenant().empty() ? "(all)" : s.tenant();
}

}  // namespace

int CheckCommand(const Args& args) {
  Command cmd("check");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  const std::vector<std::pair<std::string, std::string>> services = {
      {"monitor", cmd.monitor_addr},
      {"incident", cmd.incident_addr},
      {"capacity", cmd.capacity_addr},
      {"cost", cmd.cost_addr}};
  Table table({"SERVICE", "ADDRESS", "STATUS"});
  std::string json = "{";
  int exit_code = 0;
  for (const auto& [service, address] : services) {
    auto stub = grpc::health::v1::Health::NewStub(cmd.Channel(address));
    grpc::ClientContext context;
    cmd.Prepare(&context);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status =
        stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
    std::string state;
    if (!status.ok()) {
      state = absl::StrCat("DOWN (", status.error_message(), ")");
      exit_code = 1;
    } else {
      state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
      if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) exit_code = 1;
    }
    table.AddRow({service, address, state});
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\n  \"", service, "\": \"",
                    status.ok() ? state : "DOWN", "\"");
  }
  std::cout << (cmd.json() ? json + "\n}\n" : table.Render());
  return exit_code;
}

int StatusCommand(const Args& args) {
  Command cmd("status");
  monitor_v1::GetHealthRequest request;
  std::string tenant, workflow, agent, model;
  absl::Duration window = absl::Minutes(5);
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  cmd.flags.AddString("workflow", &workflow, "only this workflow");
  cmd.flags.AddString("agent", &agent, "only this agent");
  cmd.flags.AddString("model", &model, "only this model");
  cmd.flags.AddDuration("window", &window, "window the indicators cover");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  request.mutable_scope()->set_tenant(tenant);
  request.mutable_scope()->set_workflow(workflow);
  request.mutable_scope()->set_agent(agent);
  request.mutable_scope()->set_model(model);
  *request.mutable_window() = TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(window));
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::HealthReport report;
  const grpc::Status status = stub->GetHealth(&context, request, &report);
  if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(report) << "\n";
    return 0;
  }
  std::cout << "overall: " << StatusText(report.overall_status()) << "\n\n";
  Table table({"KIND", "SCOPE", "INDICATOR", "VALUE", "STATUS", "WARN", "CRIT", "SAMPLES"});
  for (const auto& scope : report.scopes()) {
    for (const auto& indicator : scope.indicators()) {
      table.AddRow({scope.kind(), ScopeName(scope), indicator.name(),
                    absl::StrFormat("%.4g %s", indicator.value(), indicator.unit()),
                    StatusText(indicator.status()),
                    absl::StrFormat("%.4g", indicator.warning_threshold()),
                    absl::StrFormat("%.4g", indicator.critical_threshold()),
                    absl::StrCat(indicator.sample_count())});
    }
  }
  std::cout << table.Render();
  return 0;
}

int IncidentsListCommand(const Args& args) {
  Command cmd("incidents list");
  std::string tenant;
  int64_t limit = 50;
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  cmd.flags.AddInt("limit", &limit, "at most this many incidents", 1, 1000);
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  incident_v1::ListIncidentsRequest request;
  request.set_tenant(tenant);
  request.set_page_size(static_cast<int32_t>(limit));
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  incident_v1::ListIncidentsResponse response;
  const grpc::Status status = stub->ListIncidents(&context, request, &response);
  if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"ID", "SEVERITY", "STATUS", "TENANT", "ALERTS", "OPENED", "TITLE"});
  for (const auto& incident : response.incidents()) {
    table.AddRow(
        {incident.id(), ShortEnum(common_v1::Severity_Name(incident.severity()), "SEVERITY_"),
         ShortEnum(incident_v1::IncidentStatus_Name(incident.status()), "INCIDENT_STATUS_"),
         incident.tenant(),
         absl::StrCat(incident.firing_alert_count(), "/", incident.alert_count()),
         FormatUtc(absl::FromUnixSeconds(incident.create_time().seconds())), incident.title()});
  }
  std::cout << table.Render();
  return 0;
}

int IncidentsShowCommand(const Args& args) {
  Command cmd("incidents show");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch incidents show: give the incident ID\n";
    return 2;
  }
  incident_v1::GetIncidentRequest request;
  request.set_id(cmd.positional[0]);
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  incident_v1::GetIncidentResponse response;
  const grpc::Status status = stub->GetIncident(&context, request, &response);
  if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  const auto& incident = response.incident();
  std::cout << incident.id() << "  " << incident.title() << "\n"
            << "  status:   "
            << ShortEnum(incident_v1::IncidentStatus_Name(incident.status()), "INCIDENT_STATUS_")
            << "\n  severity: "
            << ShortEnum(common_v1::Severity_Name(incident.severity()), "SEVERITY_")
            << "\n  tenant:   " << incident.tenant()
            << "\n  owner:    " << (incident.owner().empty() ? "-" : incident.owner())
            << "\n\nalerts:\n";
  Table alerts({"FINGERPRINT", "NAME", "STATUS", "STARTS", "LABELS"});
  for (const auto& alert : response.alerts()) {
    std::vector<std::string> labels;
    std::map<std::string, std::string> sorted(alert.labels().begin(), alert.labels().end());
    for (const auto& [k, v] : sorted) labels.push_back(absl::StrCat(k, "=", v));
    alerts.AddRow({alert.fingerprint(), alert.name(),
                   ShortEnum(incident_v1::AlertStatus_Name(alert.status()), "ALERT_STATUS_"),
                   FormatUtc(absl::FromUnixSeconds(alert.starts_at().seconds())),
                   absl::StrJoin(labels, ",")});
  }
  std::cout << alerts.Render() << "\ntimeline:\n";
  Table timeline({"TIME", "ACTOR", "KIND", "TEXT"});
  for (const auto& entry : response.timeline()) {
    timeline.AddRow({FormatUtc(absl::FromUnixSeconds(entry.time().seconds())), entry.actor(),
                     entry.kind(), entry.text()});
  }
  std::cout << timeline.Render();
  return 0;
}

int CostReportCommand(const Args& args) {
  Command cmd("cost report");
  std::string by = "model", since = "7d", tenant;
  cmd.flags.AddString("by", &by, "comma list of tenant,team,workflow,agent,model,provider,service");
  cmd.flags.AddString("since", &since, "how far back, e.g. 24h or 7d");
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  absl::Duration period;
  if (!ParseDurationFlag("since", since, &period)) return 2;
  cost_v1::GetCostReportRequest request;
  const std::map<std::string, cost_v1::Dimension> dimensions = {
      {"tenant", cost_v1::DIMENSION_TENANT},     {"team", cost_v1::DIMENSION_TEAM},
      {"workflow", cost_v1::DIMENSION_WORKFLOW}, {"agent", cost_v1::DIMENSION_AGENT},
      {"model", cost_v1::DIMENSION_MODEL},       {"provider", cost_v1::DIMENSION_PROVIDER},
      {"service", cost_v1::DIMENSION_SERVICE}};
  std::vector<std::string> names;
  for (absl::string_view part : absl::StrSplit(by, ',', absl::SkipEmpty())) {
    const auto it = dimensions.find(std::string(part));
    if (it == dimensions.end()) {
      std::cerr << "agentwatch cost report: --by: unknown dimension '" << part << "'\n";
      return 2;
    }
    request.add_group_by(it->second);
    names.push_back(std::string(part));
  }
  const absl::Time now = absl::Now();
  *request.mutable_range()->mutable_start() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now - period));
  *request.mutable_range()->mutable_end() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
  request.mutable_filter()->set_tenant(tenant);
  auto stub = cost_v1::CostService::NewStub(cmd.Channel(cmd.cost_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  cost_v1::GetCostReportResponse response;
  const grpc::Status status = stub->GetCostReport(&context, request, &response);
  if (!status.ok()) return Fail("cost", cmd.cost_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::vector<std::string> header;
  for (const auto& name : names) header.push_back(absl::AsciiStrToUpper(name));
  for (const char* column : {"COST", "CALLS", "INPUT TOK", "OUTPUT TOK", "UNPRICED"}) {
    header.push_back(column);
  }
  Table table(header);
  for (const auto& row : response.rows()) {
    std::vector<std::string> cells;
    for (const auto& name : names) {
      const auto it = row.group().find(name);
      cells.push_back(it == row.group().end() || it->second.empty() ? "-" : it->second);
    }
    cells.push_back(FormatUsd(row.cost_nano_usd()));
    cells.push_back(absl::StrCat(row.calls()));
    cells.push_back(absl::StrCat(row.input_tokens()));
    cells.push_back(absl::StrCat(row.output_tokens()));
    cells.push_back(absl::StrCat(row.unpriced_calls()));
    table.AddRow(cells);
  }
  std::cout << table.Render() << "\ntotal " << FormatUsd(response.total_cost_nano_usd()) << " over "
            << response.total_calls() << " calls since " << FormatUtc(now - period) << "\n";
  return 0;
}

int ForecastCommand(const Args& args) {
  for (const std::string& arg : args) {
    if (arg == "--csv" || arg.rfind("--csv=", 0) == 0) return ForecastCsvCommand(args);
  }
  Command cmd("forecast");
  std::string horizon = "24h", step = "1h", history = "14d", tenant, match;
  cmd.flags.AddString("horizon", &horizon, "how far ahead, e.g. 24h");
  cmd.flags.AddString("step", &step, "resolution, whole minutes, e.g. 1h");
  cmd.flags.AddString("history", &history, "how much history to fit on, e.g. 14d");
  cmd.flags.AddString("tenant", &tenant, "tenant whose series to forecast");
  cmd.flags.AddString("match", &match, "label matchers, e.g. workflow=triage,env=prod");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) {
    // --help: the offline mode is part of the same command.
    if (code == 0) std::cout << "\n" << ForecastCsvUsage();
    return code;
  }
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch forecast: give the metric, e.g. workflow_runs_total\n";
    return 2;
  }
  absl::Duration horizon_d, step_d, history_d;
  if (!ParseDurationFlag("horizon", horizon, &horizon_d) ||
      !ParseDurationFlag("step", step, &step_d) ||
      !ParseDurationFlag("history", history, &history_d)) {
    return 2;
  }
  capacity_v1::GetForecastRequest request;
  request.set_metric(cmd.positional[0]);
  request.set_tenant(tenant);
  for (absl::string_view part : absl::StrSplit(match, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first.empty() || std::string(part).find('=') == std::string::npos) {
      std::cerr << "agentwatch forecast: --match: '" << part << "' is not name=value\n";
      return 2;
    }
    auto* matcher = request.add_matchers();
    matcher->set_name(kv.first);
    matcher->set_op(common_v1::MATCH_OP_EQUAL);
    matcher->set_value(kv.second);
  }
  *request.mutable_horizon() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(horizon_d));
  *request.mutable_step() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(step_d));
  *request.mutable_history() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(history_d));
  auto stub = capacity_v1::CapacityService::NewStub(cmd.Channel(cmd.capacity_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  capacity_v1::GetForecastResponse response;
  const grpc::Status status = stub->GetForecast(&context, request, &response);
  if (!status.ok()) return Fail("capacity", cmd.capacity_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::vector<double> values;
  for (const auto& point : response.points()) values.push_back(point.value());
  std::cout << cmd.positional[0] << "  " << Sparkline(values) << "\n"
            << "model " << response.model() << ", backtest MASE "
            << absl::StrFormat("%.3f", response.backtest_mase()) << ", sMAPE "
            << absl::StrFormat(
                   "%.1f%%", response.backtest_smape() * (response.backtest_smape() <= 2 ? 100 : 1))
            << ", " << response.history_points() << " points of history\n\n";
  Table table({"TIME", "FORECAST", "80% LOW", "80% HIGH", "95% LOW", "95% HIGH"});
  for (const auto& point : response.points()) {
    table.AddRow({FormatUtc(absl::FromUnixSeconds(point.time().seconds())),
                  absl::StrFormat("%.3f", point.value()), absl::StrFormat("%.3f", point.lower_80()),
                  absl::StrFormat("%.3f", point.upper_80()),
                  absl::StrFormat("%.3f", point.lower_95()),
                  absl::StrFormat("%.3f", point.upper_95())});
  }
  std::cout << table.Render();
  return 0;
}

int SendCommand(const Args& args) {
  Command cmd("send");
  std::string tenant = "demo", workflow = "demo-workflow", producer;
  int64_t succeeded = 10, failed = 0;
  cmd.flags.AddString("tenant", &tenant, "tenant of the events");
  cmd.flags.AddString("workflow", &workflow, "workflow of the runs");
  cmd.flags.AddString("producer", &producer, "producer id (default: agentwatch-cli-<host pid>)");
  cmd.flags.AddInt("succeeded", &succeeded, "successful runs to send", 0, 10000);
  cmd.flags.AddInt("failed", &failed, "failed runs to send", 0, 10000);
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  if (succeeded + failed == 0) {
    std::cerr << "agentwatch send: --succeeded and --failed are both 0: nothing to send\n";
    return 2;
  }
  if (producer.empty()) producer = absl::StrCat("agentwatch-cli-", getpid());
  const absl::Time now = absl::Now();
  monitor_v1::IngestRequest request;
  request.set_producer_id(producer);
  request.set_sequence(static_cast<uint64_t>(absl::ToUnixMicros(now)));
  for (int64_t i = 0; i < succeeded + failed; ++i) {
    auto* event = request.add_events();
    event->set_tenant(tenant);
    *event->mutable_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
    auto* run = event->mutable_workflow_run();
    run->set_workflow(workflow);
    run->set_run_id(absl::StrCat(producer, "-", request.sequence(), "-", i));
    run->set_status(i < failed ? monitor_v1::RUN_STATUS_FAILED : monitor_v1::RUN_STATUS_SUCCEEDED);
    *run->mutable_duration() = TimeUtil::MillisecondsToDuration(1500);
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::IngestResponse response;
  const grpc::Status status = stub->Ingest(&context, request, &response);
  if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
  } else {
    std::cout << "sent " << response.accepted() << " workflow runs (" << failed << " failed) for "
              << tenant << "/" << workflow << " as " << producer << " #" << request.sequence()
              << "\n";
  }
  return 0;
}

}  // namespace agentwatch::cli
