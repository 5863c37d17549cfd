// SLO commands: list SLOs with their error budgets, show one SLO's status
// and burn rates, report the SLI per day / week / month, apply SLOs from a
// JSON file and delete one.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agentwatch/command.h"
#include "agentwatch/commands.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "agentwatch/render.h"

namespace agentwatch::cli {
namespace {

namespace common_v1 = ::agentwatch::common::v1;
namespace monitor_v1 = ::agentwatch::monitor::v1;

using Stub = monitor_v1::MonitorService::Stub;

std::string Percent(double share, int decimals) {
  return absl::StrFormat("%.*f%%", decimals, share * 100.0);
}

std::string DurationText(const google::protobuf::Duration& d) {
  return absl::FormatDuration(absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()));
}

std::string ScopeText(const common_v1::Scope& scope) {
  std::vector<std::string> parts;
  const auto add = [&parts](const char* name, const std::string& value) {
    if (!value.empty()) parts.push_back(absl::StrCat(name, "=", value));
  };
  add("team", scope.team());
  add("workflow", scope.workflow());
  add("agent", scope.agent());
  add("model", scope.model());
  add("provider", scope.provider());
  add("service", scope.service());
  std::map<std::string, std::string> tags(scope.tags().begin(), scope.tags().end());
  for (const auto& [key, value] : tags) parts.push_back(absl::StrCat(key, "=", value));
  return parts.empty() ? "*" : absl::StrJoin(parts, ",");
}

std::string Objective(const monitor_v1::Slo& slo) {
  std::string text = absl::StrFormat("%g%%", slo.objective() * 100.0);
  if (slo.sli_kind() == monitor_v1::SLI_KIND_LATENCY) {
    absl::StrAppend(&text, " under ", DurationText(slo.latency_threshold()));
  }
  return text;
}

// Every SLO (of `tenant` when set), all pages.
bool ListAll(const Command& cmd, Stub& stub, const std::string& tenant,
             monitor_v1::ListSlosResponse* all) {
  monitor_v1::ListSlosRequest request;
  request.set_tenant(tenant);
  request.set_page_size(1000);
  for (int page = 0; page < 1000; ++page) {
    grpc::ClientContext context;
    cmd.Prepare(&context);
    monitor_v1::ListSlosResponse response;
    const grpc::Status status = stub.ListSlos(&context, request, &response);
    if (!status.ok()) {
      Fail("monitor", cmd.monitor_addr, status);
      return false;
    }
    for (auto& slo : *response.mutable_slos()) *all->add_slos() = std::move(slo);
    if (response.next_page_token().empty()) return true;
    request.set_page_token(response.next_page_token());
  }
  return true;
}

// The SLO named or identified by `key` (an id, or a name, which must be
// unique across tenants unless --tenant narrows it). Prints why and returns
// false when there is none or more than one.
bool Resolve(const Command& cmd, Stub& stub, const std::string& tenant, const std::string& key,
             monitor_v1::Slo* out) {
  monitor_v1::ListSlosResponse all;
  if (!ListAll(cmd, stub, tenant, &all)) return false;
  std::vector<const monitor_v1::Slo*> by_name;
  for (const auto& slo : all.slos()) {
    if (slo.id() == key) {
      *out = slo;
      return true;
    }
    if (slo.name() == key) by_name.push_back(&slo);
  }
  if (by_name.size() == 1) {
    *out = *by_name[0];
    return true;
  }
  std::cerr << "agentwatch " << cmd.name << ": ";
  if (by_name.empty()) {
    std::cerr << "no SLO with id or name '" << key << "'"
              << (tenant.empty() ? "" : " in tenant " + tenant) << "; see agentwatch slos list\n";
  } else {
    std::cerr << "SLO name '" << key << "' is in " << by_name.size()
              << " tenants; give --tenant or the SLO id\n";
  }
  return false;
}

bool Status(const Command& cmd, Stub& stub, const std::string& id, monitor_v1::SloStatus* out) {
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::GetSloStatusRequest request;
  request.set_id(id);
  const grpc::Status status = stub.GetSloStatus(&context, request, out);
  if (!status.ok()) {
    Fail("monitor", cmd.monitor_addr, status);
    return false;
  }
  return true;
}

int SlosList(const Args& args) {
  Command cmd("slos list");
  std::string tenant;
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::ListSlosResponse all;
  if (!ListAll(cmd, *stub, tenant, &all)) return 1;
  std::vector<monitor_v1::SloStatus> statuses;
  for (const auto& slo : all.slos()) {
    if (!Status(cmd, *stub, slo.id(), &statuses.emplace_back())) return 1;
  }
  if (cmd.json()) {
    // {"slos": [...], "statuses": [...]} in the same order.
    std::vector<std::string> parts;
    for (const auto& status : statuses) parts.push_back(ToJson(status));
    std::cout << "{\"slos\": " << ToJson(all) << ", \"statuses\": ["
              << absl::StrJoin(parts, ", ") << "]}\n";
    return 0;
  }
  Table table({"NAME", "TENANT", "SUBJECT", "SCOPE", "OBJECTIVE", "WINDOW", "SLI", "BUDGET LEFT",
               "FIRING", "ID"});
  for (int i = 0; i < all.slos_size(); ++i) {
    const auto& slo = all.slos(i);
    const auto& status = statuses[static_cast<size_t>(i)];
    std::vector<std::string> firing;
    for (const auto& alert : status.firing_alerts()) {
      firing.push_back(ShortEnum(common_v1::Severity_Name(alert.severity()), "SEVERITY_"));
    }
    table.AddRow({slo.name(), slo.scope().tenant(),
                  absl::AsciiStrToLower(ShortEnum(monitor_v1::SloSubject_Name(slo.subject()),
                                                  "SLO_SUBJECT_")),
                  ScopeText(slo.scope()), Objective(slo), DurationText(slo.window()),
                  status.total_events() == 0 ? "-" : Percent(status.sli(), 3),
                  Percent(status.error_budget_remaining(), 1),
                  firing.empty() ? "-" : absl::StrJoin(firing, ","), slo.id()});
  }
  std::cout << table.Render();
  return 0;
}

int SlosStatus(const Args& args) {
  Command cmd("slos status");
  std::string tenant;
  cmd.flags.AddString("tenant", &tenant, "tenant of the SLO named (when names repeat)");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch slos status: give the SLO id or name\n";
    return 2;
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::Slo slo;
  if (!Resolve(cmd, *stub, tenant, cmd.positional[0], &slo)) return 1;
  monitor_v1::SloStatus status;
  if (!Status(cmd, *stub, slo.id(), &status)) return 1;
  if (cmd.json()) {
    std::cout << ToJson(status) << "\n";
    return 0;
  }
  std::cout << "SLO " << slo.name() << " (" << slo.id() << ") of tenant " << slo.scope().tenant()
            << "\n"
            << "  subject    " << ShortEnum(monitor_v1::SloSubject_Name(slo.subject()),
                                            "SLO_SUBJECT_")
            << " " << ScopeText(slo.scope()) << "\n"
            << "  objective  " << Objective(slo) << " over " << DurationText(slo.window()) << "\n"
            << "  SLI        "
            << (status.total_events() == 0 ? std::string("- (no events)")
                                           : Percent(status.sli(), 4))
            << "  (" << status.good_events() << " good of " << status.total_events() << ")\n"
            << "  budget     " << Percent(status.error_budget_remaining(), 2) << " remaining\n";
  Table burn({"WINDOW", "BURN RATE"});
  for (const auto& rate : status.burn_rates()) {
    burn.AddRow({DurationText(rate.window()), absl::StrFormat("%.2fx", rate.burn_rate())});
  }
  std::cout << burn.Render();
  if (status.firing_alerts().empty()) {
    std::cout << "no burn-rate alert firing\n";
  } else {
    for (const auto& alert : status.firing_alerts()) {
      std::cout << "FIRING " << ShortEnum(common_v1::Severity_Name(alert.severity()), "SEVERITY_")
                << " " << alert.name() << " burn " << absl::StrFormat("%.2fx", alert.value())
                << " since " << FormatUtc(absl::FromUnixSeconds(alert.starts_at().seconds()))
                << "\n";
    }
  }
  return 0;
}

int SlosReport(const Args& args) {
  Command cmd("slos report");
  std::string tenant, since = "30d", period = "day", time_zone = "UTC";
  cmd.flags.AddString("tenant", &tenant, "tenant of the SLO named (when names repeat)");
  cmd.flags.AddString("since", &since, "report over this long before now, e.g. 30d");
  cmd.flags.AddString("period", &period, "day, week (ISO, Monday first) or month");
  cmd.flags.AddString("time_zone", &time_zone, "IANA time zone the periods are aligned in");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch slos report: give the SLO id or name\n";
    return 2;
  }
  absl::Duration span;
  if (!ParseDurationFlag("since", since, &span)) return 2;
  monitor_v1::GetSloReportRequest request;
  if (period == "day") {
    request.set_period(monitor_v1::REPORT_PERIOD_DAY);
  } else if (period == "week") {
    request.set_period(monitor_v1::REPORT_PERIOD_WEEK);
  } else if (period == "month") {
    request.set_period(monitor_v1::REPORT_PERIOD_MONTH);
  } else {
    std::cerr << "agentwatch slos report: --period: '" << period
              << "' is not one of day, week, month\n";
    return 2;
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::Slo slo;
  if (!Resolve(cmd, *stub, tenant, cmd.positional[0], &slo)) return 1;
  // The range ends at the next whole second, so it takes in everything sent
  // before the command ran; truncated, a report in the first second of a
  // minute left out that minute's events.
  const absl::Time now =
      absl::UnixEpoch() + absl::Ceil(absl::Now() - absl::UnixEpoch(), absl::Seconds(1));
  request.set_id(slo.id());
  request.set_time_zone(time_zone);
  request.mutable_range()->mutable_start()->set_seconds(absl::ToUnixSeconds(now - span));
  request.mutable_range()->mutable_end()->set_seconds(absl::ToUnixSeconds(now));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::GetSloReportResponse response;
  const grpc::Status status = stub->GetSloReport(&context, request, &response);
  if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
  if (cmd.json()) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  std::cout << "SLO " << slo.name() << ": " << Objective(slo) << ", periods of one " << period
            << " in " << time_zone << "\n";
  Table table({"FROM", "TO", "SLI", "GOOD", "TOTAL", "BUDGET USED", "MET"});
  for (const auto& p : response.periods()) {
    table.AddRow({FormatUtc(absl::FromUnixSeconds(p.range().start().seconds())),
                  FormatUtc(absl::FromUnixSeconds(p.range().end().seconds())),
                  p.total_events() == 0 ? "-" : Percent(p.sli(), 3),
                  absl::StrCat(p.good_events()), absl::StrCat(p.total_events()),
                  Percent(p.error_budget_consumed(), 1),
                  p.total_events() == 0 ? "-" : (p.met() ? "yes" : "NO")});
  }
  std::cout << table.Render();
  return 0;
}

int SlosApply(const Args& args) {
  Args translated;
  for (const std::string& arg : args) translated.push_back(arg == "-f" ? "--file" : arg);
  Command cmd("slos apply");
  std::string file;
  cmd.flags.AddString("file", &file, "JSON file of SLOs (also -f): {\"slos\": [Slo...]}");
  int code = 0;
  if (!cmd.Parse(translated, 0, &code)) return code;
  if (file.empty()) {
    std::cerr << "agentwatch slos apply: give the SLO file with -f FILE\n";
    return 2;
  }
  std::ifstream in(file);
  if (!in) {
    std::cerr << "agentwatch slos apply: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  monitor_v1::ListSlosResponse wanted;  // {"slos": [...]}: the shape of `slos list --output json`
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &wanted, options);
      !parsed.ok()) {
    std::cerr << "agentwatch slos apply: " << file << ": " << parsed.message() << "\n";
    return 2;
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::ListSlosResponse existing_list;
  if (!ListAll(cmd, *stub, "", &existing_list)) return 1;
  std::map<std::pair<std::string, std::string>, std::string> existing;  // (tenant, name) -> id
  for (const auto& slo : existing_list.slos()) {
    existing[{slo.scope().tenant(), slo.name()}] = slo.id();
  }
  int created = 0, updated = 0;
  for (const auto& slo : wanted.slos()) {
    grpc::ClientContext context;
    cmd.Prepare(&context);
    monitor_v1::Slo result;
    grpc::Status status;
    const auto it = existing.find({slo.scope().tenant(), slo.name()});
    if (it == existing.end()) {
      monitor_v1::CreateSloRequest request;
      *request.mutable_slo() = slo;
      request.set_request_id(absl::StrCat("cli-apply-", slo.scope().tenant(), "-", slo.name()));
      status = stub->CreateSlo(&context, request, &result);
    } else {
      // No update mask: every writable field is replaced by the file's.
      monitor_v1::UpdateSloRequest request;
      *request.mutable_slo() = slo;
      request.mutable_slo()->set_id(it->second);
      status = stub->UpdateSlo(&context, request, &result);
    }
    if (!status.ok()) {
      std::cerr << "agentwatch slos apply: SLO '" << slo.name() << "': ";
      return Fail("monitor", cmd.monitor_addr, status);
    }
    ++(it == existing.end() ? created : updated);
    if (!cmd.json()) {
      std::cout << (it == existing.end() ? "created " : "updated ") << result.name() << " ("
                << result.id() << ")\n";
    }
  }
  if (cmd.json()) {
    std::cout << absl::StrFormat("{\"created\": %d, \"updated\": %d}\n", created, updated);
  } else {
    std::cout << created << " created, " << updated << " updated\n";
  }
  return 0;
}

int SlosDelete(const Args& args) {
  Command cmd("slos delete");
  std::string tenant;
  cmd.flags.AddString("tenant", &tenant, "tenant of the SLO named (when names repeat)");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch slos delete: give the SLO id or name\n";
    return 2;
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::Slo slo;
  if (!Resolve(cmd, *stub, tenant, cmd.positional[0], &slo)) return 1;
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::DeleteSloRequest request;
  request.set_id(slo.id());
  google::protobuf::Empty empty;
  const grpc::Status status = stub->DeleteSlo(&context, request, &empty);
  if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
  std::cout << (cmd.json() ? "{}\n" : "deleted " + slo.name() + " (" + slo.id() + ")\n");
  return 0;
}

}  // namespace

int SlosCommand(const Args& args) {
  const std::string verb = args.empty() || args[0].rfind("--", 0) == 0 ? "list" : args[0];
  const Args rest(args.begin() + (args.empty() || verb != args[0] ? 0 : 1), args.end());
  if (verb == "list") return SlosList(rest);
  if (verb == "status") return SlosStatus(rest);
  if (verb == "report") return SlosReport(rest);
  if (verb == "apply") return SlosApply(rest);
  if (verb == "delete") return SlosDelete(rest);
  std::cerr << "agentwatch slos: unknown action '" << verb
            << "' (list, status, report, apply, delete)\n";
  return 2;
}

}  // namespace agentwatch::cli
