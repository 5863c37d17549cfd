// cost_ingest_load: the load generator of bench/cost_ingest. Sends usage
// records to CostService.RecordUsage over several concurrent client streams
// (one channel, hence one TCP connection, per stream; one batch in flight
// per stream), while one more stream calls CheckBudget at a steady rate
// (--check_rate per second, as an agent platform asking before its calls)
// and records each call's latency. Prints one JSON line:
//   {"records":...,"seconds":...,"records_per_s":...,"batches":...,
//    "check_budget_calls":...,"check_budget_p50_ms":...,
//    "check_budget_p99_ms":...,"check_budget_max_ms":...}
// Exits 1 when an RPC fails or a record is not newly accepted.
//
// With --check_only the process sends no usage: it waits for a first line
// on stdin, then calls CheckBudget at --check_rate until stdin closes, and
// prints the same JSON line (records 0). bench/cost_ingest runs it beside a
// loader started with --check_budget=false, so that the checks, like an
// agent platform's, do not share a process (and its gRPC threads) with the
// usage senders.
//
// Records are LLM calls of `--tenants` tenants over teams, workflows, agents
// and four catalog models, with varied token counts (some cached), run ids
// and a tag. The generator stands for agent platforms on other machines, so
// it keeps its own CPU off the two cores the service measures on: before the
// timed phase it builds and serializes every batch (a few template batches,
// records renamed with unique ids; about 150 bytes of memory per record),
// then sends the prepared bytes (gRPC's generic stub, no copy) and parses
// only the answers. With --wait_for_go it prints "ready" once the batches
// are built and starts sending on the first line of stdin, so that a
// bench's CheckBudget caller starts with the load, not during the building.
// The JSON line also holds "cpu_seconds", this process's CPU over the timed
// phase only, and "cpu_seconds_total", over its whole life.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agentwatch/cost/v1/cost.grpc.pb.h"
#include "common/config.h"
#include "common/runtime.h"

