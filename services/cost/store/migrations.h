// The cost service's schema migrations, compiled from migrations/*.sql.
#pragma once

#include <vector>

#include "common/migrations.h"

namespace agentwatch::cost {

// Migrations of the `cost` schema, in version order.
const std::vector<common::Migration>& Migrations();

}  // namespace agentwatch::cost
