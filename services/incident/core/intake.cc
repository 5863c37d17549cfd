#include "incident/core/intake.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time_format.h"

namespace agentwatch::incident {
namespace {

using AlertKey = std::pair<std::string, std::string>;  // (incident id, fingerprint)
// Views of two strings that outlive the map holding them: (incident id,
// fingerprint) or (tenant, fingerprint) of a row or an incoming alert.
using StringPair = std::pair<absl::string_view, absl::string_view>;

// Orders AlertKeys exactly as std::less<AlertKey> does, and finds them by
// StringPair without copying strings.
struct AlertKeyLess {
  using is_transparent = void;
  static StringPair View(const AlertKey& key) { return {key.first, key.second}; }
  static const StringPair& View(const StringPair& key) { return key; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) < View(b);
  }
};

// A report key viewing the strings of an incoming alert or of a known
// report, both of which outlive the planner.
struct ReportView {
  absl::string_view tenant;
  absl::string_view fingerprint;
  AlertStatus status = AlertStatus::kFiring;
  absl::Time starts_at;
  std::optional<absl::Time> ends_at;

  friend bool operator==(const ReportView& a, const ReportView& b) {
    return a.tenant == b.tenant && a.fingerprint == b.fingerprint && a.status == b.status &&
           a.starts_at == b.starts_at && a.ends_at == b.ends_at;
  }
  template <typename H>
  friend H AbslHashValue(H h, const ReportView& k) {
    return H::combine(std::move(h), k.tenant, k.fingerprint, k.status, k.starts_at,
                      k.ends_at.has_value(), k.ends_at.value_or(absl::UnixEpoch()));
  }
};

ReportView ViewOf(const ReportKey& key) {
  return {key.tenant, key.fingerprint, key.status, key.starts_at, key.ends_at};
}

// The view of KeyOf(alert).
ReportView ViewOf(const IncomingAlert& alert) {
  ReportView view{alert.tenant, alert.fingerprint, alert.status, alert.starts_at, std::nullopt};
  if (alert.status == AlertStatus::kResolved) view.ends_at = alert.ends_at;
  return view;
}

// Keeps only the labels `b` carries with the same value.
void IntersectLabels(Labels& a, const Labels& b) {
  for (auto it = a.begin(); it != a.end();) {
    auto other = b.find(it->first);
    if (other == b.end() || other->second != it->second) {
      it = a.erase(it);
    } else {
      ++it;
    }
  }
}

// Whether a firing report starts a new firing of a known alert row.
bool IsNewFiring(const AlertState& row, const IncomingAlert& alert) {
  if (row.status == AlertStatus::kFiring) {
    return alert.starts_at_given && alert.starts_at > row.starts_at;
  }
  return !alert.starts_at_given || alert.starts_at > row.starts_at;
}

class Planner {
 public:
  // Takes `state` over: planning changes its copies of incidents and rows.
  Planner(IntakeState state, absl::Time now, IdGenerator& ids, absl::Duration reopen_window)
      : reopen_window_(reopen_window),
        incidents_(std::move(state.incidents)),
        known_reports_(std::move(state.known_reports)),
        silences_(std::move(state.silences)),
        rules_(std::move(state.inhibition_rules)),
        now_(TruncateToMicros(now)),
        ids_(ids) {
    for (const auto& [id, incident] : incidents_) {
      if (IsOpen(incident.status)) open_by_group_[incident.group_key] = id;
    }
    // The state's rows, moved node by node (no copies); nodes stay put, so
    // latest_, touched_ and the string views below point into them.
    alerts_.merge(state.alerts);
    latest_.reserve(alerts_.size());
    for (auto& [key, row] : alerts_) NoteLatest(row);
    reports_.reserve(known_reports_.size());
    for (const auto& [key, id] : known_reports_) reports_.emplace(ViewOf(key), ReportRef{&id, 0});
    if (!rules_.empty()) {
      for (const AlertState& row : state.firing_alerts) {
        sources_[{row.tenant, row.fingerprint}] = SilenceLabels(row.labels, row.name, row.severity);
      }
    }
  }