namespace {

namespace v1 = agentwatch::cost::v1;

struct Options {
  std::string target = "127.0.0.1:50054";
  int64_t streams = 4;
  int64_t batch = 1000;
  int64_t records = 1'000'000;
  int64_t tenants = 4;
  int64_t templates = 8;
  int64_t seed = 1;
  bool check_budget = true;
  bool check_only = false;
  bool wait_for_go = false;
  int64_t check_rate = 1000;
  std::string run = "r";  // distinguishes the record ids of separate runs
  std::string ids = "sequence";  // "sequence": <run>-<batch>-<i>; "uuid": random UUIDv4 text
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
                             {"openai", "gpt-4.1-mini"},
                             {"anthropic", "claude-3-haiku-20240307"}};

std::string Tenant(int64_t i) { return absl::StrCat("bench-tenant-", i); }

// A random version-4 UUID in its 36-character text form, as agent platforms
// name their calls (LiteLLM's call id is one): the ledger's key then
// arrives in no order at all, unlike the sequence ids.
std::string RandomUuid(std::mt19937_64& rng) {
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};                   // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);        // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFull);
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A template batch: realistic records, times spread over the last hour.
v1::RecordUsageRequest MakeTemplate(const Options& options, std::mt19937_64& rng, absl::Time now) {
  v1::RecordUsageRequest request;
  auto pick = [&rng](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  std::string run_id;
  for (int64_t i = 0; i < options.batch; ++i) {
    v1::UsageRecord* r = request.add_records();
    const absl::Time t = now - absl::Seconds(pick(3600));
    r->mutable_time()->set_seconds(absl::ToUnixSeconds(t));
    agentwatch::common::v1::Scope* s = r->mutable_scope();
    s->set_tenant(Tenant(pick(options.tenants)));
    s->set_team(kTeams[pick(5)]);
    s->set_workflow(kWorkflows[pick(10)]);
    s->set_agent(kAgents[pick(8)]);
    (*s->mutable_tags())["env"] = pick(10) == 0 ? "staging" : "prod";
    if (i % 8 == 0) run_id = absl::StrCat("run-", rng());
    r->set_run_id(run_id);
    const Model& m = kModels[pick(4)];
    v1::LlmUsage* llm = r->mutable_llm();
    llm->set_provider(m.provider);
    llm->set_model(m.name);
    const int64_t input = 200 + pick(20'000);
    llm->set_input_tokens(input);
    llm->set_output_tokens(20 + pick(2'000));
    if (pick(3) == 0) llm->set_cached_input_tokens(pick(input / 2 + 1));
    llm->set_requests(1);
  }
  return request;
}

struct StreamResult {
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t batches = 0;
  std::string error;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  agentwatch::common::FlagSet flags("cost_ingest_load");
  flags.AddString("target", &o.target, "cost service gRPC address");
  flags.AddInt("streams", &o.streams, "concurrent RecordUsage client streams", 1, 256);
  flags.AddInt("batch", &o.batch, "records per RecordUsage call", 1, 10'000);
  flags.AddInt("records", &o.records, "records to send in total", 1, 1'000'000'000);
  flags.AddInt("tenants", &o.tenants, "tenants the records are spread over", 1, 1000);
  flags.AddInt("templates", &o.templates, "template batches per stream", 1, 1000);
  flags.AddInt("seed", &o.seed, "random seed", 0, INT64_MAX);
  flags.AddBool("check_budget", &o.check_budget, "measure CheckBudget latency under the load");
  flags.AddInt("check_rate", &o.check_rate, "CheckBudget calls per second", 1, 1'000'000);
  flags.AddBool("check_only", &o.check_only,
                "send no usage: CheckBudget from the first stdin line until stdin closes");
  flags.AddString("run", &o.run, "prefix of the record ids (unique per run)");
  flags.AddString("ids", &o.ids,
                  "record ids: \"sequence\" (<run>-<batch>-<i>) or \"uuid\" (random UUIDv4 text)");
  flags.AddBool("wait_for_go", &o.wait_for_go,
                "print \"ready\" once the batches are built, send from the first stdin line");
  agentwatch::common::ParseFlagsOrExit(flags, argc, argv);
  if (o.ids != "sequence" && o.ids != "uuid") {
    std::cerr << "cost_ingest_load: --ids must be \"sequence\" or \"uuid\", not \"" << o.ids
              << "\"\n";
    return 2;
  }

  if (o.check_only) {
    o.check_budget = true;
    o.streams = 0;
    o.records = 0;
  }
  const absl::Time now = absl::Now();
  const int64_t total_batches = (o.records + o.batch - 1) / o.batch;
  // Every batch, serialized before the timed phase: batch b is template
  // b % (streams * templates) with records named "<run>-<b>-<i>" (or random
  // UUIDs with --ids=uuid).
  std::vector<std::string> prepared(static_cast<size_t>(total_batches));
  {
    std::vector<v1::RecordUsageRequest> templates;
    for (int64_t s = 0; s < o.streams; ++s) {
      std::mt19937_64 rng(static_cast<uint64_t>(o.seed) * 1000003u + static_cast<uint64_t>(s));
      for (int64_t t = 0; t < o.templates; ++t) templates.push_back(MakeTemplate(o, rng, now));
    }
    std::mt19937_64 id_rng(static_cast<uint64_t>(o.seed) * 7919u + std::hash<std::string>{}(o.run));
    for (int64_t b = 0; b < total_batches; ++b) {
      v1::RecordUsageRequest& request = templates[static_cast<size_t>(b) % templates.size()];
      const int64_t count = std::min(o.batch, o.records - b * o.batch);
      while (request.records_size() > count) request.mutable_records()->RemoveLast();
      for (int64_t i = 0; i < count; ++i) {
        request.mutable_records(static_cast<int>(i))
            ->set_record_id(o.ids == "uuid" ? RandomUuid(id_rng)
                                            : absl::StrCat(o.run, "-", b, "-", i));
      }
      if (!request.SerializeToString(&prepared[static_cast<size_t>(b)])) {
        std::cerr << "cost_ingest_load: cannot serialize batch " << b << "\n";
        return 1;
      }
    }
  }
  auto make_channel = [&o](int64_t index) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetInt("agentwatch.bench_stream", static_cast<int>(index));
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    return grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args);
  };

  std::atomic<int64_t> next_batch{0};
  std::atomic<bool> done{false};
  std::vector<StreamResult> results(o.streams);
  std::vector<double> latencies_ms;
  std::string check_error;
  std::thread checker;
  if (o.check_only || o.wait_for_go) {
    if (o.wait_for_go) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
    std::string line;
    std::getline(std::cin, line);  // the bench's "start"
  }
  const double cpu_started = CpuSeconds();
  if (o.check_budget) {
    checker = std::thread([&] {
      auto stub = v1::CostService::NewStub(make_channel(-1));
      std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
      const auto interval = std::chrono::nanoseconds(1'000'000'000 / o.check_rate);
      auto next = std::chrono::steady_clock::now();
      while (!done.load()) {
        next += interval;
        std::this_thread::sleep_until(next);
        v1::CheckBudgetRequest request;
        request.mutable_scope()->set_tenant(Tenant(static_cast<int64_t>(rng() % o.tenants)));
        request.mutable_scope()->set_team(kTeams[rng() % 5]);
        request.mutable_scope()->set_workflow(kWorkflows[rng() % 10]);
        (*request.mutable_scope()->mutable_tags())["env"] = "prod";
        request.set_estimated_cost_nano_usd(1'000'000);
        v1::CheckBudgetResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        const absl::Time start = absl::Now();
        const grpc::Status status = stub->CheckBudget(&context, request, &response);
        const absl::Duration took = absl::Now() - start;
        if (!status.ok()) {
          check_error = absl::StrCat("CheckBudget: ", status.error_message());
          return;
        }
        latencies_ms.push_back(absl::ToDoubleMilliseconds(took));
      }
    });
  }

  const absl::Time started = absl::Now();
  std::vector<std::thread> streams;
  for (int64_t s = 0; s < o.streams; ++s) {
    streams.emplace_back([&, s] {
      grpc::GenericStub stub(make_channel(s));
      grpc::CompletionQueue queue;
      StreamResult& result = results[s];
      for (int64_t b = next_batch.fetch_add(1); b < total_batches; b = next_batch.fetch_add(1)) {
        const std::string& bytes = prepared[static_cast<size_t>(b)];
        grpc::Slice slice(bytes.data(), bytes.size(), grpc::Slice::STATIC_SLICE);
        const grpc::ByteBuffer request(&slice, 1);
        grpc::ByteBuffer reply;
        grpc::Status status;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
        auto call = stub.PrepareUnaryCall(&context, "/agentwatch.cost.v1.CostService/RecordUsage",
                                          request, &queue);
        call->StartCall();
        call->Finish(&reply, &status, &result);
        void* tag = nullptr;
        bool ok = false;
        if (!queue.Next(&tag, &ok) || tag != &result || !ok) {
          result.error = "RecordUsage: the completion queue failed";
          return;
        }
        if (!status.ok()) {
          result.error =
              absl::StrCat("RecordUsage: ", status.error_code(), " ", status.error_message());
          return;
        }
        std::vector<grpc::Slice> slices;
        std::string reply_bytes;
        if (!reply.Dump(&slices).ok()) {
          result.error = "RecordUsage: the answer cannot be read";
          return;
        }
        for (const grpc::Slice& piece : slices) {
          reply_bytes.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
        }
        v1::RecordUsageResponse response;
        if (!response.ParseFromString(reply_bytes)) {
          result.error = "RecordUsage: the answer does not parse";
          return;
        }
        result.accepted += response.accepted();
        result.duplicates += response.duplicates();
        ++result.batches;
      }
    });
  }
  for (std::thread& t : streams) t.join();
  if (o.check_only) {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
  }
  const absl::Duration elapsed = absl::Now() - started;
  const double cpu_timed = CpuSeconds() - cpu_started;
  done = true;
  if (checker.joinable()) checker.join();

  int64_t accepted = 0, duplicates = 0, batches = 0;
  for (const StreamResult& r : results) {
    if (!r.error.empty()) {
      std::cerr << "cost_ingest_load: " << r.error << "\n";
      return 1;
    }
    accepted += r.accepted;
    duplicates += r.duplicates;
    batches += r.batches;
  }
  if (!check_error.empty()) {
    std::cerr << "cost_ingest_load: " << check_error << "\n";
    return 1;
  }
  if (!o.check_only && (accepted != o.records || duplicates != 0)) {
    std::cerr << "cost_ingest_load: " << accepted << " of " << o.records << " records accepted, "
              << duplicates << " duplicates\n";
    return 1;
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto quantile = [&latencies_ms](double q) {
    if (latencies_ms.empty()) return 0.0;
    const size_t i = std::min(latencies_ms.size() - 1,
                              static_cast<size_t>(q * static_cast<double>(latencies_ms.size())));
    return latencies_ms[i];
  };
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::printf("%s\n",
              absl::StrFormat(
                  "{\"records\":%d,\"seconds\":%.3f,\"records_per_s\":%.0f,\"batches\":%d,"
                  "\"streams\":%d,\"batch\":%d,\"check_budget_calls\":%d,"
                  "\"check_budget_p50_ms\":%.3f,\"check_budget_p99_ms\":%.3f,"
                  "\"check_budget_max_ms\":%.3f,\"cpu_seconds\":%.3f,"
                  "\"cpu_seconds_total\":%.3f}",
                  accepted, seconds, static_cast<double>(accepted) / seconds, batches, o.streams,
                  o.batch, static_cast<int64_t>(latencies_ms.size()), quantile(0.5), quantile(0.99),
                  latencies_ms.empty() ? 0.0 : latencies_ms.back(), cpu_timed, CpuSeconds())
                  .c_str());
  return 0;
}
