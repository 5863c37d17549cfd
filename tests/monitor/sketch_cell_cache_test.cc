// SketchCellCache: keys, the count rule of Remember, the byte budget and
// least-recently-used eviction, Forget and the lookup statistics.
#include "monitor/store/sketch_cell_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace agentwatch::monitor {
namespace {

using ::testing::Optional;

const absl::Time kMinute = absl::FromUnixSeconds(1'700'000'040);

std::string KeyOf(int i) {
  return SketchCellCache::Key("acme", "llm_latency_seconds", absl::StrCat("model=m", i), kMinute);
}

SketchCellCache::Update Cell(const std::string& key, int64_t count, std::string sketch) {
  return {key, {count, std::move(sketch)}};
}

MATCHER_P2(IsCell, count, sketch, "") { return arg.count == count && arg.sketch == sketch; }

TEST(SketchCellCacheTest, KeysSeparateEveryComponent) {
  const std::vector<std::string> keys = {
      SketchCellCache::Key("ab", "c", "k", kMinute),
      SketchCellCache::Key("a", "bc", "k", kMinute),
      SketchCellCache::Key("a", "b", "ck", kMinute),
      SketchCellCache::Key("a", "bck", "", kMinute),
      SketchCellCache::Key("ab", "c", "k", kMinute + absl::Minutes(1)),
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = i + 1; j < keys.size(); ++j) EXPECT_NE(keys[i], keys[j]) << i << " " << j;
  }
  EXPECT_EQ(SketchCellCache::Key("ab", "c", "k", kMinute), keys[0]);
}

TEST(SketchCellCacheTest, RemembersCommittedCellsAndKeepsTheHigherCount) {
  SketchCellCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(KeyOf(1)), std::nullopt);
  cache.Remember({Cell(KeyOf(1), 5, "five")});
  EXPECT_THAT(cache.Lookup(KeyOf(1)), Optional(IsCell(5, "five")));
  // A later commit (higher count) replaces the entry ...
  cache.Remember({Cell(KeyOf(1), 9, "nine")});
  EXPECT_THAT(cache.Lookup(KeyOf(1)), Optional(IsCell(9, "nine")));
  // ... an earlier one reported after it (or the same count) does not.
  cache.Remember({Cell(KeyOf(1), 7, "seven"), Cell(KeyOf(1), 9, "other nine")});
  EXPECT_THAT(cache.Lookup(KeyOf(1)), Optional(IsCell(9, "nine")));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), KeyOf(1).size() + 4 + SketchCellCache::kEntryOverhead);

  cache.Forget(KeyOf(1));
  cache.Forget(KeyOf(2));  // not cached: nothing happens
  EXPECT_EQ(cache.Lookup(KeyOf(1)), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  // A forgotten cell is remembered again at any count.
  cache.Remember({Cell(KeyOf(1), 3, "three")});
  EXPECT_THAT(cache.Lookup(KeyOf(1)), Optional(IsCell(3, "three")));

  const SketchCellCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.hits, 4);
  EXPECT_EQ(stats.misses, 2);
  EXPECT_EQ(stats.evictions, 0);
  cache.CountStale(2);
  EXPECT_EQ(cache.stats().stale, 2);
}

TEST(SketchCellCacheTest, EvictsTheLeastRecentlyUsedCellsBeyondTheBudget) {
  const std::string sketch(100, 's');
  const size_t entry = KeyOf(0).size() + sketch.size() + SketchCellCache::kEntryOverhead;
  SketchCellCache cache(3 * entry);
  cache.Remember({Cell(KeyOf(0), 1, sketch), Cell(KeyOf(1), 1, sketch), Cell(KeyOf(2), 1, sketch)});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * entry);
  // Cell 0 used: cell 1 is now the least recently used and goes first.
  EXPECT_NE(cache.Lookup(KeyOf(0)), std::nullopt);
  cache.Remember({Cell(KeyOf(3), 1, sketch)});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Lookup(KeyOf(1)), std::nullopt);
  EXPECT_NE(cache.Lookup(KeyOf(0)), std::nullopt);
  EXPECT_NE(cache.Lookup(KeyOf(2)), std::nullopt);
  EXPECT_NE(cache.Lookup(KeyOf(3)), std::nullopt);
  EXPECT_EQ(cache.stats().evictions, 1);
  // A replaced entry counts its new size: a larger sketch pushes out the
  // least recently used cell (0).
  cache.Remember({Cell(KeyOf(3), 2, std::string(100 + entry, 'x'))});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Lookup(KeyOf(3)), std::nullopt);
  EXPECT_LE(cache.bytes(), 3 * entry);
  EXPECT_EQ(cache.stats().evictions, 2);
  // An entry larger than the whole budget is not kept (nor evicts anything).
  cache.Remember({Cell(KeyOf(4), 1, std::string(3 * entry, 'x'))});
  EXPECT_EQ(cache.Lookup(KeyOf(4)), std::nullopt);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(SketchCellCacheTest, AZeroBudgetKeepsNothing) {
  SketchCellCache cache(0);
  cache.Remember({Cell(KeyOf(0), 1, "s")});
  EXPECT_EQ(cache.Lookup(KeyOf(0)), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace agentwatch::monitor
