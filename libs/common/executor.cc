#include "common/executor.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log.h"

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
  if (options_.nice != 0) {
    // On Linux a thread id names one thread for setpriority.
    const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
    if (setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + options_.nice) != 0) {
      LogWarning("cannot lower the executor thread's priority",
                 {{"nice", absl::StrCat(options_.nice)}, {"error", std::strerror(errno)}});
    }
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
