#include "monitor/store/sketch_cell_cache.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace agentwatch::monitor {

std::string SketchCellCache::Key(absl::string_view tenant, absl::string_view metric,
                                 absl::string_view series_key, absl::Time bucket) {
  // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
  return absl::StrCat(tenant.size(), ":", tenant, metric.size(), ":", metric, series_key.size(),
                      ":", series_key, "@", absl::ToUnixSeconds(bucket));
}

std::optional<SketchCellCache::Cell> SketchCellCache::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->cell;
}

void SketchCellCache::Remember(std::vector<Update> updates) {
  if (max_bytes_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (Update& update : updates) {
    const auto it = index_.find(update.key);
    if (it != index_.end()) {
      if (it->second->cell.count >= update.cell.count) continue;
      EraseLocked(it->second);
    }
    Entry entry{std::move(update.key), std::move(update.cell)};
    if (Charge(entry) > max_bytes_) continue;
    bytes_ += Charge(entry);
    lru_.push_front(std::move(entry));
    index_.emplace(absl::string_view(lru_.front().key), lru_.begin());
  }
  EvictLocked();
}

void SketchCellCache::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = index_.find(key);
  if (it != index_.end()) EraseLocked(it->second);
}

void SketchCellCache::CountStale(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.stale += n;
}

void SketchCellCache::EraseLocked(std::list<Entry>::iterator it) {
  bytes_ -= Charge(*it);
  index_.erase(absl::string_view(it->key));  // before the key it views is freed
  lru_.erase(it);
}

void SketchCellCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    EraseLocked(std::prev(lru_.end()));
    ++stats_.evictions;
  }
}

size_t SketchCellCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

size_t SketchCellCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

SketchCellCache::Stats SketchCellCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace agentwatch::monitor
