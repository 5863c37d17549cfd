// The incident schema, compiled from services/incident/migrations/*.sql.
#pragma once

#include <vector>

#include "common/migrations.h"

namespace agentwatch::incident {

// The migrations of schema "incident", in version order.
const std::vector<common::Migration>& Migrations();

}  // namespace agentwatch::incident
