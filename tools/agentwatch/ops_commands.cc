// Operator commands: acting on incidents, alerts and rules, silences, budgets
// and capacity recommendations.
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "agentwatch/command.h"
#include "agentwatch/commands.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "agentwatch/render.h"

namespace agentwatch::cli {
namespace {

namespace capacity_v1 = ::agentwatch::capacity::v1;
namespace common_v1 = ::agentwatch::common::v1;
namespace cost_v1 = ::agentwatch::cost::v1;
namespace incident_v1 = ::agentwatch::incident::v1;
namespace monitor_v1 = ::agentwatch::monitor::v1;
using ::google::protobuf::util::TimeUtil;

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "cli";
}

std::string Utc(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return FormatUtc(absl::FromUnixSeconds(t.seconds()));
}

std::string Labels(const google::protobuf::Map<std::string, std::string>& labels) {
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : sorted) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, ",");
}

std::string Matchers(const google::protobuf::RepeatedPtrField<common_v1::LabelMatcher>& matchers) {
  std::vector<std::string> parts;
  for (const auto& m : matchers) {
    const char* op = "=";
    if (m.op() == common_v1::MATCH_OP_NOT_EQUAL) op = "!=";
    if (m.op() == common_v1::MATCH_OP_REGEX) op = "=~";
    if (m.op() == common_v1::MATCH_OP_NOT_REGEX) op = "!~";
    parts.push_back(absl::StrCat(m.name(), op, m.value()));
  }
  return absl::StrJoin(parts, ",");
}

// "name=value,team!=x,svc=~api.*" as label matchers. False (after printing
// the problem naming --flag) when a part is malformed.
bool ParseMatchers(const std::string& flag, const std::string& text,
                   google::protobuf::RepeatedPtrField<common_v1::LabelMatcher>* out) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    struct Op {
      const char* text;
      common_v1::MatchOp op;
    };
    static constexpr Op kOps[] = {{"!~", common_v1::MATCH_OP_NOT_REGEX},
                                  {"=~", common_v1::MATCH_OP_REGEX},
                                  {"!=", common_v1::MATCH_OP_NOT_EQUAL},
                                  {"=", common_v1::MATCH_OP_EQUAL}};
    bool parsed = false;
    for (const Op& op : kOps) {
      const size_t at = part.find(op.text);
      if (at == absl::string_view::npos || at == 0) continue;
      common_v1::LabelMatcher* m = out->Add();
      m->set_name(std::string(part.substr(0, at)));
      m->set_op(op.op);
      m->set_value(std::string(part.substr(at + std::string(op.text).size())));
      parsed = true;
      break;
    }
    if (!parsed) {
      std::cerr << "agentwatch: --" << flag << ": '" << part
                << "' is not a matcher like name=value, name!=value, name=~regex\n";
      return false;
    }
  }
  return true;
}

// Prints `message` as JSON when --output json; returns true when it did.
bool MaybeJson(const Command& cmd, const google::protobuf::Message& message) {
  if (!cmd.json()) return false;
  std::cout << ToJson(message) << "\n";
  return true;
}

std::string Severity(common_v1::Severity s) {
  return ShortEnum(common_v1::Severity_Name(s), "SEVERITY_");
}

std::string IncidentStatus(incident_v1::IncidentStatus s) {
  return ShortEnum(incident_v1::IncidentStatus_Name(s), "INCIDENT_STATUS_");
}

// One lifecycle step on an incident: ack, resolve.
template <typename Request, typename Call>
int IncidentStep(const std::string& name, const std::string& verb, const Args& args, Call call) {
  Command cmd(name);
  std::string actor, note;
  cmd.flags.AddString("actor", &actor, "who acts (default: $USER)");
  cmd.flags.AddString("note", &note, "a note for the timeline");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (actor.empty()) actor = DefaultActor();
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch " << name << ": give the incident ID\n";
    return 2;
  }
  Request request;
  request.set_id(cmd.positional[0]);
  request.set_actor(actor);
  request.set_note(note);
  request.set_request_id(
      absl::StrCat("cli-", verb, "-", cmd.positional[0], "-", absl::ToUnixMicros(absl::Now())));
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  incident_v1::Incident incident;
  const grpc::Status status = call(*stub, &context, request, &incident);
  if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
  if (MaybeJson(cmd, incident)) return 0;
  std::cout << incident.id() << " is now " << IncidentStatus(incident.status()) << " (" << verb
            << " by " << actor << ")\n";
  return 0;
}

}  // namespace

int IncidentsAckCommand(const Args& args) {
  return IncidentStep<incident_v1::AcknowledgeIncidentRequest>(
      "incidents ack", "acknowledged", args,
      [](incident_v1::IncidentService::Stub& stub, grpc::ClientContext* context,
         const incident_v1::AcknowledgeIncidentRequest& request,
         incident_v1::Incident* out) { return stub.AcknowledgeIncident(context, request, out); });
}

