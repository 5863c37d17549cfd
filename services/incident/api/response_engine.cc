#include "incident/api/response_engine.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/api/escalation_engine.h"
#include "incident/api/response_mapping.h"
#include "incident/core/paging.h"

namespace agentwatch::incident {
namespace {

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t CollectAnswer(char* data, size_t size, size_t n, void* out) {
  std::string* text = static_cast<std::string*>(out);
  if (text->size() < 2048) text->append(data, std::min(size * n, 2048 - text->size()));
  return size * n;
}

template <typename T>
absl::StatusOr<std::vector<ConfigRecord>> ListAllConfigs(IncidentStore& store, T kind,
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

}  // namespace

SendResult CurlPost(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, absl::Duration timeout) {
  CurlGlobalInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {absl::UnavailableError("curl_easy_init failed"), ""};
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  std::string answer;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout))));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectAnswer);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  const CURLcode code = curl_easy_perform(curl);
  long http = 0;
  if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    const std::string detail = absl::StrCat("POST failed: ", curl_easy_strerror(code));
    return {absl::UnavailableError(detail), detail};
  }
  const std::string detail = absl::StrCat("HTTP ", http, answer.empty() ? "" : ": ", answer);
  if (http >= 200 && http < 300) return {absl::OkStatus(), detail};
  if (http == 408 || http == 429 || http >= 500) return {absl::UnavailableError(detail), detail};
  return {absl::FailedPreconditionError(detail), detail};
}

ResponseEngine::ResponseEngine(IncidentStore& incidents, ResponseStore& store,
                               const common::Clock& clock, Notifier* notifier,
                               CapacityAdvisor* capacity, HttpPoster post,
                               ResponseEngineOptions options)
    : incidents_(incidents),
      store_(store),
      clock_(clock),
      notifier_(notifier),
      capacity_(capacity),
      post_(std::move(post)),
      options_(options) {}

ResponseEngine::~ResponseEngine() { Stop(); }

void ResponseEngine::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ResponseEngine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ResponseEngine::Loop() {
  while (true) {
    absl::StatusOr<int> created = EvaluateOnce();
    if (!created.ok()) {
      common::LogWarning("response rule evaluation failed",
                         {{"error", created.status().ToString()}});
    }
    absl::StatusOr<int> ran = RunOnce();
    if (!ran.ok()) {
      common::LogWarning("response rule execution failed", {{"error", ran.status().ToString()}});
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) return;
  }
}

absl::StatusOr<std::vector<std::pair<ResponseRule, std::string>>> ResponseEngine::LoadRules(
    const std::string& tenant) {
  std::vector<std::pair<ResponseRule, std::string>> out;
  ASSIGN_OR_RETURN(const std::vector<ConfigRecord> records,
                   ListAllConfigs(incidents_, config_kind::kResponseRule, tenant));
  for (const ConfigRecord& record : records) {
    absl::StatusOr<ResponseRule> rule = ResponseRuleFromRecord(record);
    if (!rule.ok()) {
      common::LogError("skipping an unreadable response rule",
                       {{"rule_id", record.id}, {"error", rule.status().ToString()}});
      continue;
    }
    if (rule->disabled) continue;
    out.emplace_back(*std::move(rule), record.body);
  }
  return out;
}

absl::StatusOr<int> ResponseEngine::EvaluateOnce() {
  const absl::Time now = TruncateToMicros(clock_.Now());
  ASSIGN_OR_RETURN(const std::vector<ResponseTrigger> triggers,
                   store_.LeaseTriggers(now, options_.lease, options_.trigger_batch));
  if (triggers.empty()) return 0;
  std::map<std::string, std::vector<std::pair<ResponseRule, std::string>>> rules;
  int created = 0;
  for (const ResponseTrigger& trigger : triggers) {
    auto it = rules.find(trigger.tenant);
    if (it == rules.end()) {
      ASSIGN_OR_RETURN(auto loaded, LoadRules(trigger.tenant));
      it = rules.emplace(trigger.tenant, std::move(loaded)).first;
    }
    for (const auto& [rule, body] : it->second) {
      if (!ConditionMatches(rule.condition, trigger.alert)) continue;
      ExecutionClaim claim{trigger, rule, body, now};
      ASSIGN_OR_RETURN(const ClaimResult result, store_.ClaimExecution(claim));
      if (result.created) ++created;
    }
  }
  RETURN_IF_ERROR(store_.CompleteTriggers(triggers));
  return created;
}

