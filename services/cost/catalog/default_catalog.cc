#include "cost/catalog/default_catalog.h"

// The file is assembled into read-only data (.incbin) rather than compiled as a
// 1.5 MB string literal. AW_COST_DEFAULT_CATALOG_PATH comes from CMake, which
// also rebuilds this file when the JSON changes.
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    "aw_cost_default_catalog_begin:\n"
    ".incbin \"" AW_COST_DEFAULT_CATALOG_PATH
    "\"\n"
    "aw_cost_default_catalog_end:\n"
    ".byte 0\n"
    ".previous\n");

extern "C" __attribute__((visibility("hidden"))) const char aw_cost_default_catalog_begin[];
extern "C" __attribute__((visibility("hidden"))) const char aw_cost_default_catalog_end[];

namespace agentwatch::cost {

absl::string_view DefaultCatalogJson() {
  return absl::string_view(
      aw_cost_default_catalog_begin,
      static_cast<size_t>(aw_cost_default_catalog_end - aw_cost_default_catalog_begin));
}

}  // namespace agentwatch::cost