int IncidentsResolveCommand(const Args& args) {
  return IncidentStep<incident_v1::ResolveIncidentRequest>(
      "incidents resolve", "resolved", args,
      [](incident_v1::IncidentService::Stub& stub, grpc::ClientContext* context,
         const incident_v1::ResolveIncidentRequest& request,
         incident_v1::Incident* out) { return stub.ResolveIncident(context, request, out); });
}

int IncidentsNoteCommand(const Args& args) {
  Command cmd("incidents note");
  std::string actor;
  cmd.flags.AddString("actor", &actor, "who writes (default: $USER)");
  int code = 0;
  if (!cmd.Parse(args, 2, &code)) return code;
  if (actor.empty()) actor = DefaultActor();
  if (cmd.positional.size() != 2 || cmd.positional[1].empty()) {
    std::cerr << "agentwatch incidents note: give the incident ID and the note text, e.g. "
                 "agentwatch incidents note INC-1 \"rolled back v42\"\n";
    return 2;
  }
  incident_v1::AddNoteRequest request;
  request.set_id(cmd.positional[0]);
  request.set_actor(actor);
  request.set_note(cmd.positional[1]);
  request.set_request_id(
      absl::StrCat("cli-note-", cmd.positional[0], "-", absl::ToUnixMicros(absl::Now())));
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  incident_v1::TimelineEntry entry;
  const grpc::Status status = stub->AddNote(&context, request, &entry);
  if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
  if (MaybeJson(cmd, entry)) return 0;
  std::cout << "noted on " << cmd.positional[0] << " at " << Utc(entry.time()) << "\n";
  return 0;
}

int IncidentsCloseCommand(const Args& args) {
  return IncidentStep<incident_v1::CloseIncidentRequest>(
      "incidents close", "closed", args,
      [](incident_v1::IncidentService::Stub& stub, grpc::ClientContext* context,
         const incident_v1::CloseIncidentRequest& request,
         incident_v1::Incident* out) { return stub.CloseIncident(context, request, out); });
}

namespace {

// "description@owner;description" as action items (owner optional). False
// (after printing the problem) for an empty description.
bool ParseActionItems(const std::string& text,
                      google::protobuf::RepeatedPtrField<incident_v1::ActionItem>* out) {
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t at = part.rfind('@');
    incident_v1::ActionItem* item = out->Add();
    item->set_description(std::string(
        absl::StripAsciiWhitespace(at == absl::string_view::npos ? part : part.substr(0, at))));
    if (at != absl::string_view::npos) {
      item->set_owner(std::string(absl::StripAsciiWhitespace(part.substr(at + 1))));
    }
    if (item->description().empty()) {
      std::cerr << "agentwatch incidents postmortem: --action: '" << part
                << "' has no description (use \"what to do@owner;another@owner\")\n";
      return false;
    }
  }
  return true;
}

std::string PostmortemStatusText(incident_v1::PostmortemStatus s) {
  return ShortEnum(incident_v1::PostmortemStatus_Name(s), "POSTMORTEM_STATUS_");
}

void PrintPostmortem(const incident_v1::Postmortem& pm) {
  std::cout << "postmortem " << pm.id() << " of incident " << pm.incident_id() << " ("
            << PostmortemStatusText(pm.status()) << ")\n";
  const auto field = [](const char* name, const std::string& value) {
    std::cout << name << (value.empty() ? "-" : value) << "\n";
  };
  field("title:       ", pm.title());
  field("author:      ", pm.author());
  field("updated:     ", Utc(pm.update_time()));
  field("summary:     ", pm.summary());
  field("impact:      ", pm.impact());
  field("root cause:  ", pm.root_cause());
  field("resolution:  ", pm.resolution());
  field("lessons:     ", pm.lessons());
  std::cout << "action items:" << (pm.action_items().empty() ? " -" : "") << "\n";
  for (const auto& item : pm.action_items()) {
    std::cout << "  ["
              << ShortEnum(incident_v1::ActionItemStatus_Name(item.status()), "ACTION_ITEM_STATUS_")
              << "] " << item.description();
    if (!item.owner().empty()) std::cout << " (" << item.owner() << ")";
    std::cout << "\n";
  }
}

}  // namespace

