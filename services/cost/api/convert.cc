#include "cost/api/convert.h"

#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_wire.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

// Timestamp's valid range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr size_t kMaxRequestIdBytes = 256;

std::optional<InfraResource> InfraFromProto(v1::InfraResource resource) {
  switch (resource) {
    case v1::INFRA_RESOURCE_COMPUTE_SECONDS:
      return InfraResource::kComputeSeconds;
    case v1::INFRA_RESOURCE_MEMORY_GIB_HOURS:
      return InfraResource::kMemoryGibHours;
    case v1::INFRA_RESOURCE_STORAGE_GIB_HOURS:
      return InfraResource::kStorageGibHours;
    case v1::INFRA_RESOURCE_EXTERNAL_API_CALLS:
      return InfraResource::kExternalApiCalls;
    default:
      return std::nullopt;
  }
}

std::optional<Dimension> DimensionFromProto(int value) {
  switch (value) {
    case v1::DIMENSION_TENANT:
      return Dimension::kTenant;
    case v1::DIMENSION_TEAM:
      return Dimension::kTeam;
    case v1::DIMENSION_WORKFLOW:
      return Dimension::kWorkflow;
    case v1::DIMENSION_AGENT:
      return Dimension::kAgent;
    case v1::DIMENSION_MODEL:
      return Dimension::kModel;
    case v1::DIMENSION_PROVIDER:
      return Dimension::kProvider;
    case v1::DIMENSION_SERVICE:
      return Dimension::kService;
    case v1::DIMENSION_TAG:
      return Dimension::kTag;
    default:
      return std::nullopt;
  }
}

void PricesToProto(const TokenPrices& p, int64_t* input, int64_t* output, int64_t* cache_read,
                   int64_t* cache_creation) {
  *input = p.input;
  *output = p.output;
  *cache_read = p.cache_read;
  *cache_creation = p.cache_creation;
}

void AssignView(std::string* out, absl::string_view value) {
  out->assign(value.data(), value.size());
}

// Fills a scope field from the LLM usage, or checks they agree.
absl::Status FillFromLlm(std::string* scope_value, absl::string_view llm_value,
                         const std::string& prefix, absl::string_view name) {
  if (llm_value.empty()) return InvalidField(absl::StrCat(prefix, ".llm.", name), "required");
  if (scope_value->empty()) {
    AssignView(scope_value, llm_value);
  } else if (*scope_value != llm_value) {
    return InvalidField(
        absl::StrCat(prefix, ".scope.", name),
        absl::StrCat("'", *scope_value, "' differs from llm.", name, " '", llm_value, "'"));
  }
  return absl::OkStatus();
}

// ScopeFromProto into `out` (whose fields are empty) without the model,
// which the caller sets once its provider is final. `ScopeMessage` is the
// generated Scope or WireScope (below), which reads the same fields.
template <typename ScopeMessage>
void ScopeWithoutModelFromProto(const ScopeMessage& scope, Scope* out) {
  AssignView(&out->tenant, scope.tenant());
  AssignView(&out->team, scope.team());
  AssignView(&out->workflow, scope.workflow());
  AssignView(&out->agent, scope.agent());
  AssignView(&out->provider, scope.provider());
  AssignView(&out->service, scope.service());
  for (const auto& [key, value] : scope.tags()) {
    out->tags.emplace(std::piecewise_construct, std::forward_as_tuple(key.data(), key.size()),
                      std::forward_as_tuple(value.data(), value.size()));
  }
}

}  // namespace

namespace {

// TimeFromProto of a Timestamp's two fields.
absl::StatusOr<absl::Time> TimeFromSecondsNanos(int64_t seconds, int32_t nanos,
                                                absl::string_view field) {
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
      nanos > 999'999'999) {
    return InvalidField(field, "not a valid timestamp");
  }
  return absl::FromUnixMicros(seconds * 1'000'000 + nanos / 1000);
}

}  // namespace

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& timestamp,
                                         absl::string_view field) {
  return TimeFromSecondsNanos(timestamp.seconds(), timestamp.nanos(), field);
}

