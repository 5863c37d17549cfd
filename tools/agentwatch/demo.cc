// agentwatch demo: drives a simulated agent platform against a running stack
// and narrates what agentwatch detects, and how fast.
//
// The platform: three workflows (support, research, checkout), three agents
// (planner, retriever, writer) and three models. First three days of history
// are back-filled with a daily cycle (compressed: they are sent in seconds),
// then live traffic runs while four faults are injected in turn:
//   1. an error burst in `checkout`       -> the built-in WorkflowErrorRateHigh
//                                            alert opens an incident, which
//                                            pages the on-call engineer and,
//                                            unacknowledged, escalates to the
//                                            team lead
//   2. a latency regression of gpt-4o     -> model latency turns critical and
//                                            an alert rule opens an incident
//   3. a cost runaway in team `research`  -> the budget's 80 % / 100 % alerts
//                                            open incidents; CheckBudget denies
//   4. a traffic ramp in `support`        -> forecast and a replica
//                                            recommendation from capacity
// Each step prints the time from injecting the fault to agentwatch's answer.
// Pages arrive at webhook channels served by the demo itself (an HTTP
// receiver on --page_listen), through a demo escalation policy whose tiers are
// compressed to seconds; the channels are disabled when the demo ends.
// The exit code is the number of faults not detected (0: all detected).
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agentwatch/capacity/v1/capacity.grpc.pb.h"
#include "agentwatch/command.h"
#include "agentwatch/commands.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "agentwatch/render.h"
#include "common/http_server.h"

namespace agentwatch::cli {
namespace {

namespace capacity_v1 = ::agentwatch::capacity::v1;
namespace common_v1 = ::agentwatch::common::v1;
namespace cost_v1 = ::agentwatch::cost::v1;
namespace incident_v1 = ::agentwatch::incident::v1;
namespace monitor_v1 = ::agentwatch::monitor::v1;
using ::google::protobuf::util::TimeUtil;

constexpr const char* kWorkflows[] = {"support", "research", "checkout"};
constexpr const char* kAgents[] = {"planner", "retriever", "writer"};
struct Model {
  const char* provider;
  const char* name;
};
constexpr Model kModels[] = {
    {"openai", "gpt-4o-mini"}, {"anthropic", "claude-haiku-4-5"}, {"openai", "gpt-4o"}};

// A page received by the demo's webhook receiver.
struct Page {
  std::string person;  // whom the channel pages
  std::string incident_id;
  int tier = 0;
  absl::Time received;
};

// Collects the pages incident's webhook channels deliver to the demo.
class PageReceiver {
 public:
  explicit PageReceiver(std::string listen) : server_(std::move(listen)) {}
  ~PageReceiver() { server_.Stop(); }

  // Serves /page/<person> for each person; returns the bound port.
  absl::StatusOr<int> Start(const std::vector<std::string>& people) {
    for (const std::string& person : people) {
      server_.Handle("/page/" + person, [this, person](const common::HttpRequest& request) {
        common::HttpResponse response;
        if (request.method != "POST") {
          response.status = 405;
          return response;
        }
        google::protobuf::Struct body;
        if (!google::protobuf::util::JsonStringToMessage(request.body, &body).ok()) {
          response.status = 400;
          response.body = "body is not JSON";
          return response;
        }
        Page page{person, "", 0, absl::Now()};
        const auto& fields = body.fields();
        if (auto it = fields.find("incident"); it != fields.end()) {
          const auto& incident = it->second.struct_value().fields();
          if (auto id = incident.find("id"); id != incident.end()) {
            page.incident_id = id->second.string_value();
          }
        }
        if (auto it = fields.find("tier"); it != fields.end()) {
          page.tier = static_cast<int>(it->second.number_value());
        }
        std::lock_guard<std::mutex> lock(mu_);
        // The Idempotency-Key makes a redelivery recognisable: count it once.
        if (keys_.insert(request.headers.count("idempotency-key")
                             ? request.headers.at("idempotency-key")
                             : request.body)
                .second) {
          pages_.push_back(std::move(page));
        }
        return response;
      });
    }
    if (absl::Status status = server_.Start(); !status.ok()) return status;
    return server_.port();
  }