  // Makes room for `alerts` reports and timeline entries in total.
  void Reserve(size_t alerts) {
    plan_.reports.reserve(alerts);
    timeline_.reserve(alerts);
    reports_.reserve(known_reports_.size() + alerts);
  }

  // Plans `alerts` after every batch planned before, counting into
  // `summary`. `alerts` must outlive the planner (its reports are found by
  // views of their strings).
  void Plan(const std::vector<IncomingAlert>& alerts, IntakeSummary& summary) {
    IntakePlan& plan = plan_;
    const size_t opened_before = created_.size();
    summary.incident_ids.reserve(summary.incident_ids.size() + alerts.size());
    for (const IncomingAlert& alert : alerts) {
      if (alert.status == AlertStatus::kFiring) {
        ++summary.received_firing;
      } else {
        ++summary.received_resolved;
      }
      const ReportView key = ViewOf(alert);
      auto known = reports_.find(key);
      if (known != reports_.end()) {
        ++summary.duplicates;
        summary.incident_ids.push_back(IncidentOf(known->second));
        continue;
      }
      ++summary.accepted;
      if (alert.status == AlertStatus::kFiring && Silenced(alert)) {
        ++summary.silenced;
        reports_.emplace(key, ReportRef{nullptr, plan.reports.size()});
        plan.reports.push_back(ReportRecord{KeyOf(alert), "", now_});
        summary.incident_ids.emplace_back();
        continue;
      }
      if (alert.status == AlertStatus::kFiring && Inhibited(alert)) {
        ++summary.inhibited;
        reports_.emplace(key, ReportRef{nullptr, plan.reports.size()});
        plan.reports.push_back(ReportRecord{KeyOf(alert), "", now_});
        summary.incident_ids.emplace_back();
        continue;
      }
      if (!rules_.empty()) {
        const std::pair<std::string, std::string> source{alert.tenant, alert.fingerprint};
        if (alert.status == AlertStatus::kFiring) {
          sources_[source] = SilenceLabels(alert.labels, alert.name, alert.severity);
        } else {
          sources_.erase(source);
        }
      }
      std::string incident_id =
          alert.status == AlertStatus::kFiring ? ApplyFiring(alert) : ApplyResolved(alert);
      reports_.emplace(key, ReportRef{nullptr, plan.reports.size()});
      plan.reports.push_back(ReportRecord{KeyOf(alert), incident_id, now_});
      summary.incident_ids.push_back(std::move(incident_id));
    }
    summary.incidents_opened += static_cast<int64_t>(created_.size() - opened_before);
  }

  // The plan of every batch planned so far; the planner is spent afterwards
  // (the plan takes its state).
  IntakePlan Finish() {
    IntakePlan plan = std::move(plan_);
    plan.created.reserve(created_.size());
    for (const std::string& id : created_) plan.created.push_back(std::move(incidents_.at(id)));
    const std::set<std::string> created(created_.begin(), created_.end());
    for (const std::string& id : changed_) {
      if (created.count(id) == 0) plan.updated.push_back(std::move(incidents_.at(id)));
    }
    plan.alerts.reserve(touched_order_.size());
    plan.alert_writes.reserve(touched_order_.size());
    for (AlertState* row : touched_order_) {
      plan.alert_writes.push_back(joined_.contains(row)             ? AlertWrite::kInsert
                                  : contents_changed_.contains(row) ? AlertWrite::kWhole
                                                                    : AlertWrite::kState);
      plan.alerts.push_back(std::move(*row));
    }
    plan.timeline = std::move(timeline_);
    return plan;
  }