absl::StatusOr<int> ResponseEngine::RunOnce() {
  int actions = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return actions;
    }
    const absl::Time now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(const std::optional<Execution> execution,
                     store_.LeaseExecution(now, options_.lease));
    if (!execution.has_value()) return actions;
    const absl::Status status = RunExecution(*execution, &actions);
    if (absl::IsAborted(status)) {
      common::LogWarning("response execution taken over",
                         {{"execution_id", execution->id}, {"error", status.ToString()}});
      continue;
    }
    RETURN_IF_ERROR(status);
  }
}

absl::Status ResponseEngine::RunExecution(const Execution& leased, int* actions) {
  Execution execution = leased;
  ConfigRecord record;
  record.id = execution.rule_id;
  record.body = execution.rule_body;
  absl::StatusOr<ResponseRule> parsed = ResponseRuleFromRecord(record);
  const absl::Time start = TruncateToMicros(clock_.Now());
  auto entry_for = [&](absl::Time at) {
    TimelineEntry entry;
    entry.tenant = execution.tenant;
    entry.incident_id = execution.incident_id;
    entry.time = at;
    entry.actor = ResponseActor(execution.rule_id);
    return entry;
  };
  if (!parsed.ok()) {
    ActionOutcome outcome;
    outcome.index = execution.next_action;
    outcome.failed = true;
    outcome.stop = true;
    TimelineEntry entry = entry_for(start);
    entry.kind = std::string(timeline_kind::kResponseRule);
    entry.text = "Response rule execution failed: the stored rule is unreadable";
    entry.details = {
        {"rule_id", execution.rule_id}, {"execution_id", execution.id}, {"outcome", "failed"}};
    outcome.entries.push_back(std::move(entry));
    return store_.AdvanceExecution(execution, outcome, std::nullopt, start + options_.lease);
  }
  const ResponseRule& rule = *parsed;
  absl::StatusOr<IncidentDetail> detail = incidents_.GetIncident(execution.incident_id);
  if (!detail.ok() && !absl::IsNotFound(detail.status())) return detail.status();
  Incident incident;
  if (detail.ok()) {
    incident = detail->incident;
  } else {
    incident.id = execution.incident_id;
    incident.tenant = execution.tenant;
  }
  while (execution.next_action < static_cast<int>(rule.actions.size())) {
    const int index = execution.next_action;
    const ResponseAction& action = rule.actions[static_cast<size_t>(index)];
    const absl::Time now = TruncateToMicros(clock_.Now());
    Result result = Run(execution, rule, index, incident, now);
    ++*actions;
    if (result.retry && execution.action_attempts < options_.max_attempts) {
      common::LogWarning("response action failed, will retry",
                         {{"execution_id", execution.id},
                          {"action_index", absl::StrCat(index)},
                          {"error", result.text}});
      return store_.RetryExecution(execution, now + options_.retry_delay);
    }
    const bool last = index + 1 == static_cast<int>(rule.actions.size());
    ActionOutcome outcome;
    outcome.index = index;
    outcome.failed = !result.ok;
    outcome.stop = last || (!result.ok && !action.continue_on_error);
    Labels details = {{"rule_id", rule.id},
                      {"rule_name", rule.name},
                      {"execution_id", execution.id},
                      {"action_index", absl::StrCat(index)},
                      {"action", ResponseActionName(action.kind)},
                      {"outcome", result.ok ? "succeeded" : "failed"},
                      {"attempts", absl::StrCat(execution.action_attempts)}};
    for (const auto& [k, v] : result.details) details[k] = v;
    if (!result.extra.empty()) {
      for (TimelineEntry& e : result.extra) {
        for (const auto& [k, v] : details) e.details.emplace(k, v);
        outcome.entries.push_back(std::move(e));
      }
    } else {
      TimelineEntry entry = entry_for(now);
      entry.kind = std::string(timeline_kind::kResponseAction);
      entry.text =
          absl::StrCat("Response rule ", rule.name, ", action ", index + 1, " (",
                       ResponseActionName(action.kind), ") ", result.ok ? "succeeded" : "failed",
                       result.text.empty() ? "" : ": ", result.text);
      entry.details = std::move(details);
      outcome.entries.push_back(std::move(entry));
    }
    const bool failed = execution.failed || outcome.failed;
    std::optional<TimelineEntry> finish;
    if (outcome.stop) {
      TimelineEntry entry = entry_for(now);
      entry.kind = std::string(timeline_kind::kResponseRule);
      const int skipped = static_cast<int>(rule.actions.size()) - index - 1;
      entry.text = absl::StrCat(
          "Response rule ", rule.name, " finished: ", failed ? "failed" : "succeeded",
          skipped > 0 ? absl::StrCat(" (", skipped, " action", skipped == 1 ? "" : "s", " not run)")
                      : "");
      entry.details = {{"rule_id", rule.id},
                       {"rule_name", rule.name},
                       {"execution_id", execution.id},
                       {"outcome", failed ? "failed" : "succeeded"}};
      finish = std::move(entry);
    }
    RETURN_IF_ERROR(store_.AdvanceExecution(execution, outcome, finish, now + options_.lease));
    if (outcome.stop) return absl::OkStatus();
    execution.failed = failed;
    execution.next_action = index + 1;
    execution.action_attempts = 1;
  }
  return absl::OkStatus();
}