  // The first page of `incident_id` to `person`, if one arrived.
  std::optional<Page> Find(const std::string& incident_id, const std::string& person) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Page& page : pages_) {
      if (page.incident_id == incident_id && page.person == person) return page;
    }
    return std::nullopt;
  }

  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return pages_.size();
  }

 private:
  common::HttpServer server_;
  std::mutex mu_;
  std::set<std::string> keys_;
  std::vector<Page> pages_;
};

class Demo {
 public:
  Demo(const Command& cmd, std::string tenant, absl::Duration wait, std::string page_listen,
       absl::Duration escalate_after)
      : cmd_(cmd),
        tenant_(std::move(tenant)),
        wait_(wait),
        page_listen_(std::move(page_listen)),
        escalate_after_(escalate_after),
        monitor_(monitor_v1::MonitorService::NewStub(cmd.Channel(cmd.monitor_addr))),
        incident_(incident_v1::IncidentService::NewStub(cmd.Channel(cmd.incident_addr))),
        cost_(cost_v1::CostService::NewStub(cmd.Channel(cmd.cost_addr))),
        capacity_(capacity_v1::CapacityService::NewStub(cmd.Channel(cmd.capacity_addr))),
        producer_(absl::StrCat("agentwatch-demo-", getpid())),
        sequence_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))),
        start_(absl::Now()) {}

  int Run() {
    Say("agentwatch demo for tenant " + tenant_ + " (" + cmd_.monitor_addr + ", " +
        cmd_.incident_addr + ", " + cmd_.cost_addr + ", " + cmd_.capacity_addr + ")");
    if (!Setup() || !Backfill()) return 4;
    Baseline();
    int missed = 0;
    missed += ErrorBurst() ? 0 : 1;
    missed += LatencyRegression() ? 0 : 1;
    missed += CostRunaway() ? 0 : 1;
    missed += TrafficRamp() ? 0 : 1;
    Summary();
    StopPaging();
    return missed;
  }

 private:
  struct Detection {
    std::string fault;
    std::string detected_by;
    absl::Duration after;
    bool ok;
  };

  void Say(const std::string& line) const {
    std::cout << absl::StrFormat("[%6.1fs] ", absl::ToDoubleSeconds(absl::Now() - start_)) << line
              << std::endl;
  }

  void Step(const std::string& title) const { std::cout << "\n== " << title << "\n"; }

  grpc::ClientContext* Fresh(grpc::ClientContext* context) const {
    cmd_.Prepare(context);
    return context;
  }

  // Polls `check` every 200 ms until it returns a non-empty description or
  // --wait passes. Returns the description ("" on timeout).
  std::string WaitFor(const std::function<std::string()>& check) const {
    const absl::Time deadline = absl::Now() + wait_;
    while (absl::Now() < deadline) {
      std::string found = check();
      if (!found.empty()) return found;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return "";
  }

  void Record(const std::string& fault, absl::Time injected, const std::string& found) {
    const absl::Duration after = absl::Now() - injected;
    detections_.push_back({fault, found, after, !found.empty()});
    if (found.empty()) {
      Say("NOT DETECTED within " + absl::FormatDuration(wait_) + ": " + fault);
    } else {
      Say(absl::StrFormat("detected in %.1fs: %s", absl::ToDoubleSeconds(after), found));
    }
  }

  // --- events --------------------------------------------------------------

  monitor_v1::Event* NewEvent(monitor_v1::IngestRequest* batch, absl::Time when) {
    monitor_v1::Event* e = batch->add_events();
    e->set_tenant(tenant_);
    e->set_event_id(absl::StrCat(producer_, "-", sequence_, "-", batch->events_size()));
    *e->mutable_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(when));
    return e;
  }

  void AddRun(monitor_v1::IngestRequest* batch, absl::Time when, const std::string& workflow,
              bool failed, const Model& model, double latency_s, int64_t input_tokens,
              int64_t output_tokens, const std::string& team) {
    const std::string run_id = absl::StrCat(producer_, "-", sequence_, "-", batch->events_size());
    const std::string agent = kAgents[batch->events_size() % 3];
    auto* run = NewEvent(batch, when)->mutable_workflow_run();
    run->set_workflow(workflow);
    run->set_run_id(run_id);
    run->set_team(team);
    run->set_status(failed ? monitor_v1::RUN_STATUS_FAILED : monitor_v1::RUN_STATUS_SUCCEEDED);
    *run->mutable_duration() =
        TimeUtil::MillisecondsToDuration(static_cast<int64_t>(latency_s * 1000) + 2000);
    run->set_step_count(2);
    auto* exec = NewEvent(batch, when)->mutable_agent_execution();
    exec->set_agent(agent);
    exec->set_workflow(workflow);
    exec->set_run_id(run_id);
    exec->set_status(run->status());
    *exec->mutable_duration() =
        TimeUtil::MillisecondsToDuration(static_cast<int64_t>(latency_s * 1000) + 500);
    auto* call = NewEvent(batch, when)->mutable_llm_call();
    call->set_provider(model.provider);
    call->set_model(model.name);
    call->set_workflow(workflow);
    call->set_run_id(run_id);
    call->set_agent(agent);
    call->set_team(team);
    *call->mutable_latency() =
        TimeUtil::MillisecondsToDuration(static_cast<int64_t>(latency_s * 1000));
    call->set_input_tokens(input_tokens);
    call->set_output_tokens(output_tokens);
    call->set_status(run->status());
    if (failed) call->set_error_type("server_error");
  }

  bool Send(monitor_v1::IngestRequest* batch) {
    batch->set_producer_id(producer_);
    batch->set_sequence(sequence_++);
    grpc::ClientContext context;
    monitor_v1::IngestResponse response;
    const grpc::Status status = monitor_->Ingest(Fresh(&context), *batch, &response);
    batch->Clear();
    if (!status.ok()) {
      Fail("monitor", cmd_.monitor_addr, status);
      return false;
    }
    return true;
  }

  // Sends `runs` live runs of `workflow` spread over the last minute.
  bool Live(const std::string& workflow, int runs, int failed, const Model& model, double latency_s,
            int64_t input_tokens, const std::string& team = "platform") {
    monitor_v1::IngestRequest batch;
    const absl::Time now = absl::Now();
    for (int i = 0; i < runs; ++i) {
      AddRun(&batch, now - absl::Seconds(50) + absl::Seconds(50) * i / std::max(runs, 1), workflow,
             i < failed, model, latency_s, input_tokens, 300, team);
      if (batch.events_size() >= 3000 && !Send(&batch)) return false;
    }
    return batch.events_size() == 0 || Send(&batch);
  }

  // --- incidents -----------------------------------------------------------

  // Incidents of the tenant that contain an alert named `alert_name`, not
  // counted before; returns "INC-... <title> (<severity>)" of the first one.
  std::string NewIncidentWith(const std::string& alert_name) {
    incident_v1::ListIncidentsRequest request;
    request.set_tenant(tenant_);
    request.set_page_size(100);
    grpc::ClientContext context;
    incident_v1::ListIncidentsResponse response;
    if (!incident_->ListIncidents(Fresh(&context), request, &response).ok()) return "";
    for (const auto& incident : response.incidents()) {
      if (seen_incidents_.count(incident.id())) continue;
      incident_v1::GetIncidentRequest get;
      get.set_id(incident.id());
      grpc::ClientContext get_context;
      incident_v1::GetIncidentResponse detail;
      if (!incident_->GetIncident(Fresh(&get_context), get, &detail).ok()) continue;
      for (const auto& alert : detail.alerts()) {
        if (alert.name() == alert_name) {
          seen_incidents_.insert(incident.id());
          last_incident_ = incident.id();
          return absl::StrCat(
              alert_name, " opened incident ", incident.id(), " \"", incident.title(), "\" (",
              ShortEnum(common_v1::Severity_Name(incident.severity()), "SEVERITY_"), ")");
        }
      }
    }
    return "";
  }

  // --- phases --------------------------------------------------------------

  bool Setup() {
    Step("setup: an alert rule, a budget and a capacity resource");
    monitor_v1::CreateAlertRuleRequest rule_request;
    monitor_v1::AlertRule* rule = rule_request.mutable_rule();
    rule->set_name("ModelLatencyP95High");
    rule->set_tenant(tenant_);
    rule->set_description("p95 LLM latency of a model above 10 s over 5 minutes");
    auto* threshold = rule->mutable_threshold();
    threshold->set_metric("llm_latency_seconds");
    threshold->set_aggregation(monitor_v1::AGGREGATION_P95);
    *threshold->mutable_window() = TimeUtil::SecondsToDuration(300);
    threshold->add_group_by("model");
    threshold->set_comparison(monitor_v1::COMPARISON_GREATER_THAN);
    threshold->set_threshold(10);
    rule->set_severity(common_v1::SEVERITY_P2);
    rule_request.set_request_id(absl::StrCat(tenant_, "-latency-rule"));
    grpc::ClientContext rule_context;
    monitor_v1::AlertRule created_rule;
    grpc::Status status =
        monitor_->CreateAlertRule(Fresh(&rule_context), rule_request, &created_rule);
    if (status.ok()) {
      Say("alert rule ModelLatencyP95High: p95(llm_latency_seconds) by model > 10s for 5m");
      have_latency_rule_ = true;
    } else {
      Say("alert rules unavailable (" + status.error_message() +
          "); latency is judged by the health indicators only");
    }

    cost_v1::CreateBudgetRequest budget_request;
    cost_v1::Budget* budget = budget_request.mutable_budget();
    budget->set_name("research monthly");
    budget->mutable_scope()->set_tenant(tenant_);
    budget->mutable_scope()->set_team("research");
    budget->set_period(cost_v1::BUDGET_PERIOD_MONTHLY);
    budget->set_limit_nano_usd(2'000'000'000);  // $2
    budget->set_enforcement(cost_v1::ENFORCEMENT_HARD);
    budget_request.set_request_id(absl::StrCat(tenant_, "-budget"));
    grpc::ClientContext budget_context;
    cost_v1::Budget created_budget;
    status = cost_->CreateBudget(Fresh(&budget_context), budget_request, &created_budget);
    if (!status.ok()) {
      Fail("cost", cmd_.cost_addr, status);
      return false;
    }
    budget_id_ = created_budget.id();
    Say("budget \"research monthly\": $2.00, hard, alerts at 80 % and 100 %");

    capacity_v1::CreateResourceRequest resource_request;
    capacity_v1::Resource* resource = resource_request.mutable_resource();
    resource->set_name("support-workers");
    resource->set_tenant(tenant_);
    resource->set_kind(capacity_v1::RESOURCE_KIND_REPLICAS);
    resource->set_metric("workflow_runs_total");
    auto* matcher = resource->add_matchers();
    matcher->set_name("workflow");
    matcher->set_op(common_v1::MATCH_OP_EQUAL);
    matcher->set_value("support");
    // Capacity works on rates: one worker serves 0.1 runs/s (6 a minute).
    resource->set_per_unit_capacity(0.1);
    resource->set_target_utilization(0.7);
    resource->set_current(2);
    resource->set_min(1);
    resource->set_max(50);
    resource_request.set_request_id(absl::StrCat(tenant_, "-resource"));
    grpc::ClientContext resource_context;
    capacity_v1::Resource created_resource;
    status =
        capacity_->CreateResource(Fresh(&resource_context), resource_request, &created_resource);
    if (status.ok()) {
      resource_id_ = created_resource.id();
      Say("resource support-workers: 2 replicas serving 0.1 runs/s each at 70 % target "
          "utilization");
    } else {
      Say("capacity resources unavailable (" + status.error_message() + ")");
    }
    return SetupPaging();
  }

  // Two webhook channels served by the demo (alice on call, bob her team
  // lead) and an escalation policy paging alice at once and bob when nobody
  // acknowledged within --escalate_after.
  bool SetupPaging() {
    if (page_listen_.empty()) {
      Say("paging not shown (--page_listen is empty)");
      return true;
    }
    receiver_ = std::make_unique<PageReceiver>(page_listen_);
    absl::StatusOr<int> port = receiver_->Start({"alice", "bob"});
    if (!port.ok()) {
      std::cerr << "agentwatch demo: cannot listen for pages on " << page_listen_ << ": "
                << port.status().message() << "\n";
      return false;
    }
    const std::string host = page_listen_.substr(0, page_listen_.rfind(':'));
    incident_v1::EscalationPolicy policy;
    policy.set_name("demo on-call");
    policy.set_tenant(tenant_);
    policy.set_description("alice on call, then bob (team lead); compressed for the demo");
    for (const char* person : {"alice", "bob"}) {
      incident_v1::CreateNotificationChannelRequest request;
      incident_v1::NotificationChannel* channel = request.mutable_channel();
      channel->set_name(absl::StrCat("demo pager ", person));
      channel->set_tenant(tenant_);
      channel->set_person(person);
      channel->mutable_webhook()->set_url(absl::StrCat("http://", host, ":", *port, "/page/", person));
      request.set_request_id(absl::StrCat(tenant_, "-channel-", person));
      grpc::ClientContext context;
      incident_v1::NotificationChannel created;
      const grpc::Status status =
          incident_->CreateNotificationChannel(Fresh(&context), request, &created);
      if (!status.ok()) {
        Fail("incident", cmd_.incident_addr, status);
        return false;
      }
      channel_ids_.push_back(created.id());
      incident_v1::EscalationTier* tier = policy.add_tiers();
      if (policy.tiers_size() > 1) {
        *tier->mutable_delay() =
            TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(escalate_after_));
      }
      tier->add_targets()->set_channel_id(created.id());
    }
    incident_v1::CreateEscalationPolicyRequest request;
    *request.mutable_policy() = policy;
    request.set_request_id(absl::StrCat(tenant_, "-escalation"));
    grpc::ClientContext context;
    incident_v1::EscalationPolicy created;
    const grpc::Status status = incident_->CreateEscalationPolicy(Fresh(&context), request, &created);
    if (!status.ok()) {
      Fail("incident", cmd_.incident_addr, status);
      return false;
    }
    Say(absl::StrCat("escalation policy \"demo on-call\": page alice (on call) at once, bob (team "
                     "lead) after ",
                     absl::FormatDuration(escalate_after_),
                     " without acknowledgement; pages arrive at this demo on port ", *port));
    return true;
  }

  // Waits for the escalation chain of `incident_id`: alice paged, then (not
  // acknowledged) bob, who then acknowledges. Records each step.
  bool FollowEscalation(const std::string& incident_id, absl::Time injected) {
    if (receiver_ == nullptr || incident_id.empty()) return true;
    auto paged = [&](const std::string& person, const std::string& role) {
      return WaitFor([&]() -> std::string {
        std::optional<Page> page = receiver_->Find(incident_id, person);
        if (!page) return "";
        return absl::StrCat(incident_id, " paged ", person, " (", role, ", tier ", page->tier,
                            ") by webhook");
      });
    };
    const std::string first = paged("alice", "on call");
    Record("incident paged on call", injected, first);
    if (first.empty()) return false;
    Say("nobody acknowledges...");
    const std::string second = paged("bob", "team lead");
    Record("unacknowledged page escalated", injected, second);
    if (second.empty()) return false;
    incident_v1::AcknowledgeIncidentRequest ack;
    ack.set_id(incident_id);
    ack.set_actor("bob");
    ack.set_request_id(absl::StrCat(incident_id, "-demo-ack"));
    ack.set_note("looking into the checkout error burst");
    grpc::ClientContext context;
    incident_v1::Incident acked;
    const grpc::Status status = incident_->AcknowledgeIncident(Fresh(&context), ack, &acked);
    if (!status.ok()) {
      Fail("incident", cmd_.incident_addr, status);
      return false;
    }
    Say(absl::StrCat("bob acknowledged ", incident_id, ": escalation stops"));
    return true;
  }

  // Disables the demo's pager channels: the receiver goes away with the demo.
  void StopPaging() {
    if (receiver_ == nullptr) return;
    for (const std::string& id : channel_ids_) {
      incident_v1::UpdateNotificationChannelRequest request;
      request.mutable_channel()->set_id(id);
      request.mutable_channel()->set_disabled(true);
      request.mutable_update_mask()->add_paths("disabled");
      grpc::ClientContext context;
      incident_v1::NotificationChannel updated;
      const grpc::Status status =
          incident_->UpdateNotificationChannel(Fresh(&context), request, &updated);
      if (!status.ok()) Fail("incident", cmd_.incident_addr, status);
    }
    Say(absl::StrCat(receiver_->count(), " pages received; the demo's pager channels are now "
                     "disabled"));
  }

  bool Backfill() {
    Step("history: three days of traffic with a daily cycle, compressed into seconds");
    std::mt19937 rng(7);
    monitor_v1::IngestRequest batch;
    const absl::Time now = absl::Now();
    int runs = 0;
    for (absl::Time t = now - absl::Hours(72); t < now - absl::Minutes(10); t += absl::Minutes(5)) {
      const double hour = absl::ToDoubleHours(t - absl::FromUnixSeconds(0));
      const double cycle = 1 + 0.8 * std::sin(2 * M_PI * (std::fmod(hour, 24) - 9) / 24);
      const int n = static_cast<int>(std::lround(3 * cycle));
      for (int i = 0; i < n; ++i) {
        const Model& model = kModels[rng() % 2];
        AddRun(&batch, t + absl::Seconds(rng() % 290), kWorkflows[rng() % 3], rng() % 200 == 0,
               model, 0.4 + (rng() % 100) / 100.0, 800 + rng() % 400, 250, "platform");
        ++runs;
      }
      if (batch.events_size() >= 3000 && !Send(&batch)) return false;
    }
    if (batch.events_size() > 0 && !Send(&batch)) return false;
    Say(absl::StrCat(runs, " workflow runs (with their agent steps and LLM calls) back-filled"));
    return true;
  }

  void Baseline() {
    Step("baseline: healthy live traffic");
    Live("support", 20, 0, kModels[0], 0.6, 900);
    Live("research", 20, 0, kModels[1], 0.8, 1200);
    Live("checkout", 20, 0, kModels[0], 0.5, 700);
    monitor_v1::GetHealthRequest request;
    request.mutable_scope()->set_tenant(tenant_);
    grpc::ClientContext context;
    monitor_v1::HealthReport report;
    if (monitor_->GetHealth(Fresh(&context), request, &report).ok()) {
      Say("overall health: " + StatusText(report.overall_status()));
    }
  }

  bool ErrorBurst() {
    Step("fault 1: error burst in workflow checkout (40 of 60 runs fail)");
    const absl::Time injected = absl::Now();
    if (!Live("checkout", 60, 40, kModels[0], 0.5, 700)) return false;
    const std::string found = WaitFor([&] { return NewIncidentWith("WorkflowErrorRateHigh"); });
    Record("error burst in checkout", injected, found);
    if (found.empty()) return false;
    return FollowEscalation(last_incident_, injected);
  }

  std::string ModelLatencyStatus() {
    monitor_v1::GetHealthRequest request;
    request.mutable_scope()->set_tenant(tenant_);
    request.mutable_scope()->set_model("gpt-4o");
    grpc::ClientContext context;
    monitor_v1::HealthReport report;
    if (!monitor_->GetHealth(Fresh(&context), request, &report).ok()) return "";
    for (const auto& scope : report.scopes()) {
      if (scope.kind() != "model") continue;
      for (const auto& indicator : scope.indicators()) {
        if (indicator.name() == "model_latency_p95" &&
            indicator.status() == common_v1::HEALTH_STATUS_CRITICAL) {
          return absl::StrFormat("model_latency_p95 of gpt-4o is %s at %.1fs",
                                 StatusText(indicator.status()), indicator.value());
        }
      }
    }
    return "";
  }

  bool LatencyRegression() {
    Step("fault 2: latency regression of openai/gpt-4o (25 s per call)");
    const absl::Time injected = absl::Now();
    if (!Live("research", 30, 0, kModels[2], 25, 1500)) return false;
    const std::string health = WaitFor([&] { return ModelLatencyStatus(); });
    Record("latency regression (health)", injected, health);
    bool ok = !health.empty();
    if (have_latency_rule_) {
      const std::string found = WaitFor([&] { return NewIncidentWith("ModelLatencyP95High"); });
      Record("latency regression (alert rule)", injected, found);
      ok = ok && !found.empty();
    }
    return ok;
  }

  bool CostRunaway() {
    Step("fault 3: cost runaway in team research (gpt-4o calls of 200k tokens)");
    const absl::Time injected = absl::Now();
    // gpt-4o input is priced at a few USD per million tokens: a few of these
    // calls spend the $2 budget.
    for (int i = 0; i < 8; ++i) {
      if (!Live("research", 1, 0, kModels[2], 3, 200'000, "research")) return false;
    }
    const std::string alert = WaitFor([&] { return NewIncidentWith("BudgetThresholdCrossed"); });
    Record("budget threshold crossed", injected, alert);
    const std::string denied = WaitFor([&]() -> std::string {
      cost_v1::CheckBudgetRequest request;
      request.mutable_scope()->set_tenant(tenant_);
      request.mutable_scope()->set_team("research");
      request.set_estimated_cost_nano_usd(100'000'000);
      grpc::ClientContext context;
      cost_v1::CheckBudgetResponse response;
      if (!cost_->CheckBudget(Fresh(&context), request, &response).ok()) return "";
      if (response.allowed()) return "";
      return "CheckBudget denies the next $0.10 call: " + response.reason();
    });
    Record("hard budget enforced", injected, denied);
    return !alert.empty() && !denied.empty();
  }

  bool TrafficRamp() {
    Step("fault 4: traffic ramp in workflow support (10 -> 40 runs a minute over two hours)");
    const absl::Time injected = absl::Now();
    monitor_v1::IngestRequest batch;
    const absl::Time ramp_start = absl::Now() - absl::Hours(2);
    for (int minute = 0; minute < 120; ++minute) {
      const int runs = 10 + minute / 4;
      for (int i = 0; i < runs; ++i) {
        AddRun(&batch, ramp_start + absl::Minutes(minute) + absl::Seconds(i * 55 / runs), "support",
               false, kModels[0], 0.6, 900, 250, "platform");
      }
      if (batch.events_size() >= 3000 && !Send(&batch)) return false;
    }
    if (batch.events_size() > 0 && !Send(&batch)) return false;
    capacity_v1::GetForecastRequest forecast_request;
    forecast_request.set_metric("workflow_runs_total");
    forecast_request.set_tenant(tenant_);
    auto* matcher = forecast_request.add_matchers();
    matcher->set_name("workflow");
    matcher->set_op(common_v1::MATCH_OP_EQUAL);
    matcher->set_value("support");
    *forecast_request.mutable_horizon() = TimeUtil::SecondsToDuration(6 * 3600);
    *forecast_request.mutable_step() = TimeUtil::SecondsToDuration(300);
    *forecast_request.mutable_history() = TimeUtil::SecondsToDuration(3 * 86400);
    grpc::ClientContext forecast_context;
    capacity_v1::GetForecastResponse forecast;
    const grpc::Status status =
        capacity_->GetForecast(Fresh(&forecast_context), forecast_request, &forecast);
    std::string found;
    if (status.ok()) {
      std::vector<double> values;
      double peak = 0;
      for (const auto& p : forecast.points()) {
        values.push_back(p.value());
        peak = std::max(peak, p.value());
      }
      // A counter's forecast is the number of runs per step (5 minutes).
      Say(absl::StrFormat("forecast (%s, backtest MASE %.2f): %s peak %.0f runs per 5 min "
                          "(%.2f/s)",
                          forecast.model(), forecast.backtest_mase(), Sparkline(values), peak,
                          peak / 300));
      found = absl::StrFormat("forecast peak %.2f runs/s", peak / 300);
    } else {
      Say("forecast failed: " + status.error_message());
    }
    if (!resource_id_.empty()) {
      capacity_v1::GetRecommendationsRequest request;
      request.set_resource_id(resource_id_);
      request.mutable_scope()->set_tenant(tenant_);
      *request.mutable_horizon() = TimeUtil::SecondsToDuration(6 * 3600);
      grpc::ClientContext context;
      capacity_v1::GetRecommendationsResponse response;
      const grpc::Status rec = capacity_->GetRecommendations(Fresh(&context), request, &response);
      bool scale_up = false;
      if (rec.ok()) {
        for (const auto& r : response.recommendations()) {
          Say(absl::StrFormat(
              "recommendation: %s %g -> %g (%s)",
              ShortEnum(capacity_v1::RecommendationKind_Name(r.kind()), "RECOMMENDATION_KIND_"),
              r.current(), r.recommended(), r.reason()));
          if (r.kind() == capacity_v1::RECOMMENDATION_KIND_SCALE_REPLICAS &&
              r.recommended() > r.current()) {
            scale_up = true;
            found = absl::StrFormat("%s; scale support-workers from %g to %g replicas", found,
                                    r.current(), r.recommended());
          }
        }
      } else {
        Say("recommendations failed: " + rec.error_message());
      }
      if (!scale_up) found.clear();
    }
    Record("traffic ramp", injected, found);
    return !found.empty();
  }

  void Summary() {
    Step("summary");
    Table table({"FAULT", "DETECTED", "AFTER", "BY"});
    for (const auto& d : detections_) {
      table.AddRow({d.fault, d.ok ? "yes" : "NO",
                    d.ok ? absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d.after)) : "-",
                    d.detected_by});
    }
    std::cout << table.Render();
    std::cout << "\nexplore: agentwatch status --tenant " << tenant_
              << " | agentwatch incidents list --tenant " << tenant_
              << " | agentwatch cost report --tenant " << tenant_ << " --by team,model\n";
  }

  const Command& cmd_;
  const std::string tenant_;
  const absl::Duration wait_;
  const std::string page_listen_;
  const absl::Duration escalate_after_;
  std::unique_ptr<PageReceiver> receiver_;
  std::vector<std::string> channel_ids_;
  std::string last_incident_;
  std::unique_ptr<monitor_v1::MonitorService::Stub> monitor_;
  std::unique_ptr<incident_v1::IncidentService::Stub> incident_;
  std::unique_ptr<cost_v1::CostService::Stub> cost_;
  std::unique_ptr<capacity_v1::CapacityService::Stub> capacity_;
  const std::string producer_;
  uint64_t sequence_;
  const absl::Time start_;
  std::set<std::string> seen_incidents_;
  std::vector<Detection> detections_;
  bool have_latency_rule_ = false;
  std::string budget_id_;
  std::string resource_id_;
};

}  // namespace

int DemoCommand(const Args& args) {
  Command cmd("demo");
  std::string tenant;
  absl::Duration wait = absl::Seconds(60);
  cmd.flags.AddString("tenant", &tenant, "tenant to simulate (default: demo-<time>)");
  std::string page_listen = "127.0.0.1:0";
  absl::Duration escalate_after = absl::Seconds(10);
  cmd.flags.AddDuration("wait", &wait, "how long to wait for each detection");
  cmd.flags.AddString("page_listen", &page_listen,
                      "host:port where the demo receives the pages of its webhook channels "
                      "(the incident service must reach it); empty skips paging");
  cmd.flags.AddDuration("escalate_after", &escalate_after,
                        "delay of the demo policy's second tier (team lead)");
  int code = 0;
  if (!cmd.Parse(args, 0, &code)) return code;
  if (tenant.empty()) tenant = absl::StrCat("demo-", absl::ToUnixSeconds(absl::Now()));
  if (escalate_after <= absl::ZeroDuration()) {
    std::cerr << "agentwatch demo: --escalate_after must be positive\n";
    return 2;
  }
  Demo demo(cmd, tenant, wait, page_listen, escalate_after);
  return demo.Run();
}

}  // namespace agentwatch::cli
