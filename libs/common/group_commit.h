// Group commit for durable write paths (DESIGN.md, Durability): batches that
// arrive while the store's transactions are busy queue and share the next
// transaction, each answered only once that transaction committed.
//
// A caller of Commit queues its batch and waits. Whenever fewer than
// max_concurrent_groups groups run (and, while one runs already, at least
// min_size_to_overlap units wait), the first waiting caller leads: it takes
// the queued batches in arrival order (up to max_group_size units; a larger
// batch still goes alone), runs `run` on them outside the lock, and wakes the
// callers of the group. With a key function, a batch whose key is already in
// the group being formed stays queued for a later group (a second copy of an
// idempotent batch must see the first one committed).
//
// `run` fills each batch's result itself (the Batch type is the store's); it
// must not throw. Thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace agentwatch::common {

template <typename Batch>
class GroupCommitter {
 public:
  struct Options {
    // Most groups running at once (values below 1 count as 1).
    int max_concurrent_groups = 1;
    // Most units (size(batch)) in one group.
    int64_t max_group_size = 1;
    // While a group runs, another starts only once this many units wait
    // (0: at once). A group's fixed cost (its transaction, statements and
    // commit) is then shared by more batches, while commits still overlap
    // when enough arrives; with nothing running a group starts at once.
    int64_t min_size_to_overlap = 0;
  };
  using SizeFn = std::function<int64_t(const Batch&)>;
  using KeyFn = std::function<std::string(const Batch&)>;
  using RunFn = std::function<void(const std::vector<Batch*>&)>;

  // `key` may be empty (no batch keeps another out of a group).
  GroupCommitter(Options options, SizeFn size, RunFn run, KeyFn key = nullptr)
      : options_(options), size_(std::move(size)), run_(std::move(run)), key_(std::move(key)) {}
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `batch` and returns once a group holding it has run.
  void Commit(Batch* batch) {
    Waiting waiting{batch};
    absl::MutexLock lock(&mu_);
    queue_.push_back(&waiting);
    while (!waiting.done) {
      if (MayStartGroup()) {
        std::vector<Waiting*> group = TakeGroup();
        std::vector<Batch*> batches;
        batches.reserve(group.size());
        for (Waiting* w : group) batches.push_back(w->batch);
        ++running_;
        mu_.Unlock();
        run_(batches);
        mu_.Lock();
        --running_;
        for (Waiting* w : group) w->done = true;
        cv_.SignalAll();
      } else {
        cv_.Wait(&mu_);
      }
    }
  }

  // Batches queued and not yet taken by a group.
  size_t Queued() {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  // Changes max_concurrent_groups (tests use 1 to make groups deterministic).
  void SetMaxConcurrentGroups(int groups) {
    absl::MutexLock lock(&mu_);
    options_.max_concurrent_groups = groups;
  }

 private:
  struct Waiting {
    Batch* batch;
    bool done = false;
  };

  bool MayStartGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty() || running_ >= std::max(1, options_.max_concurrent_groups)) return false;
    if (running_ == 0 || options_.min_size_to_overlap <= 0) return true;
    int64_t units = 0;
    for (const Waiting* w : queue_) {
      units += size_(*w->batch);
      if (units >= options_.min_size_to_overlap) return true;
    }
    return false;
  }

  std::vector<Waiting*> TakeGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Waiting*> group;
    std::set<std::string> keys;
    int64_t units = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      Waiting* next = *it;
      const int64_t n = size_(*next->batch);
      if (!group.empty() && units + n > options_.max_group_size) break;
      if (key_ && !keys.insert(key_(*next->batch)).second) {
        ++it;
        continue;
      }
      units += n;
      group.push_back(next);
      it = queue_.erase(it);
    }
    return group;
  }

  absl::Mutex mu_;
  absl::CondVar cv_;
  Options options_ ABSL_GUARDED_BY(mu_);
  const SizeFn size_;
  const RunFn run_;
  const KeyFn key_;
  std::deque<Waiting*> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace agentwatch::common
