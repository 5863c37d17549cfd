// incident_intake_load: the load generator of bench/incident_intake. Sends
// realistic alert notifications to one of three intakes over several
// concurrent streams (one connection each, one request in flight per stream):
//
//   --mode=grpc          IncidentService.ReportAlerts, --batch alerts per call
//   --mode=webhook       agentwatch's Alertmanager webhook (POST
//                        /api/v1/alerts/alertmanager, payload version 4), one
//                        group notification per request, as Alertmanager sends
//   --mode=alertmanager  Alertmanager's own POST /api/v2/alerts, --batch
//                        alerts per request (what Prometheus does)
//
// The alerts: --groups groups (alertname x service, 20 alert names over as
// many services as needed), each with 8..56 instances (labels alertname,
// service, severity, instance, job, namespace, team; annotations summary,
// description, runbook_url). Every round each instance changes state: a
// firing alert resolves (endsAt 30 s after its start), a resolved one fires
// again with a later startsAt (a refire); instances start in alternating
// states, so every notification mixes firing and resolved alerts and every
// report is new (none is a duplicate). With --change_percent below 100, an
// instance changes state in a round only with that chance (drawn from
// --seed) and is otherwise reported again as it was (same startsAt, and
// endsAt when resolved): what an Alertmanager notification carries, every
// alert of its group, of which only some changed since the last one; those
// repeats are duplicates. Groups are split over the streams (a
// group's notifications leave in order from one stream, as from one
// Alertmanager), rounds go on until --alerts alerts are sent. Everything is
// built before the clock starts; the run only sends.
//
// Prints one JSON line:
//   {"mode":...,"alerts":...,"requests":...,"seconds":...,"alerts_per_s":...,
//    "accepted":...,"duplicates":...,"p50_ms":...,"p99_ms":...,"groups":...,
//    "fingerprints":...}
// Exits 1 when a request fails or (grpc, webhook) an alert is neither accepted
// nor a duplicate (or is a duplicate with --change_percent=100).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "common/config.h"
#include "common/runtime.h"

