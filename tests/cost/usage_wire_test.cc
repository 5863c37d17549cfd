// UsageRecordsFromWire (RecordUsage's records straight from the request's
// bytes) against the generated parser plus UsageRecordFromProto: whenever
// the wire path accepts a request, it must give exactly the records the
// generated path gives; it must accept the common encodings (or it would
// never be used) and decline everything it does not decide alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agentwatch/cost/v1/cost.pb.h"
#include "cost/api/convert.h"
#include "cost/core/usage.h"

namespace agentwatch::cost {
namespace {

namespace pb = agentwatch::cost::v1;

// Every field of a record, so that a difference anywhere shows.
std::string Describe(const UsageRecord& r) {
  std::string tags;
  for (const auto& [k, v] : r.scope.tags) absl::StrAppend(&tags, k, "=", v, ";");
  return absl::StrCat(
      "id=", r.record_id, " time=", absl::FormatTime(r.time), " tenant=", r.scope.tenant,
      " team=", r.scope.team, " workflow=", r.scope.workflow, " agent=", r.scope.agent,
      " model=", r.scope.model, " provider=", r.scope.provider, " service=", r.scope.service,
      " tags=", tags, " run=", r.run_id,
      " ok=", r.run_succeeded.has_value() ? (*r.run_succeeded ? "1" : "0") : "-",
      " kind=", UsageKindName(r.kind), " in=", r.tokens.input, " out=", r.tokens.output,
      " cached=", r.tokens.cached_input, " creation=", r.tokens.cache_creation,
      " requests=", r.requests, " resource=", InfraResourceName(r.infra_resource),
      " qty=", r.infra_quantity_milli, " sku=", r.infra_sku,
      " client=", r.client_cost_nano_usd.has_value() ? absl::StrCat(*r.client_cost_nano_usd) : "-");
}

// The generated path: parse, then convert every record (nullopt-like false
// when the request does not parse or a record is invalid).
bool GeneratedPath(const std::string& bytes, std::vector<UsageRecord>* out) {
  pb::RecordUsageRequest request;
  if (!request.ParseFromString(bytes)) return false;
  if (request.records_size() == 0 || request.records_size() > kMaxRecordsPerBatch) return false;
  out->assign(static_cast<size_t>(request.records_size()), UsageRecord());
  for (int i = 0; i < request.records_size(); ++i) {
    if (!UsageRecordFromProto(request.records(i), i, &(*out)[static_cast<size_t>(i)]).ok()) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> Described(const std::vector<UsageRecord>& records) {
  std::vector<std::string> out;
  for (const UsageRecord& r : records) out.push_back(Describe(r));
  return out;
}

// The property: the wire path accepts only what the generated path accepts,
// and then with the same records. Returns whether the wire path accepted.
bool CheckAgainstGenerated(const std::string& bytes) {
  std::vector<UsageRecord> wire;
  const bool accepted = UsageRecordsFromWire(bytes, &wire);
  if (!accepted) return false;
  std::vector<UsageRecord> generated;
  EXPECT_TRUE(GeneratedPath(bytes, &generated)) << "accepted what the generated path rejects";
  EXPECT_EQ(Described(wire), Described(generated));
  return true;
}

pb::UsageRecord* AddLlm(pb::RecordUsageRequest* request, const std::string& id) {
  pb::UsageRecord* r = request->add_records();
  r->set_record_id(id);
  r->mutable_time()->set_seconds(1'780'000'000);
  r->mutable_time()->set_nanos(123'456'789);
  r->mutable_scope()->set_tenant("acme");
  r->mutable_llm()->set_provider("openai");
  r->mutable_llm()->set_model("gpt-4o");
  r->mutable_llm()->set_input_tokens(1000);
  r->mutable_llm()->set_output_tokens(200);
  return r;
}

// A batch with every kind of record and every field set somewhere.
pb::RecordUsageRequest VariedBatch() {
  pb::RecordUsageRequest request;
  AddLlm(&request, "plain");
  {
    pb::UsageRecord* r = AddLlm(&request, "full-llm");
    auto* s = r->mutable_scope();
    s->set_team("search");
    s->set_workflow("triage");
    s->set_agent("planner");
    s->set_provider("openai");
    s->set_model("openai/gpt-4o");  // catalog spelling: "gpt-4o"
    s->set_service("api");
    (*s->mutable_tags())["env"] = "prod";
    (*s->mutable_tags())["region"] = "eu-west-1";
    (*s->mutable_tags())["z_empty"] = "";
    r->set_run_id("run-1");
    r->set_run_succeeded(false);
    r->mutable_llm()->set_model("openai/gpt-4o");
    r->mutable_llm()->set_cached_input_tokens(300);
    r->mutable_llm()->set_cache_creation_tokens(7);
    r->mutable_llm()->set_requests(3);
  }
  {
    pb::UsageRecord* r = AddLlm(&request, "client-priced-and-large");
    r->set_client_cost_nano_usd(std::numeric_limits<int64_t>::max());
    r->mutable_llm()->set_provider("anthropic");
    r->mutable_llm()->set_model("claude-3-haiku-20240307");
    r->mutable_llm()->set_input_tokens(std::numeric_limits<int64_t>::max());
    r->mutable_llm()->set_output_tokens(0);
    r->mutable_llm()->set_requests(0);                // counts as 1
    r->mutable_time()->set_seconds(-62'135'596'800);  // 0001-01-01
    r->mutable_time()->set_nanos(0);
  }
  {
    pb::UsageRecord* r = request.add_records();
    r->set_record_id(std::string(kMaxRecordIdBytes, 'x'));
    r->mutable_time()->set_seconds(253'402'300'799);  // 9999-12-31T23:59:59
    r->mutable_time()->set_nanos(999'999'999);
    r->mutable_scope()->set_tenant("acme");
    r->mutable_scope()->set_provider("aws");
    r->mutable_scope()->set_model("m5.large");
    r->mutable_infra()->set_resource(pb::INFRA_RESOURCE_MEMORY_GIB_HOURS);
    r->mutable_infra()->set_quantity(1'500);
    r->mutable_infra()->set_unit("gib_hours");
    r->mutable_infra()->set_sku("r6g");
    r->set_client_cost_nano_usd(0);
  }
  {
    pb::UsageRecord* r = request.add_records();
    r->set_record_id("infra-bare");
    r->mutable_time();  // present, all zero: 1970-01-01
    r->mutable_scope()->set_tenant("globex");
    r->mutable_infra()->set_resource(pb::INFRA_RESOURCE_EXTERNAL_API_CALLS);
  }
  {
    pb::UsageRecord* r = request.add_records();
    r->set_record_id("outcome");
    r->mutable_time()->set_seconds(1'780'000'100);
    r->mutable_scope()->set_tenant("acme");
    r->mutable_scope()->set_workflow("triage");
    r->set_run_id("run-1");
    r->set_run_succeeded(true);
  }
  AddLlm(&request, "plain");  // a repeat inside the batch stays a record
  return request;
}

TEST(UsageRecordsFromWireTest, VariedBatchGivesTheGeneratedPathsRecords) {
  const std::string bytes = VariedBatch().SerializeAsString();
  std::vector<UsageRecord> wire, generated;
  ASSERT_TRUE(UsageRecordsFromWire(bytes, &wire));
  ASSERT_TRUE(GeneratedPath(bytes, &generated));
  ASSERT_EQ(wire.size(), 7u);
  EXPECT_EQ(Described(wire), Described(generated));
  // A few values spelled out, so that both paths being wrong alike shows too.
  EXPECT_EQ(wire[1].scope.model, "gpt-4o");
  EXPECT_EQ(wire[1].scope.tags.size(), 3u);
  EXPECT_EQ(wire[1].scope.tags.at("region"), "eu-west-1");
  EXPECT_EQ(wire[1].run_succeeded, std::optional<bool>(false));
  EXPECT_EQ(wire[2].requests, 1);
  EXPECT_EQ(wire[2].client_cost_nano_usd, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(wire[0].time, absl::FromUnixMicros(1'780'000'000'123'456));
  EXPECT_EQ(wire[3].kind, UsageKind::kInfra);
  EXPECT_EQ(wire[3].infra_resource, InfraResource::kMemoryGibHours);
  EXPECT_EQ(wire[3].infra_quantity_milli, 1'500);
  EXPECT_EQ(wire[4].time, absl::UnixEpoch());
  EXPECT_EQ(wire[5].kind, UsageKind::kOutcome);
  EXPECT_EQ(wire[5].run_succeeded, std::optional<bool>(true));
}

TEST(UsageRecordsFromWireTest, DeclinesInvalidRecordsAndBatchSizes) {
  auto declined = [](const pb::RecordUsageRequest& request) {
    std::vector<UsageRecord> out;
    return !UsageRecordsFromWire(request.SerializeAsString(), &out);
  };
  EXPECT_TRUE(declined(pb::RecordUsageRequest()));  // no record
  pb::RecordUsageRequest too_many;
  for (int i = 0; i <= kMaxRecordsPerBatch; ++i) AddLlm(&too_many, absl::StrCat("r", i));
  EXPECT_TRUE(declined(too_many));
  too_many.mutable_records()->RemoveLast();
  EXPECT_FALSE(declined(too_many));  // exactly the maximum

  auto with = [](auto change) {
    pb::RecordUsageRequest request = VariedBatch();
    change(request.mutable_records(3));
    return request;
  };
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->clear_record_id(); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->clear_time(); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->mutable_time()->set_nanos(-1); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->mutable_scope()->clear_tenant(); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->set_client_cost_nano_usd(-1); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->mutable_infra()->set_unit("calls"); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) { r->mutable_infra()->clear_resource(); })));
  EXPECT_TRUE(declined(with([](pb::UsageRecord* r) {
    r->mutable_llm()->set_provider("openai");
    r->mutable_llm()->set_input_tokens(-1);
  })));
  EXPECT_TRUE(declined(
      with([](pb::UsageRecord* r) { (*r->mutable_scope()->mutable_tags())["not a key"] = "v"; })));
  // At most kMaxTags tags (the reader stops at the first one over, however
  // many follow).
  for (const int tags : {kMaxTags, kMaxTags + 1, 100'000}) {
    pb::RecordUsageRequest request = VariedBatch();
    auto* map = request.mutable_records(0)->mutable_scope()->mutable_tags();
    for (int t = 0; t < tags; ++t) (*map)[absl::StrCat("k", t)] = "v";
    EXPECT_EQ(declined(request), tags > kMaxTags) << tags;
  }
}

// Encodings the generated parser reads in its own way (last one wins,
// merged sub-messages, unknown fields, UTF-8 checks): declined, so that the
// generated path decides. Each starts from a valid record's bytes.
TEST(UsageRecordsFromWireTest, DeclinesEncodingsOutsideItsSubset) {
  pb::RecordUsageRequest one;
  AddLlm(&one, "r1")->clear_scope();
  const std::string base = one.records(0).SerializeAsString();
  const std::string acme(
      "\x0a\x04"
      "acme",
      6);  // Scope.tenant
  const std::string scope_acme = std::string("\x1a\x06", 2) + acme;
  auto request_of = [](const std::string& record_bytes) {
    // field 1, length-delimited, a one-byte length
    return std::string("\x0a", 1) + static_cast<char>(record_bytes.size()) + record_bytes;
  };
  const std::string record = base + scope_acme;
  std::vector<UsageRecord> out;
  ASSERT_TRUE(UsageRecordsFromWire(request_of(record), &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].scope.tenant, "acme");
  // A tag entry and two distinct ones are read.
  const std::string tag_kv("\x42\x06\x0a\x01k\x12\x01v", 8);
  const std::string tag_jw("\x42\x06\x0a\x01j\x12\x01w", 8);
  ASSERT_TRUE(UsageRecordsFromWire(
      request_of(base + std::string("\x1a\x16", 2) + acme + tag_kv + tag_jw), &out));
  EXPECT_EQ(out[0].scope.tags, (std::map<std::string, std::string>{{"j", "w"}, {"k", "v"}}));

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"record_id twice (the last wins)", record + std::string("\x0a\x02r2", 4)},
      {"scope twice (merged)", record + std::string("\x1a\x04\x12\x02t2", 6)},
      {"time twice (merged)", record + std::string("\x12\x02\x08\x01", 4)},
      {"llm twice (merged)", record + std::string("\x32\x02\x18\x05", 4)},
      {"llm then infra (the last wins)", record + std::string("\x3a\x02\x08\x01", 4)},
      {"an unknown field", record + std::string("\x48\x01", 2)},
      {"a known field with another wire type", record + std::string("\x20\x01", 2)},
      {"a non-ASCII string", record + std::string("\x22\x02\xc3\xa9", 4)},
      {"invalid UTF-8", record + std::string("\x22\x01\xff", 3)},
      {"a tag entry without its value",
       base + std::string("\x1a\x0b", 2) + acme + std::string("\x42\x03\x0a\x01k", 5)},
      {"a repeated tag key (the last wins)", base + std::string("\x1a\x16", 2) + acme + tag_kv +
                                                 std::string("\x42\x06\x0a\x01k\x12\x01w", 8)},
      {"a truncated record", record.substr(0, record.size() - 1)},
  };
  for (const auto& [name, bytes] : cases) {
    EXPECT_FALSE(UsageRecordsFromWire(request_of(bytes), &out)) << name;
  }
  // The generated path reads those it can parse its own way: the repeated
  // record_id as "r2", the repeated tag key as its last value.
  std::vector<UsageRecord> generated;
  ASSERT_TRUE(GeneratedPath(request_of(cases[0].second), &generated));
  EXPECT_EQ(generated[0].record_id, "r2");
  ASSERT_TRUE(GeneratedPath(request_of(cases[10].second), &generated));
  EXPECT_EQ(generated[0].scope.tags.at("k"), "w");
}

// Random batches from small pools of values (valid, invalid, empty,
// non-ASCII), then the same bytes with random corruption: the wire path
// never accepts what the generated path does not give identically, and
// accepts every valid ASCII batch.
TEST(UsageRecordsFromWireTest, RandomBatchesAndCorruptionsAgreeWithTheGeneratedPath) {
  std::mt19937_64 rng(20261127);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> texts = {"",
                                          "acme",
                                          "globex",
                                          "openai",
                                          "anthropic",
                                          "gpt-4o",
                                          "openai/gpt-4o-mini",
                                          "claude-3-haiku-20240307",
                                          "a-string-longer-than-the-inline-buffer",
                                          "caf\xc3\xa9",
                                          std::string(kMaxScopeValueBytes + 1, 'v')};
  const std::vector<int64_t> numbers = {0,
                                        1,
                                        7,
                                        -1,
                                        1'000'000,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};
  const std::vector<std::string> ascii_texts = {"", "acme", "search", "gpt-4o",
                                                "a-string-longer-than-the-inline-buffer"};
  const std::vector<std::string> units = {"", "vcpu_seconds", "gib_hours", "gib_hours", "calls"};
  int accepted = 0, valid_ascii = 0, corrupted_accepted = 0;
  for (int round = 0; round < 1000; ++round) {
    // Most rounds valid records (with ASCII or other strings); every fourth
    // round anything from the pools, mostly invalid somewhere.
    const bool wild = round % 4 == 0;
    const std::vector<std::string>& pool = round % 4 == 1 ? texts : ascii_texts;
    auto text = [&] { return wild ? texts[pick(texts.size())] : pool[pick(pool.size())]; };
    auto number = [&](int64_t valid) { return wild ? numbers[pick(numbers.size())] : valid; };
    pb::RecordUsageRequest request;
    const int n = 1 + static_cast<int>(pick(20));
    for (int i = 0; i < n; ++i) {
      pb::UsageRecord* r = request.add_records();
      if (!wild || pick(20) != 0) r->set_record_id(absl::StrCat("rec-", round, "-", i));
      if (!wild || pick(20) != 0) {
        r->mutable_time()->set_seconds(1'700'000'000 + static_cast<int64_t>(pick(100'000)));
        r->mutable_time()->set_nanos(static_cast<int32_t>(pick(1'000'000'000)));
      }
      auto* s = r->mutable_scope();
      if (!wild || pick(20) != 0) s->set_tenant(pick(2) ? "acme" : "globex");
      if (pick(2)) s->set_team(text());
      if (pick(3) == 0) s->set_workflow(text());
      if (pick(3) == 0) s->set_agent(text());
      if (pick(4) == 0) s->set_service(text());
      for (size_t t = pick(4); t > 0; --t) {
        const std::vector<std::string> keys = {"env", "region", "team_2", "bad key", ""};
        (*s->mutable_tags())[keys[pick(wild ? keys.size() : 3)]] = text();
      }
      if (pick(2)) r->set_run_id(absl::StrCat("run-", pick(5)));
      if (pick(4) == 0) r->set_run_succeeded(pick(2) == 0);
      if (pick(6) == 0) r->set_client_cost_nano_usd(number(static_cast<int64_t>(pick(1'000'000))));
      switch (pick(4)) {
        case 0:  // outcome only (valid with run_succeeded and run_id)
          if (!wild) {
            r->set_run_id("run-0");
            r->set_run_succeeded(pick(2) == 0);
          }
          if (pick(2)) s->set_provider(text());
          if (pick(2)) s->set_model(text());
          break;
        case 1: {
          auto* infra = r->mutable_infra();
          const size_t resource = wild ? pick(6) : 1 + pick(4);
          infra->set_resource(static_cast<pb::InfraResource>(resource));
          infra->set_quantity(number(static_cast<int64_t>(pick(10'000))));
          if (wild || pick(2)) {
            infra->set_unit(units[wild ? pick(units.size()) : resource]);
          }
          if (pick(2)) infra->set_sku(text());
          if (pick(2)) s->set_provider(text());
          if (pick(2)) s->set_model(text());
          break;
        }
        default: {
          auto* llm = r->mutable_llm();
          const std::string provider = pick(2) ? "openai" : "anthropic";
          const std::string model = texts[5 + pick(3)];
          if (!wild || pick(15) != 0) llm->set_provider(provider);
          if (!wild || pick(15) != 0) llm->set_model(model);
          if (pick(3) == 0) s->set_provider(wild ? text() : provider);
          if (pick(3) == 0) s->set_model(wild ? text() : model);
          const int64_t input = static_cast<int64_t>(pick(10'000));
          llm->set_input_tokens(pick(10) == 0 ? number(input) : input);
          llm->set_output_tokens(static_cast<int64_t>(pick(2'000)));
          if (pick(3) == 0) llm->set_cached_input_tokens(static_cast<int64_t>(pick(100)));
          if (pick(5) == 0) llm->set_cache_creation_tokens(static_cast<int64_t>(pick(100)));
          if (pick(3) == 0) llm->set_requests(number(static_cast<int64_t>(pick(3))));
          break;
        }
      }
    }
    const std::string bytes = request.SerializeAsString();
    std::vector<UsageRecord> generated;
    const bool generated_ok = GeneratedPath(bytes, &generated);
    const bool ascii = bytes.find_first_of(std::string("\xc3", 1)) == std::string::npos;
    const bool wire_ok = CheckAgainstGenerated(bytes);
    if (wire_ok) ++accepted;
    if (generated_ok && ascii) {
      ++valid_ascii;
      EXPECT_TRUE(wire_ok) << "a valid ASCII batch declined, round " << round;
    }
    for (int c = 0; c < 20; ++c) {
      std::string corrupt = bytes;
      switch (pick(3)) {
        case 0:
          corrupt[pick(corrupt.size())] = static_cast<char>(rng());
          break;
        case 1:
          corrupt.resize(pick(corrupt.size()));
          break;
        default:
          corrupt.insert(pick(corrupt.size() + 1), 1, static_cast<char>(rng()));
          break;
      }
      if (CheckAgainstGenerated(corrupt)) ++corrupted_accepted;
    }
  }
  // Enough of each for the comparisons above to mean something.
  EXPECT_GT(valid_ascii, 100);
  EXPECT_GT(accepted, 100);
  EXPECT_GT(corrupted_accepted, 250);
}

}  // namespace
}  // namespace agentwatch::cost
