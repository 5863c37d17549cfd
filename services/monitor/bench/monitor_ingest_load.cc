// monitor_ingest_load: the load generator of bench/monitor_ingest. Three
// modes, each printing one JSON line on stdout:
//
//  --mode=ingest: sends --events events to MonitorService.Ingest over
//    --streams concurrent producers (one channel, hence one TCP connection,
//    each; producer_id "<run>-<stream>", sequence = batch number, so every
//    batch is idempotent). Each producer keeps --in_flight unary calls
//    outstanding, all started from its one thread with gRPC's callback API
//    (as a telemetry shipper's exporter does with its sending queue), so a
//    producer's sequences may complete out of order. Records each call's
//    latency, then replays the first batch of a producer and checks it is
//    acknowledged as a duplicate and not counted. Prints
//    {"events","samples","seconds","events_per_s","samples_per_s","batches",
//     "ingest_p50_ms","ingest_p99_ms","ingest_max_ms","replay_duplicate"}.
//  --mode=prometheus: the very same events (same seed and templates),
//    expanded to the samples the monitor derives from them (its own
//    SamplesOfEvent), written to a Prometheus remote-write receiver
//    (POST /api/v1/write, snappy-framed protobuf WriteRequest) over
//    --streams x --in_flight concurrent connections, one request in flight
//    each (Prometheus' own remote-write client sends over shards the same
//    way). Each connection owns a share of the series (hash of the series),
//    so every series gets its samples in time order as remote write
//    requires. Prints
//    {"samples","seconds","samples_per_s","requests"}.
//  --mode=rules: creates --watch_rules alert rules per tenant on the
//    ingested workflow_runs_total (equality matchers, never firing) and
//    --watch_slos availability SLOs of one workflow's runs per tenant, so
//    that every Ingest is followed by their evaluation.
//  --mode=alert: creates a threshold alert rule on --target and, --alerts
//    times, ingests one threshold-crossing event and measures the time from
//    the Ingest call to a triggered incident existing in the incident
//    service at --incident (ListIncidents polled back to back), then resolves
//    that incident. Prints {"alerts","alert_p50_ms","alert_p99_ms",
//    "alert_max_ms"}.
// Exits 1 when an RPC or write fails or an acknowledgement is wrong.
//
// Events are those of an agent platform: LLM calls (35 %), agent executions
// (30 %), workflow runs (10 %), resource samples of pods (20 %) and custom
// metrics (5 %) of --tenants tenants, each with 10 workflows of 3 agents and
// 20 components of 10 pods, times within the last minute. Each producer
// prepares --templates realistic batches once and serializes them; every
// ingest call sends one of them as it is (the pre-serialized events behind a
// freshly encoded producer_id and sequence, through a generic stub, so the
// generator spends no CPU building or serializing messages), and every 30 s
// the templates' event times move forward by the time elapsed. The server
// thus parses, validates and aggregates real, varied batches; only the
// client skips the work of producing them.
//  --mode=cpu: no server: times, in this process, what the monitor does with
//    a batch before its commit (read the request's bytes in place, validate,
//    aggregate: PrepareIngestBatchFromWire, as the server's Ingest does;
//    with --wire=false the generated parse onto an arena and
//    PrepareIngestBatch, the server's path for requests the reader declines;
//    with the server's LabelSetCache across batches unless
//    --label_cache=false) over the same templates. With the reader,
//    parse_us_per_event is 0 and prepare_us_per_event holds all of it. With
//    --group=N (and the reader) every N batches are also merged, encoded
//    and copied as a group commit does (MergeGroup, EncodeJournalCells, the
//    cells kept for reads until a flush), timed as group_us_per_event.
//    Prints {"events","parse_us_per_event","prepare_us_per_event",
//     "total_us_per_event","group_us_per_event","rollups_per_batch",
//     "series_per_batch","arena_bytes_per_batch"}.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.grpc.pb.h"
#include "agentwatch/monitor/v1/monitor.grpc.pb.h"
#include "common/config.h"
#include "common/heap.h"
#include "common/runtime.h"
#include "monitor/api/ingest_batch.h"
#include "monitor/api/ingest_wire.h"
#include "monitor/api/proto_mapping.h"
#include "monitor/core/rollup.h"
#include "monitor/core/samples.h"
#include "monitor/store/batch_merge.h"
#include "monitor/store/journal_cells.h"