int IncidentsPostmortemCommand(const Args& args) {
  Command cmd("incidents postmortem");
  std::string summary, impact, root_cause, resolution, lessons, author, title, actions, status_text,
      export_format;
  bool publish = false;
  cmd.flags.AddString(
      "summary", &summary,
      "summary; creates the postmortem when the incident has none, else updates it");
  cmd.flags.AddString("impact", &impact, "impact: who was affected, how, for how long");
  cmd.flags.AddString("root_cause", &root_cause, "root cause");
  cmd.flags.AddString("resolution", &resolution, "how it was resolved");
  cmd.flags.AddString("lessons", &lessons, "lessons learned");
  cmd.flags.AddString("title", &title, "title (default: the incident's)");
  cmd.flags.AddString("action", &actions,
                      "action items to add, \"what to do@owner;another@owner\" (owner optional)");
  cmd.flags.AddString("status", &status_text, "set the status: draft, in_review or published");
  cmd.flags.AddBool("publish", &publish,
                    "publish it (needs summary, impact and root cause); P0/P1 incidents close "
                    "only with a published postmortem");
  cmd.flags.AddString("author", &author, "author when creating (default: $USER)");
  cmd.flags.AddString("export", &export_format, "print the postmortem as a document: md");
  int code = 0;
  if (!cmd.Parse(args, 1, &code)) return code;
  if (author.empty()) author = DefaultActor();
  if (cmd.positional.empty()) {
    std::cerr << "agentwatch incidents postmortem: give the incident ID\n";
    return 2;
  }
  if (!export_format.empty() && export_format != "md") {
    std::cerr << "agentwatch incidents postmortem: --export: only md (Markdown) is supported\n";
    return 2;
  }
  incident_v1::PostmortemStatus status = incident_v1::POSTMORTEM_STATUS_UNSPECIFIED;
  if (publish) status = incident_v1::POSTMORTEM_STATUS_PUBLISHED;
  if (!status_text.empty()) {
    const std::string upper = absl::AsciiStrToUpper(status_text);
    if (!incident_v1::PostmortemStatus_Parse("POSTMORTEM_STATUS_" + upper, &status) ||
        status == incident_v1::POSTMORTEM_STATUS_UNSPECIFIED ||
        (publish && status != incident_v1::POSTMORTEM_STATUS_PUBLISHED)) {
      std::cerr << "agentwatch incidents postmortem: --status: '" << status_text
                << "' is not draft, in_review or published (or contradicts --publish)\n";
      return 2;
    }
  }
  // The change the flags ask for, and the fields it touches.
  incident_v1::Postmortem change;
  std::vector<std::string> paths;
  const auto set = [&](const std::string& value, const char* path,
                       void (incident_v1::Postmortem::*setter)(const std::string&)) {
    if (value.empty()) return;
    (change.*setter)(value);
    paths.push_back(path);
  };
  set(title, "title", &incident_v1::Postmortem::set_title);
  set(summary, "summary", &incident_v1::Postmortem::set_summary);
  set(impact, "impact", &incident_v1::Postmortem::set_impact);
  set(root_cause, "root_cause", &incident_v1::Postmortem::set_root_cause);
  set(resolution, "resolution", &incident_v1::Postmortem::set_resolution);
  set(lessons, "lessons", &incident_v1::Postmortem::set_lessons);
  if (!ParseActionItems(actions, change.mutable_action_items())) return 2;
  if (status != incident_v1::POSTMORTEM_STATUS_UNSPECIFIED) {
    change.set_status(status);
    paths.push_back("status");
  }

  const std::string incident_id = cmd.positional[0];
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  incident_v1::Postmortem pm;
  {
    incident_v1::GetPostmortemRequest request;
    request.set_incident_id(incident_id);
    grpc::ClientContext context;
    cmd.Prepare(&context);
    const grpc::Status got = stub->GetPostmortem(&context, request, &pm);
    const bool none = got.error_code() == grpc::StatusCode::NOT_FOUND &&
                      absl::StrContains(got.error_message(), "has no postmortem");
    if (!got.ok() && !none) return Fail("incident", cmd.incident_addr, got);
    if (none && paths.empty() && change.action_items().empty()) {
      std::cerr << "agentwatch incidents postmortem: incident " << incident_id
                << " has no postmortem yet; write one with --summary \"...\" --impact \"...\" "
                   "--root_cause \"...\"\n";
      return 1;
    }
    if (none) {
      incident_v1::CreatePostmortemRequest create;
      *create.mutable_postmortem() = change;
      create.mutable_postmortem()->set_incident_id(incident_id);
      create.mutable_postmortem()->set_author(author);
      create.set_request_id(
          absl::StrCat("cli-postmortem-", incident_id, "-", absl::ToUnixMicros(absl::Now())));
      grpc::ClientContext create_context;
      cmd.Prepare(&create_context);
      const grpc::Status created = stub->CreatePostmortem(&create_context, create, &pm);
      if (!created.ok()) return Fail("incident", cmd.incident_addr, created);
      std::cerr << "created postmortem " << pm.id() << " (" << PostmortemStatusText(pm.status())
                << ")\n";
    } else if (!paths.empty() || !change.action_items().empty()) {
      incident_v1::UpdatePostmortemRequest update;
      *update.mutable_postmortem() = change;
      update.mutable_postmortem()->set_id(pm.id());
      if (!change.action_items().empty()) {
        // New items are added after the existing ones (kept with their ids).
        google::protobuf::RepeatedPtrField<incident_v1::ActionItem> items = pm.action_items();
        items.MergeFrom(change.action_items());
        *update.mutable_postmortem()->mutable_action_items() = items;
        paths.push_back("action_items");
      }
      for (const std::string& path : paths) update.mutable_update_mask()->add_paths(path);
      grpc::ClientContext update_context;
      cmd.Prepare(&update_context);
      const grpc::Status updated = stub->UpdatePostmortem(&update_context, update, &pm);
      if (!updated.ok()) return Fail("incident", cmd.incident_addr, updated);
      std::cerr << "updated postmortem " << pm.id() << " (" << PostmortemStatusText(pm.status())
                << ")\n";
    }
  }
  if (export_format == "md") {
    incident_v1::ExportPostmortemRequest request;
    request.set_id(pm.id());
    grpc::ClientContext context;
    cmd.Prepare(&context);
    incident_v1::ExportPostmortemResponse exported;
    const grpc::Status status = stub->ExportPostmortem(&context, request, &exported);
    if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
    if (MaybeJson(cmd, exported)) return 0;
    std::cout << exported.markdown();
    return 0;
  }
  if (MaybeJson(cmd, pm)) return 0;
  PrintPostmortem(pm);
  return 0;
}

