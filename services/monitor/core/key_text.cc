#include "monitor/core/key_text.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace agentwatch::monitor {
namespace {

// The ids of the texts named so far (1, 2, ...), never forgotten: an id is
// never reused for another text.
struct NamedTexts {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, uint32_t> ids ABSL_GUARDED_BY(mu);
};

NamedTexts& Registry() {
  static NamedTexts* const registry = new NamedTexts;  // never destroyed
  return *registry;
}

}  // namespace

KeyText KeyText::Named(absl::string_view text) {
  KeyText out;
  if (text.empty()) return out;
  uint32_t id = 0;
  if (text.size() <= kMaxNamedTextBytes) {
    NamedTexts& registry = Registry();
    absl::MutexLock lock(&registry.mu);
    if (const auto it = registry.ids.find(text); it != registry.ids.end()) {
      id = it->second;
    } else if (registry.ids.size() < kMaxNamedTexts) {
      id = static_cast<uint32_t>(registry.ids.size() + 1);
      registry.ids.emplace(std::string(text), id);
    }
  }
  out.rep_ = Make(text, id);
  return out;
}

}  // namespace agentwatch::monitor