namespace {

namespace v1 = agentwatch::monitor::v1;
namespace incident_v1 = agentwatch::incident::v1;
namespace common_v1 = agentwatch::common::v1;

struct Options {
  std::string mode = "ingest";
  std::string target = "127.0.0.1:50051";
  std::string prometheus = "127.0.0.1:9090";
  std::string incident = "127.0.0.1:50052";
  int64_t streams = 4;
  int64_t in_flight = 1;  // Ingest calls outstanding per producer
  int64_t batch = 5000;
  int64_t events = 1'000'000;
  int64_t tenants = 4;
  int64_t templates = 8;
  int64_t seed = 1;
  int64_t alerts = 30;
  std::string run = "r";    // producer ids of separate runs differ
  bool label_cache = true;  // mode cpu: a LabelSetCache across batches, as the server
  bool wire = true;         // mode cpu: the wire reader, as the server
  int64_t group = 0;        // mode cpu, wire: batches merged and journaled per group (0: none)
  int64_t watch_rules = 1;  // mode rules: rules per tenant
  int64_t watch_slos = 0;   // mode rules: availability SLOs per tenant
};

constexpr const char* kTeams[] = {"search", "support", "growth", "platform", "research"};
constexpr const char* kWorkflows[] = {"triage",   "answer", "summarize", "classify", "extract",
                                      "research", "draft",  "review",    "route",    "enrich"};
constexpr const char* kAgents[] = {"planner", "retriever", "writer", "critic",
                                   "router",  "extractor", "tool",   "judge"};
struct Model {
  const char* provider;
  const char* name;
};
constexpr Model kModels[] = {{"openai", "gpt-4o-mini"},
                             {"openai", "gpt-4o"},
                             {"anthropic", "claude-haiku-4-5"},
                             {"anthropic", "claude-sonnet-4-5"}};
constexpr const char* kComponents[] = {
    "gateway", "planner-svc", "retriever-svc", "vector-db", "queue",  "worker",    "scheduler",
    "cache",   "tool-runner", "judge-svc",     "router",    "ingest", "embedder",  "reranker",
    "store",   "notifier",    "billing",       "auth",      "search", "summarizer"};
constexpr const char* kCustomMetrics[] = {"tool_calls",    "retrieved_documents", "cache_hit_ratio",
                                          "prompt_chars",  "guardrail_blocks",    "queue_wait_ms",
                                          "context_ratio", "feedback_score",      "handoffs",
                                          "citations"};

std::string Tenant(int64_t i) { return absl::StrCat("bench-tenant-", i); }

void SetDuration(google::protobuf::Duration* d, double seconds) {
  d->set_seconds(static_cast<int64_t>(seconds));
  d->set_nanos(static_cast<int32_t>((seconds - static_cast<double>(d->seconds())) * 1e9));
}

// A template batch of realistic events, times within the minute before `now`.
v1::IngestRequest MakeTemplate(const Options& options, std::mt19937_64& rng, absl::Time now) {
  v1::IngestRequest request;
  auto pick = [&rng](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  auto uniform = [&rng] { return static_cast<double>(rng() % 1'000'000) / 1e6; };
  for (int64_t i = 0; i < options.batch; ++i) {
    v1::Event* e = request.add_events();
    const absl::Time t = now - absl::Milliseconds(pick(60'000));
    e->mutable_time()->set_seconds(absl::ToUnixSeconds(t));
    e->mutable_time()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
    e->set_tenant(Tenant(pick(options.tenants)));
    (*e->mutable_labels())["env"] = "prod";
    const int64_t w = pick(10);
    const char* workflow = kWorkflows[w];
    const char* agent = kAgents[(w + pick(3)) % 8];  // 3 agents per workflow
    const std::string run_id = absl::StrCat("run-", rng() % 100'000'000);
    const int64_t kind = pick(100);
    const bool failed = pick(100) < 3;
    const v1::RunStatus status = failed ? v1::RUN_STATUS_FAILED : v1::RUN_STATUS_SUCCEEDED;
    if (kind < 35) {
      v1::LlmCall* call = e->mutable_llm_call();
      const Model& model = kModels[(w + pick(2)) % 4];  // 2 models per workflow
      call->set_provider(model.provider);
      call->set_model(model.name);
      call->set_workflow(workflow);
      call->set_agent(agent);
      call->set_team(kTeams[w % 5]);
      call->set_run_id(run_id);
      SetDuration(call->mutable_latency(), 0.3 + 4.0 * uniform() * uniform());
      SetDuration(call->mutable_time_to_first_token(), 0.05 + 0.5 * uniform());
      const int64_t input = 200 + pick(20'000);
      call->set_input_tokens(input);
      call->set_output_tokens(20 + pick(2'000));
      if (pick(3) == 0) call->set_cached_input_tokens(pick(input / 2 + 1));
      call->set_status(status);
      if (failed) call->set_error_type(pick(2) == 0 ? "rate_limit" : "timeout");
      call->set_throttled(failed && pick(2) == 0);
    } else if (kind < 65) {
      v1::AgentExecution* execution = e->mutable_agent_execution();
      execution->set_agent(agent);
      execution->set_workflow(workflow);
      execution->set_run_id(run_id);
      execution->set_status(status);
      SetDuration(execution->mutable_duration(), 0.5 + 20.0 * uniform() * uniform());
      execution->set_retries(pick(10) == 0 ? 1 : 0);
    } else if (kind < 75) {
      v1::WorkflowRun* run = e->mutable_workflow_run();
      run->set_workflow(workflow);
      run->set_run_id(run_id);
      run->set_team(kTeams[w % 5]);
      run->set_status(status);
      SetDuration(run->mutable_duration(), 2.0 + 120.0 * uniform() * uniform());
      run->set_step_count(static_cast<int32_t>(1 + pick(12)));
    } else if (kind < 95) {
      v1::ResourceSample* sample = e->mutable_resource_sample();
      const int64_t c = pick(20);
      sample->set_component(kComponents[c]);
      sample->set_pod(absl::StrCat(kComponents[c], "-", pick(10)));
      sample->set_cpu_utilization(0.1 + 0.7 * uniform());
      sample->set_memory_utilization(0.2 + 0.6 * uniform());
      sample->set_queue_depth(pick(200));
      SetDuration(sample->mutable_processing_lag(), 5.0 * uniform());
    } else {
      v1::MetricSample* sample = e->mutable_metric_sample();
      sample->set_name(kCustomMetrics[pick(10)]);
      sample->set_value(100.0 * uniform());
    }
  }
  return request;
}

// The template batches of every stream, the same for every mode.
std::vector<std::vector<v1::IngestRequest>> MakeTemplates(const Options& o, absl::Time now) {
  std::vector<std::vector<v1::IngestRequest>> templates(o.streams);
  for (int64_t s = 0; s < o.streams; ++s) {
    std::mt19937_64 rng(static_cast<uint64_t>(o.seed) * 1000003u + static_cast<uint64_t>(s));
    for (int64_t t = 0; t < o.templates; ++t) templates[s].push_back(MakeTemplate(o, rng, now));
  }
  return templates;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int64_t index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  args.SetInt("agentwatch.bench_stream", static_cast<int>(index));
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

double Quantile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return sorted[i];
}

// The (metric, labels) samples of a batch, as the monitor derives them.
int64_t SampleCount(const v1::IngestRequest& request) {
  int64_t n = 0;
  for (int i = 0; i < request.events_size(); ++i) {
    absl::StatusOr<agentwatch::monitor::Event> event =
        agentwatch::monitor::EventFromProto(request.events(i), static_cast<size_t>(i));
    if (!event.ok()) continue;
    n += static_cast<int64_t>(agentwatch::monitor::SamplesOfEvent(*event).values.size());
  }
  return n;
}

void PutVarint(std::string& out, uint64_t v);

// The wire bytes of an IngestRequest before its events: producer_id (field 1)
// and sequence (field 2), encoded here; the pre-serialized events (field 3
// entries) follow, and a protobuf parser reads the whole as one message.
std::string RequestHeader(const std::string& producer_id, uint64_t sequence) {
  std::string out;
  out.push_back(0x0a);  // field 1, length-delimited
  PutVarint(out, producer_id.size());
  out += producer_id;
  out.push_back(0x10);  // field 2, varint
  PutVarint(out, sequence);
  return out;
}

// One stream's template batches, pre-serialized. Every kRefresh the event
// times move forward by the time elapsed and the bytes are serialized again,
// so that events keep arriving with times within the last 90 s (and the
// rollups roll over to new minutes) however long the run. The bytes of each
// refresh are shared: calls still in flight keep the ones they send alive.
class StreamTemplates {
 public:
  static constexpr absl::Duration kRefresh = absl::Seconds(30);
  using Wire = std::shared_ptr<const std::vector<std::string>>;

  explicit StreamTemplates(std::vector<v1::IngestRequest> templates)
      : templates_(std::move(templates)), refreshed_(absl::Now()) {
    Serialize();
  }

  // The bytes of every template (events only), refreshed when due.
  Wire Events() {
    const absl::Time now = absl::Now();
    if (now - refreshed_ >= kRefresh) {
      const int64_t shift = absl::ToInt64Seconds(now - refreshed_);
      for (v1::IngestRequest& request : templates_) {
        for (v1::Event& event : *request.mutable_events()) {
          event.mutable_time()->set_seconds(event.time().seconds() + shift);
        }
      }
      refreshed_ += absl::Seconds(shift);
      Serialize();
    }
    return wire_;
  }

  const v1::IngestRequest& Template(size_t t) const { return templates_[t]; }

 private:
  void Serialize() {
    auto wire = std::make_shared<std::vector<std::string>>();
    for (const v1::IngestRequest& request : templates_) {
      wire->push_back(request.SerializeAsString());
    }
    wire_ = std::move(wire);
  }

  std::vector<v1::IngestRequest> templates_;
  Wire wire_;
  absl::Time refreshed_;
};

// One Ingest call in flight over a generic stub: the request is the encoded
// header plus the events as a static slice of bytes the call keeps alive (no
// copy, no serialization per call).
struct IngestCall {
  uint64_t sequence = 0;
  int64_t count = 0;
  StreamTemplates::Wire wire;  // keeps the bytes of `events` alive
  std::string partial;         // the last, partial batch's events
  std::string header;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer reply;
  grpc::Status status;
  absl::Time start;
  absl::Time end;
};

// The Ingest calls of one producer: at most `limit` in flight, all started
// from the producer's thread with gRPC's callback API; completions are
// handed back to that thread (Next), which parses and checks them.
class InFlightWindow {
 public:
  explicit InFlightWindow(grpc::GenericStub& stub, int64_t limit) : stub_(stub), limit_(limit) {}

  // Starts `call` (sending `events`, which the call must keep alive).
  void Start(std::unique_ptr<IngestCall> call, absl::string_view events) {
    IngestCall* raw = call.get();
    grpc::Slice slices[2] = {
        grpc::Slice(raw->header),
        grpc::Slice(events.data(), events.size(), grpc::Slice::STATIC_SLICE)};
    raw->request = grpc::ByteBuffer(slices, 2);
    raw->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++outstanding_;
    }
    raw->start = absl::Now();
    stub_.UnaryCall(&raw->context, "/agentwatch.monitor.v1.MonitorService/Ingest",
                    grpc::StubOptions(), &raw->request, &raw->reply,
                    [this, raw](grpc::Status status) {
                      raw->end = absl::Now();
                      raw->status = std::move(status);
                      std::lock_guard<std::mutex> lock(mu_);
                      done_.push_back(raw);
                      cv_.notify_one();
                    });
    started_.push_back(std::move(call));
  }

  // Whether another call may start now.
  bool HasRoom() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_ < limit_;
  }

  // Waits for a completed call and hands it over; nullptr when none is in
  // flight.
  std::unique_ptr<IngestCall> Next() {
    IngestCall* raw = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (outstanding_ == 0) return nullptr;
      cv_.wait(lock, [this] { return !done_.empty(); });
      raw = done_.front();
      done_.pop_front();
      --outstanding_;
    }
    for (auto it = started_.begin(); it != started_.end(); ++it) {
      if (it->get() == raw) {
        std::unique_ptr<IngestCall> call = std::move(*it);
        started_.erase(it);
        return call;
      }
    }
    return nullptr;  // not reached: every completed call was started here
  }

 private:
  grpc::GenericStub& stub_;
  const int64_t limit_;
  std::vector<std::unique_ptr<IngestCall>> started_;  // the producer thread's only
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t outstanding_ = 0;
  std::deque<IngestCall*> done_;
};

int RunIngest(const Options& o) {
  const auto templates = MakeTemplates(o, absl::Now());
  const int64_t total_batches = (o.events + o.batch - 1) / o.batch;
  std::vector<std::vector<int64_t>> template_samples(o.streams);
  for (int64_t s = 0; s < o.streams; ++s) {
    for (const auto& t : templates[s]) template_samples[s].push_back(SampleCount(t));
  }
  struct StreamResult {
    int64_t accepted = 0;
    int64_t samples = 0;
    int64_t batches = 0;
    // The stream's first batch (sequence 1): its template and event count.
    size_t first_template = 0;
    int64_t first_count = 0;
    std::vector<double> latencies_ms;
    std::string error;
  };
  std::vector<StreamResult> results(o.streams);
  std::atomic<int64_t> next_batch{0};
  const absl::Time started = absl::Now();
  std::vector<std::thread> threads;
  for (int64_t s = 0; s < o.streams; ++s) {
    threads.emplace_back([&, s] {
      grpc::GenericStub stub(MakeChannel(o.target, s));
      StreamTemplates wire(templates[s]);
      StreamResult& result = results[s];
      const std::string producer = absl::StrCat(o.run, "-", s);
      InFlightWindow window(stub, o.in_flight);
      int64_t sequence = 0;
      bool more = true;
      while (true) {
        // Start calls until --in_flight are outstanding (none after an error).
        while (more && result.error.empty() && window.HasRoom()) {
          const int64_t b = next_batch.fetch_add(1);
          if (b >= total_batches) {
            more = false;
            break;
          }
          const size_t t = static_cast<size_t>(b % o.templates);
          auto call = std::make_unique<IngestCall>();
          call->wire = wire.Events();
          absl::string_view events = (*call->wire)[t];
          call->count = wire.Template(t).events_size();
          if (b == total_batches - 1 && o.events - b * o.batch < o.batch) {
            // The last, partial batch: the template's first events only.
            v1::IngestRequest request = wire.Template(t);
            call->count = o.events - b * o.batch;
            while (request.events_size() > call->count) request.mutable_events()->RemoveLast();
            result.samples += SampleCount(request);
            call->partial = request.SerializeAsString();
            events = call->partial;
          } else {
            result.samples += template_samples[s][t];
          }
          call->sequence = static_cast<uint64_t>(++sequence);
          call->header = RequestHeader(producer, call->sequence);
          if (call->sequence == 1) {
            result.first_template = t;
            result.first_count = call->count;
          }
          window.Start(std::move(call), events);
        }
        // Then take the next completion, in whatever order they come.
        std::unique_ptr<IngestCall> call = window.Next();
        if (call == nullptr) break;  // nothing in flight and nothing to start
        result.latencies_ms.push_back(absl::ToDoubleMilliseconds(call->end - call->start));
        if (!result.error.empty()) continue;  // draining after an error
        v1::IngestResponse response;
        if (!call->status.ok()) {
          result.error = absl::StrCat("Ingest: ", call->status.error_code(), " ",
                                      call->status.error_message());
          continue;
        }
        if (!grpc::SerializationTraits<v1::IngestResponse>::Deserialize(&call->reply, &response)
                 .ok()) {
          result.error = "unparsable IngestResponse";
          continue;
        }
        if (response.duplicate() || response.accepted() != call->count ||
            response.sequence() != call->sequence) {
          result.error = absl::StrCat("Ingest acknowledged ", response.accepted(), " of ",
                                      call->count, " of sequence ", response.sequence(), " (sent ",
                                      call->sequence, ", duplicate ", response.duplicate(), ")");
          continue;
        }
        result.accepted += response.accepted();
        ++result.batches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);

  int64_t accepted = 0, samples = 0, batches = 0;
  std::vector<double> latencies;
  for (StreamResult& r : results) {
    if (!r.error.empty()) {
      std::cerr << "monitor_ingest_load: " << r.error << "\n";
      return 1;
    }
    accepted += r.accepted;
    samples += r.samples;
    batches += r.batches;
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  if (accepted != o.events) {
    std::cerr << "monitor_ingest_load: " << accepted << " of " << o.events << " accepted\n";
    return 1;
  }
  // A replay of the first batch of the first stream that sent any (with more
  // streams than batches, some send none): acknowledged, not counted again.
  bool replay_duplicate = false;
  {
    size_t s = 0;
    while (results[s].batches == 0) ++s;  // accepted == o.events > 0: one sent
    auto stub = v1::MonitorService::NewStub(MakeChannel(o.target, static_cast<int64_t>(s)));
    v1::IngestRequest request = templates[s][results[s].first_template];
    while (request.events_size() > results[s].first_count) request.mutable_events()->RemoveLast();
    request.set_producer_id(absl::StrCat(o.run, "-", s));
    request.set_sequence(1);
    v1::IngestResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub->Ingest(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "monitor_ingest_load: replay: " << status.error_message() << "\n";
      return 1;
    }
    replay_duplicate = response.duplicate() && response.accepted() == 0;
    if (!replay_duplicate) {
      std::cerr << "monitor_ingest_load: a replayed batch was not acknowledged as a duplicate\n";
      return 1;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "%s\n",
      absl::StrFormat("{\"events\":%d,\"samples\":%d,\"seconds\":%.3f,\"events_per_s\":%.0f,"
                      "\"samples_per_s\":%.0f,\"batches\":%d,\"streams\":%d,\"batch\":%d,"
                      "\"ingest_p50_ms\":%.3f,\"ingest_p99_ms\":%.3f,\"ingest_max_ms\":%.3f,"
                      "\"replay_duplicate\":%s}",
                      accepted, samples, seconds, static_cast<double>(accepted) / seconds,
                      static_cast<double>(samples) / seconds, batches, o.streams, o.batch,
                      Quantile(latencies, 0.5), Quantile(latencies, 0.99),
                      latencies.empty() ? 0.0 : latencies.back(),
                      replay_duplicate ? "true" : "false")
          .c_str());
  return 0;
}

// ---- In-process CPU cost ------------------------------------------------------

// What a group commit does with its batches' aggregates before and after its
// statements (--group): MergeGroup, one EncodeJournalCells per tenant, and
// the copy of each tenant's cells the store keeps for reads until a flush;
// then everything is dropped, as after a flush.
bool MergeAndJournal(const std::vector<agentwatch::monitor::BatchAggregate>& group) {
  using agentwatch::monitor::RollupDelta;
  std::vector<const agentwatch::monitor::BatchAggregate*> batches;
  for (const auto& aggregate : group) batches.push_back(&aggregate);
  agentwatch::monitor::MergedGroup merged;
  if (absl::Status status = agentwatch::monitor::MergeGroup(batches, &merged); !status.ok()) {
    std::cerr << "monitor_ingest_load: " << status << "\n";
    return false;
  }
  std::vector<std::vector<RollupDelta>> pending;
  size_t bytes = 0;
  for (size_t i = 0; i < merged.rollups.size();) {
    size_t j = i;
    while (j < merged.rollups.size() && merged.rollups[j]->tenant == merged.rollups[i]->tenant) {
      ++j;
    }
    const std::vector<const RollupDelta*> cells(
        merged.rollups.begin() + static_cast<std::ptrdiff_t>(i),
        merged.rollups.begin() + static_cast<std::ptrdiff_t>(j));
    bytes += agentwatch::monitor::EncodeJournalCells(cells).size();
    std::vector<RollupDelta>& copies = pending.emplace_back();
    copies.reserve(cells.size());
    for (const RollupDelta* cell : cells) copies.push_back(*cell);
    i = j;
  }
  return bytes > 0 || merged.rollups.empty();
}

int RunCpu(const Options& o) {
  // The events' times are up to a minute before the templates' time; that
  // time is the start of the current minute less 30 s, so the events fall
  // into the same minutes (the same cells per batch) whenever a run starts,
  // and runs of two binaries compare.
  const int64_t minute = absl::ToUnixSeconds(absl::Now()) / 60 * 60;
  const auto templates = MakeTemplates(o, absl::FromUnixSeconds(minute - 30));
  std::vector<std::string> wire;
  for (const auto& stream : templates) {
    for (const v1::IngestRequest& t : stream) wire.push_back(t.SerializeAsString());
  }
  const int64_t total_batches = (o.events + o.batch - 1) / o.batch;
  // The server's allocation: each request on an arena over a reused block,
  // malloc tuned as the server tunes it.
  agentwatch::common::KeepHeapMapped();
  constexpr size_t kBlock = 4 << 20;
  std::unique_ptr<char[]> block(new char[kBlock]);
  std::unique_ptr<agentwatch::monitor::LabelSetCache> label_cache;
  if (o.label_cache) label_cache = std::make_unique<agentwatch::monitor::LabelSetCache>();
  absl::Duration parse, prepare, group_time;
  std::vector<agentwatch::monitor::BatchAggregate> group;  // --group
  int64_t events = 0, rollups = 0, series = 0;
  uint64_t arena_bytes = 0;
  for (int64_t b = 0; b < total_batches; ++b) {
    const std::string& bytes = wire[static_cast<size_t>(b) % wire.size()];
    if (o.wire) {
      // As the ingest mode sends them: the template's events behind a
      // producer_id and sequence (built before the clock starts).
      const std::string request = RequestHeader("cpu", static_cast<uint64_t>(b + 1)) + bytes;
      const absl::Time start = absl::Now();
      agentwatch::monitor::IngestWire header;
      std::optional<agentwatch::monitor::BatchAggregate> aggregate =
          agentwatch::monitor::PrepareIngestBatchFromWire(request, {}, start, label_cache.get(),
                                                          &header);
      prepare += absl::Now() - start;
      if (!aggregate.has_value()) {
        std::cerr << "monitor_ingest_load: the wire reader declined a template batch\n";
        return 1;
      }
      events += aggregate->event_count;
      rollups += static_cast<int64_t>(aggregate->rollups.size());
      series += static_cast<int64_t>(aggregate->series.size());
      if (o.group > 0) {
        group.push_back(std::move(*aggregate));
        if (static_cast<int64_t>(group.size()) == o.group || b + 1 == total_batches) {
          const absl::Time group_start = absl::Now();
          if (!MergeAndJournal(group)) return 1;
          group.clear();
          group_time += absl::Now() - group_start;
        }
      }
      continue;
    }
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = block.get();
    arena_options.initial_block_size = kBlock;
    arena_options.max_block_size = kBlock;
    google::protobuf::Arena arena(arena_options);
    const absl::Time start = absl::Now();
    auto* request = google::protobuf::Arena::CreateMessage<v1::IngestRequest>(&arena);
    if (!request->ParseFromString(bytes)) {
      std::cerr << "monitor_ingest_load: parse failed\n";
      return 1;
    }
    request->set_producer_id("cpu");
    request->set_sequence(static_cast<uint64_t>(b + 1));
    const absl::Time parsed = absl::Now();
    absl::StatusOr<agentwatch::monitor::BatchAggregate> aggregate =
        agentwatch::monitor::PrepareIngestBatch(*request, {}, parsed, nullptr,
                                                label_cache.get());
    prepare += absl::Now() - parsed;
    parse += parsed - start;
    if (!aggregate.ok()) {
      std::cerr << "monitor_ingest_load: " << aggregate.status() << "\n";
      return 1;
    }
    arena_bytes = std::max<uint64_t>(arena_bytes, arena.SpaceUsed());
    events += request->events_size();
    rollups += static_cast<int64_t>(aggregate->rollups.size());
    series += static_cast<int64_t>(aggregate->series.size());
  }
  const double n = static_cast<double>(events);
  std::printf("%s\n", absl::StrFormat("{\"events\":%d,\"parse_us_per_event\":%.3f,"
                                      "\"prepare_us_per_event\":%.3f,\"total_us_per_event\":%.3f,"
                                      "\"group_us_per_event\":%.3f,"
                                      "\"rollups_per_batch\":%.1f,\"series_per_batch\":%.1f,"
                                      "\"arena_bytes_per_batch\":%d}",
                                      events, absl::ToDoubleMicroseconds(parse) / n,
                                      absl::ToDoubleMicroseconds(prepare) / n,
                                      absl::ToDoubleMicroseconds(parse + prepare) / n,
                                      absl::ToDoubleMicroseconds(group_time) / n,
                                      static_cast<double>(rollups) / total_batches,
                                      static_cast<double>(series) / total_batches, arena_bytes)
                          .c_str());
  return 0;
}

// ---- Prometheus remote write -------------------------------------------------

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutTag(std::string& out, int field, int wire_type) {
  PutVarint(out, static_cast<uint64_t>(field << 3 | wire_type));
}

void PutBytes(std::string& out, int field, absl::string_view bytes) {
  PutTag(out, field, 2);
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

// prometheus.Label {name = 1; value = 2} as a field-1 entry of a TimeSeries.
std::string EncodeLabels(const std::string& metric, const agentwatch::monitor::Labels& labels) {
  std::vector<std::pair<std::string, std::string>> sorted(labels.begin(), labels.end());
  sorted.emplace_back("__name__", metric);
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [name, value] : sorted) {
    std::string label;
    PutBytes(label, 1, name);
    PutBytes(label, 2, value);
    PutBytes(out, 1, label);
  }
  return out;
}

// A snappy block (the format remote write uses) holding `data` as literals:
// a valid encoding that the receiver decodes at memcpy speed (this generator
// does not spend CPU compressing).
std::string SnappyLiteralBlock(const std::string& data) {
  std::string out;
  PutVarint(out, data.size());
  constexpr size_t kChunk = 1 << 16;
  for (size_t at = 0; at < data.size(); at += kChunk) {
    const size_t n = std::min(kChunk, data.size() - at);
    const size_t len = n - 1;
    if (len < 60) {
      out.push_back(static_cast<char>(len << 2));
    } else if (len < (1 << 8)) {
      out.push_back(static_cast<char>(60 << 2));
      out.push_back(static_cast<char>(len));
    } else {
      out.push_back(static_cast<char>(61 << 2));
      out.push_back(static_cast<char>(len & 0xff));
      out.push_back(static_cast<char>(len >> 8));
    }
    out.append(data, at, n);
  }
  return out;
}

// One keep-alive HTTP/1.1 connection.
class HttpConnection {
 public:
  explicit HttpConnection(const std::string& address) : address_(address) {}
  ~HttpConnection() {
    if (fd_ >= 0) close(fd_);
  }

  // POSTs `body` to `path`; returns the status code, or -1 on a socket error.
  int Post(const std::string& path, const std::string& body, const std::string& headers,
           std::string* error) {
    if (fd_ < 0 && !Connect(error)) return -1;
    std::string request = absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: ", address_,
                                       "\r\nContent-Length: ", body.size(), "\r\n", headers,
                                       "\r\n");
    request += body;
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        *error = absl::StrCat("send: ", strerror(errno));
        return -1;
      }
      sent += static_cast<size_t>(n);
    }
    std::string response;
    size_t header_end = std::string::npos;
    char buffer[16384];
    while (header_end == std::string::npos) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        *error = "connection closed";
        return -1;
      }
      response.append(buffer, static_cast<size_t>(n));
      header_end = response.find("\r\n\r\n");
    }
    int code = 0;
    if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &code)) {
      *error = "bad response";
      return -1;
    }
    size_t content_length = 0;
    for (absl::string_view line : absl::StrSplit(response.substr(0, header_end), "\r\n")) {
      if (line.size() > 15 && absl::AsciiStrToLower(line.substr(0, 15)) == "content-length:") {
        uint64_t parsed = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &parsed)) {
          content_length = parsed;
        }
      }
    }
    while (response.size() < header_end + 4 + content_length) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        *error = "connection closed";
        return -1;
      }
      response.append(buffer, static_cast<size_t>(n));
    }
    if (code >= 300) *error = response.substr(header_end + 4);
    return code;
  }

 private:
  bool Connect(std::string* error) {
    const size_t colon = address_.rfind(':');
    int port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(address_.substr(colon + 1), &port)) {
      *error = "bad address " + address_;
      return false;
    }
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, address_.substr(0, colon).c_str(), &addr.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      *error = absl::StrCat("connect: ", strerror(errno));
      close(fd_);
      fd_ = -1;
      return false;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return true;
  }

  std::string address_;
  int fd_ = -1;
};

