#include "common/heap.h"

#include <malloc.h>

#include <mutex>

namespace agentwatch::common {

void KeepHeapMapped() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
  });
}

}  // namespace agentwatch::common