 private:
  bool Inhibited(const IncomingAlert& alert) const {
    if (rules_.empty()) return false;
    const Labels target = SilenceLabels(alert.labels, alert.name, alert.severity);
    for (const InhibitionRule& rule : rules_) {
      if (rule.tenant != alert.tenant) continue;
      for (const auto& [source, labels] : sources_) {
        if (source.first != alert.tenant || source.second == alert.fingerprint) continue;
        if (Inhibits(rule, labels, target)) return true;
      }
    }
    return false;
  }

  bool Silenced(const IncomingAlert& alert) const {
    if (silences_.empty()) return false;
    const Labels labels = SilenceLabels(alert.labels, alert.name, alert.severity);
    for (const Silence& silence : silences_) {
      if (silence.tenant == alert.tenant && IsSilenced(silence, labels, now_)) return true;
    }
    return false;
  }

  // Where a report's incident id is: a known report's, or plan_.reports[index]'s.
  struct ReportRef {
    const std::string* known = nullptr;
    size_t index = 0;
  };

  const std::string& IncidentOf(const ReportRef& ref) const {
    return ref.known != nullptr ? *ref.known : plan_.reports[ref.index].incident_id;
  }

  // `row` lives in alerts_ (its tenant, fingerprint, incident id and
  // joined_at never change there).
  void NoteLatest(AlertState& row) {
    auto [it, inserted] = latest_.try_emplace(StringPair{row.tenant, row.fingerprint}, &row);
    if (!inserted && std::tie(row.joined_at, row.incident_id) >
                         std::tie(it->second->joined_at, it->second->incident_id)) {
      it->second = &row;
    }
  }

  AlertState* FindRow(absl::string_view incident_id, absl::string_view fingerprint) {
    auto it = alerts_.find(StringPair{incident_id, fingerprint});
    return it == alerts_.end() ? nullptr : &it->second;
  }

  AlertState* FindLatest(const IncomingAlert& alert) {
    auto it = latest_.find(StringPair{alert.tenant, alert.fingerprint});
    return it == latest_.end() ? nullptr : it->second;
  }

  void TouchAlert(AlertState& row) {
    if (touched_.insert(&row).second) touched_order_.push_back(&row);
  }

  Incident& TouchIncident(const std::string& id) {
    Incident& incident = incidents_.at(id);
    incident.update_time = now_;
    changed_.insert(id);
    return incident;
  }

  void AddEntry(const Incident& incident, absl::string_view kind, std::string text,
                Labels details) {
    TimelineEntry entry;
    entry.tenant = incident.tenant;
    entry.incident_id = incident.id;
    entry.time = now_;
    entry.actor = std::string(kSystemActor);
    entry.kind = std::string(kind);
    entry.text = std::move(text);
    entry.details = std::move(details);
    timeline_.push_back(std::move(entry));
  }

  // Applies what every firing that lands in `incident` brings: the earliest
  // start, the common labels and a raised severity.
  void MergeFiring(Incident& incident, const IncomingAlert& alert) {
    incident.start_time = std::min(incident.start_time, alert.starts_at);
    IntersectLabels(incident.labels, alert.labels);
    if (!incident.severity_pinned && MoreSevere(alert.severity, incident.severity)) {
      AddEntry(incident, timeline_kind::kSeverityChanged,
               absl::StrCat("Severity raised from ", SeverityName(incident.severity), " to ",
                            SeverityName(alert.severity), " by alert ", alert.name),
               {{"from", SeverityName(incident.severity)},
                {"to", SeverityName(alert.severity)},
                {"fingerprint", alert.fingerprint}});
      incident.severity = alert.severity;
    }
  }

  // The details of the entries written for nearly every report are built in
  // place: a braced list would build each name and value once in the list
  // and copy it again into the map.
  void AddFiringEntry(const Incident& incident, const IncomingAlert& alert, bool refire) {
    Labels details;
    details.emplace_hint(details.end(), "alertname", alert.name);
    details.emplace_hint(details.end(), "fingerprint", alert.fingerprint);
    details.emplace_hint(details.end(), "refire", refire ? "true" : "false");
    details.emplace_hint(details.end(), "severity", SeverityName(alert.severity));
    details.emplace_hint(details.end(), "source", alert.source);
    details.emplace_hint(details.end(), "starts_at", common::Rfc3339Full(alert.starts_at));
    AddEntry(incident, timeline_kind::kAlertFiring,
             absl::StrCat("Alert ", alert.name, refire ? " fired again" : " firing"),
             std::move(details));
  }

