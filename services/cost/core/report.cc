#include "cost/core/report.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "cost/core/money.h"

namespace agentwatch::cost {
namespace {

using common::InvalidField;

// The first valid instant of a local civil time (the transition when a DST
// change skips it, the earlier instant when it repeats).
absl::Time FirstInstant(const absl::CivilSecond& civil, const absl::TimeZone& zone) {
  const absl::TimeZone::TimeInfo info = zone.At(civil);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

// A 128-bit accumulator per figure, checked once at the end.
struct Accumulator {
  __int128 cost = 0, input = 0, output = 0, cached = 0, creation = 0, calls = 0, unpriced = 0,
           llm = 0, infra = 0, client = 0;
  std::set<std::pair<std::string, std::string>> runs;
  std::set<std::pair<std::string, std::string>> successful;

  void Add(const PricedUsage& entry, const std::optional<bool>& outcome) {
    const UsageRecord& r = entry.record;
    cost += entry.cost_nano_usd;
    if (r.kind == UsageKind::kLlm) {
      input += r.tokens.input;
      output += r.tokens.output;
      cached += r.tokens.cached_input;
      creation += r.tokens.cache_creation;
      calls += r.requests;
      llm += entry.cost_nano_usd;
      if (!entry.priced) unpriced += r.requests;
    } else if (r.kind == UsageKind::kInfra) {
      infra += entry.cost_nano_usd;
    }
    if (entry.client_priced) client += entry.cost_nano_usd;
    if (!r.run_id.empty()) {
      runs.emplace(r.scope.tenant, r.run_id);
      if (outcome.value_or(false)) successful.emplace(r.scope.tenant, r.run_id);
    }
  }

  absl::StatusOr<ReportFigures> Figures() const {
    ReportFigures f;
    const std::pair<__int128, int64_t*> fields[] = {
        {cost, &f.cost_nano_usd},
        {input, &f.input_tokens},
        {output, &f.output_tokens},
        {cached, &f.cached_input_tokens},
        {creation, &f.cache_creation_tokens},
        {calls, &f.calls},
        {unpriced, &f.unpriced_calls},
        {llm, &f.llm_cost_nano_usd},
        {infra, &f.infra_cost_nano_usd},
        {client, &f.client_cost_nano_usd},
    };
    for (const auto& [value, target] : fields) {
      if (value > std::numeric_limits<int64_t>::max()) {
        return absl::OutOfRangeError("a report sum exceeds the int64 range");
      }
      *target = static_cast<int64_t>(value);
    }
    f.workflow_runs = static_cast<int64_t>(runs.size());
    f.successful_runs = static_cast<int64_t>(successful.size());
    return f;
  }
};

std::string GroupValue(const UsageRecord& r, Dimension d, const std::string& tag_key) {
  switch (d) {
    case Dimension::kTenant:
      return r.scope.tenant;
    case Dimension::kTeam:
      return r.scope.team;
    case Dimension::kWorkflow:
      return r.scope.workflow;
    case Dimension::kAgent:
      return r.scope.agent;
    case Dimension::kModel:
      return r.scope.model;
    case Dimension::kProvider:
      return r.scope.provider;
    case Dimension::kService:
      return r.scope.service;
    case Dimension::kTag: {
      auto it = r.scope.tags.find(tag_key);
      return it == r.scope.tags.end() ? "" : it->second;
    }
  }
  return "";
}

int64_t Rounded(int64_t numerator_a, int64_t numerator_b, int64_t divisor) {
  if (divisor <= 0 || numerator_a <= 0) return 0;
  using U = unsigned __int128;
  absl::StatusOr<int64_t> value =
      RoundHalfAwayFromZero(static_cast<U>(numerator_a) * static_cast<U>(numerator_b), divisor);
  return value.ok() ? *value : std::numeric_limits<int64_t>::max();
}

std::string CsvField(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

bool ReportFigures::operator==(const ReportFigures& o) const {
  return cost_nano_usd == o.cost_nano_usd && input_tokens == o.input_tokens &&
         output_tokens == o.output_tokens && cached_input_tokens == o.cached_input_tokens &&
         cache_creation_tokens == o.cache_creation_tokens && calls == o.calls &&
         workflow_runs == o.workflow_runs && successful_runs == o.successful_runs &&
         unpriced_calls == o.unpriced_calls && llm_cost_nano_usd == o.llm_cost_nano_usd &&
         infra_cost_nano_usd == o.infra_cost_nano_usd &&
         client_cost_nano_usd == o.client_cost_nano_usd;
}

absl::string_view DimensionName(Dimension dimension) {
  static constexpr absl::string_view kNames[kDimensionCount] = {
      "tenant", "team", "workflow", "agent", "model", "provider", "service", "tag"};
  return kNames[static_cast<int>(dimension)];
}

absl::string_view BucketField(Bucket bucket) {
  switch (bucket) {
    case Bucket::kHour:
      return "hour";
    case Bucket::kDay:
      return "day";
    case Bucket::kMonth:
      return "month";
    case Bucket::kNone:
      break;
  }
  return "";
}

std::string GroupColumnName(Dimension dimension, absl::string_view tag_key) {
  if (dimension == Dimension::kTag) return absl::StrCat("tag:", tag_key);
  return std::string(DimensionName(dimension));
}

absl::Time BucketStart(absl::Time t, Bucket bucket, const absl::TimeZone& zone) {
  const absl::CivilSecond local = absl::ToCivilSecond(t, zone);
  switch (bucket) {
    case Bucket::kHour:
      return FirstInstant(absl::CivilSecond(absl::CivilHour(local)), zone);
    case Bucket::kDay:
      return FirstInstant(absl::CivilSecond(absl::CivilDay(local)), zone);
    case Bucket::kMonth:
      return FirstInstant(absl::CivilSecond(absl::CivilMonth(local)), zone);
    case Bucket::kNone:
      break;
  }
  return t;
}

int64_t CountBuckets(absl::Time start, absl::Time end, Bucket bucket, const absl::TimeZone& zone) {
  if (end <= start) return 0;
  const absl::Time last = end - absl::Nanoseconds(1);
  const absl::CivilSecond a = absl::ToCivilSecond(start, zone);
  const absl::CivilSecond b = absl::ToCivilSecond(last, zone);
  switch (bucket) {
    case Bucket::kHour:
      // Real hours, so a DST change does not hide any.
      return absl::ToInt64Hours(BucketStart(last, bucket, zone) -
                                BucketStart(start, bucket, zone)) +
             1;
    case Bucket::kDay:
      return (absl::CivilDay(b) - absl::CivilDay(a)) + 1;
    case Bucket::kMonth:
      return (absl::CivilMonth(b) - absl::CivilMonth(a)) + 1;
    case Bucket::kNone:
      break;
  }
  return 1;
}

absl::Status ValidateReportQuery(const ReportQuery& query) {
  if (query.end <= query.start) return InvalidField("range.end", "must be after range.start");
  bool tag_grouped = false;
  std::set<Dimension> seen;
  for (size_t i = 0; i < query.group_by.size(); ++i) {
    const int value = static_cast<int>(query.group_by[i]);
    if (value < 0 || value >= kDimensionCount) {
      return InvalidField(absl::StrCat("group_by[", i, "]"), "unknown dimension");
    }
    if (!seen.insert(query.group_by[i]).second) {
      return InvalidField(absl::StrCat("group_by[", i, "]"), "duplicate dimension");
    }
    if (query.group_by[i] == Dimension::kTag) tag_grouped = true;
  }
  if (tag_grouped && !IsValidTagKey(query.tag_key)) {
    return InvalidField("tag_key", query.tag_key.empty() ? "required with DIMENSION_TAG"
                                                         : "must match [a-zA-Z_][a-zA-Z0-9_]*");
  }
  RETURN_IF_ERROR(ValidateScope(query.filter, "filter", false));
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(query.time_zone, &zone)) {
    return InvalidField("time_zone", absl::StrCat("unknown time zone '", query.time_zone, "'"));
  }
  if (query.top_n < 0) return InvalidField("top_n", "must be >= 0");
  if (CountBuckets(query.start, query.end, query.bucket, zone) > kMaxReportBuckets) {
    return InvalidField("bucket",
                        absl::StrCat("the range spans more than ", kMaxReportBuckets, " buckets"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReportResult> AggregateReport(absl::Span<const PricedUsage> ledger,
                                             const ReportQuery& query) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(query.time_zone, &zone)) {
    return InvalidField("time_zone", absl::StrCat("unknown time zone '", query.time_zone, "'"));
  }
  std::array<bool, kDimensionCount> grouped{};
  for (Dimension d : query.group_by) grouped[static_cast<int>(d)] = true;

  // Latest outcome per run over the whole ledger.
  using RunKey = std::pair<std::string, std::string>;
  std::map<RunKey, std::pair<std::pair<absl::Time, std::string>, bool>> outcomes;
  for (const PricedUsage& e : ledger) {
    const UsageRecord& r = e.record;
    if (r.run_id.empty() || !r.run_succeeded.has_value()) continue;
    RunKey key(r.scope.tenant, r.run_id);
    std::pair<absl::Time, std::string> order(r.time, r.record_id);
    auto it = outcomes.find(key);
    if (it == outcomes.end() || it->second.first < order) {
      outcomes[key] = {order, *r.run_succeeded};
    }
  }

  using Group = std::array<std::string, kDimensionCount>;
  std::vector<std::pair<Group, const PricedUsage*>> selected;
  std::map<Group, __int128> group_cost;
  for (const PricedUsage& e : ledger) {
    const UsageRecord& r = e.record;
    if (r.time < query.start || r.time >= query.end) continue;
    if (!ScopeCovers(query.filter, r.scope)) continue;
    Group group;
    for (int d = 0; d < kDimensionCount; ++d) {
      if (grouped[d]) group[d] = GroupValue(r, static_cast<Dimension>(d), query.tag_key);
    }
    group_cost[group] += e.cost_nano_usd;
    selected.emplace_back(std::move(group), &e);
  }

  std::set<Group> kept;
  if (query.top_n > 0) {
    std::vector<std::pair<__int128, Group>> ranked;
    for (const auto& [group, cost] : group_cost) ranked.emplace_back(cost, group);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first > b.first;
      return a.second < b.second;
    });
    for (size_t i = 0; i < ranked.size() && i < static_cast<size_t>(query.top_n); ++i) {
      kept.insert(ranked[i].second);
    }
  }

  using RowKey = std::pair<std::optional<absl::Time>, Group>;
  std::map<RowKey, Accumulator> rows;
  Accumulator totals;
  for (auto& [group, entry] : selected) {
    Group shown = group;
    if (query.top_n > 0 && kept.count(group) == 0) {
      for (int d = 0; d < kDimensionCount; ++d) {
        if (grouped[d]) shown[d] = std::string(kOtherGroup);
      }
    }
    std::optional<absl::Time> bucket;
    if (query.bucket != Bucket::kNone) bucket = BucketStart(entry->record.time, query.bucket, zone);
    std::optional<bool> outcome;
    auto it = outcomes.find({entry->record.scope.tenant, entry->record.run_id});
    if (it != outcomes.end()) outcome = it->second.second;
    rows[{bucket, shown}].Add(*entry, outcome);
    totals.Add(*entry, outcome);
  }

  ReportResult result;
  for (const auto& [key, acc] : rows) {
    ReportRow row;
    row.bucket_start = key.first;
    row.group = key.second;
    ASSIGN_OR_RETURN(row.figures, acc.Figures());
    result.rows.push_back(std::move(row));
  }
  ASSIGN_OR_RETURN(result.totals, totals.Figures());
  SortReportRows(&result.rows);
  return result;
}

void SortReportRows(std::vector<ReportRow>* rows) {
  std::sort(rows->begin(), rows->end(), [](const ReportRow& a, const ReportRow& b) {
    const absl::Time ta = a.bucket_start.value_or(absl::InfinitePast());
    const absl::Time tb = b.bucket_start.value_or(absl::InfinitePast());
    if (ta != tb) return ta < tb;
    if (a.figures.cost_nano_usd != b.figures.cost_nano_usd) {
      return a.figures.cost_nano_usd > b.figures.cost_nano_usd;
    }
    return a.group < b.group;
  });
}

int64_t CostPer1kRuns(int64_t cost_nano_usd, int64_t runs) {
  return Rounded(cost_nano_usd, 1000, runs);
}

int64_t CostPerRun(int64_t cost_nano_usd, int64_t runs) { return Rounded(cost_nano_usd, 1, runs); }

std::string ReportCsv(absl::Span<const ReportRow> rows, const ReportQuery& query) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(query.time_zone, &zone)) zone = absl::UTCTimeZone();
  const bool bucketed = query.bucket != Bucket::kNone;
  std::vector<std::string> header;
  if (bucketed) header.push_back("bucket_start");
  for (Dimension d : query.group_by) header.push_back(GroupColumnName(d, query.tag_key));
  for (const char* column :
       {"cost_usd", "input_tokens", "output_tokens", "cached_input_tokens", "cache_creation_tokens",
        "calls", "workflow_runs", "successful_runs", "cost_per_1k_runs_usd",
        "cost_per_successful_run_usd", "unpriced_calls", "llm_cost_usd", "infra_cost_usd",
        "client_cost_usd"}) {
    header.push_back(column);
  }
  std::string out;
  auto append_line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += CsvField(fields[i]);
    }
    out += "\r\n";
  };
  append_line(header);
  for (const ReportRow& row : rows) {
    const ReportFigures& f = row.figures;
    std::vector<std::string> line;
    if (bucketed) {
      line.push_back(row.bucket_start.has_value()
                         ? absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", *row.bucket_start, zone)
                         : "");
    }
    for (Dimension d : query.group_by) line.push_back(row.group[static_cast<int>(d)]);
    line.push_back(FormatUsd(f.cost_nano_usd));
    for (int64_t v : {f.input_tokens, f.output_tokens, f.cached_input_tokens,
                      f.cache_creation_tokens, f.calls, f.workflow_runs, f.successful_runs}) {
      line.push_back(absl::StrCat(v));
    }
    line.push_back(FormatUsd(CostPer1kRuns(f.cost_nano_usd, f.workflow_runs)));
    line.push_back(FormatUsd(CostPerRun(f.cost_nano_usd, f.successful_runs)));
    line.push_back(absl::StrCat(f.unpriced_calls));
    line.push_back(FormatUsd(f.llm_cost_nano_usd));
    line.push_back(FormatUsd(f.infra_cost_nano_usd));
    line.push_back(FormatUsd(f.client_cost_nano_usd));
    append_line(line);
  }
  return out;
}

}  // namespace agentwatch::cost
