// Postmortems as plain values: the document written after an incident
// (summary, impact, root cause, resolution, lessons, action items), its
// validation, the rules that tie it to the incident lifecycle, and its
// Markdown rendering. Enum values equal the wire values of
// agentwatch.incident.v1.
//
// Rules:
//   - One postmortem per incident.
//   - A P0 or P1 incident closes only once its postmortem is PUBLISHED
//     (core/lifecycle.h enforces it from Incident::postmortem_published).
//   - Publishing needs a summary, an impact and a root cause.
//   - The postmortem of a CLOSED incident stays PUBLISHED (its content and
//     action items remain editable): FAILED_PRECONDITION otherwise, so a
//     closed P0/P1 incident never loses the postmortem that let it close.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "incident/core/types.h"

namespace agentwatch::incident {

// Status of a postmortem (wire values of PostmortemStatus).
enum class PostmortemStatus : int { kUnspecified = 0, kDraft = 1, kInReview = 2, kPublished = 3 };

// Status of an action item (wire values of ActionItemStatus).
enum class ActionItemStatus : int {
  kUnspecified = 0,
  kOpen = 1,
  kInProgress = 2,
  kDone = 3,
  kWontDo = 4,
};

// "DRAFT", "IN_REVIEW", "PUBLISHED"; "OPEN", "IN_PROGRESS", "DONE", "WONT_DO".
const char* PostmortemStatusName(PostmortemStatus status);
const char* ActionItemStatusName(ActionItemStatus status);

// Limits.
inline constexpr size_t kMaxPostmortemTitleBytes = 512;
inline constexpr size_t kMaxPostmortemTextBytes = size_t{64} * 1024;
inline constexpr size_t kMaxActionItems = 100;
inline constexpr size_t kMaxActionItemDescriptionBytes = 4096;
inline constexpr size_t kMaxPersonBytes = 256;

// A follow-up task.
struct ActionItem {
  std::string id;  // server-assigned
  std::string description;
  std::string owner;
  ActionItemStatus status = ActionItemStatus::kOpen;
  std::optional<absl::Time> due_time;
  std::string url;

  friend bool operator==(const ActionItem& a, const ActionItem& b);
};

// The postmortem of one incident.
struct Postmortem {
  std::string id;
  std::string incident_id;
  std::string tenant;  // the incident's
  std::string title;
  PostmortemStatus status = PostmortemStatus::kDraft;
  std::string summary;
  std::string impact;
  std::string root_cause;
  std::string resolution;
  std::string lessons;
  std::vector<ActionItem> action_items;
  std::string author;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  friend bool operator==(const Postmortem& a, const Postmortem& b);
};

// Fills the defaults of a postmortem as a client sent it: status DRAFT when
// UNSPECIFIED, action item status OPEN when UNSPECIFIED.
void ApplyPostmortemDefaults(Postmortem* postmortem);

// Checks the writable fields; `field` prefixes the names in errors
// ("postmortem.action_items[1].description: required"). INVALID_ARGUMENT for
// an unknown status, an over-long or NUL-holding string, more than
// kMaxActionItems items, an item without a description, an item URL that is
// not http(s), and, when the status is PUBLISHED, an empty summary, impact
// or root_cause ("...: required to publish").
absl::Status ValidatePostmortem(const Postmortem& postmortem, absl::string_view field);

// Gives the action items of `next` without an id a new one from `new_id`
// (called once per item) and checks that every given id belongs to
// `current` (the stored version; nullptr on create, where ids must be
// empty). INVALID_ARGUMENT "<field>.action_items[i].id: ..." otherwise, or
// for an id given twice.
absl::Status AssignActionItemIds(const Postmortem* current, Postmortem* next,
                                 absl::string_view field,
                                 const std::function<std::string()>& new_id);

// Checks a status change of the postmortem of `incident`: a CLOSED
// incident's postmortem stays PUBLISHED. FAILED_PRECONDITION naming the
// incident otherwise.
absl::Status CheckPostmortemStatusChange(const Incident& incident, PostmortemStatus from,
                                         PostmortemStatus to);

// The timeline entry recording the creation of `postmortem` (kind
// "postmortem"), by its author ("system" when it has none).
TimelineEntry PostmortemCreatedEntry(const Postmortem& postmortem);

// The timeline entry recording a status change from `from` to the status of
// `postmortem` (kind "postmortem") at its update_time.
TimelineEntry PostmortemStatusEntry(const Postmortem& postmortem, PostmortemStatus from);

// The postmortem as a Markdown document: title, status and incident facts
// (severity, times, durations to acknowledge and resolve), the sections,
// the action items as a table and `timeline` (the incident's, oldest first)
// in UTC. Markdown in the text sections is kept as written; table cells are
// escaped so a "|" or a newline cannot break the table.
std::string RenderPostmortemMarkdown(const Postmortem& postmortem, const Incident& incident,
                                     const std::vector<TimelineEntry>& timeline);

// The suggested file name of the export: "postmortem-<incident id>.md" with
// characters outside [A-Za-z0-9._-] replaced by "_".
std::string PostmortemFileName(const Postmortem& postmortem);

// Timeline kind of postmortem entries.
namespace timeline_kind {
inline constexpr absl::string_view kPostmortem = "postmortem";
}  // namespace timeline_kind

}  // namespace agentwatch::incident