ResponseEngine::Result ResponseEngine::Run(const Execution& execution, const ResponseRule& rule,
                                           int index, const Incident& incident, absl::Time now) {
  const ResponseAction& action = rule.actions[static_cast<size_t>(index)];
  switch (action.kind) {
    case ResponseActionKind::kWebhook:
      return RunWebhook(execution, rule, index, incident, now);
    case ResponseActionKind::kCapacityRecommendation:
      return RunCapacity(execution, action);
    case ResponseActionKind::kNotify:
      return RunNotify(execution, rule, index, incident, now);
    case ResponseActionKind::kEscalate:
      return RunEscalate(execution, now);
    case ResponseActionKind::kAddNote: {
      Result result;
      TimelineEntry note;
      note.tenant = execution.tenant;
      note.incident_id = execution.incident_id;
      note.time = now;
      note.actor = ResponseActor(rule.id);
      note.kind = std::string(timeline_kind::kNote);
      note.text = RenderNoteTemplate(action.text, execution.alert, execution.incident_id);
      result.extra.push_back(std::move(note));
      return result;
    }
    case ResponseActionKind::kUnspecified:
      break;
  }
  Result result;
  result.ok = false;
  result.text = "the action has no kind";
  return result;
}

ResponseEngine::Result ResponseEngine::RunWebhook(const Execution& execution,
                                                  const ResponseRule& rule, int index,
                                                  const Incident& incident, absl::Time now) {
  const ResponseAction& action = rule.actions[static_cast<size_t>(index)];
  Result result;
  ResponseWebhookEvent event;
  event.idempotency_key = ActionIdempotencyKey(execution.id, index);
  event.tenant = execution.tenant;
  event.rule_id = rule.id;
  event.rule_name = rule.name;
  event.execution_id = execution.id;
  event.action_index = index;
  event.incident_id = execution.incident_id;
  event.incident_title = incident.title;
  event.incident_severity = incident.severity;
  event.incident_status = incident.status;
  event.alert = execution.alert;
  event.time = now;
  const std::string body = ResponseWebhookBody(event);
  std::vector<std::string> headers = {
      "Content-Type: application/json",
      absl::StrCat(kIdempotencyHeader, ": ", event.idempotency_key)};
  for (const auto& [name, value] : action.headers) {
    headers.push_back(absl::StrCat(name, ": ", value));
  }
  if (!action.hmac_secret_ref.empty()) {
    absl::StatusOr<std::string> key = ResolveSecret(action.hmac_secret_ref);
    if (!key.ok()) {
      result.ok = false;
      result.text = std::string(key.status().message());
      return result;
    }
    headers.push_back(absl::StrCat(kSignatureHeader, ": sha256=", HmacSha256Hex(*key, body)));
  }
  const SendResult sent = post_(action.url, headers, body, action.timeout);
  result.ok = sent.status.ok();
  result.retry = absl::IsUnavailable(sent.status);
  result.text = sent.detail.empty() ? std::string(sent.status.message()) : sent.detail;
  result.details = {{"url", action.url}, {"idempotency_key", event.idempotency_key}};
  return result;
}