int AlertsCommand(const Args& args) {
  Command cmd("alerts");
  std::string tenant, match;
  bool pending = false;
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  cmd.flags.AddString("match", &match, "label matchers, e.g. workflow=triage");
  cmd.flags.AddBool("pending", &pending, "also alerts still inside their `for` duration");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  monitor_v1::ListActiveAlertsRequest request;
  request.set_tenant(tenant);
  request.set_include_pending(pending);
  request.set_page_size(500);
  if (!ParseMatchers("match", match, request.mutable_matchers())) return 2;
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  monitor_v1::ListActiveAlertsResponse response;
  const grpc::Status status = stub->ListActiveAlerts(&context, request, &response);
  if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
  if (MaybeJson(cmd, response)) return 0;
  Table table({"NAME", "SEVERITY", "STATE", "VALUE", "SINCE", "TENANT", "LABELS"});
  for (const auto& alert : response.alerts()) {
    table.AddRow(
        {alert.name(), Severity(alert.severity()),
         ShortEnum(monitor_v1::ActiveAlertState_Name(alert.state()), "ACTIVE_ALERT_STATE_"),
         absl::StrFormat("%.4g", alert.value()), Utc(alert.active_since()), alert.tenant(),
         Labels(alert.labels())});
  }
  std::cout << table.Render() << response.alerts_size() << " active alert(s)\n";
  return 0;
}