  // Returns whether the row's labels or annotations changed.
  bool SetFiring(AlertState& row, const IncomingAlert& alert) {
    bool changed = false;
    row.name = alert.name;
    row.severity = alert.severity;
    if (row.labels != alert.labels) {
      row.labels = alert.labels;
      changed = true;
    }
    if (row.annotations != alert.annotations) {
      row.annotations = alert.annotations;
      changed = true;
    }
    row.status = AlertStatus::kFiring;
    row.starts_at = alert.starts_at;
    row.ends_at.reset();
    row.source = alert.source;
    row.generator_url = alert.generator_url;
    row.update_time = now_;
    return changed;
  }

  // A new firing of a fingerprint the open incident already holds.
  std::string Refire(AlertState& row, const IncomingAlert& alert) {
    Incident& incident = TouchIncident(row.incident_id);
    if (row.status != AlertStatus::kFiring) ++incident.firing_alert_count;
    if (SetFiring(row, alert)) contents_changed_.insert(&row);
    TouchAlert(row);
    AddFiringEntry(incident, alert, /*refire=*/true);
    MergeFiring(incident, alert);
    return incident.id;
  }

  // A fingerprint new to the incident.
  std::string Join(const std::string& incident_id, const IncomingAlert& alert) {
    Incident& incident = TouchIncident(incident_id);
    AlertState row;
    row.tenant = alert.tenant;
    row.incident_id = incident.id;
    row.fingerprint = alert.fingerprint;
    row.joined_at = now_;
    SetFiring(row, alert);
    ++incident.alert_count;
    ++incident.firing_alert_count;
    AddFiringEntry(incident, alert, /*refire=*/false);
    MergeFiring(incident, alert);
    auto [it, inserted] =
        alerts_.insert_or_assign(AlertKey{incident.id, alert.fingerprint}, std::move(row));
    joined_.insert(&it->second);
    TouchAlert(it->second);
    NoteLatest(it->second);
    return incident.id;
  }

  std::string Open(const IncomingAlert& alert) {
    Incident incident;
    incident.id = ids_.NewId(now_);
    incident.tenant = alert.tenant;
    incident.group_key = alert.group_key;
    auto summary = alert.annotations.find(std::string(kSummaryAnnotation));
    incident.title = summary != alert.annotations.end() && !summary->second.empty()
                         ? summary->second
                         : alert.name;
    incident.status = IncidentStatus::kTriggered;
    incident.severity = alert.severity;
    incident.labels = alert.labels;
    incident.start_time = alert.starts_at;
    incident.create_time = now_;
    incident.update_time = now_;
    const std::string id = incident.id;
    incidents_[id] = std::move(incident);
    open_by_group_[alert.group_key] = id;
    created_.push_back(id);
    changed_.insert(id);
    AddEntry(incidents_.at(id), timeline_kind::kCreated,
             absl::StrCat("Incident opened by alert ", alert.name),
             {{"group_key", alert.group_key}, {"fingerprint", alert.fingerprint}});
    return Join(id, alert);
  }

  // Ends a firing left in a resolved or closed incident, because the same
  // fingerprint fired anew at `at`.
  void Supersede(AlertState& row, absl::Time at) {
    Incident& incident = TouchIncident(row.incident_id);
    row.status = AlertStatus::kResolved;
    row.ends_at = std::max(at, row.starts_at);
    row.update_time = now_;
    --incident.firing_alert_count;
    TouchAlert(row);
    AddEntry(incident, timeline_kind::kAlertResolved,
             absl::StrCat("Alert ", row.name, " ended: it fired anew at ", common::Rfc3339Full(at)),
             {{"fingerprint", row.fingerprint},
              {"ends_at", common::Rfc3339Full(*row.ends_at)},
              {"superseded", "true"}});
  }

