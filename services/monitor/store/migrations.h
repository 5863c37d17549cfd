// The monitor's schema migrations (services/monitor/migrations/*.sql),
// compiled into the binary by aw_embed_migrations.
#pragma once

#include <vector>

#include "common/migrations.h"

namespace agentwatch::monitor {

// Every migration of schema "monitor", in version order.
const std::vector<common::Migration>& Migrations();

}  // namespace agentwatch::monitor