int RulesListCommand(const Args& args) {
  Command cmd("rules list");
  std::string tenant;
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  monitor_v1::ListAlertRulesRequest request;
  request.set_tenant(tenant);
  request.set_page_size(500);
  monitor_v1::ListAlertRulesResponse all;
  for (int page = 0; page < 100; ++page) {
    grpc::ClientContext context;
    cmd.Prepare(&context);
    monitor_v1::ListAlertRulesResponse response;
    const grpc::Status status = stub->ListAlertRules(&context, request, &response);
    if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
    for (auto& rule : *response.mutable_rules()) *all.add_rules() = std::move(rule);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (MaybeJson(cmd, all)) return 0;
  Table table({"NAME", "TENANT", "KIND", "CONDITION", "FOR", "SEVERITY", "ENABLED"});
  for (const auto& rule : all.rules()) {
    std::string kind = "-", condition = "-";
    if (rule.has_threshold()) {
      const auto& t = rule.threshold();
      kind = "threshold";
      condition = absl::StrCat(
          ShortEnum(monitor_v1::Aggregation_Name(t.aggregation()), "AGGREGATION_"), "(", t.metric(),
          t.matchers().empty() ? "" : absl::StrCat("{", Matchers(t.matchers()), "}"), ") ",
          ShortEnum(monitor_v1::Comparison_Name(t.comparison()), "COMPARISON_"), " ",
          absl::StrFormat("%g", t.threshold()));
    } else if (rule.has_anomaly()) {
      kind = "anomaly";
      condition = rule.anomaly().ShortDebugString();
    }
    table.AddRow({rule.name(), rule.tenant(), kind, condition,
                  absl::FormatDuration(absl::Seconds(rule.for_duration().seconds())),
                  Severity(rule.severity()), rule.disabled() ? "no" : "yes"});
  }
  std::cout << table.Render();
  return 0;
}

int RulesApplyCommand(const Args& args) {
  Args translated;
  for (const std::string& arg : args) translated.push_back(arg == "-f" ? "--file" : arg);
  Command cmd("rules apply");
  std::string file;
  cmd.flags.AddString("file", &file, "JSON file of rules (also -f): {\"rules\": [AlertRule...]}");
  int code = 0;
  if (!cmd.Parse(translated, 0, &code)) return code;
  if (file.empty()) {
    std::cerr << "agentwatch rules apply: give the rules file with -f FILE\n";
    return 2;
  }
  std::ifstream in(file);
  if (!in) {
    std::cerr << "agentwatch rules apply: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  monitor_v1::ListAlertRulesResponse wanted;  // {"rules": [...]}: the same shape as `rules list`
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &wanted, options);
      !parsed.ok()) {
    std::cerr << "agentwatch rules apply: " << file << ": " << parsed.message() << "\n";
    return 2;
  }
  auto stub = monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr));
  // Existing rules by (tenant, name).
  std::map<std::pair<std::string, std::string>, monitor_v1::AlertRule> existing;
  monitor_v1::ListAlertRulesRequest list;
  list.set_page_size(500);
  for (int page = 0; page < 100; ++page) {
    grpc::ClientContext context;
    cmd.Prepare(&context);
    monitor_v1::ListAlertRulesResponse response;
    const grpc::Status status = stub->ListAlertRules(&context, list, &response);
    if (!status.ok()) return Fail("monitor", cmd.monitor_addr, status);
    for (const auto& rule : response.rules()) existing[{rule.tenant(), rule.name()}] = rule;
    if (response.next_page_token().empty()) break;
    list.set_page_token(response.next_page_token());
  }
  int created = 0, updated = 0;
  for (const auto& rule : wanted.rules()) {
    grpc::ClientContext context;
    cmd.Prepare(&context);
    monitor_v1::AlertRule result;
    grpc::Status status;
    auto it = existing.find({rule.tenant(), rule.name()});
    if (it == existing.end()) {
      monitor_v1::CreateAlertRuleRequest request;
      *request.mutable_rule() = rule;
      request.set_request_id(absl::StrCat("cli-apply-", rule.tenant(), "-", rule.name()));
      status = stub->CreateAlertRule(&context, request, &result);
      ++created;
    } else {
      monitor_v1::UpdateAlertRuleRequest request;
      *request.mutable_rule() = rule;
      request.mutable_rule()->set_id(it->second.id());
      for (const char* path : {"description", "for_duration", "severity", "labels", "annotations",
                               "hysteresis", "disabled"}) {
        request.mutable_update_mask()->add_paths(path);
      }
      request.mutable_update_mask()->add_paths(rule.has_anomaly() ? "anomaly" : "threshold");
      status = stub->UpdateAlertRule(&context, request, &result);
      ++updated;
    }
    if (!status.ok()) {
      std::cerr << "agentwatch rules apply: rule '" << rule.name() << "': ";
      return Fail("monitor", cmd.monitor_addr, status);
    }
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

int SilencesCommand(const Args& args) {
  const std::string verb = args.empty() || args[0].rfind("--", 0) == 0 ? "list" : args[0];
  const Args rest(args.begin() + (args.empty() || verb != args[0] ? 0 : 1), args.end());
  Command cmd("silences " + verb);
  std::string tenant, match, comment, author, duration = "2h";
  bool expired = false;
  cmd.flags.AddString("tenant", &tenant, "tenant");
  if (verb == "add") {
    cmd.flags.AddString("match", &match, "label matchers, e.g. alertname=LatencyHigh,env=prod");
    cmd.flags.AddString("duration", &duration, "how long, e.g. 2h (from now)");
    cmd.flags.AddString("comment", &comment, "why");
    cmd.flags.AddString("author", &author, "who (default: $USER)");
  } else if (verb == "list") {
    cmd.flags.AddBool("expired", &expired, "include expired silences");
  } else if (verb != "delete") {
    std::cerr << "agentwatch silences: unknown action '" << verb << "' (list, add, delete)\n";
    return 2;
  }
  int code = 0;
  if (!cmd.Parse(rest, verb == "delete" ? 1 : 0, &code)) return code;
  if (author.empty()) author = DefaultActor();
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  if (verb == "delete") {
    if (cmd.positional.empty()) {
      std::cerr << "agentwatch silences delete: give the silence ID\n";
      return 2;
    }
    incident_v1::DeleteSilenceRequest request;
    request.set_id(cmd.positional[0]);
    google::protobuf::Empty empty;
    const grpc::Status status = stub->DeleteSilence(&context, request, &empty);
    if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
    std::cout << (cmd.json() ? "{}\n" : "deleted " + cmd.positional[0] + "\n");
    return 0;
  }
  if (verb == "add") {
    absl::Duration length;
    if (!ParseDurationFlag("duration", duration, &length)) return 2;
    if (match.empty()) {
      std::cerr << "agentwatch silences add: --match is required\n";
      return 2;
    }
    incident_v1::CreateSilenceRequest request;
    incident_v1::Silence* silence = request.mutable_silence();
    silence->set_tenant(tenant);
    if (!ParseMatchers("match", match, silence->mutable_matchers())) return 2;
    const absl::Time now = absl::Now();
    *silence->mutable_starts_at() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
    *silence->mutable_ends_at() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now + length));
    silence->set_author(author);
    silence->set_comment(comment);
    request.set_request_id(absl::StrCat("cli-silence-", absl::ToUnixMicros(now)));
    incident_v1::Silence created;
    const grpc::Status status = stub->CreateSilence(&context, request, &created);
    if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
    if (MaybeJson(cmd, created)) return 0;
    std::cout << "silence " << created.id() << " until " << Utc(created.ends_at()) << "\n";
    return 0;
  }
  incident_v1::ListSilencesRequest request;
  request.set_tenant(tenant);
  request.set_include_expired(expired);
  request.set_page_size(500);
  incident_v1::ListSilencesResponse response;
  const grpc::Status status = stub->ListSilences(&context, request, &response);
  if (!status.ok()) return Fail("incident", cmd.incident_addr, status);
  if (MaybeJson(cmd, response)) return 0;
  Table table({"ID", "STATE", "MATCHERS", "STARTS", "ENDS", "AUTHOR", "COMMENT"});
  for (const auto& s : response.silences()) {
    table.AddRow({s.id(), ShortEnum(incident_v1::SilenceState_Name(s.state()), "SILENCE_STATE_"),
                  Matchers(s.matchers()), Utc(s.starts_at()),
                  s.has_recurrence() ? "(recurring)" : Utc(s.ends_at()), s.author(), s.comment()});
  }
  std::cout << table.Render();
  return 0;
}