ResponseEngine::Result ResponseEngine::RunCapacity(const Execution& execution,
                                                   const ResponseAction& action) {
  Result result;
  if (capacity_ == nullptr) {
    result.ok = false;
    result.text = "this server has no capacity peer configured";
    return result;
  }
  absl::StatusOr<CapacityAdvice> advice = capacity_->Recommend(
      execution.tenant, action.resource_id, execution.alert, options_.capacity_timeout);
  if (!advice.ok()) {
    result.ok = false;
    result.text = absl::StrCat("capacity: ", advice.status().ToString());
    return result;
  }
  result.text = advice->text;
  result.details = advice->details;
  if (!action.resource_id.empty()) result.details["resource_id"] = action.resource_id;
  return result;
}

ResponseEngine::Result ResponseEngine::RunNotify(const Execution& execution,
                                                 const ResponseRule& rule, int index,
                                                 const Incident& incident, absl::Time now) {
  const ResponseAction& action = rule.actions[static_cast<size_t>(index)];
  Result result;
  if (notifier_ == nullptr) {
    result.ok = false;
    result.text = "this server has no notifier configured";
    return result;
  }
  std::vector<std::string> sent;
  std::vector<std::string> skipped;
  std::vector<std::string> failed;
  bool retry = false;
  for (const std::string& channel_id : action.channel_ids) {
    absl::StatusOr<ConfigRecord> record = incidents_.GetConfig(config_kind::kChannel, channel_id);
    if (!record.ok()) {
      if (absl::IsNotFound(record.status())) {
        failed.push_back(absl::StrCat(channel_id, " (deleted)"));
        continue;
      }
      retry = true;
      failed.push_back(absl::StrCat(channel_id, " (", record.status().message(), ")"));
      continue;
    }
    absl::StatusOr<NotificationChannel> channel = ChannelFromRecord(*record);
    if (!channel.ok() || channel->tenant != execution.tenant) {
      failed.push_back(absl::StrCat(channel_id, " (unreadable)"));
      continue;
    }
    if (!ChannelAccepts(*channel, incident.severity)) {
      skipped.push_back(channel->name);
      continue;
    }
    NotificationEvent event;
    event.tenant = execution.tenant;
    event.incident_id = execution.incident_id;
    event.title = incident.title;
    event.severity = incident.severity;
    event.status = incident.status;
    event.event = "response";
    event.person = channel->person;
    event.channel_id = channel_id;
    event.idempotency_key =
        absl::StrCat(ActionIdempotencyKey(execution.id, index), "/", channel_id);
    event.time = now;
    absl::StatusOr<bool> delivered =
        incidents_.WasDelivered(execution.tenant, event.idempotency_key);
    if (delivered.ok() && *delivered) {
      sent.push_back(channel->name);
      continue;
    }
    const SendResult outcome = notifier_->Send(*channel, event);
    if (!outcome.status.ok()) {
      retry = retry || absl::IsUnavailable(outcome.status);
      failed.push_back(absl::StrCat(channel->name, " (", outcome.detail, ")"));
      continue;
    }
    DeliveryRecord delivery;
    delivery.tenant = execution.tenant;
    delivery.idempotency_key = event.idempotency_key;
    delivery.incident_id = execution.incident_id;
    delivery.channel_id = channel_id;
    delivery.person = channel->person;
    delivery.time = now;
    delivery.entry.tenant = execution.tenant;
    delivery.entry.incident_id = execution.incident_id;
    delivery.entry.time = now;
    delivery.entry.actor = ResponseActor(rule.id);
    delivery.entry.kind = "notified";
    delivery.entry.text =
        absl::StrCat("Notified channel ", channel->name, " (response rule ", rule.name, ")");
    delivery.entry.details = {{"channel_id", channel_id},
                              {"idempotency_key", event.idempotency_key},
                              {"rule_id", rule.id}};
    const absl::Status recorded = incidents_.RecordDelivery(delivery);
    if (!recorded.ok()) {
      common::LogWarning("could not record a response notification",
                         {{"key", event.idempotency_key}, {"error", recorded.ToString()}});
    }
    sent.push_back(channel->name);
  }
  result.ok = failed.empty();
  result.retry = retry;
  result.text = absl::StrCat(
      "notified ", sent.size(), " channel", sent.size() == 1 ? "" : "s",
      failed.empty() ? "" : absl::StrCat("; failed: ", absl::StrJoin(failed, ", ")),
      skipped.empty() ? "" : absl::StrCat("; not accepted: ", absl::StrJoin(skipped, ", ")));
  result.details = {{"channels", absl::StrJoin(sent, ",")}};
  return result;
}

