// A fixed pool of threads for blocking work (Postgres, peers), so that gRPC's
// callback threads are never blocked. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agentwatch::common {

class BlockingExecutor {
 public:
  BlockingExecutor(int threads, size_t max_queue);
  ~BlockingExecutor();  // runs what is queued, then joins
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task`; false (and `task` not run) when the queue is full or the
  // executor is shutting down.
  bool Submit(std::function<void()> task);

 private:
  void Work();

  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace agentwatch::common