int BudgetsCommand(const Args& args) {
  const std::string verb = args.empty() || args[0].rfind("--", 0) == 0 ? "list" : args[0];
  const Args rest(args.begin() + (args.empty() || verb != args[0] ? 0 : 1), args.end());
  if (verb != "list" && verb != "set" && verb != "status") {
    std::cerr << "agentwatch budgets: unknown action '" << verb << "' (list, set, status)\n";
    return 2;
  }
  Command cmd("budgets " + verb);
  std::string tenant, team, workflow, agent, model, provider, limit_usd,
      period = "monthly", enforcement = "soft", thresholds, time_zone;
  cmd.flags.AddString("tenant", &tenant, "tenant");
  if (verb == "set") {
    cmd.flags.AddString("team", &team, "scope: team");
    cmd.flags.AddString("workflow", &workflow, "scope: workflow");
    cmd.flags.AddString("agent", &agent, "scope: agent");
    cmd.flags.AddString("model", &model, "scope: model");
    cmd.flags.AddString("provider", &provider, "scope: provider");
    cmd.flags.AddString("limit_usd", &limit_usd, "limit in USD, e.g. 250 or 99.50");
    cmd.flags.AddString("period", &period, "daily, weekly or monthly");
    cmd.flags.AddString("enforcement", &enforcement, "soft (alert only) or hard (deny)");
    cmd.flags.AddString("thresholds", &thresholds, "alert thresholds in percent, e.g. 50,80,100");
    cmd.flags.AddString("time_zone", &time_zone, "IANA time zone of the periods (default UTC)");
  }
  int code = 0;
  if (!cmd.Parse(rest, 1, &code)) return code;
  auto stub = cost_v1::CostService::NewStub(cmd.Channel(cmd.cost_addr));

  if (verb == "status") {
    if (cmd.positional.empty()) {
      std::cerr << "agentwatch budgets status: give the budget ID\n";
      return 2;
    }
    cost_v1::GetBudgetStatusRequest request;
    request.set_id(cmd.positional[0]);
    grpc::ClientContext context;
    cmd.Prepare(&context);
    cost_v1::BudgetStatus s;
    const grpc::Status status = stub->GetBudgetStatus(&context, request, &s);
    if (!status.ok()) return Fail("cost", cmd.cost_addr, status);
    if (MaybeJson(cmd, s)) return 0;
    std::cout << "budget " << s.budget_id() << "  period " << Utc(s.period_start()) << " .. "
              << Utc(s.period_end()) << "\n  spent     " << FormatUsd(s.spent_nano_usd()) << " of "
              << FormatUsd(s.limit_nano_usd()) << absl::StrFormat(" (%.1f%%)", s.percent_used())
              << "\n  remaining " << FormatUsd(s.remaining_nano_usd()) << "\n  burn rate "
              << FormatUsd(s.burn_rate_nano_usd_per_hour()) << "/h, projected "
              << FormatUsd(s.projected_spend_nano_usd())
              << (s.projected_to_exceed() ? "  ** projected to exceed **" : "") << "\n  exhaustion "
              << Utc(s.projected_exhaustion_time()) << "\n";
    return 0;
  }

  if (verb == "set") {
    if (cmd.positional.empty() || limit_usd.empty()) {
      std::cerr << "agentwatch budgets set: give a NAME and --limit_usd, e.g. agentwatch budgets "
                   "set growth-monthly --tenant acme --team growth --limit_usd 500\n";
      return 2;
    }
    // USD -> nano-USD exactly: whole and fractional parts as integers.
    std::pair<std::string, std::string> parts = absl::StrSplit(limit_usd, absl::MaxSplits('.', 1));
    // Digits only (SimpleAtoi alone would take signs and spaces), and at most
    // 9,000,000,000 USD so that the nano-USD amount fits in an int64.
    auto digits = [](const std::string& text) {
      return std::all_of(text.begin(), text.end(),
                         [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
    };
    int64_t whole = 0, frac = 0;
    if (parts.first.empty() || parts.second.size() > 9 || !digits(parts.first) ||
        !digits(parts.second) || parts.first.size() > 10 ||
        !absl::SimpleAtoi(parts.first, &whole) || whole > 9'000'000'000 ||
        (!parts.second.empty() && !absl::SimpleAtoi(parts.second, &frac))) {
      std::cerr << "agentwatch budgets set: --limit_usd: '" << limit_usd
                << "' is not an amount like 250 or 99.50\n";
      return 2;
    }
    for (size_t i = parts.second.size(); i < 9; ++i) frac *= 10;
    cost_v1::Budget budget;
    budget.set_name(cmd.positional[0]);
    budget.mutable_scope()->set_tenant(tenant);
    budget.mutable_scope()->set_team(team);
    budget.mutable_scope()->set_workflow(workflow);
    budget.mutable_scope()->set_agent(agent);
    budget.mutable_scope()->set_model(model);
    budget.mutable_scope()->set_provider(provider);
    budget.set_limit_nano_usd(whole * 1'000'000'000 + frac);
    const std::map<std::string, cost_v1::BudgetPeriod> periods = {
        {"daily", cost_v1::BUDGET_PERIOD_DAILY},
        {"weekly", cost_v1::BUDGET_PERIOD_WEEKLY},
        {"monthly", cost_v1::BUDGET_PERIOD_MONTHLY}};
    if (!periods.count(period)) {
      std::cerr << "agentwatch budgets set: --period: must be daily, weekly or monthly\n";
      return 2;
    }
    budget.set_period(periods.at(period));
    if (enforcement != "soft" && enforcement != "hard") {
      std::cerr << "agentwatch budgets set: --enforcement: must be soft or hard\n";
      return 2;
    }
    budget.set_enforcement(enforcement == "hard" ? cost_v1::ENFORCEMENT_HARD
                                                 : cost_v1::ENFORCEMENT_SOFT);
    for (absl::string_view t : absl::StrSplit(thresholds, ',', absl::SkipEmpty())) {
      int percent;
      if (!absl::SimpleAtoi(t, &percent)) {
        std::cerr << "agentwatch budgets set: --thresholds: '" << t << "' is not a percent\n";
        return 2;
      }
      budget.add_threshold_percents(percent);
    }
    budget.set_time_zone(time_zone);
    // Update the budget of that name when it exists, else create it.
    std::string existing_id;
    cost_v1::ListBudgetsRequest list;
    list.set_tenant(tenant);
    list.set_page_size(500);
    for (int page = 0; page < 100 && existing_id.empty(); ++page) {
      grpc::ClientContext context;
      cmd.Prepare(&context);
      cost_v1::ListBudgetsResponse response;
      const grpc::Status status = stub->ListBudgets(&context, list, &response);
      if (!status.ok()) return Fail("cost", cmd.cost_addr, status);
      for (const auto& b : response.budgets()) {
        if (b.name() == budget.name() && b.scope().tenant() == tenant) existing_id = b.id();
      }
      if (response.next_page_token().empty()) break;
      list.set_page_token(response.next_page_token());
    }
    grpc::ClientContext context;
    cmd.Prepare(&context);
    cost_v1::Budget result;
    grpc::Status status;
    if (existing_id.empty()) {
      cost_v1::CreateBudgetRequest request;
      *request.mutable_budget() = budget;
      request.set_request_id(absl::StrCat("cli-budget-", tenant, "-", budget.name(), "-",
                                          absl::ToUnixMicros(absl::Now())));
      status = stub->CreateBudget(&context, request, &result);
    } else {
      cost_v1::UpdateBudgetRequest request;
      *request.mutable_budget() = budget;
      request.mutable_budget()->set_id(existing_id);
      for (const char* path : {"limit_nano_usd", "enforcement", "period"}) {
        request.mutable_update_mask()->add_paths(path);
      }
      if (budget.threshold_percents_size() > 0) {
        request.mutable_update_mask()->add_paths("threshold_percents");
      }
      if (!time_zone.empty()) request.mutable_update_mask()->add_paths("time_zone");
      status = stub->UpdateBudget(&context, request, &result);
    }
    if (!status.ok()) return Fail("cost", cmd.cost_addr, status);
    if (MaybeJson(cmd, result)) return 0;
    std::cout << (existing_id.empty() ? "created" : "updated") << " budget " << result.name()
              << " (" << result.id() << "): " << FormatUsd(result.limit_nano_usd()) << " " << period
              << ", " << enforcement << "\n";
    return 0;
  }

  cost_v1::ListBudgetsRequest request;
  request.set_tenant(tenant);
  request.set_page_size(500);
  grpc::ClientContext context;
  cmd.Prepare(&context);
  cost_v1::ListBudgetsResponse response;
  const grpc::Status status = stub->ListBudgets(&context, request, &response);
  if (!status.ok()) return Fail("cost", cmd.cost_addr, status);
  if (MaybeJson(cmd, response)) return 0;
  Table table({"ID", "NAME", "TENANT", "SCOPE", "PERIOD", "LIMIT", "ENFORCEMENT", "THRESHOLDS"});
  for (const auto& b : response.budgets()) {
    std::vector<std::string> scope;
    const auto& s = b.scope();
    for (const auto& [k, v] :
         std::vector<std::pair<const char*, std::string>>{{"team", s.team()},
                                                          {"workflow", s.workflow()},
                                                          {"agent", s.agent()},
                                                          {"model", s.model()},
                                                          {"provider", s.provider()}}) {
      if (!v.empty()) scope.push_back(absl::StrCat(k, "=", v));
    }
    std::vector<std::string> percents;
    for (int p : b.threshold_percents()) percents.push_back(absl::StrCat(p, "%"));
    table.AddRow(
        {b.id(), b.name(), s.tenant(), scope.empty() ? "*" : absl::StrJoin(scope, ","),
         absl::AsciiStrToLower(ShortEnum(cost_v1::BudgetPeriod_Name(b.period()), "BUDGET_PERIOD_")),
         FormatUsd(b.limit_nano_usd()),
         absl::AsciiStrToLower(
             ShortEnum(cost_v1::Enforcement_Name(b.enforcement()), "ENFORCEMENT_")),
         absl::StrJoin(percents, ",")});
  }
  std::cout << table.Render();
  return 0;
}

int RecommendationsCommand(const Args& args) {
  Command cmd("recommendations");
  std::string tenant, resource, horizon = "24h";
  cmd.flags.AddString("tenant", &tenant, "tenant");
  cmd.flags.AddString("resource", &resource, "only this resource id");
  cmd.flags.AddString("horizon", &horizon, "how far ahead to plan, e.g. 24h or 7d");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  absl::Duration horizon_d;
  if (!ParseDurationFlag("horizon", horizon, &horizon_d)) return 2;
  capacity_v1::GetRecommendationsRequest request;
  request.mutable_scope()->set_tenant(tenant);
  request.set_resource_id(resource);
  *request.mutable_horizon() = TimeUtil::SecondsToDuration(absl::ToInt64Seconds(horizon_d));
  request.set_page_size(200);
  auto stub = capacity_v1::CapacityService::NewStub(cmd.Channel(cmd.capacity_addr));
  grpc::ClientContext context;
  cmd.Prepare(&context);
  capacity_v1::GetRecommendationsResponse response;
  const grpc::Status status = stub->GetRecommendations(&context, request, &response);
  if (!status.ok()) return Fail("capacity", cmd.capacity_addr, status);
  if (MaybeJson(cmd, response)) return 0;
  Table table(
      {"RESOURCE", "KIND", "CURRENT", "RECOMMENDED", "UTIL", "CONFIDENCE", "PEAK AT", "REASON"});
  for (const auto& r : response.recommendations()) {
    table.AddRow({r.resource_name().empty() ? r.resource() : r.resource_name(),
                  absl::AsciiStrToLower(ShortEnum(capacity_v1::RecommendationKind_Name(r.kind()),
                                                  "RECOMMENDATION_KIND_")),
                  absl::StrFormat("%g %s", r.current(), r.unit()),
                  absl::StrFormat("%g %s", r.recommended(), r.unit()),
                  absl::StrFormat("%.0f%%", r.utilization() * 100),
                  absl::StrFormat("%.0f%%", r.confidence() * 100), Utc(r.peak_time()), r.reason()});
  }
  std::cout << table.Render();
  return 0;
}

}  // namespace agentwatch::cli
