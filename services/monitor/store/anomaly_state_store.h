// Postgres persistence of anomaly-rule detector states
// (monitor.anomaly_state, migration 006), inside the caller's transaction:
// the rule evaluation holds the rule's advisory lock while it loads, feeds
// and saves them. Exceptions from libpqxx propagate to PgPool, which maps
// them.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "monitor/core/alert_rules.h"

namespace agentwatch::monitor {

// The detector states of one rule, by fingerprint.
std::vector<AnomalySeriesState> PgLoadAnomalyStates(pqxx::work& txn, const std::string& tenant,
                                                    const std::string& rule_id);

// Inserts or replaces one state.
void PgSaveAnomalyState(pqxx::work& txn, const AnomalySeriesState& state);

// Deletes one state (absent: nothing).
void PgDeleteAnomalyState(pqxx::work& txn, const std::string& tenant, const std::string& rule_id,
                          const std::string& fingerprint);

}  // namespace agentwatch::monitor