void TimeToProto(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

void DurationToProto(absl::Duration duration, google::protobuf::Duration* out) {
  absl::Duration remainder;
  out->set_seconds(absl::IDivDuration(duration, absl::Seconds(1), &remainder));
  out->set_nanos(static_cast<int32_t>(remainder / absl::Nanoseconds(1)));
}

Scope ScopeFromProto(const agentwatch::common::v1::Scope& scope) {
  Scope out;
  ScopeWithoutModelFromProto(scope, &out);
  out.model = CanonicalModel(scope.provider(), scope.model());
  return out;
}

void ScopeToProto(const Scope& scope, agentwatch::common::v1::Scope* out) {
  out->set_tenant(scope.tenant);
  out->set_team(scope.team);
  out->set_workflow(scope.workflow);
  out->set_agent(scope.agent);
  out->set_model(scope.model);
  out->set_provider(scope.provider);
  out->set_service(scope.service);
  for (const auto& [key, value] : scope.tags) (*out->mutable_tags())[key] = value;
}

namespace {

// UsageRecordFromProto into `out` (a default-constructed record) with the
// fields of errors named under `prefix`. Fills `out` in place: a batch's
// records are converted straight into their vector, with no temporary
// record and no copy of a string the record does not keep. `Message` is the
// generated v1::UsageRecord or WireUsageRecord (UsageRecordsFromWire), whose
// accessors have the same names and meaning: one conversion for both.
template <typename Message>
absl::Status ConvertUsageRecord(const Message& record, const std::string& prefix,
                                UsageRecord* out) {
  AssignView(&out->record_id, record.record_id());
  if (!record.has_time()) return InvalidField(absl::StrCat(prefix, ".time"), "required");
  // (The field name only matters in the second, error-naming pass.)
  ASSIGN_OR_RETURN(out->time, TimeFromSecondsNanos(
                                  record.time().seconds(), record.time().nanos(),
                                  prefix.empty() ? std::string() : absl::StrCat(prefix, ".time")));
  const auto& scope = record.scope();
  ScopeWithoutModelFromProto(scope, &out->scope);
  AssignView(&out->run_id, record.run_id());
  if (record.has_run_succeeded()) out->run_succeeded = record.run_succeeded();
  if (record.has_client_cost_nano_usd()) out->client_cost_nano_usd = record.client_cost_nano_usd();
  switch (record.kind_case()) {
    case v1::UsageRecord::kLlm: {
      const auto& llm = record.llm();
      out->kind = UsageKind::kLlm;
      RETURN_IF_ERROR(FillFromLlm(&out->scope.provider, llm.provider(), prefix, "provider"));
      // Compare and store models in catalog spelling, with the final provider.
      const std::string& provider = out->scope.provider;
      AssignView(&out->scope.model, CanonicalModelView(provider, scope.model()));
      RETURN_IF_ERROR(FillFromLlm(&out->scope.model, CanonicalModelView(provider, llm.model()),
                                  prefix, "model"));
      out->tokens.input = llm.input_tokens();
      out->tokens.output = llm.output_tokens();
      out->tokens.cached_input = llm.cached_input_tokens();
      out->tokens.cache_creation = llm.cache_creation_tokens();
      out->requests = llm.requests() == 0 ? 1 : llm.requests();
      break;
    }
    case v1::UsageRecord::kInfra: {
      const auto& infra = record.infra();
      out->kind = UsageKind::kInfra;
      AssignView(&out->scope.model, CanonicalModelView(scope.provider(), scope.model()));
      std::optional<InfraResource> resource = InfraFromProto(infra.resource());
      if (!resource.has_value()) {
        return InvalidField(absl::StrCat(prefix, ".infra.resource"), "required");
      }
      out->infra_resource = *resource;
      if (!infra.unit().empty() && infra.unit() != InfraResourceUnit(*resource)) {
        return InvalidField(absl::StrCat(prefix, ".infra.unit"),
                            absl::StrCat("must be '", InfraResourceUnit(*resource), "' for ",
                                         v1::InfraResource_Name(infra.resource())));
      }
      out->infra_quantity_milli = infra.quantity();
      AssignView(&out->infra_sku, infra.sku());
      break;
    }
    case v1::UsageRecord::KIND_NOT_SET:
      out->kind = UsageKind::kOutcome;
      AssignView(&out->scope.model, CanonicalModelView(scope.provider(), scope.model()));
      break;
  }
  return ValidateUsageRecord(*out, prefix);
}

}  // namespace

absl::Status UsageRecordFromProto(const v1::UsageRecord& record, int index, UsageRecord* out) {
  // The field prefix is only built for an error: the record is converted
  // again with it (the conversion is deterministic), so a valid record costs
  // no string building for names it never needs.
  absl::Status status = ConvertUsageRecord(record, std::string(), out);
  if (status.ok()) return status;
  *out = UsageRecord();
  return ConvertUsageRecord(record, absl::StrCat("records[", index, "]"), out);
}

absl::StatusOr<UsageRecord> UsageRecordFromProto(const v1::UsageRecord& record, int index) {
  UsageRecord out;
  RETURN_IF_ERROR(UsageRecordFromProto(record, index, &out));
  return out;
}

namespace {

// --- RecordUsageRequest straight from its wire bytes ------------------------
//
// Views of one record's fields in the request's bytes, with the accessors of
// the generated messages that ConvertUsageRecord reads (same names, types
// that convert alike). Filled by WireReader below only from bytes the
// generated parser would read into the very same values.

struct WireTimestamp {
  int64_t seconds_ = 0;
  int32_t nanos_ = 0;
  int64_t seconds() const { return seconds_; }
  int32_t nanos() const { return nanos_; }
};

struct WireScope {
  absl::string_view fields_[7];  // tenant, team, workflow, agent, model, provider, service
  std::vector<std::pair<absl::string_view, absl::string_view>> tags_;
  absl::string_view tenant() const { return fields_[0]; }
  absl::string_view team() const { return fields_[1]; }
  absl::string_view workflow() const { return fields_[2]; }
  absl::string_view agent() const { return fields_[3]; }
  absl::string_view model() const { return fields_[4]; }
  absl::string_view provider() const { return fields_[5]; }
  absl::string_view service() const { return fields_[6]; }
  const std::vector<std::pair<absl::string_view, absl::string_view>>& tags() const { return tags_; }
};

struct WireLlm {
  absl::string_view provider_, model_;
  int64_t values_[5] = {0, 0, 0, 0, 0};  // input, output, cached input, cache creation, requests
  absl::string_view provider() const { return provider_; }
  absl::string_view model() const { return model_; }
  int64_t input_tokens() const { return values_[0]; }
  int64_t output_tokens() const { return values_[1]; }
  int64_t cached_input_tokens() const { return values_[2]; }
  int64_t cache_creation_tokens() const { return values_[3]; }
  int64_t requests() const { return values_[4]; }
};

struct WireInfra {
  int32_t resource_ = 0;
  int64_t quantity_ = 0;
  absl::string_view unit_, sku_;
  v1::InfraResource resource() const { return static_cast<v1::InfraResource>(resource_); }
  int64_t quantity() const { return quantity_; }
  absl::string_view unit() const { return unit_; }
  absl::string_view sku() const { return sku_; }
};

struct WireUsageRecord {
  absl::string_view record_id_, run_id_;
  bool has_time_ = false;
  WireTimestamp time_;
  WireScope scope_;
  bool has_run_succeeded_ = false, run_succeeded_ = false;
  v1::UsageRecord::KindCase kind_case_ = v1::UsageRecord::KIND_NOT_SET;
  WireLlm llm_;
  WireInfra infra_;
  bool has_client_cost_ = false;
  int64_t client_cost_ = 0;

  absl::string_view record_id() const { return record_id_; }
  bool has_time() const { return has_time_; }
  const WireTimestamp& time() const { return time_; }
  const WireScope& scope() const { return scope_; }
  absl::string_view run_id() const { return run_id_; }
  bool has_run_succeeded() const { return has_run_succeeded_; }
  bool run_succeeded() const { return run_succeeded_; }
  v1::UsageRecord::KindCase kind_case() const { return kind_case_; }
  const WireLlm& llm() const { return llm_; }
  const WireInfra& infra() const { return infra_; }
  bool has_client_cost_nano_usd() const { return has_client_cost_; }
  int64_t client_cost_nano_usd() const { return client_cost_; }
};

// The readers below (over common::wire::Reader, shared with monitor's Ingest
// reader) accept only an unambiguous subset of the wire format: every field
// known, with its declared wire type, at most once per message (no
// merging of repeated sub-messages, no last-one-wins), map entries with
// exactly one key and one value, no repeated tag key, strings of ASCII bytes
// only (valid UTF-8, so the generated parser's check passes), varints of at
// most 10 bytes that fit the field as the generated parser reads them. A
// false return means "not in the subset" (or malformed): the caller then
// parses with the generated code, which decides.
using WireReader = common::wire::Reader;
using common::wire::FirstTime;
using common::wire::kLength;
using common::wire::kVarint;

bool ReadTimestamp(absl::string_view bytes, WireTimestamp* out) {
  return common::wire::ReadSecondsNanos(bytes, &out->seconds_, &out->nanos_);
}

bool ReadTag(absl::string_view bytes, WireScope* out) {
  WireReader r(bytes);
  absl::string_view kv[2];
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || type != kLength || field < 1 || field > 2 ||
        !FirstTime(&seen, field) || !r.String(&kv[field - 1])) {
      return false;
    }
  }
  if (seen != 6) return false;  // both the key and the value, once each
  // More tags than a valid scope holds: declined before the repeated-key
  // check below (quadratic in the count) could grow.
  if (out->tags_.size() >= static_cast<size_t>(kMaxTags)) return false;
  for (const auto& [key, value] : out->tags_) {
    if (key == kv[0]) return false;  // a repeated key: the generated map keeps the last
  }
  out->tags_.emplace_back(kv[0], kv[1]);
  return true;
}