ResponseEngine::Result ResponseEngine::RunEscalate(const Execution& execution, absl::Time now) {
  Result result;
  absl::StatusOr<std::vector<ConfigRecord>> records =
      ListAllConfigs(incidents_, config_kind::kEscalationPolicy, execution.tenant);
  if (!records.ok()) {
    result.ok = false;
    result.retry = absl::IsUnavailable(records.status());
    result.text = records.status().ToString();
    return result;
  }
  std::vector<EscalationPolicy> policies;
  for (const ConfigRecord& record : *records) {
    absl::StatusOr<EscalationPolicy> policy = PolicyFromRecord(record);
    if (policy.ok()) policies.push_back(*std::move(policy));
  }
  std::string outcome;
  auto plan = [&](const Incident& incident,
                  const std::optional<EscalationState>& stored) -> absl::StatusOr<EscalationWrite> {
    EscalationWrite write;
    write.incident = incident;
    if (incident.status != IncidentStatus::kTriggered) {
      outcome = absl::StrCat("nothing to escalate: the incident is ", StatusName(incident.status));
      return write;
    }
    EscalationPolicy policy;
    bool found = false;
    if (stored.has_value()) {
      if (stored->policy_id == kDefaultPolicyId) {
        policy = DefaultEscalationPolicy(incident.tenant);
        found = true;
      }
      for (const EscalationPolicy& p : policies) {
        if (p.id == stored->policy_id) {
          policy = p;
          found = true;
        }
      }
    }
    if (!found) policy = SelectPolicy(policies, incident.tenant, incident.labels);
    EscalationState state = EffectiveState(incident, stored, policy, now);
    const std::optional<EscalationStep> step =
        NextEscalation(incident, state, policy, absl::ZeroDuration());
    if (!step.has_value() || step->action != EscalationAction::kPage) {
      outcome = absl::StrCat("nothing to escalate: policy ", policy.name, " has no further tier");
      return write;
    }
    // The next tier becomes due now: the escalation engine pages it on its
    // next scan, exactly once, as for any other step.
    if (step->due > now) {
      const absl::Duration shift = step->due - now;
      if (state.tier < 0 || !state.last_page_at.has_value()) {
        state.started_at -= shift;
      } else {
        *state.last_page_at -= shift;
      }
      write.state = state;
      write.state_changed = true;
    }
    outcome = absl::StrCat("tier ", step->tier + 1, " of policy ", policy.name, " is due now");
    return write;
  };
  absl::StatusOr<bool> done = incidents_.Escalate(execution.tenant, execution.incident_id, plan);
  if (!done.ok()) {
    result.ok = false;
    result.retry = absl::IsUnavailable(done.status());
    result.text = done.status().ToString();
    return result;
  }
  if (!*done) {
    result.ok = false;
    result.retry = true;
    result.text = "the incident is busy";
    return result;
  }
  result.text = outcome;
  return result;
}

}  // namespace agentwatch::incident
