// The capacity schema's migrations, embedded from services/capacity/migrations
// by aw_embed_migrations (target capacity_migrations).
#pragma once

#include <vector>

#include "common/migrations.h"

namespace agentwatch::capacity {

// Migrations of the `capacity` schema, in version order.
const std::vector<common::Migration>& Migrations();

}  // namespace agentwatch::capacity
