// `agentwatch incidents watch`: follows IncidentService.WatchIncidents and
// prints one line per incident change as it happens.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agentwatch/command.h"
#include "agentwatch/commands.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/render.h"

namespace agentwatch::cli {
namespace {

namespace common_v1 = ::agentwatch::common::v1;
namespace incident_v1 = ::agentwatch::incident::v1;

// One JSON object per line, so that scripts can read the stream as it comes.
std::string JsonLine(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace

int IncidentsWatchCommand(const Args& args) {
  Command cmd("incidents watch");
  std::string tenant, severities, resume;
  bool initial = false;
  absl::Duration duration = absl::ZeroDuration();
  cmd.flags.AddString("tenant", &tenant, "only this tenant");
  cmd.flags.AddString("severity", &severities, "only these severities, e.g. P0,P1");
  cmd.flags.AddBool("initial", &initial, "first print every open incident that matches");
  cmd.flags.AddString("resume", &resume, "continue after this cursor (printed when a watch ends)");
  cmd.flags.AddDuration("for", &duration, "stop after this long (default: until interrupted)");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  incident_v1::WatchIncidentsRequest request;
  request.set_tenant(tenant);
  request.set_send_initial(initial);
  request.set_resume_cursor(resume);
  for (absl::string_view name : absl::StrSplit(severities, ',', absl::SkipWhitespace())) {
    common_v1::Severity severity;
    if (!common_v1::Severity_Parse(absl::StrCat("SEVERITY_", name), &severity) ||
        severity == common_v1::SEVERITY_UNSPECIFIED) {
      std::cerr << "agentwatch incidents watch: --severity: '" << name
                << "' is not one of P0, P1, P2, P3\n";
      return 2;
    }
    request.add_severities(severity);
  }
  if (duration < absl::ZeroDuration()) {
    std::cerr << "agentwatch incidents watch: --for must not be negative\n";
    return 2;
  }
  auto stub = incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr));
  // No --timeout deadline: the stream lasts until --for or an interrupt.
  grpc::ClientContext context;
  if (duration > absl::ZeroDuration())
    context.set_deadline(absl::ToChronoTime(absl::Now() + duration));
  std::unique_ptr<grpc::ClientReader<incident_v1::IncidentEvent>> reader =
      stub->WatchIncidents(&context, request);
  incident_v1::IncidentEvent event;
  std::string cursor = resume;
  while (reader->Read(&event)) {
    if (!event.cursor().empty()) cursor = event.cursor();
    if (cmd.json()) {
      std::cout << JsonLine(event) << std::endl;
      continue;
    }
    const incident_v1::Incident& incident = event.incident();
    std::string line = absl::StrCat(
        FormatUtc(absl::FromUnixSeconds(event.time().seconds())), "  ",
        ShortEnum(incident_v1::IncidentEventType_Name(event.type()), "INCIDENT_EVENT_TYPE_"), "  ",
        incident.id(), "  ", ShortEnum(common_v1::Severity_Name(incident.severity()), "SEVERITY_"),
        "  ", ShortEnum(incident_v1::IncidentStatus_Name(incident.status()), "INCIDENT_STATUS_"),
        "  ", incident.tenant(), "  ", incident.title());
    if (event.has_entry()) {
      absl::StrAppend(&line, "  [", event.entry().kind(), "] ", event.entry().text());
    }
    std::cout << line << std::endl;
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
      duration > absl::ZeroDuration()) {
    if (!cmd.json() && !cursor.empty()) {
      std::cerr << "watched for " << absl::FormatDuration(duration) << "; resume with --resume "
                << cursor << "\n";
    }
    return 0;
  }
  if (!cursor.empty())
    std::cerr << "agentwatch incidents watch: resume with --resume " << cursor << "\n";
  return Fail("incident", cmd.incident_addr, status);
}

}  // namespace agentwatch::cli
