#include "incident/core/postmortem.h"

#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "incident/core/validation.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;

bool IsValid(PostmortemStatus status) {
  return status >= PostmortemStatus::kDraft && status <= PostmortemStatus::kPublished;
}

bool IsValid(ActionItemStatus status) {
  return status >= ActionItemStatus::kOpen && status <= ActionItemStatus::kWontDo;
}

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// "1h 5m 3s"; whole seconds.
std::string Span(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  int64_t seconds = absl::ToInt64Seconds(d);
  const int64_t days = seconds / 86400;
  const int64_t hours = seconds % 86400 / 3600;
  const int64_t minutes = seconds % 3600 / 60;
  seconds %= 60;
  std::string out;
  if (days > 0) absl::StrAppend(&out, days, "d ");
  if (days > 0 || hours > 0) absl::StrAppend(&out, hours, "h ");
  if (days > 0 || hours > 0 || minutes > 0) absl::StrAppend(&out, minutes, "m ");
  absl::StrAppend(&out, seconds, "s");
  return out;
}

// One table cell: no line breaks, "|" escaped.
std::string Cell(absl::string_view text) {
  std::string out = absl::StrReplaceAll(
      text, {{"\\", "\\\\"}, {"|", "\\|"}, {"\r\n", " "}, {"\n", " "}, {"\r", " "}});
  return out.empty() ? "-" : out;
}

void Section(std::string* out, absl::string_view heading, absl::string_view body) {
  absl::StrAppend(out, "\n## ", heading, "\n\n", body.empty() ? "_Not written._" : body, "\n");
}

}  // namespace

