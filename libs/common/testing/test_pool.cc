#include "common/testing/test_pool.h"

namespace agentwatch::testing {

std::unique_ptr<common::PgPool> TestPool(const std::string& dsn, int size) {
  common::PgPoolOptions options;
  options.dsn = dsn;
  options.size = size;
  return std::make_unique<common::PgPool>(options);
}

}  // namespace agentwatch::testing
