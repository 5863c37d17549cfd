// A fixed pool of threads for blocking work (Postgres, peers), so that gRPC's
// callback threads are never blocked. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentwatch::common {

struct ExecutorOptions {
  int threads = 16;
  size_t max_queue = 10000;
  // Thread name (at most 15 characters), shown by top -H, perf and gdb.
  std::string name = "aw-executor";
  // Nice value of the executor's threads relative to the process (0..19).
  // A positive value lets gRPC's callback threads, which answer the
  // latency-critical calls inline, run before the queued bulk work when the
  // CPU is saturated; the bulk work keeps all the CPU that is otherwise idle.
  int nice = 0;
};

class BlockingExecutor {
 public:
  explicit BlockingExecutor(ExecutorOptions options);
  BlockingExecutor(int threads, size_t max_queue)
      : BlockingExecutor(ExecutorOptions{threads, max_queue}) {}
  ~BlockingExecutor();  // runs what is queued, then joins
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Queues `task`; false (and `task` not run) when the queue is full or the
  // executor is shutting down.
  bool Submit(std::function<void()> task);

 private:
  void Work();

  const ExecutorOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace agentwatch::common