int RunPrometheus(const Options& o) {
  const auto templates = MakeTemplates(o, absl::Now());
  const int64_t connections = o.streams * o.in_flight;  // each owns a share of the series
  // Series interned across templates; each template's samples grouped, per
  // owning stream, by series.
  std::unordered_map<std::string, int64_t> series_ids;
  std::vector<std::string> series_labels;
  struct Chunk {
    int64_t series;
    std::vector<double> values;
  };
  // [stream][template] -> [owner] -> chunks
  std::vector<std::vector<std::vector<std::vector<Chunk>>>> chunks(o.streams);
  std::vector<std::vector<int64_t>> template_events(o.streams);
  for (int64_t s = 0; s < o.streams; ++s) {
    for (const v1::IngestRequest& request : templates[s]) {
      std::vector<std::vector<Chunk>> by_owner(connections);
      std::map<int64_t, std::vector<double>> values;
      for (int i = 0; i < request.events_size(); ++i) {
        absl::StatusOr<agentwatch::monitor::Event> event =
            agentwatch::monitor::EventFromProto(request.events(i), static_cast<size_t>(i));
        if (!event.ok()) {
          std::cerr << "monitor_ingest_load: " << event.status() << "\n";
          return 1;
        }
        const agentwatch::monitor::EventSamples samples = agentwatch::monitor::SamplesOfEvent(*event);
        for (const auto& [metric, value] : samples.values) {
          const std::string key = absl::StrCat(metric, "|", agentwatch::monitor::CanonicalLabelText(samples.labels));
          auto [it, inserted] = series_ids.emplace(key, static_cast<int64_t>(series_labels.size()));
          if (inserted) series_labels.push_back(EncodeLabels(std::string(metric), samples.labels));
          values[it->second].push_back(value);
        }
      }
      for (auto& [series, v] : values) {
        by_owner[static_cast<size_t>(series) % connections].push_back({series, std::move(v)});
      }
      chunks[s].push_back(std::move(by_owner));
      template_events[s].push_back(request.events_size());
    }
  }
  // Batch b uses template (b % streams, (b / streams) % templates): the
  // batches of the ingest mode, as many of them.
  const int64_t total_batches = (o.events + o.batch - 1) / o.batch;
  const int64_t group = connections;  // batches merged into one request per owner
  struct StreamResult {
    int64_t samples = 0;
    int64_t requests = 0;
    std::string error;
  };
  std::vector<StreamResult> results(connections);
  const int64_t base_ms = absl::ToUnixMillis(absl::Now()) - 30 * 60 * 1000;
  const std::string headers =
      "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
      "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: monitor_ingest_load\r\n";
  const absl::Time started = absl::Now();
  std::vector<std::thread> threads;
  for (int64_t owner = 0; owner < connections; ++owner) {
    threads.emplace_back([&, owner] {
      StreamResult& result = results[owner];
      HttpConnection connection(o.prometheus);
      std::vector<int64_t> next_ms(series_labels.size(), base_ms);
      std::string body, series;
      for (int64_t first = 0; first < total_batches; first += group) {
        body.clear();
        for (int64_t b = first; b < std::min(total_batches, first + group); ++b) {
          const int64_t s = b % o.streams;
          const int64_t t = (b / o.streams) % o.templates;
          // The last batch may be partial: only whole templates are sent, the
          // remainder scaled out of the sample total below.
          if (b == total_batches - 1 && o.events - b * o.batch < o.batch) continue;
          for (const Chunk& chunk : chunks[s][t][owner]) {
            series.clear();
            series += series_labels[chunk.series];
            int64_t& ms = next_ms[chunk.series];
            for (double value : chunk.values) {
              std::string sample;
              sample.push_back(0x09);  // field 1, fixed64
              char raw[8];
              std::memcpy(raw, &value, 8);
              sample.append(raw, 8);
              sample.push_back(0x10);  // field 2, varint
              PutVarint(sample, static_cast<uint64_t>(++ms));
              PutBytes(series, 2, sample);
            }
            PutBytes(body, 1, series);
            result.samples += static_cast<int64_t>(chunk.values.size());
          }
        }
        if (body.empty()) continue;
        std::string error;
        const int code = connection.Post("/api/v1/write", SnappyLiteralBlock(body), headers, &error);
        if (code < 200 || code >= 300) {
          result.error = absl::StrCat("remote write: HTTP ", code, ": ", error);
          return;
        }
        ++result.requests;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  int64_t samples = 0, requests = 0;
  for (const StreamResult& r : results) {
    if (!r.error.empty()) {
      std::cerr << "monitor_ingest_load: " << r.error << "\n";
      return 1;
    }
    samples += r.samples;
    requests += r.requests;
  }
  std::printf("%s\n", absl::StrFormat("{\"samples\":%d,\"seconds\":%.3f,\"samples_per_s\":%.0f,"
                                      "\"requests\":%d,\"series\":%d}",
                                      samples, seconds, static_cast<double>(samples) / seconds,
                                      requests, static_cast<int64_t>(series_labels.size()))
                          .c_str());
  return 0;
}

// ---- Rules watching the ingested metrics -----------------------------------

// Creates --watch_rules threshold rules per tenant on the ingested
// workflow_runs_total, selected by equality matchers (status="failed",
// workflow=<one of the workflows>) and grouped by team, with a threshold no
// bench reaches: every batch of a tenant then evaluates them.
int RunRules(const Options& o) {
  auto monitor = v1::MonitorService::NewStub(MakeChannel(o.target, 102));
  for (int64_t t = 0; t < o.tenants; ++t) {
    for (int64_t r = 0; r < o.watch_rules; ++r) {
      v1::CreateAlertRuleRequest request;
      v1::AlertRule* rule = request.mutable_rule();
      rule->set_name(absl::StrCat("BenchWatch", r));
      rule->set_tenant(Tenant(t));
      v1::ThresholdCondition* threshold = rule->mutable_threshold();
      threshold->set_metric("workflow_runs_total");
      common_v1::LabelMatcher* status = threshold->add_matchers();
      status->set_name("status");
      status->set_op(common_v1::MATCH_OP_EQUAL);
      status->set_value("failed");
      common_v1::LabelMatcher* workflow = threshold->add_matchers();
      workflow->set_name("workflow");
      workflow->set_op(common_v1::MATCH_OP_EQUAL);
      workflow->set_value(kWorkflows[r % 10]);
      threshold->set_aggregation(v1::AGGREGATION_SUM);
      threshold->mutable_window()->set_seconds(300);
      threshold->add_group_by("team");
      threshold->set_comparison(v1::COMPARISON_GREATER_THAN);
      threshold->set_threshold(1e12);
      rule->set_severity(common_v1::SEVERITY_P3);
      v1::AlertRule created;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      const grpc::Status done = monitor->CreateAlertRule(&context, request, &created);
      if (!done.ok()) {
        std::cerr << "monitor_ingest_load: CreateAlertRule: " << done.error_message() << "\n";
        return 1;
      }
    }
  }
  // Availability SLOs of one workflow's runs each: every batch of the
  // tenant then evaluates their burn rates (QuerySteps over 6 h of minutes).
  for (int64_t t = 0; t < o.tenants; ++t) {
    for (int64_t r = 0; r < o.watch_slos; ++r) {
      v1::CreateSloRequest request;
      v1::Slo* slo = request.mutable_slo();
      slo->set_name(absl::StrCat("BenchSlo", r));
      slo->mutable_scope()->set_tenant(Tenant(t));
      slo->mutable_scope()->set_workflow(kWorkflows[r % 10]);
      slo->set_subject(v1::SLO_SUBJECT_WORKFLOW_RUNS);
      slo->set_sli_kind(v1::SLI_KIND_AVAILABILITY);
      slo->set_objective(0.5);
      v1::Slo created;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      const grpc::Status done = monitor->CreateSlo(&context, request, &created);
      if (!done.ok()) {
        std::cerr << "monitor_ingest_load: CreateSlo: " << done.error_message() << "\n";
        return 1;
      }
    }
  }
  std::cout << absl::StrFormat("{\"rules\":%d,\"slos\":%d}\n", o.tenants * o.watch_rules,
                               o.tenants * o.watch_slos);
  return 0;
}

// ---- Alert latency -----------------------------------------------------------

int RunAlert(const Options& o) {
  auto monitor = v1::MonitorService::NewStub(MakeChannel(o.target, 100));
  auto incident = incident_v1::IncidentService::NewStub(MakeChannel(o.incident, 101));
  const std::string tenant = absl::StrCat("bench-alert-", o.run);
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };
  {
    v1::CreateAlertRuleRequest request;
    v1::AlertRule* rule = request.mutable_rule();
    rule->set_name("BenchProbeHigh");
    rule->set_tenant(tenant);
    v1::ThresholdCondition* threshold = rule->mutable_threshold();
    threshold->set_metric("bench_probe");
    threshold->set_aggregation(v1::AGGREGATION_MAX);
    threshold->mutable_window()->set_seconds(60);
    threshold->add_group_by("probe");
    threshold->set_comparison(v1::COMPARISON_GREATER_THAN);
    threshold->set_threshold(100);
    rule->set_severity(common_v1::SEVERITY_P2);
    (*rule->mutable_labels())["service"] = "bench";
    v1::AlertRule created;
    grpc::ClientContext context;
    context.set_deadline(deadline());
    const grpc::Status status = monitor->CreateAlertRule(&context, request, &created);
    if (!status.ok()) {
      std::cerr << "monitor_ingest_load: CreateAlertRule: " << status.error_message() << "\n";
      return 1;
    }
  }
  std::vector<double> latencies;
  for (int64_t i = 0; i < o.alerts; ++i) {
    v1::IngestRequest request;
    request.set_producer_id(absl::StrCat(o.run, "-alert"));
    request.set_sequence(static_cast<uint64_t>(i + 1));
    v1::Event* event = request.add_events();
    const absl::Time now = absl::Now();
    event->mutable_time()->set_seconds(absl::ToUnixSeconds(now));
    event->set_tenant(tenant);
    (*event->mutable_labels())["probe"] = absl::StrCat("p", i);
    event->mutable_metric_sample()->set_name("bench_probe");
    event->mutable_metric_sample()->set_value(1000);
    const absl::Time start = absl::Now();
    {
      v1::IngestResponse response;
      grpc::ClientContext context;
      context.set_deadline(deadline());
      const grpc::Status status = monitor->Ingest(&context, request, &response);
      if (!status.ok() || response.accepted() != 1) {
        std::cerr << "monitor_ingest_load: alert Ingest: " << status.error_message() << "\n";
        return 1;
      }
    }
    std::string incident_id;
    while (incident_id.empty()) {
      if (absl::Now() - start > absl::Seconds(30)) {
        std::cerr << "monitor_ingest_load: no incident 30 s after alert " << i << "\n";
        return 1;
      }
      incident_v1::ListIncidentsRequest list;
      list.set_tenant(tenant);
      list.add_statuses(incident_v1::INCIDENT_STATUS_TRIGGERED);
      incident_v1::ListIncidentsResponse listed;
      grpc::ClientContext context;
      context.set_deadline(deadline());
      const grpc::Status status = incident->ListIncidents(&context, list, &listed);
      if (!status.ok()) {
        std::cerr << "monitor_ingest_load: ListIncidents: " << status.error_message() << "\n";
        return 1;
      }
      if (listed.incidents_size() > 0) incident_id = listed.incidents(0).id();
    }
    latencies.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    incident_v1::ResolveIncidentRequest resolve;
    resolve.set_id(incident_id);
    resolve.set_actor("bench");
    resolve.set_request_id(absl::StrCat(o.run, "-resolve-", i));
    incident_v1::Incident resolved;
    grpc::ClientContext context;
    context.set_deadline(deadline());
    const grpc::Status status = incident->ResolveIncident(&context, resolve, &resolved);
    if (!status.ok()) {
      std::cerr << "monitor_ingest_load: ResolveIncident: " << status.error_message() << "\n";
      return 1;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("%s\n", absl::StrFormat("{\"alerts\":%d,\"alert_p50_ms\":%.3f,\"alert_p99_ms\":%.3f,"
                                      "\"alert_max_ms\":%.3f}",
                                      static_cast<int64_t>(latencies.size()),
                                      Quantile(latencies, 0.5), Quantile(latencies, 0.99),
                                      latencies.back())
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  agentwatch::common::FlagSet flags("monitor_ingest_load");
  flags.AddString("mode", &o.mode, "ingest, prometheus or alert");
  flags.AddString("target", &o.target, "monitor service gRPC address");
  flags.AddString("prometheus", &o.prometheus, "Prometheus host:port (mode prometheus)");
  flags.AddString("incident", &o.incident, "incident service gRPC address (mode alert)");
  flags.AddInt("streams", &o.streams, "concurrent producers / connections", 1, 256);
  flags.AddInt("in_flight", &o.in_flight,
               "Ingest calls outstanding per producer (mode ingest); connections per producer "
               "(mode prometheus)",
               1, 64);
  flags.AddInt("batch", &o.batch, "events per Ingest call", 1, 10'000);
  flags.AddInt("events", &o.events, "events to send in total", 1, 1'000'000'000);
  flags.AddInt("tenants", &o.tenants, "tenants the events are spread over", 1, 1000);
  flags.AddInt("templates", &o.templates, "template batches per producer", 1, 1000);
  flags.AddInt("seed", &o.seed, "random seed", 0, INT64_MAX);
  flags.AddInt("alerts", &o.alerts, "alert round trips to measure (mode alert)", 1, 100000);
  flags.AddString("run", &o.run, "prefix of the producer ids (unique per run)");
  flags.AddBool("label_cache", &o.label_cache,
                "mode cpu: keep canonical label sets across batches (LabelSetCache), as the "
                "server does");
  flags.AddInt("group", &o.group,
               "mode cpu with --wire: also merge every this many batches and encode and copy "
               "their cells as a group commit does (MergeGroup, EncodeJournalCells, the cells "
               "kept until a flush); 0: not",
               0, 64);
  flags.AddBool("wire", &o.wire,
                "mode cpu: read the requests' bytes in place (PrepareIngestBatchFromWire), as "
                "the server does; false: the generated parse and PrepareIngestBatch");
  flags.AddInt("watch_rules", &o.watch_rules, "mode rules: alert rules per tenant", 0, 100);
  flags.AddInt("watch_slos", &o.watch_slos, "mode rules: availability SLOs per tenant", 0, 100);
  agentwatch::common::ParseFlagsOrExit(flags, argc, argv);
  if (o.mode == "ingest") return RunIngest(o);
  if (o.mode == "rules") return RunRules(o);
  if (o.mode == "prometheus") return RunPrometheus(o);
  if (o.mode == "alert") return RunAlert(o);
  if (o.mode == "cpu") return RunCpu(o);
  std::cerr << "monitor_ingest_load: --mode must be ingest, prometheus, alert, rules or cpu\n";
  return 2;
}
