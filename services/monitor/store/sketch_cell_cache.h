// The quantile sketches of rollup cells (tenant, metric, series, minute) as
// this process last committed them, so that the next group writing a cell
// can merge into the cached sketch instead of reading the stored one.
//
// Each entry pairs a sketch with the row's `count` committed with it. The
// count of a row grows with every write of any replica and never goes back,
// so it versions the row: PgMonitorStore writes a cached cell with an UPDATE
// guarded by `count = <cached count>`, and a cell whose count moved (another
// replica wrote it in between) or that is not cached is read, merged and
// written as before. A stale entry therefore costs one missed update, never
// a lost value. Entries are only remembered after their transaction
// committed.
//
// Bounded by the bytes of its keys and serialized sketches; the least
// recently used cells go first. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agentwatch::monitor {

class SketchCellCache {
 public:
  // A cell as committed: the row's count and its serialized sketch
  // (QuantileSketch::Serialize).
  struct Cell {
    int64_t count = 0;
    std::string sketch;
  };

  // A cell to remember once the transaction that wrote it committed.
  struct Update {
    std::string key;
    Cell cell;
  };

  // Lookup outcomes since construction, for tests and metrics.
  struct Stats {
    int64_t hits = 0;       // Lookup found the cell
    int64_t misses = 0;     // Lookup did not
    int64_t evictions = 0;  // cells dropped for the byte budget
    int64_t stale = 0;      // hits whose row another writer had moved (CountStale)
  };

  // Bytes an entry is charged beyond its key and sketch (list and map nodes).
  static constexpr size_t kEntryOverhead = 96;

  // `max_bytes` 0 disables the cache (Lookup always misses, nothing is kept).
  explicit SketchCellCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  SketchCellCache(const SketchCellCache&) = delete;
  SketchCellCache& operator=(const SketchCellCache&) = delete;

  // The key of a cell; distinct cells never share one.
  static std::string Key(absl::string_view tenant, absl::string_view metric,
                         absl::string_view series_key, absl::Time bucket);

  // The cached cell of `key` (marked most recently used), if any.
  std::optional<Cell> Lookup(const std::string& key);

  // Remembers committed cells. A cell already cached with a count at least
  // the given one keeps its entry (a later commit of this process got there
  // first: counts only grow). A cell whose entry alone exceeds the budget is
  // dropped.
  void Remember(std::vector<Update> updates);

  // Drops the cell of `key`, if cached.
  void Forget(const std::string& key);

  // Counts `n` looked-up cells whose guarded write found the row's count
  // moved (reported by the store, for stats()).
  void CountStale(int64_t n);

  size_t size() const;
  size_t bytes() const;
  Stats stats() const;

 private:
  struct Entry {
    std::string key;
    Cell cell;
  };
  static size_t Charge(const Entry& entry) {
    return entry.key.size() + entry.cell.sketch.size() + kEntryOverhead;
  }
  // Drops least recently used entries until within the budget. Needs mu_.
  void EvictLocked();
  void EraseLocked(std::list<Entry>::iterator it);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  // Keyed by views of the entries' own keys (list nodes never move), so a
  // key is stored once, as Charge counts it.
  absl::flat_hash_map<absl::string_view, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  Stats stats_;
};

}  // namespace agentwatch::monitor
