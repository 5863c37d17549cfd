#include "common/executor.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/thread_priority.h"

namespace agentwatch::common {

BlockingExecutor::BlockingExecutor(ExecutorOptions options) : options_(std::move(options)) {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Work(); });
}

BlockingExecutor::~BlockingExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool BlockingExecutor::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void BlockingExecutor::Work() {
  pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
  if (const absl::Status lowered = LowerCurrentThreadPriority(options_.nice); !lowered.ok()) {
    LogWarning("cannot lower the executor thread's priority",
               {{"nice", absl::StrCat(options_.nice)}, {"error", lowered.ToString()}});
  }
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace agentwatch::common
