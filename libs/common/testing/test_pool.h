// A connection pool for integration tests (to a TestDatabase's DSN, say).
#pragma once

#include <memory>
#include <string>

#include "common/pg.h"

namespace agentwatch::testing {

// A pool of `size` connections to `dsn`.
std::unique_ptr<common::PgPool> TestPool(const std::string& dsn, int size = 4);

}  // namespace agentwatch::testing