bool ReadScope(absl::string_view bytes, WireScope* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || type != kLength || field < 1 || field > 8) return false;
    if (field == 8) {
      absl::string_view entry;
      if (!r.Bytes(&entry) || !ReadTag(entry, out)) return false;
      continue;
    }
    if (!FirstTime(&seen, field) || !r.String(&out->fields_[field - 1])) return false;
  }
  return true;
}

bool ReadLlm(absl::string_view bytes, WireLlm* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field < 1 || field > 7 || !FirstTime(&seen, field)) return false;
    if (field <= 2) {
      if (type != kLength || !r.String(field == 1 ? &out->provider_ : &out->model_)) return false;
    } else {
      uint64_t v = 0;
      if (type != kVarint || !r.Varint(&v)) return false;
      out->values_[field - 3] = static_cast<int64_t>(v);
    }
  }
  return true;
}

bool ReadInfra(absl::string_view bytes, WireInfra* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field < 1 || field > 4 || !FirstTime(&seen, field)) return false;
    if (field <= 2) {
      uint64_t v = 0;
      if (type != kVarint || !r.Varint(&v)) return false;
      if (field == 1) {
        if (v > 0x7fffffffu) return false;  // a negative or truncated enum value
        out->resource_ = static_cast<int32_t>(v);
      } else {
        out->quantity_ = static_cast<int64_t>(v);
      }
    } else if (type != kLength || !r.String(field == 3 ? &out->unit_ : &out->sku_)) {
      return false;
    }
  }
  return true;
}