namespace {

namespace v1 = agentwatch::incident::v1;

struct Options {
  std::string mode = "grpc";
  std::string target = "127.0.0.1:50052";
  std::string tenant = "bench";
  int64_t streams = 8;
  int64_t batch = 1000;
  int64_t alerts = 1'000'000;
  int64_t groups = 300;
  int64_t seed = 1;
  // Distinguishes runs: shifts every startsAt so that a later run against the
  // same service sends new reports.
  int64_t run = 0;
  // The chance, in percent, that an instance changes state in a round.
  int64_t change_percent = 100;
};

constexpr const char* kAlertNames[] = {
    "HighErrorRate",     "HighLatencyP99",   "PodCrashLooping",    "TargetDown",
    "QueueBacklogHigh",  "DiskFillingUp",    "MemoryPressure",     "CPUThrottlingHigh",
    "TokenBudgetBurn",   "LLMTimeoutsHigh",  "ToolCallFailures",   "RateLimited",
    "CertificateExpiry", "ReplicationLag",   "ConnectionPoolFull", "GCPauseLong",
    "ErrorBudgetBurn",   "DeadLetterGrowth", "AgentLoopDetected",  "CacheHitRateLow"};
constexpr const char* kSeverities[] = {"critical", "warning", "error", "info", "warning"};
constexpr const char* kServices[] = {"api",      "gateway", "planner",   "retriever", "writer",
                                     "critic",   "router",  "search",    "billing",   "auth",
                                     "ingest",   "indexer", "scheduler", "notifier",  "vector-db",
                                     "postgres", "redis",   "kafka",     "frontend",  "embedder"};

// One alert instance (a fingerprint) and its identity.
struct Instance {
  std::string fingerprint;
  std::string instance;
  bool first_firing = true;  // its state in round 0
};

struct Group {
  std::string alertname;
  std::string service;
  std::string severity;
  std::string namespace_name;
  std::vector<Instance> instances;
};

// One alert report: an instance's state in one round.
struct Report {
  const Group* group;
  const Instance* instance;
  bool firing;
  absl::Time starts_at;
  absl::Time ends_at;  // resolved only
};

std::string Hex16(uint64_t v) { return absl::StrFormat("%016x", v); }

std::vector<Group> MakeGroups(const Options& o) {
  std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
  std::vector<Group> groups;
  const int64_t names = std::size(kAlertNames);
  for (int64_t g = 0; g < o.groups; ++g) {
    Group group;
    group.alertname = kAlertNames[g % names];
    const int64_t service = g / names;
    group.service = service < static_cast<int64_t>(std::size(kServices))
                        ? kServices[service]
                        : absl::StrCat("svc-", service);
    group.severity = kSeverities[g % names % std::size(kSeverities)];
    group.namespace_name = g % 3 == 0 ? "prod-eu" : (g % 3 == 1 ? "prod-us" : "staging");
    const int64_t count = 8 + static_cast<int64_t>(rng() % 49);
    for (int64_t i = 0; i < count; ++i) {
      Instance instance;
      instance.instance = absl::StrCat("10.", g / 250, ".", g % 250, ".", i + 1, ":9090");
      instance.fingerprint = Hex16(rng());
      instance.first_firing = i % 2 == 0;
      group.instances.push_back(std::move(instance));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// Where an instance stands in its own sequence fire, resolve, fire, ...:
// step s fires (s even) or resolves (s odd) its (s / 2)-th firing. An
// instance that starts resolved starts at step 1 and is not reported until it
// first changes (it has not fired yet).
struct InstanceState {
  int64_t step = 0;
  bool reported = false;  // changed at least once, or started firing
};

// The reports of one group notification in one round: every instance of
// `group` that has fired, each at its step. An instance fires in cycle c
// from base + c minutes and resolves 30 s later.
std::vector<Report> Notification(const Group& group, const std::vector<InstanceState>& states,
                                 absl::Time base) {
  std::vector<Report> out;
  out.reserve(group.instances.size());
  for (size_t i = 0; i < group.instances.size(); ++i) {
    const InstanceState& state = states[i];
    if (!state.reported) continue;  // not yet fired
    const int64_t cycle = state.step / 2;
    Report r{&group, &group.instances[i], state.step % 2 == 0, absl::UnixEpoch(),
             absl::UnixEpoch()};
    r.starts_at = base + absl::Minutes(cycle) + absl::Milliseconds(static_cast<int64_t>(i) * 7);
    r.ends_at = r.starts_at + absl::Seconds(30);
    out.push_back(r);
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

void AppendLabelsJson(std::string* out, const Report& r) {
  absl::StrAppend(out, "{\"alertname\":\"", r.group->alertname, "\",\"service\":\"",
                  r.group->service, "\",\"severity\":\"", r.group->severity, "\",\"instance\":\"",
                  r.instance->instance, "\",\"job\":\"", r.group->service, "\",\"namespace\":\"",
                  r.group->namespace_name, "\",\"team\":\"agents\"}");
}

void AppendAnnotationsJson(std::string* out, const Report& r) {
  absl::StrAppend(out, "{\"summary\":\"", r.group->alertname, " on ", r.group->service,
                  "\",\"description\":\"", r.group->alertname, " on ", r.instance->instance, " of ",
                  r.group->service, " in ", r.group->namespace_name,
                  "\",\"runbook_url\":\"https://runbooks.example.com/", r.group->alertname, "\"}");
}

std::string GeneratorUrl(const Report& r) {
  return absl::StrCat("http://prometheus:9090/graph?g0.expr=", r.group->alertname);
}

// Alertmanager's webhook body (version 4) for one group notification.
std::string WebhookBody(const std::vector<Report>& reports) {
  const Group& g = *reports.front().group;
  bool any_firing = false;
  for (const Report& r : reports) any_firing |= r.firing;
  std::string out;
  out.reserve(reports.size() * 640 + 512);
  absl::StrAppend(&out, "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"", g.alertname,
                  "\\\", service=\\\"", g.service, "\\\"}\",\"truncatedAlerts\":0,\"status\":\"",
                  any_firing ? "firing" : "resolved",
                  "\",\"receiver\":\"agentwatch\",\"groupLabels\":{\"alertname\":\"", g.alertname,
                  "\",\"service\":\"", g.service, "\"},\"commonLabels\":{\"alertname\":\"",
                  g.alertname, "\",\"service\":\"", g.service, "\",\"severity\":\"", g.severity,
                  "\"},\"commonAnnotations\":{},\"externalURL\":\"http://alertmanager:9093\","
                  "\"alerts\":[");
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"status\":\"", r.firing ? "firing" : "resolved",
                    "\",\"labels\":");
    AppendLabelsJson(&out, r);
    out.append(",\"annotations\":");
    AppendAnnotationsJson(&out, r);
    absl::StrAppend(&out, ",\"startsAt\":\"", Rfc3339(r.starts_at), "\",\"endsAt\":\"",
                    r.firing ? "0001-01-01T00:00:00Z" : Rfc3339(r.ends_at),
                    "\",\"generatorURL\":\"", GeneratorUrl(r), "\",\"fingerprint\":\"",
                    r.instance->fingerprint, "\"}");
  }
  out.append("]}");
  return out;
}

// Alertmanager's POST /api/v2/alerts body (postable alerts). A firing alert
// carries no endsAt (Alertmanager then keeps it for its resolve_timeout).
std::string AlertmanagerBody(const std::vector<Report>& reports, size_t begin, size_t end) {
  std::string out = "[";
  out.reserve((end - begin) * 600 + 2);
  for (size_t i = begin; i < end; ++i) {
    const Report& r = reports[i];
    absl::StrAppend(&out, i == begin ? "" : ",", "{\"labels\":");
    AppendLabelsJson(&out, r);
    out.append(",\"annotations\":");
    AppendAnnotationsJson(&out, r);
    absl::StrAppend(&out, ",\"startsAt\":\"", Rfc3339(r.starts_at), "\"");
    if (!r.firing) absl::StrAppend(&out, ",\"endsAt\":\"", Rfc3339(r.ends_at), "\"");
    absl::StrAppend(&out, ",\"generatorURL\":\"", GeneratorUrl(r), "\"}");
  }
  out.push_back(']');
  return out;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  out->set_seconds(micros / 1'000'000);
  out->set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
}

agentwatch::common::v1::Severity WireSeverity(const std::string& severity) {
  if (severity == "critical") return agentwatch::common::v1::SEVERITY_P1;
  if (severity == "error") return agentwatch::common::v1::SEVERITY_P2;
  return agentwatch::common::v1::SEVERITY_P3;
}

void FillAlert(const Report& r, const std::string& tenant, v1::Alert* a) {
  a->set_fingerprint(r.instance->fingerprint);
  a->set_name(r.group->alertname);
  a->set_severity(WireSeverity(r.group->severity));
  a->set_tenant(tenant);
  auto& labels = *a->mutable_labels();
  labels["service"] = r.group->service;
  labels["severity"] = r.group->severity;
  labels["instance"] = r.instance->instance;
  labels["job"] = r.group->service;
  labels["namespace"] = r.group->namespace_name;
  labels["team"] = "agents";
  auto& annotations = *a->mutable_annotations();
  annotations["summary"] = absl::StrCat(r.group->alertname, " on ", r.group->service);
  annotations["description"] =
      absl::StrCat(r.group->alertname, " on ", r.instance->instance, " of ", r.group->service,
                   " in ", r.group->namespace_name);
  annotations["runbook_url"] = absl::StrCat("https://runbooks.example.com/", r.group->alertname);
  SetTime(r.starts_at, a->mutable_starts_at());
  if (!r.firing) SetTime(r.ends_at, a->mutable_ends_at());
  a->set_status(r.firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
  a->set_source("alertmanager");
  a->set_generator_url(GeneratorUrl(r));
}

// A minimal HTTP/1.1 client over one TCP connection, reconnecting when the
// server closes it (civetweb answers "Connection: close").
class HttpClient {
 public:
  HttpClient(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~HttpClient() { Close(); }

  // POSTs `body`; returns the status code and fills `response_body`, or an
  // error text.
  std::optional<std::string> Post(const std::string& path, const std::string& body, int* status,
                                  std::string* response_body) {
    if (fd_ < 0) {
      if (auto error = Connect()) return error;
    }
    std::string request = absl::StrCat(
        "POST ", path, " HTTP/1.1\r\nHost: ", host_, ":", port_,
        "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(), "\r\n\r\n");
    request.append(body);
    if (!SendAll(request)) {
      // A kept-alive connection the server closed meanwhile: once more.
      Close();
      if (auto error = Connect()) return error;
      if (!SendAll(request)) return std::string("send failed");
    }
    std::string data;
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!Receive(&data)) return std::string("connection closed before the response headers");
    }
    const std::string head = data.substr(0, header_end);
    const std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
    const std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
    if (first.size() < 2 || !absl::SimpleAtoi(first[1], status)) {
      return absl::StrCat("bad status line: ", lines[0]);
    }
    size_t length = 0;
    bool close = false;
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::string lower = absl::AsciiStrToLower(lines[i]);
      if (absl::StartsWith(lower, "content-length:")) {
        absl::SimpleAtoi(absl::StripAsciiWhitespace(lower.substr(15)), &length);
      } else if (absl::StartsWith(lower, "connection:") &&
                 lower.find("close") != std::string::npos) {
        close = true;
      }
    }
    while (data.size() < header_end + 4 + length) {
      if (!Receive(&data)) return std::string("connection closed before the response body");
    }
    *response_body = data.substr(header_end + 4, length);
    if (close) Close();
    return std::nullopt;
  }

 private:
  std::optional<std::string> Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return std::string("socket failed");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, host_.c_str(), &address.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      const std::string error =
          absl::StrCat("connect to ", host_, ":", port_, ": ", std::strerror(errno));
      Close();
      return error;
    }
    return std::nullopt;
  }

  bool SendAll(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  bool Receive(std::string* data) {
    char buffer[65536];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    data->append(buffer, static_cast<size_t>(n));
    return true;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
};

// What one stream sends: prepared requests, in order.
struct StreamWork {
  std::vector<v1::ReportAlertsRequest> grpc;
  std::vector<std::string> bodies;
  std::vector<int64_t> sizes;  // alerts per request
};

struct StreamResult {
  int64_t alerts = 0;
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t requests = 0;
  std::vector<double> latencies_ms;
  std::string error;
};

// Counts `"key":N` in an agentwatch webhook answer.
int64_t JsonCount(const std::string& body, const std::string& key) {
  const size_t at = body.find(absl::StrCat("\"", key, "\":"));
  if (at == std::string::npos) return -1;
  int64_t value = 0;
  size_t i = at + key.size() + 3;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9')
    value = value * 10 + (body[i++] - '0');
  return value;
}

}  // namespace

// This process's CPU seconds so far (user + system, all threads).
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  Options o;
  agentwatch::common::FlagSet flags("incident_intake_load");
  flags.AddString("mode", &o.mode, "grpc | webhook | alertmanager");
  flags.AddString("target", &o.target, "host:port (gRPC port, or HTTP port for the others)");
  flags.AddString("tenant", &o.tenant, "tenant of the alerts (grpc, webhook)");
  flags.AddInt("streams", &o.streams, "concurrent client streams", 1, 256);
  flags.AddInt("batch", &o.batch, "alerts per request (grpc, alertmanager)", 1, 10'000);
  flags.AddInt("alerts", &o.alerts, "alerts to send in total (whole notifications)", 1,
               1'000'000'000);
  flags.AddInt("groups", &o.groups, "alert groups (alertname x service)", 1, 100'000);
  flags.AddInt("seed", &o.seed, "random seed", 0, INT64_MAX);
  flags.AddInt("run", &o.run, "run number: shifts every startsAt by run x 1 day", 0, 10'000);
  flags.AddInt("change_percent", &o.change_percent,
               "chance (percent) that an instance changes state in a round; the others are "
               "reported again unchanged (duplicates)",
               0, 100);
  agentwatch::common::ParseFlagsOrExit(flags, argc, argv);
  if (o.mode != "grpc" && o.mode != "webhook" && o.mode != "alertmanager") {
    std::cerr << "incident_intake_load: --mode must be grpc, webhook or alertmanager\n";
    return 2;
  }
  const std::vector<std::string> hostport = absl::StrSplit(o.target, ':');
  int port = 0;
  if (hostport.size() != 2 || !absl::SimpleAtoi(hostport[1], &port)) {
    std::cerr << "incident_intake_load: --target must be host:port\n";
    return 2;
  }

  // Build every request up front, groups dealt round-robin to the streams.
  const std::vector<Group> groups = MakeGroups(o);
  int64_t fingerprints = 0;
  for (const Group& g : groups) fingerprints += static_cast<int64_t>(g.instances.size());
  const absl::Time base = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 60 * 60) -
                          absl::Hours(24 * 40) + absl::Hours(24) * o.run;
  std::vector<StreamWork> work(o.streams);
  std::vector<std::vector<Report>> pending(o.streams);  // grpc/alertmanager batching
  int64_t total = 0;
  std::vector<std::vector<InstanceState>> states(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const Instance& instance : groups[g].instances) {
      states[g].push_back(instance.first_firing ? InstanceState{0, true} : InstanceState{1, false});
    }
  }
  std::mt19937_64 changes(static_cast<uint64_t>(o.seed) * 7919 + 17);
  for (int64_t round = 0; total < o.alerts; ++round) {
    for (size_t g = 0; g < groups.size() && total < o.alerts; ++g) {
      const int64_t s = static_cast<int64_t>(g) % o.streams;
      if (round > 0) {
        for (InstanceState& state : states[g]) {
          if (static_cast<int64_t>(changes() % 100) >= o.change_percent) continue;
          ++state.step;
          state.reported = true;
        }
      }
      std::vector<Report> reports = Notification(groups[g], states[g], base);
      if (reports.empty()) continue;
      total += static_cast<int64_t>(reports.size());
      if (o.mode == "webhook") {
        work[s].bodies.push_back(WebhookBody(reports));
        work[s].sizes.push_back(static_cast<int64_t>(reports.size()));
      } else {
        pending[s].insert(pending[s].end(), reports.begin(), reports.end());
      }
    }
  }
  if (o.mode != "webhook") {
    for (int64_t s = 0; s < o.streams; ++s) {
      const std::vector<Report>& reports = pending[s];
      for (size_t begin = 0; begin < reports.size(); begin += static_cast<size_t>(o.batch)) {
        const size_t end = std::min(reports.size(), begin + static_cast<size_t>(o.batch));
        if (o.mode == "grpc") {
          v1::ReportAlertsRequest request;
          for (size_t i = begin; i < end; ++i)
            FillAlert(reports[i], o.tenant, request.add_alerts());
          work[s].grpc.push_back(std::move(request));
        } else {
          work[s].bodies.push_back(AlertmanagerBody(reports, begin, end));
        }
        work[s].sizes.push_back(static_cast<int64_t>(end - begin));
      }
    }
  }
  pending.clear();

  const std::string webhook_path = absl::StrCat("/api/v1/alerts/alertmanager?tenant=", o.tenant);
  std::vector<StreamResult> results(o.streams);
  // The requests are built above; the timed phase (and its CPU) starts here.
  const double cpu_before = ProcessCpuSeconds();
  const absl::Time started = absl::Now();
  std::vector<std::thread> threads;
  for (int64_t s = 0; s < o.streams; ++s) {
    threads.emplace_back([&, s] {
      StreamResult& result = results[s];
      const StreamWork& mine = work[s];
      result.latencies_ms.reserve(mine.sizes.size());
      if (o.mode == "grpc") {
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
        args.SetInt("agentwatch.bench_stream", static_cast<int>(s));
        args.SetMaxReceiveMessageSize(64 << 20);
        args.SetMaxSendMessageSize(64 << 20);
        auto stub = v1::IncidentService::NewStub(
            grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args));
        for (size_t i = 0; i < mine.grpc.size(); ++i) {
          v1::ReportAlertsResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
          const absl::Time start = absl::Now();
          const grpc::Status status = stub->ReportAlerts(&context, mine.grpc[i], &response);
          result.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
          if (!status.ok()) {
            result.error =
                absl::StrCat("ReportAlerts: ", status.error_code(), " ", status.error_message());
            return;
          }
          result.alerts += mine.sizes[i];
          result.accepted += response.accepted();
          result.duplicates += response.duplicates();
          ++result.requests;
        }
        return;
      }
      HttpClient client(hostport[0], port);
      const std::string path = o.mode == "webhook" ? webhook_path : "/api/v2/alerts";
      for (size_t i = 0; i < mine.bodies.size(); ++i) {
        int status = 0;
        std::string body;
        const absl::Time start = absl::Now();
        if (auto error = client.Post(path, mine.bodies[i], &status, &body)) {
          result.error = *error;
          return;
        }
        result.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        if (status != 200) {
          result.error = absl::StrCat("POST ", path, ": HTTP ", status, " ", body.substr(0, 500));
          return;
        }
        result.alerts += mine.sizes[i];
        if (o.mode == "webhook") {
          result.accepted += JsonCount(body, "accepted");
          result.duplicates += JsonCount(body, "duplicates");
        } else {
          result.accepted += mine.sizes[i];
        }
        ++result.requests;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  const double cpu_seconds = ProcessCpuSeconds() - cpu_before;

  int64_t alerts = 0, accepted = 0, duplicates = 0, requests = 0;
  std::vector<double> latencies;
  for (const StreamResult& r : results) {
    if (!r.error.empty()) {
      std::cerr << "incident_intake_load: " << r.error << "\n";
      return 1;
    }
    alerts += r.alerts;
    accepted += r.accepted;
    duplicates += r.duplicates;
    requests += r.requests;
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  if (accepted + duplicates != alerts || (o.change_percent == 100 && duplicates != 0)) {
    std::cerr << "incident_intake_load: " << accepted << " of " << alerts << " alerts accepted, "
              << duplicates << " duplicates\n";
    return 1;
  }
  std::sort(latencies.begin(), latencies.end());
  auto quantile = [&latencies](double q) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1,
                              static_cast<size_t>(q * static_cast<double>(latencies.size())))];
  };
  std::printf("%s\n",
              absl::StrFormat("{\"mode\":\"%s\",\"alerts\":%d,\"requests\":%d,\"seconds\":%.3f,"
                              "\"alerts_per_s\":%.0f,\"accepted\":%d,\"duplicates\":%d,"
                              "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"groups\":%d,"
                              "\"fingerprints\":%d,\"streams\":%d,\"cpu_seconds\":%.3f}",
                              o.mode, alerts, requests, seconds,
                              static_cast<double>(alerts) / seconds, accepted, duplicates,
                              quantile(0.5), quantile(0.99), o.groups, fingerprints, o.streams,
                              cpu_seconds)
                  .c_str());
  return 0;
}
