#include "incident/api/escalation_engine.h"

#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/api/paging_mapping.h"

namespace agentwatch::incident {
namespace {

constexpr int kMaxCandidates = 5000;

template <typename Message>
absl::StatusOr<Message> ParseBody(const ConfigRecord& record) {
  Message message;
  if (!message.ParseFromString(record.body)) {
    return absl::InternalError(absl::StrCat(record.kind, " ", record.id, " is unreadable"));
  }
  return message;
}

absl::StatusOr<std::vector<ConfigRecord>> ListAll(IncidentStore& store, absl::string_view kind,
                                                  const std::string& tenant) {
  std::vector<ConfigRecord> out;
  ConfigQuery query;
  query.kind = std::string(kind);
  query.tenant = tenant;
  query.page_size = kMaxPageSize;
  while (true) {
    ASSIGN_OR_RETURN(ConfigPage page, store.ListConfigs(query));
    for (ConfigRecord& record : page.records) out.push_back(std::move(record));
    if (!page.next.has_value()) return out;
    query.after = page.next;
  }
}

std::string TargetText(const EscalationTarget& target) {
  switch (target.kind) {
    case EscalationTarget::Kind::kPerson:
      return absl::StrCat("person:", target.value);
    case EscalationTarget::Kind::kSchedule:
      return absl::StrCat("schedule:", target.value);
    case EscalationTarget::Kind::kChannel:
      return absl::StrCat("channel:", target.value);
    case EscalationTarget::Kind::kUnspecified:
      break;
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<EscalationPolicy> PolicyFromRecord(const ConfigRecord& record) {
  ASSIGN_OR_RETURN(const v1::EscalationPolicy proto, ParseBody<v1::EscalationPolicy>(record));
  return PolicyFromProto(proto, "policy");
}

absl::StatusOr<Schedule> ScheduleFromRecord(const ConfigRecord& record) {
  ASSIGN_OR_RETURN(const v1::Schedule proto, ParseBody<v1::Schedule>(record));
  return ScheduleFromProto(proto, "schedule");
}

absl::StatusOr<NotificationChannel> ChannelFromRecord(const ConfigRecord& record) {
  ASSIGN_OR_RETURN(const v1::NotificationChannel proto, ParseBody<v1::NotificationChannel>(record));
  return ChannelFromProto(proto, "channel");
}

EscalationEngine::EscalationEngine(IncidentStore& store, const common::Clock& clock,
                                   absl::Duration group_wait, absl::Duration interval,
                                   std::function<void()> on_paged)
    : store_(store),
      clock_(clock),
      group_wait_(group_wait),
      interval_(interval),
      on_paged_(std::move(on_paged)) {}

EscalationEngine::~EscalationEngine() { Stop(); }

void EscalationEngine::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EscalationEngine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void EscalationEngine::Loop() {
  while (true) {
    absl::StatusOr<int> pages = RunOnce();
    if (!pages.ok()) {
      common::LogWarning("escalation scan failed", {{"error", pages.status().ToString()}});
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
  }
}

absl::StatusOr<EscalationEngine::TenantConfig> EscalationEngine::LoadTenant(
    const std::string& tenant) {
  TenantConfig config;
  config.group_wait = group_wait_;
  if (grouping_resolver_ != nullptr) {
    ASSIGN_OR_RETURN(const std::shared_ptr<const TenantGrouping> grouping,
                     grouping_resolver_->For(tenant));
    config.group_wait = grouping->group_wait;
  }
  ASSIGN_OR_RETURN(const std::vector<ConfigRecord> policies,
                   ListAll(store_, config_kind::kEscalationPolicy, tenant));
  for (const ConfigRecord& record : policies) {
    ASSIGN_OR_RETURN(EscalationPolicy policy, PolicyFromRecord(record));
    config.policies.push_back(std::move(policy));
  }
  ASSIGN_OR_RETURN(const std::vector<ConfigRecord> schedules,
                   ListAll(store_, config_kind::kSchedule, tenant));
  for (const ConfigRecord& record : schedules) {
    ASSIGN_OR_RETURN(Schedule schedule, ScheduleFromRecord(record));
    config.schedules.emplace(schedule.id, std::move(schedule));
  }
  ASSIGN_OR_RETURN(const std::vector<ConfigRecord> channels,
                   ListAll(store_, config_kind::kChannel, tenant));
  for (const ConfigRecord& record : channels) {
    ASSIGN_OR_RETURN(NotificationChannel channel, ChannelFromRecord(record));
    config.channels.push_back(std::move(channel));
  }
  return config;
}

EscalationPolicy EscalationEngine::PolicyFor(const TenantConfig& config, const Incident& incident,
                                             const std::optional<EscalationState>& state) {
  if (state.has_value()) {
    if (state->policy_id == kDefaultPolicyId) return DefaultEscalationPolicy(incident.tenant);
    for (const EscalationPolicy& policy : config.policies) {
      if (policy.id == state->policy_id) return policy;
    }
  }
  return SelectPolicy(config.policies, incident.tenant, incident.labels);
}

EscalationWrite EscalationEngine::Plan(const TenantConfig& config, const Incident& locked,
                                       const std::optional<EscalationState>& stored,
                                       absl::Time now) const {
  now = TruncateToMicros(now);
  EscalationWrite write;
  write.incident = locked;
  const EscalationPolicy policy = PolicyFor(config, locked, stored);
  write.state = EffectiveState(locked, stored, policy, now);
  write.state_changed = !stored.has_value() || !(*stored == write.state);
  // An acknowledgement timeout re-triggers the incident, after which the
  // first tier may be due at once: at most two steps per scan.
  for (int round = 0; round < 2; ++round) {
    const std::optional<EscalationStep> step =
        NextEscalation(write.incident, write.state, policy, config.group_wait);
    if (!step.has_value() || step->due > now) break;
    if (step->action == EscalationAction::kAcknowledgeTimeout) {
      AcknowledgeTimeoutChange change = AcknowledgeTimedOut(write.incident, write.state, now);
      write.incident = std::move(change.incident);
      write.incident_changed = true;
      write.state = std::move(change.state);
      write.state_changed = true;
      write.entries.push_back(std::move(change.entry));
      continue;
    }
    const EscalationTier& tier = policy.tiers[static_cast<size_t>(step->tier)];
    // channel id -> person paged through it ("" for a channel target).
    std::map<std::string, std::string> reached;
    std::vector<std::string> missing;
    std::vector<std::string> people;
    auto add_person = [&](const std::string& person) {
      people.push_back(person);
      for (const NotificationChannel& channel : config.channels) {
        if (channel.person == person) reached.emplace(channel.id, person);
      }
    };
    for (const EscalationTarget& target : tier.targets) {
      switch (target.kind) {
        case EscalationTarget::Kind::kPerson:
          add_person(target.value);
          break;
        case EscalationTarget::Kind::kSchedule: {
          auto it = config.schedules.find(target.value);
          if (it == config.schedules.end()) {
            missing.push_back(TargetText(target));
            break;
          }
          const std::optional<OnCallShift> shift = OnCallAt(it->second, now);
          if (shift.has_value()) {
            add_person(shift->person);
          } else {
            missing.push_back(absl::StrCat(TargetText(target), " (nobody on call)"));
          }
          break;
        }
        case EscalationTarget::Kind::kChannel:
          reached.emplace(target.value, "");
          break;
        case EscalationTarget::Kind::kUnspecified:
          break;
      }
    }
    std::vector<std::string> channel_names;
    for (const auto& [channel_id, person] : reached) {
      const NotificationChannel* channel = nullptr;
      for (const NotificationChannel& c : config.channels) {
        if (c.id == channel_id) channel = &c;
      }
      if (channel == nullptr) {
        missing.push_back(absl::StrCat("channel:", channel_id));
        continue;
      }
      if (!ChannelAccepts(*channel, locked.severity)) continue;
      PageRequest page;
      NotificationEvent& e = page.event;
      e.tenant = locked.tenant;
      e.incident_id = locked.id;
      e.title = locked.title;
      e.severity = locked.severity;
      e.status = write.incident.status;
      e.event =
          write.state.epoch == 0 && step->cycle == 0 && step->tier == 0 ? "triggered" : "escalated";
      e.tier = step->tier;
      e.cycle = step->cycle;
      e.person = person;
      e.channel_id = channel_id;
      e.idempotency_key =
          PageKey(locked.id, write.state.epoch, step->cycle, step->tier, channel_id);
      e.time = now;
      write.pages.push_back(std::move(page));
      channel_names.push_back(channel->name);
    }
    std::vector<std::string> targets;
    for (const EscalationTarget& target : tier.targets) targets.push_back(TargetText(target));
    TimelineEntry entry;
    entry.tenant = locked.tenant;
    entry.incident_id = locked.id;
    entry.time = now;
    entry.actor = std::string(kEscalationActor);
    entry.kind = std::string(timeline_kind::kEscalated);
    entry.text = absl::StrCat("Paging tier ", step->tier + 1, " of policy ", policy.name,
                              step->cycle > 0 ? absl::StrCat(" (repeat ", step->cycle, ")") : "",
                              ": ", absl::StrJoin(targets, ", "),
                              channel_names.empty() ? "; no channel reached" : "");
    entry.details = {{"policy_id", policy.id},
                     {"tier", absl::StrCat(step->tier)},
                     {"cycle", absl::StrCat(step->cycle)},
                     {"epoch", absl::StrCat(write.state.epoch)},
                     {"targets", absl::StrJoin(targets, ",")},
                     {"channels", absl::StrJoin(channel_names, ",")}};
    if (!people.empty()) entry.details["people"] = absl::StrJoin(people, ",");
    if (!missing.empty()) entry.details["unreachable"] = absl::StrJoin(missing, ",");
    write.entries.push_back(std::move(entry));
    write.incident.escalation_tier = step->tier;
    write.incident.update_time = now;
    write.incident_changed = true;
    write.state.tier = step->tier;
    write.state.cycle = step->cycle;
    write.state.last_page_at = now;
    write.state_changed = true;
  }
  return write;
}

absl::StatusOr<int> EscalationEngine::RunOnce() {
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(const std::vector<EscalationCandidate> candidates,
                   store_.ListEscalationCandidates(kMaxCandidates));
  std::map<std::string, TenantConfig> tenants;
  int pages = 0;
  for (const EscalationCandidate& candidate : candidates) {
    const Incident& incident = candidate.incident;
    auto config = tenants.find(incident.tenant);
    if (config == tenants.end()) {
      ASSIGN_OR_RETURN(TenantConfig loaded, LoadTenant(incident.tenant));
      config = tenants.emplace(incident.tenant, std::move(loaded)).first;
    }
    // Decide on the snapshot first, so that incidents with nothing due are
    // not locked at all.
    const EscalationWrite preview = Plan(config->second, incident, candidate.state, now);
    if (!preview.state_changed && !preview.incident_changed && preview.entries.empty()) continue;
    int enqueued = 0;
    absl::StatusOr<bool> applied = store_.Escalate(
        incident.tenant, incident.id,
        [&](const Incident& locked,
            const std::optional<EscalationState>& state) -> absl::StatusOr<EscalationWrite> {
          EscalationWrite write = Plan(config->second, locked, state, now);
          enqueued = static_cast<int>(write.pages.size());
          return write;
        });
    if (!applied.ok()) {
      if (absl::IsNotFound(applied.status())) continue;
      return applied.status();
    }
    if (*applied) pages += enqueued;
  }
  if (pages > 0 && on_paged_) on_paged_();
  return pages;
}

}  // namespace agentwatch::incident