const char* PostmortemStatusName(PostmortemStatus status) {
  switch (status) {
    case PostmortemStatus::kDraft:
      return "DRAFT";
    case PostmortemStatus::kInReview:
      return "IN_REVIEW";
    case PostmortemStatus::kPublished:
      return "PUBLISHED";
    case PostmortemStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

const char* ActionItemStatusName(ActionItemStatus status) {
  switch (status) {
    case ActionItemStatus::kOpen:
      return "OPEN";
    case ActionItemStatus::kInProgress:
      return "IN_PROGRESS";
    case ActionItemStatus::kDone:
      return "DONE";
    case ActionItemStatus::kWontDo:
      return "WONT_DO";
    case ActionItemStatus::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

bool operator==(const ActionItem& a, const ActionItem& b) {
  return std::tie(a.id, a.description, a.owner, a.status, a.due_time, a.url) ==
         std::tie(b.id, b.description, b.owner, b.status, b.due_time, b.url);
}

bool operator==(const Postmortem& a, const Postmortem& b) {
  return std::tie(a.id, a.incident_id, a.tenant, a.title, a.status, a.summary, a.impact,
                  a.root_cause, a.resolution, a.lessons, a.action_items, a.author, a.create_time,
                  a.update_time) == std::tie(b.id, b.incident_id, b.tenant, b.title, b.status,
                                             b.summary, b.impact, b.root_cause, b.resolution,
                                             b.lessons, b.action_items, b.author, b.create_time,
                                             b.update_time);
}

void ApplyPostmortemDefaults(Postmortem* postmortem) {
  if (postmortem->status == PostmortemStatus::kUnspecified) {
    postmortem->status = PostmortemStatus::kDraft;
  }
  for (ActionItem& item : postmortem->action_items) {
    if (item.status == ActionItemStatus::kUnspecified) item.status = ActionItemStatus::kOpen;
  }
}

absl::Status ValidatePostmortem(const Postmortem& p, absl::string_view field) {
  const auto f = [&](absl::string_view name) { return absl::StrCat(field, ".", name); };
  if (!IsValid(p.status)) {
    return InvalidField(f("status"), absl::StrCat("unknown value ", static_cast<int>(p.status)));
  }
  RETURN_IF_ERROR(ValidateOptional(p.title, f("title"), kMaxPostmortemTitleBytes));
  RETURN_IF_ERROR(ValidateOptional(p.summary, f("summary"), kMaxPostmortemTextBytes));
  RETURN_IF_ERROR(ValidateOptional(p.impact, f("impact"), kMaxPostmortemTextBytes));
  RETURN_IF_ERROR(ValidateOptional(p.root_cause, f("root_cause"), kMaxPostmortemTextBytes));
  RETURN_IF_ERROR(ValidateOptional(p.resolution, f("resolution"), kMaxPostmortemTextBytes));
  RETURN_IF_ERROR(ValidateOptional(p.lessons, f("lessons"), kMaxPostmortemTextBytes));
  RETURN_IF_ERROR(ValidateOptional(p.author, f("author"), kMaxPersonBytes));
  if (p.action_items.size() > kMaxActionItems) {
    return InvalidField(f("action_items"), absl::StrCat("at most ", kMaxActionItems, " items"));
  }
  for (size_t i = 0; i < p.action_items.size(); ++i) {
    const ActionItem& item = p.action_items[i];
    const std::string at = absl::StrCat(field, ".action_items[", i, "]");
    RETURN_IF_ERROR(ValidateRequired(item.description, absl::StrCat(at, ".description"),
                                     kMaxActionItemDescriptionBytes));
    RETURN_IF_ERROR(ValidateOptional(item.owner, absl::StrCat(at, ".owner"), kMaxPersonBytes));
    RETURN_IF_ERROR(ValidateOptional(item.id, absl::StrCat(at, ".id"), kMaxIdBytes));
    if (!IsValid(item.status)) {
      return InvalidField(absl::StrCat(at, ".status"),
                          absl::StrCat("unknown value ", static_cast<int>(item.status)));
    }
    RETURN_IF_ERROR(ValidateOptional(item.url, absl::StrCat(at, ".url"), kMaxUrlBytes));
    if (!item.url.empty() && !absl::StartsWithIgnoreCase(item.url, "http://") &&
        !absl::StartsWithIgnoreCase(item.url, "https://")) {
      return InvalidField(absl::StrCat(at, ".url"), "must be an http:// or https:// URL");
    }
  }
  if (p.status == PostmortemStatus::kPublished) {
    if (p.summary.empty()) return InvalidField(f("summary"), "required to publish");
    if (p.impact.empty()) return InvalidField(f("impact"), "required to publish");
    if (p.root_cause.empty()) return InvalidField(f("root_cause"), "required to publish");
  }
  return absl::OkStatus();
}

absl::Status AssignActionItemIds(const Postmortem* current, Postmortem* next,
                                 absl::string_view field,
                                 const std::function<std::string()>& new_id) {
  std::set<std::string> known;
  if (current != nullptr) {
    for (const ActionItem& item : current->action_items) known.insert(item.id);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < next->action_items.size(); ++i) {
    ActionItem& item = next->action_items[i];
    if (item.id.empty()) continue;
    const std::string at = absl::StrCat(field, ".action_items[", i, "].id");
    if (known.count(item.id) == 0) {
      return InvalidField(
          at, current == nullptr ? "must be empty on create (ids are assigned by the server)"
                                 : absl::StrCat("no action item ", item.id, " in this postmortem"));
    }
    if (!seen.insert(item.id).second) return InvalidField(at, "given twice");
  }
  for (ActionItem& item : next->action_items) {
    if (item.id.empty()) item.id = new_id();
  }
  return absl::OkStatus();
}

absl::Status CheckPostmortemStatusChange(const Incident& incident, PostmortemStatus from,
                                         PostmortemStatus to) {
  if (incident.status == IncidentStatus::kClosed && from == PostmortemStatus::kPublished &&
      to != PostmortemStatus::kPublished) {
    return absl::FailedPreconditionError(
        absl::StrCat("incident ", incident.id,
                     " is CLOSED; its postmortem must stay PUBLISHED (cannot move "
                     "it to ",
                     PostmortemStatusName(to), ")"));
  }
  return absl::OkStatus();
}

TimelineEntry PostmortemCreatedEntry(const Postmortem& p) {
  TimelineEntry entry;
  entry.tenant = p.tenant;
  entry.incident_id = p.incident_id;
  entry.time = p.create_time;
  entry.actor = p.author.empty() ? std::string(kSystemActor) : p.author;
  entry.kind = std::string(timeline_kind::kPostmortem);
  entry.text = absl::StrCat("Postmortem ", p.id, " created (", PostmortemStatusName(p.status), ")");
  entry.details = {{"postmortem_id", p.id}, {"status", PostmortemStatusName(p.status)}};
  return entry;
}

TimelineEntry PostmortemStatusEntry(const Postmortem& p, PostmortemStatus from) {
  TimelineEntry entry;
  entry.tenant = p.tenant;
  entry.incident_id = p.incident_id;
  entry.time = p.update_time;
  entry.actor = p.author.empty() ? std::string(kSystemActor) : p.author;
  entry.kind = std::string(timeline_kind::kPostmortem);
  entry.text = absl::StrCat("Postmortem ", p.id, " moved from ", PostmortemStatusName(from), " to ",
                            PostmortemStatusName(p.status));
  entry.details = {{"postmortem_id", p.id},
                   {"from", PostmortemStatusName(from)},
                   {"to", PostmortemStatusName(p.status)}};
  return entry;
}

std::string RenderPostmortemMarkdown(const Postmortem& p, const Incident& incident,
                                     const std::vector<TimelineEntry>& timeline) {
  std::string out =
      absl::StrCat("# Postmortem: ", p.title.empty() ? incident.title : p.title, "\n\n");
  absl::StrAppend(&out, "| | |\n|---|---|\n");
  absl::StrAppend(&out, "| Status | ", PostmortemStatusName(p.status), " |\n");
  absl::StrAppend(&out, "| Incident | ", Cell(incident.id), " (", Cell(incident.title), ") |\n");
  absl::StrAppend(&out, "| Tenant | ", Cell(incident.tenant), " |\n");
  absl::StrAppend(&out, "| Severity | ", SeverityName(incident.severity), " |\n");
  absl::StrAppend(&out, "| Incident status | ", StatusName(incident.status), " |\n");
  absl::StrAppend(&out, "| Author | ", Cell(p.author), " |\n");
  absl::StrAppend(&out, "| Started | ", Utc(incident.start_time), " |\n");
  absl::StrAppend(&out, "| Detected | ", Utc(incident.create_time), " (after ",
                  Span(incident.create_time - incident.start_time), ") |\n");
  if (incident.acknowledge_time) {
    absl::StrAppend(&out, "| Acknowledged | ", Utc(*incident.acknowledge_time), " (after ",
                    Span(*incident.acknowledge_time - incident.create_time), ") |\n");
  }
  if (incident.mitigate_time) {
    absl::StrAppend(&out, "| Mitigated | ", Utc(*incident.mitigate_time), " (after ",
                    Span(*incident.mitigate_time - incident.create_time), ") |\n");
  }
  if (incident.resolve_time) {
    absl::StrAppend(&out, "| Resolved | ", Utc(*incident.resolve_time), " (after ",
                    Span(*incident.resolve_time - incident.create_time), ") |\n");
  }
  if (incident.close_time) {
    absl::StrAppend(&out, "| Closed | ", Utc(*incident.close_time), " |\n");
  }
  Section(&out, "Summary", p.summary);
  Section(&out, "Impact", p.impact);
  Section(&out, "Root cause", p.root_cause);
  Section(&out, "Resolution", p.resolution);
  Section(&out, "Lessons learned", p.lessons);
  absl::StrAppend(&out, "\n## Action items\n\n");
  if (p.action_items.empty()) {
    absl::StrAppend(&out, "_None._\n");
  } else {
    absl::StrAppend(&out, "| Status | Action | Owner | Due | Link |\n|---|---|---|---|---|\n");
    for (const ActionItem& item : p.action_items) {
      absl::StrAppend(
          &out, "| ", ActionItemStatusName(item.status), " | ", Cell(item.description), " | ",
          Cell(item.owner), " | ",
          item.due_time ? absl::FormatTime("%Y-%m-%d", *item.due_time, absl::UTCTimeZone()) : "-",
          " | ", Cell(item.url), " |\n");
    }
  }
  absl::StrAppend(&out, "\n## Timeline (UTC)\n\n");
  if (timeline.empty()) {
    absl::StrAppend(&out, "_Empty._\n");
  } else {
    absl::StrAppend(&out, "| Time | Actor | Event | Details |\n|---|---|---|---|\n");
    for (const TimelineEntry& entry : timeline) {
      absl::StrAppend(&out, "| ", Utc(entry.time), " | ", Cell(entry.actor), " | ",
                      Cell(entry.kind), " | ", Cell(entry.text), " |\n");
    }
  }
  return out;
}

std::string PostmortemFileName(const Postmortem& p) {
  std::string id = p.incident_id;
  for (char& c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return absl::StrCat("postmortem-", id, ".md");
}

}  // namespace agentwatch::incident