  // Whether a refire of an alert `incident` held re-opens it: it was resolved
  // automatically within the reopen window, and the alert still groups there.
  bool MayReopen(const Incident& incident, const IncomingAlert& alert) const {
    return reopen_window_ > absl::ZeroDuration() && incident.status == IncidentStatus::kResolved &&
           incident.auto_resolved && incident.resolve_time.has_value() &&
           now_ - *incident.resolve_time <= reopen_window_ && incident.group_key == alert.group_key;
  }

  void ReopenAutoResolved(const Incident& resolved, const IncomingAlert& alert) {
    Incident& incident = TouchIncident(resolved.id);
    incident.status = IncidentStatus::kTriggered;
    incident.auto_resolved = false;
    open_by_group_[incident.group_key] = incident.id;
    AddEntry(incident, timeline_kind::kReopened,
             absl::StrCat("Reopened: alert ", alert.name, " fired again within ",
                          absl::FormatDuration(reopen_window_), " of the automatic resolution"),
             {{"fingerprint", alert.fingerprint}, {"auto_reopened", "true"}});
  }

  std::string ApplyFiring(const IncomingAlert& alert) {
    AlertState* latest = FindLatest(alert);
    std::string target;
    if (latest != nullptr && IsOpen(incidents_.at(latest->incident_id).status)) {
      target = latest->incident_id;
    } else if (auto group = open_by_group_.find(alert.group_key); group != open_by_group_.end()) {
      target = group->second;
    }
    if (!target.empty()) {
      if (AlertState* row = FindRow(target, alert.fingerprint); row != nullptr) {
        return IsNewFiring(*row, alert) ? Refire(*row, alert) : target;
      }
    }
    if (latest != nullptr) {
      // The fingerprint's latest row is in a resolved or closed incident.
      if (!IsNewFiring(*latest, alert)) return latest->incident_id;
      if (target.empty() && MayReopen(incidents_.at(latest->incident_id), alert)) {
        ReopenAutoResolved(incidents_.at(latest->incident_id), alert);
        return Refire(*latest, alert);
      }
      if (latest->status == AlertStatus::kFiring) Supersede(*latest, alert.starts_at);
    }
    if (!target.empty()) return Join(target, alert);
    return Open(alert);
  }

  std::string ApplyResolved(const IncomingAlert& alert) {
    AlertState* row = FindLatest(alert);
    if (row == nullptr) return "";
    if (row->status != AlertStatus::kFiring) return row->incident_id;
    if (alert.starts_at_given && alert.starts_at < row->starts_at) return row->incident_id;
    Incident& incident = TouchIncident(row->incident_id);
    row->status = AlertStatus::kResolved;
    row->ends_at = std::max(*alert.ends_at, row->starts_at);
    row->update_time = now_;
    --incident.firing_alert_count;
    TouchAlert(*row);
    Labels details;
    details.emplace_hint(details.end(), "ends_at", common::Rfc3339Full(*row->ends_at));
    details.emplace_hint(details.end(), "fingerprint", row->fingerprint);
    details.emplace_hint(details.end(), "source", alert.source);
    AddEntry(incident, timeline_kind::kAlertResolved,
             absl::StrCat("Alert ", row->name, " resolved"), std::move(details));
    return incident.id;
  }