bool ReadUsageRecord(absl::string_view bytes, WireUsageRecord* out) {
  WireReader r(bytes);
  uint32_t seen = 0;
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    if (!r.Tag(&field, &type) || field < 1 || field > 8 || !FirstTime(&seen, field)) return false;
    if (field == 5 || field == 8) {
      uint64_t v = 0;
      if (type != kVarint || !r.Varint(&v)) return false;
      if (field == 5) {
        out->has_run_succeeded_ = true;
        out->run_succeeded_ = v != 0;
      } else {
        out->has_client_cost_ = true;
        out->client_cost_ = static_cast<int64_t>(v);
      }
      continue;
    }
    if (type != kLength) return false;
    absl::string_view value;
    switch (field) {
      case 1:
        if (!r.String(&out->record_id_)) return false;
        break;
      case 4:
        if (!r.String(&out->run_id_)) return false;
        break;
      case 2:
        out->has_time_ = true;
        if (!r.Bytes(&value) || !ReadTimestamp(value, &out->time_)) return false;
        break;
      case 3:
        if (!r.Bytes(&value) || !ReadScope(value, &out->scope_)) return false;
        break;
      case 6:
      case 7:
        // One of the oneof's members only (with both, the last would win).
        if (out->kind_case_ != v1::UsageRecord::KIND_NOT_SET) return false;
        if (!r.Bytes(&value)) return false;
        if (field == 6) {
          out->kind_case_ = v1::UsageRecord::kLlm;
          if (!ReadLlm(value, &out->llm_)) return false;
        } else {
          out->kind_case_ = v1::UsageRecord::kInfra;
          if (!ReadInfra(value, &out->infra_)) return false;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

bool UsageRecordsFromWire(absl::string_view request, std::vector<UsageRecord>* out) {
  out->clear();
  // The records' bytes first (their count sizes the vector once).
  std::vector<absl::string_view> records;
  WireReader r(request);
  while (!r.Done()) {
    uint32_t field = 0, type = 0;
    absl::string_view record;
    if (!r.Tag(&field, &type) || field != 1 || type != kLength || !r.Bytes(&record)) return false;
    if (records.size() == static_cast<size_t>(kMaxRecordsPerBatch)) return false;  // too many
    records.push_back(record);
  }
  if (records.empty() || records.size() > static_cast<size_t>(kMaxRecordsPerBatch)) return false;
  out->resize(records.size());
  WireUsageRecord wire;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) {
      // A fresh record, keeping the tag list's room.
      std::vector<std::pair<absl::string_view, absl::string_view>> tags =
          std::move(wire.scope_.tags_);
      tags.clear();
      wire = WireUsageRecord();
      wire.scope_.tags_ = std::move(tags);
    }
    if (!ReadUsageRecord(records[i], &wire)) return false;
    if (!ConvertUsageRecord(wire, std::string(), &(*out)[i]).ok()) return false;
  }
  return true;
}

absl::StatusOr<PriceVersion> PriceVersionFromProto(const v1::Price& price) {
  PriceVersion out;
  out.tenant = price.tenant();
  out.provider = price.provider();
  out.model = CanonicalModel(price.provider(), price.model());
  if (!price.has_effective_time()) return InvalidField("price.effective_time", "required");
  ASSIGN_OR_RETURN(out.effective_time,
                   TimeFromProto(price.effective_time(), "price.effective_time"));
  out.price.base = {price.input_per_million_nano_usd(), price.output_per_million_nano_usd(),
                    price.cache_read_per_million_nano_usd(),
                    price.cache_creation_per_million_nano_usd()};
  for (const v1::PriceTier& tier : price.tiers()) {
    out.price.tiers.push_back(
        {tier.above_input_tokens(),
         {tier.input_per_million_nano_usd(), tier.output_per_million_nano_usd(),
          tier.cache_read_per_million_nano_usd(), tier.cache_creation_per_million_nano_usd()}});
  }
  out.price.unit_price_nano_usd = price.unit_price_nano_usd();
  out.source = price.source().empty() ? std::string(kSourceManual) : price.source();
  RETURN_IF_ERROR(ValidatePriceVersion(out, "price"));
  return out;
}

void PriceVersionToProto(const PriceVersion& version, v1::Price* out) {
  out->set_provider(version.provider);
  out->set_model(version.model);
  out->set_tenant(version.tenant);
  TimeToProto(version.effective_time, out->mutable_effective_time());
  int64_t input = 0, output = 0, cache_read = 0, cache_creation = 0;
  PricesToProto(version.price.base, &input, &output, &cache_read, &cache_creation);
  out->set_input_per_million_nano_usd(input);
  out->set_output_per_million_nano_usd(output);
  out->set_cache_read_per_million_nano_usd(cache_read);
  out->set_cache_creation_per_million_nano_usd(cache_creation);
  for (const PriceTier& tier : version.price.tiers) {
    v1::PriceTier* t = out->add_tiers();
    t->set_above_input_tokens(tier.above_input_tokens);
    t->set_input_per_million_nano_usd(tier.prices.input);
    t->set_output_per_million_nano_usd(tier.prices.output);
    t->set_cache_read_per_million_nano_usd(tier.prices.cache_read);
    t->set_cache_creation_per_million_nano_usd(tier.prices.cache_creation);
  }
  out->set_unit_price_nano_usd(version.price.unit_price_nano_usd);
  out->set_source(version.source);
  if (version.create_time != absl::InfinitePast()) {
    TimeToProto(version.create_time, out->mutable_create_time());
  }
}

absl::StatusOr<ReportQuery> ReportQueryFromProto(const v1::GetCostReportRequest& request,
                                                 absl::Time now) {
  ReportQuery query;
  if (!request.has_range() || !request.range().has_start()) {
    return InvalidField("range.start", "required");
  }
  ASSIGN_OR_RETURN(query.start, TimeFromProto(request.range().start(), "range.start"));
  if (request.range().has_end()) {
    ASSIGN_OR_RETURN(query.end, TimeFromProto(request.range().end(), "range.end"));
  } else {
    query.end = now;
  }
  for (int i = 0; i < request.group_by_size(); ++i) {
    std::optional<Dimension> d = DimensionFromProto(request.group_by(i));
    if (!d.has_value()) {
      return InvalidField(absl::StrCat("group_by[", i, "]"), "must be a known Dimension");
    }
    query.group_by.push_back(*d);
  }
  query.tag_key = request.tag_key();
  query.filter = ScopeFromProto(request.filter());
  switch (request.bucket()) {
    case v1::BUCKET_UNSPECIFIED:
      query.bucket = Bucket::kNone;
      break;
    case v1::BUCKET_HOUR:
      query.bucket = Bucket::kHour;
      break;
    case v1::BUCKET_DAY:
      query.bucket = Bucket::kDay;
      break;
    case v1::BUCKET_MONTH:
      query.bucket = Bucket::kMonth;
      break;
    default:
      return InvalidField("bucket", "must be a known Bucket");
  }
  query.time_zone = request.time_zone().empty() ? "UTC" : request.time_zone();
  query.top_n = request.top_n();
  if (request.format() != v1::FORMAT_UNSPECIFIED && request.format() != v1::FORMAT_TABLE &&
      request.format() != v1::FORMAT_CSV) {
    return InvalidField("format", "must be a known Format");
  }
  RETURN_IF_ERROR(ValidateReportQuery(query));
  return query;
}

void ReportRowToProto(const ReportRow& row, const ReportQuery& query, v1::CostRow* out) {
  for (Dimension d : query.group_by) {
    (*out->mutable_group())[GroupColumnName(d, query.tag_key)] = row.group[static_cast<int>(d)];
  }
  if (row.bucket_start.has_value()) TimeToProto(*row.bucket_start, out->mutable_bucket_start());
  const ReportFigures& f = row.figures;
  out->set_cost_nano_usd(f.cost_nano_usd);
  out->set_input_tokens(f.input_tokens);
  out->set_output_tokens(f.output_tokens);
  out->set_cached_input_tokens(f.cached_input_tokens);
  out->set_cache_creation_tokens(f.cache_creation_tokens);
  out->set_calls(f.calls);
  out->set_workflow_runs(f.workflow_runs);
  out->set_successful_runs(f.successful_runs);
  out->set_cost_per_1k_runs_nano_usd(CostPer1kRuns(f.cost_nano_usd, f.workflow_runs));
  out->set_cost_per_successful_run_nano_usd(CostPerRun(f.cost_nano_usd, f.successful_runs));
  out->set_unpriced_calls(f.unpriced_calls);
  out->set_llm_cost_nano_usd(f.llm_cost_nano_usd);
  out->set_infra_cost_nano_usd(f.infra_cost_nano_usd);
  out->set_client_cost_nano_usd(f.client_cost_nano_usd);
}

absl::StatusOr<Budget> BudgetFromProto(const v1::Budget& budget, absl::string_view request_id) {
  Budget out;
  out.name = budget.name();
  out.scope = ScopeFromProto(budget.scope());
  switch (budget.period()) {
    case v1::BUDGET_PERIOD_DAILY:
      out.period = BudgetPeriod::kDaily;
      break;
    case v1::BUDGET_PERIOD_WEEKLY:
      out.period = BudgetPeriod::kWeekly;
      break;
    case v1::BUDGET_PERIOD_MONTHLY:
      out.period = BudgetPeriod::kMonthly;
      break;
    case v1::BUDGET_PERIOD_ROLLING:
      out.period = BudgetPeriod::kRolling;
      break;
    default:
      return InvalidField("budget.period", "required");
  }
  if (budget.has_rolling_window()) {
    const google::protobuf::Duration& w = budget.rolling_window();
    out.rolling_window = absl::Seconds(w.seconds()) + absl::Nanoseconds(w.nanos());
  }
  out.limit_nano_usd = budget.limit_nano_usd();
  out.threshold_percents.assign(budget.threshold_percents().begin(),
                                budget.threshold_percents().end());
  switch (budget.enforcement()) {
    case v1::ENFORCEMENT_UNSPECIFIED:
    case v1::ENFORCEMENT_SOFT:
      out.enforcement = Enforcement::kSoft;
      break;
    case v1::ENFORCEMENT_HARD:
      out.enforcement = Enforcement::kHard;
      break;
    default:
      return InvalidField("budget.enforcement", "must be a known Enforcement");
  }
  out.time_zone = budget.time_zone();
  out.alert_on_projected_overrun = budget.alert_on_projected_overrun();
  const int severity = budget.alert_severity();
  if (severity == agentwatch::common::v1::SEVERITY_UNSPECIFIED) {
    out.alert_severity = agentwatch::common::v1::SEVERITY_P2;
  } else if (severity < agentwatch::common::v1::SEVERITY_P0 ||
             severity > agentwatch::common::v1::SEVERITY_P3) {
    return InvalidField("budget.alert_severity", "must be a known Severity");
  } else {
    out.alert_severity = severity;
  }
  if (request_id.size() > kMaxRequestIdBytes) {
    return InvalidField("request_id", absl::StrCat("at most ", kMaxRequestIdBytes, " bytes"));
  }
  out.request_id = std::string(request_id);
  RETURN_IF_ERROR(NormalizeBudget(&out));
  return out;
}

void BudgetToProto(const Budget& budget, v1::Budget* out) {
  out->set_id(budget.id);
  out->set_name(budget.name);
  ScopeToProto(budget.scope, out->mutable_scope());
  switch (budget.period) {
    case BudgetPeriod::kDaily:
      out->set_period(v1::BUDGET_PERIOD_DAILY);
      break;
    case BudgetPeriod::kWeekly:
      out->set_period(v1::BUDGET_PERIOD_WEEKLY);
      break;
    case BudgetPeriod::kMonthly:
      out->set_period(v1::BUDGET_PERIOD_MONTHLY);
      break;
    case BudgetPeriod::kRolling:
      out->set_period(v1::BUDGET_PERIOD_ROLLING);
      out->mutable_rolling_window()->set_seconds(absl::ToInt64Seconds(budget.rolling_window));
      break;
  }
  out->set_limit_nano_usd(budget.limit_nano_usd);
  for (int32_t t : budget.threshold_percents) out->add_threshold_percents(t);
  out->set_enforcement(budget.enforcement == Enforcement::kHard ? v1::ENFORCEMENT_HARD
                                                                : v1::ENFORCEMENT_SOFT);
  out->set_time_zone(budget.time_zone);
  out->set_alert_on_projected_overrun(budget.alert_on_projected_overrun);
  out->set_alert_severity(static_cast<agentwatch::common::v1::Severity>(budget.alert_severity));
  if (budget.create_time != absl::InfinitePast()) {
    TimeToProto(budget.create_time, out->mutable_create_time());
  }
  if (budget.update_time != absl::InfinitePast()) {
    TimeToProto(budget.update_time, out->mutable_update_time());
  }
}

}  // namespace agentwatch::cost
