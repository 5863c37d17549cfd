// KeyText (core/key_text.h) and the copies a batch's cells and series share.
#include "monitor/core/key_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "monitor/core/event_view.h"
#include "monitor/core/rollup.h"
#include "test_events.h"

namespace agentwatch::monitor {
namespace {

using fixtures::MakeCall;
using fixtures::MakeEvent;
using fixtures::MakeRun;

std::vector<std::string> Texts() {
  std::vector<std::string> texts = {"",
                                    "a",
                                    "tenant-1",
                                    "tenant-10",
                                    "tenant-1\x80",
                                    std::string("ab\0cdefgh", 9),
                                    std::string("ab\0cdefgi", 9),
                                    std::string(1, '\0'),
                                    "0123456789abcdef0123456789abcdef",
                                    "0123456789abcdef0123456789abcdeg",
                                    "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8",
                                    "llm_latency_seconds",
                                    std::string(70000, 'x')};
  for (int position = 0; position < 10; ++position) {
    std::string low(12, 'm'), high(12, 'm');
    low[position] = 'a';
    high[position] = '\xe0';
    texts.push_back(low);
    texts.push_back(high);
  }
  return texts;
}

TEST(KeyTextTest, HoldsItsTextAndComparesAsStdString) {
  const std::vector<std::string> texts = Texts();
  std::vector<KeyText> keys(texts.begin(), texts.end());
  const auto sign = [](int c) { return (c > 0) - (c < 0); };
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(keys[i].view(), texts[i]);
    EXPECT_EQ(keys[i].size(), texts[i].size());
    EXPECT_EQ(keys[i].empty(), texts[i].empty());
    EXPECT_EQ(keys[i].str(), texts[i]);
    EXPECT_EQ(absl::Hash<KeyText>()(keys[i]), absl::Hash<absl::string_view>()(texts[i]));
    for (size_t j = 0; j < texts.size(); ++j) {
      // Separate copies of the texts (never one copy unless i == j).
      const KeyText& a = keys[i];
      const KeyText b(texts[j]);
      const std::string& x = texts[i];
      const std::string& y = texts[j];
      EXPECT_EQ(a == b, x == y) << i << " " << j;
      EXPECT_EQ(a != b, x != y) << i << " " << j;
      EXPECT_EQ(a < b, x < y) << i << " " << j;
      EXPECT_EQ(a <= b, x <= y) << i << " " << j;
      EXPECT_EQ(a > b, x > y) << i << " " << j;
      EXPECT_EQ(a >= b, x >= y) << i << " " << j;
      EXPECT_EQ(a == y, x == y);
      EXPECT_EQ(x == b, x == y);
      EXPECT_EQ(a < y, x < y);
      EXPECT_EQ(x < b, x < y);
      EXPECT_EQ(a == absl::string_view(y), x == y);
      EXPECT_EQ(sign(CompareKeyText(a, b)), sign(x.compare(y))) << i << " " << j;
      if (x == y) EXPECT_EQ(absl::Hash<KeyText>()(a), absl::Hash<KeyText>()(b));
    }
  }
}

// CompareKeyText's word-wise path (common lengths 8 to 64) and its edges:
// pairs sharing a prefix of every length, differing in one byte at every
// position (by a byte below, equal to or above 0x80, or NUL), or one a
// prefix of the other, agree with std::string::compare.
TEST(KeyTextTest, CompareKeyTextAgreesWithStringCompareAtEveryLengthAndPosition) {
  const auto sign = [](int c) { return (c > 0) - (c < 0); };
  const std::string bytes = std::string("\0\x01a\x7f\x80\xfe\xff", 7);
  int compared = 0;
  for (size_t length = 0; length <= 72; ++length) {
    std::string base(length, 'k');
    for (size_t i = 0; i < length; ++i) base[i] = "bench-tenant-0123456789abcdef"[i % 29];
    for (size_t position = 0; position < length; ++position) {
      for (const char byte : bytes) {
        std::string other = base;
        other[position] = byte;
        for (const std::string& b :
             {other, other.substr(0, position + 1), other + "z", other.substr(0, length - 1)}) {
          EXPECT_EQ(sign(CompareKeyText(absl::string_view(base), absl::string_view(b))),
                    sign(base.compare(b)))
              << length << " " << position;
          EXPECT_EQ(sign(CompareKeyText(absl::string_view(b), absl::string_view(base))),
                    sign(b.compare(base)))
              << length << " " << position;
          EXPECT_EQ(sign(CompareKeyText(KeyText(base), KeyText(b))), sign(base.compare(b)));
          ++compared;
        }
      }
    }
    for (size_t prefix = 0; prefix <= length; ++prefix) {
      const std::string shorter = base.substr(0, prefix);
      EXPECT_EQ(sign(CompareKeyText(absl::string_view(base), absl::string_view(shorter))),
                sign(base.compare(shorter)));
      EXPECT_EQ(sign(CompareKeyText(absl::string_view(shorter), absl::string_view(base))),
                sign(shorter.compare(base)));
    }
  }
  EXPECT_GT(compared, 10000);
}

TEST(KeyTextTest, CopiesShareOneTextThatOutlivesTheOriginal) {
  auto original = std::make_unique<KeyText>("0123456789abcdef0123456789abcdef");
  const KeyText copy = *original;
  EXPECT_TRUE(copy.SharesCopyWith(*original));
  EXPECT_EQ(copy.data(), original->data());
  EXPECT_FALSE(KeyText(copy.view()).SharesCopyWith(copy));  // a new copy
  EXPECT_EQ(CompareKeyText(copy, *original), 0);
  original.reset();
  EXPECT_EQ(copy, "0123456789abcdef0123456789abcdef");

  KeyText moved = copy;
  KeyText target(std::move(moved));
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(target.SharesCopyWith(copy));
  KeyText assigned = "other";
  assigned = target;
  EXPECT_TRUE(assigned.SharesCopyWith(copy));
  const KeyText& same = assigned;
  assigned = same;  // self-assignment keeps the text
  EXPECT_EQ(assigned, copy);
  assigned = std::move(target);
  EXPECT_TRUE(assigned.SharesCopyWith(copy));
  assigned = KeyText();
  EXPECT_TRUE(assigned.empty());
  EXPECT_EQ(assigned, "");
  EXPECT_EQ(copy, "0123456789abcdef0123456789abcdef");
}

TEST(KeyTextTest, CopiesMadeAndDroppedOnSeveralThreadsKeepTheText) {
  std::vector<KeyText> shared = {KeyText("tenant-1"), KeyText("0123456789abcdef0123456789abcdef")};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared] {
      for (int i = 0; i < 100000; ++i) {
        std::vector<KeyText> copies(shared.begin(), shared.end());
        KeyText moved = std::move(copies[i % 2]);
        if (moved.empty()) std::abort();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(shared[0], "tenant-1");
  EXPECT_EQ(shared[1], "0123456789abcdef0123456789abcdef");
}

Batch TwoTenants(uint64_t sequence) {
  const absl::Time minute = absl::FromUnixSeconds(1'700'000'040);
  Batch batch;
  batch.producer_id = "p";
  batch.sequence = sequence;
  for (int i = 0; i < 6; ++i) {
    Event run = MakeEvent(MakeRun("triage", RunStatus::kSucceeded, absl::Seconds(1 + i)),
                          minute + absl::Minutes(i % 3));
    run.tenant = i % 2 == 0 ? "acme" : "globex";
    batch.events.push_back(run);
    Event call = MakeEvent(MakeCall("gpt-4o"), minute + absl::Minutes(i % 2));
    call.tenant = run.tenant;
    batch.events.push_back(call);
  }
  return batch;
}

BatchAggregate Aggregate(const Batch& batch, LabelSetCache* cache) {
  BatchAggregator aggregator(batch.producer_id, batch.sequence, batch.events.size(), cache);
  for (size_t i = 0; i < batch.events.size(); ++i) aggregator.Add(ViewOf(batch.events[i]), i);
  return aggregator.Finish();
}

// A batch's cells and series of one label set refer to one copy of its
// tenant and series key, and the cells of one metric to one copy of its
// name; a later batch through the same LabelSetCache refers to the same
// label-set copies. The keys stay valid once the aggregator and the cache
// are gone.
TEST(KeyTextTest, ABatchsCellsAndSeriesShareTheirKeys) {
  BatchAggregate first, second;
  {
    LabelSetCache cache;
    first = Aggregate(TwoTenants(1), &cache);
    second = Aggregate(TwoTenants(2), &cache);
  }
  ASSERT_FALSE(first.rollups.empty());
  std::map<std::pair<std::string, std::string>, const SeriesRecord*> series;
  for (const SeriesRecord& record : first.series) {
    series[{record.tenant.str(), record.series_key.str()}] = &record;
  }
  std::map<std::string, const KeyText*> metrics;
  int cells_sharing_a_series = 0;
  for (const RollupDelta& cell : first.rollups) {
    const SeriesRecord* record = series.at({cell.tenant.str(), cell.series_key.str()});
    EXPECT_TRUE(cell.tenant.SharesCopyWith(record->tenant)) << cell.metric;
    EXPECT_TRUE(cell.series_key.SharesCopyWith(record->series_key)) << cell.metric;
    const auto [metric, inserted] = metrics.emplace(cell.metric.str(), &cell.metric);
    EXPECT_TRUE(cell.metric.SharesCopyWith(*metric->second)) << cell.metric;
    if (!inserted) ++cells_sharing_a_series;
  }
  EXPECT_GT(cells_sharing_a_series, 0);
  // The second batch's cells have the first's label-set copies (the
  // cache's), equal by reference.
  ASSERT_EQ(first.rollups.size(), second.rollups.size());
  for (size_t i = 0; i < first.rollups.size(); ++i) {
    EXPECT_TRUE(first.rollups[i].tenant.SharesCopyWith(second.rollups[i].tenant));
    EXPECT_TRUE(first.rollups[i].series_key.SharesCopyWith(second.rollups[i].series_key));
    EXPECT_EQ(first.rollups[i].metric, second.rollups[i].metric);
    EXPECT_EQ(CompareCells(first.rollups[i], second.rollups[i]), 0);
  }
  // Same aggregate as without a cache, key for key.
  const BatchAggregate plain = AggregateBatch(TwoTenants(1));
  ASSERT_EQ(plain.rollups.size(), first.rollups.size());
  for (size_t i = 0; i < plain.rollups.size(); ++i) {
    EXPECT_EQ(plain.rollups[i].tenant, first.rollups[i].tenant);
    EXPECT_EQ(plain.rollups[i].metric, first.rollups[i].metric);
    EXPECT_EQ(plain.rollups[i].series_key, first.rollups[i].series_key);
    EXPECT_FALSE(plain.rollups[i].series_key.SharesCopyWith(first.rollups[i].series_key));
    EXPECT_EQ(plain.rollups[i].series_key.size(), 32u);
  }
}

// KeyText::Named: separate copies of one text carry one id and are known
// equal without reading the bytes; different texts never share an id; plain
// copies, the empty text and texts over the length bound carry none. Every
// comparison agrees with std::string's. Fails if an id is given per copy
// (then two names of one text are not known equal) or reused for another
// text.
TEST(KeyTextTest, NamedCopiesOfOneTextShareAnIdAndCompareAsStrings) {
  const std::vector<std::string> texts = Texts();
  std::map<uint32_t, std::string> text_of_id;
  for (const std::string& text : texts) {
    const KeyText a = KeyText::Named(text);
    const KeyText b = KeyText::Named(text);
    EXPECT_EQ(a.view(), text);
    EXPECT_FALSE(a.SharesCopyWith(b) && !text.empty());  // two copies
    if (text.empty() || text.size() > KeyText::kMaxNamedTextBytes) {
      EXPECT_EQ(a.name_id(), 0u) << text.size();
      EXPECT_EQ(a.KnownEqual(b), text.empty());
    } else {
      EXPECT_NE(a.name_id(), 0u) << text;
      EXPECT_EQ(a.name_id(), b.name_id()) << text;
      EXPECT_TRUE(a.KnownEqual(b)) << text;
      const auto [it, inserted] = text_of_id.emplace(a.name_id(), text);
      EXPECT_EQ(it->second, text) << "id " << a.name_id() << " given to two texts";
    }
    EXPECT_FALSE(KeyText(text).KnownEqual(a) && !text.empty());  // a plain copy: no id
    EXPECT_EQ(KeyText(text).name_id(), 0u);
  }
  for (const std::string& x : texts) {
    for (const std::string& y : texts) {
      const KeyText a = KeyText::Named(x);
      const KeyText b = KeyText::Named(y);
      const int want = x.compare(y) < 0 ? -1 : (x.compare(y) > 0 ? 1 : 0);
      const int got = CompareKeyText(a, b);
      EXPECT_EQ(got < 0 ? -1 : (got > 0 ? 1 : 0), want);
      EXPECT_EQ(a == b, x == y);
      EXPECT_EQ(a < b, x < y);
      EXPECT_EQ(CompareKeyText(a, KeyText(y)) < 0, x < y);  // named against plain
      EXPECT_EQ(a.KnownEqual(b), x == y && (x.empty() || a.name_id() != 0));
    }
  }
}

TEST(KeyTextTest, NamedFromManyThreadsGivesOneIdPerText) {
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) names.push_back("named_metric_" + std::to_string(i));
  std::vector<std::vector<uint32_t>> ids(4, std::vector<uint32_t>(names.size()));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < ids.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < names.size(); ++i) {
          const size_t n = (i + t * 37) % names.size();
          ids[t][n] = KeyText::Named(names[n]).name_id();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint32_t> distinct;
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_NE(ids[0][i], 0u);
    for (size_t t = 1; t < ids.size(); ++t) EXPECT_EQ(ids[t][i], ids[0][i]) << names[i];
    distinct.insert(ids[0][i]);
  }
  EXPECT_EQ(distinct.size(), names.size());
}

// Batches aggregated without a shared cache make their own copies of every
// key; their tenants and metric names are named copies, so the group merge
// finds them equal without reading them (only the series keys of different
// label sets are compared by their bytes).
TEST(KeyTextTest, TwoBatchesTenantsAndMetricsAreKnownEqualWithoutACache) {
  const BatchAggregate first = Aggregate(TwoTenants(1), nullptr);
  const BatchAggregate second = Aggregate(TwoTenants(2), nullptr);
  ASSERT_FALSE(first.rollups.empty());
  ASSERT_EQ(first.rollups.size(), second.rollups.size());
  for (size_t i = 0; i < first.rollups.size(); ++i) {
    const RollupDelta& a = first.rollups[i];
    const RollupDelta& b = second.rollups[i];
    EXPECT_FALSE(a.tenant.SharesCopyWith(b.tenant));
    EXPECT_TRUE(a.tenant.KnownEqual(b.tenant)) << a.tenant;
    EXPECT_FALSE(a.metric.SharesCopyWith(b.metric));
    EXPECT_TRUE(a.metric.KnownEqual(b.metric)) << a.metric;
    EXPECT_FALSE(a.series_key.KnownEqual(b.series_key));  // not named: compared by bytes
    EXPECT_EQ(CompareCells(a, b), 0);
  }
  ASSERT_EQ(first.series.size(), second.series.size());
  for (size_t i = 0; i < first.series.size(); ++i) {
    EXPECT_TRUE(first.series[i].tenant.KnownEqual(second.series[i].tenant));
    EXPECT_TRUE(first.series[i].metric.KnownEqual(second.series[i].metric));
  }
}

}  // namespace
}  // namespace agentwatch::monitor