  const absl::Duration reopen_window_;
  IntakePlan plan_;  // reports so far (summary unused)
  std::map<std::string, Incident> incidents_;
  std::map<AlertKey, AlertState, AlertKeyLess> alerts_;
  const std::map<ReportKey, std::string> known_reports_;
  // Every report planned against: the known ones and the batches' so far.
  absl::flat_hash_map<ReportView, ReportRef> reports_;
  const std::vector<Silence> silences_;
  const std::vector<InhibitionRule> rules_;
  // (tenant, fingerprint) -> labels of the firing alerts that may inhibit.
  std::map<std::pair<std::string, std::string>, Labels> sources_;
  absl::Time now_;
  IdGenerator& ids_;
  std::map<std::string, std::string> open_by_group_;  // group key -> incident id
  // (tenant, fingerprint) -> its latest row (greatest joined_at, incident id).
  absl::flat_hash_map<StringPair, AlertState*> latest_;
  std::vector<std::string> created_;
  std::set<std::string> changed_;
  absl::flat_hash_set<const AlertState*> touched_;
  std::vector<AlertState*> touched_order_;
  absl::flat_hash_set<const AlertState*> joined_;            // rows new to the state
  absl::flat_hash_set<const AlertState*> contents_changed_;  // labels or annotations set anew
  std::vector<TimelineEntry> timeline_;
};

}  // namespace

bool operator<(const ReportKey& a, const ReportKey& b) {
  return std::tie(a.tenant, a.fingerprint, a.status, a.starts_at, a.ends_at) <
         std::tie(b.tenant, b.fingerprint, b.status, b.starts_at, b.ends_at);
}

bool operator==(const ReportKey& a, const ReportKey& b) {
  return std::tie(a.tenant, a.fingerprint, a.status, a.starts_at, a.ends_at) ==
         std::tie(b.tenant, b.fingerprint, b.status, b.starts_at, b.ends_at);
}

ReportKey KeyOf(const IncomingAlert& alert) {
  ReportKey key;
  key.tenant = alert.tenant;
  key.fingerprint = alert.fingerprint;
  key.status = alert.status;
  key.starts_at = alert.starts_at;
  if (alert.status == AlertStatus::kResolved) key.ends_at = alert.ends_at;
  return key;
}

bool MayBeKnownReport(const AlertState* latest, const IncomingAlert& alert) {
  if (latest == nullptr || !alert.starts_at_given) return true;
  if (alert.status == AlertStatus::kFiring) return alert.starts_at <= latest->starts_at;
  return latest->status != AlertStatus::kFiring || alert.starts_at < latest->starts_at;
}

IntakePlan PlanIntake(IntakeState state, const std::vector<IncomingAlert>& alerts, absl::Time now,
                      IdGenerator& ids, absl::Duration reopen_window) {
  Planner planner(std::move(state), now, ids, reopen_window);
  planner.Reserve(alerts.size());
  IntakeSummary summary;
  planner.Plan(alerts, summary);
  IntakePlan plan = planner.Finish();
  plan.summary = std::move(summary);
  return plan;
}

IntakePlan PlanIntakeGroup(IntakeState state,
                           const std::vector<const std::vector<IncomingAlert>*>& batches,
                           absl::Time now, IdGenerator& ids, absl::Duration reopen_window,
                           std::vector<IntakeSummary>* summaries) {
  Planner planner(std::move(state), now, ids, reopen_window);
  size_t alert_count = 0;
  for (const std::vector<IncomingAlert>* batch : batches) alert_count += batch->size();
  planner.Reserve(alert_count);
  summaries->assign(batches.size(), IntakeSummary{});
  IntakeSummary total;
  for (size_t b = 0; b < batches.size(); ++b) {
    IntakeSummary& summary = (*summaries)[b];
    planner.Plan(*batches[b], summary);
    total.accepted += summary.accepted;
    total.duplicates += summary.duplicates;
    total.received_firing += summary.received_firing;
    total.received_resolved += summary.received_resolved;
    total.incidents_opened += summary.incidents_opened;
    total.silenced += summary.silenced;
    total.inhibited += summary.inhibited;
  }
  IntakePlan plan = planner.Finish();
  plan.summary = std::move(total);
  return plan;
}

}  // namespace agentwatch::incident
