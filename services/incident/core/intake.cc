#include "incident/core/intake.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace agentwatch::incident {
namespace {

using AlertKey = std::pair<std::string, std::string>;        // (incident id, fingerprint)
using FingerprintKey = std::pair<std::string, std::string>;  // (tenant, fingerprint)

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
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
        alerts_(std::move(state.alerts)),
        reports_(std::move(state.known_reports)),
        silences_(std::move(state.silences)),
        rules_(std::move(state.inhibition_rules)),
        now_(TruncateToMicros(now)),
        ids_(ids) {
    for (const auto& [id, incident] : incidents_) {
      if (IsOpen(incident.status)) open_by_group_[incident.group_key] = id;
    }
    for (const auto& [key, row] : alerts_) NoteLatest(row);
    if (!rules_.empty()) {
      for (const AlertState& row : state.firing_alerts) {
        sources_[{row.tenant, row.fingerprint}] = SilenceLabels(row.labels, row.name, row.severity);
      }
    }
  }

  // Plans `alerts` after every batch planned before, counting into
  // `summary`.
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
      ReportKey key = KeyOf(alert);
      auto known = reports_.find(key);
      if (known != reports_.end()) {
        ++summary.duplicates;
        summary.incident_ids.push_back(known->second);
        continue;
      }
      ++summary.accepted;
      if (alert.status == AlertStatus::kFiring && Silenced(alert)) {
        ++summary.silenced;
        reports_.emplace(key, "");
        plan.reports.push_back(ReportRecord{std::move(key), "", now_});
        summary.incident_ids.emplace_back();
        continue;
      }
      if (alert.status == AlertStatus::kFiring && Inhibited(alert)) {
        ++summary.inhibited;
        reports_.emplace(key, "");
        plan.reports.push_back(ReportRecord{std::move(key), "", now_});
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
      reports_.emplace(key, incident_id);
      plan.reports.push_back(ReportRecord{std::move(key), incident_id, now_});
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
    for (const AlertKey& key : touched_order_) plan.alerts.push_back(std::move(alerts_.at(key)));
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

  struct Latest {
    absl::Time joined_at;
    std::string incident_id;
  };

  void NoteLatest(const AlertState& row) {
    const FingerprintKey key{row.tenant, row.fingerprint};
    auto it = latest_.find(key);
    if (it == latest_.end() || std::tie(row.joined_at, row.incident_id) >
                                   std::tie(it->second.joined_at, it->second.incident_id)) {
      latest_[key] = Latest{row.joined_at, row.incident_id};
    }
  }

  AlertState* FindRow(const std::string& incident_id, const std::string& fingerprint) {
    auto it = alerts_.find(AlertKey{incident_id, fingerprint});
    return it == alerts_.end() ? nullptr : &it->second;
  }

  AlertState* FindLatest(const IncomingAlert& alert) {
    auto it = latest_.find(FingerprintKey{alert.tenant, alert.fingerprint});
    if (it == latest_.end()) return nullptr;
    return FindRow(it->second.incident_id, alert.fingerprint);
  }

  void TouchAlert(const AlertState& row) {
    AlertKey key{row.incident_id, row.fingerprint};
    if (touched_.insert(key).second) touched_order_.push_back(std::move(key));
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

  void AddFiringEntry(const Incident& incident, const IncomingAlert& alert, bool refire) {
    AddEntry(incident, timeline_kind::kAlertFiring,
             absl::StrCat("Alert ", alert.name, refire ? " fired again" : " firing"),
             {{"fingerprint", alert.fingerprint},
              {"alertname", alert.name},
              {"severity", SeverityName(alert.severity)},
              {"starts_at", Rfc3339(alert.starts_at)},
              {"source", alert.source},
              {"refire", refire ? "true" : "false"}});
  }

  void SetFiring(AlertState& row, const IncomingAlert& alert) {
    row.name = alert.name;
    row.severity = alert.severity;
    row.labels = alert.labels;
    row.annotations = alert.annotations;
    row.status = AlertStatus::kFiring;
    row.starts_at = alert.starts_at;
    row.ends_at.reset();
    row.source = alert.source;
    row.generator_url = alert.generator_url;
    row.update_time = now_;
  }

  // A new firing of a fingerprint the open incident already holds.
  std::string Refire(AlertState& row, const IncomingAlert& alert) {
    Incident& incident = TouchIncident(row.incident_id);
    if (row.status != AlertStatus::kFiring) ++incident.firing_alert_count;
    SetFiring(row, alert);
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
    auto [it, inserted] = alerts_.insert_or_assign(AlertKey{incident.id, alert.fingerprint}, row);
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
             absl::StrCat("Alert ", row.name, " ended: it fired anew at ", Rfc3339(at)),
             {{"fingerprint", row.fingerprint},
              {"ends_at", Rfc3339(*row.ends_at)},
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
    AddEntry(incident, timeline_kind::kAlertResolved,
             absl::StrCat("Alert ", row->name, " resolved"),
             {{"fingerprint", row->fingerprint},
              {"ends_at", Rfc3339(*row->ends_at)},
              {"source", alert.source}});
    return incident.id;
  }

  const absl::Duration reopen_window_;
  IntakePlan plan_;  // reports so far (summary unused)
  std::map<std::string, Incident> incidents_;
  std::map<AlertKey, AlertState> alerts_;
  std::map<ReportKey, std::string> reports_;
  const std::vector<Silence> silences_;
  const std::vector<InhibitionRule> rules_;
  // (tenant, fingerprint) -> labels of the firing alerts that may inhibit.
  std::map<std::pair<std::string, std::string>, Labels> sources_;
  absl::Time now_;
  IdGenerator& ids_;
  std::map<std::string, std::string> open_by_group_;  // group key -> incident id
  std::map<FingerprintKey, Latest> latest_;
  std::vector<std::string> created_;
  std::set<std::string> changed_;
  std::set<AlertKey> touched_;
  std::vector<AlertKey> touched_order_;
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
