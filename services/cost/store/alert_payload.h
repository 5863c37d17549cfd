// The outbox payload of a budget alert: a serialized
// agentwatch.incident.v1.Alert for incident.ReportAlerts.
#pragma once

#include <string>

#include "cost/core/budget_alert.h"

namespace agentwatch::cost {

// The serialized Alert of `alert`: fingerprint, name, severity, tenant,
// labels, annotations, starts_at, status FIRING and source kAlertSource.
std::string SerializeBudgetAlert(const BudgetAlert& alert);

}  // namespace agentwatch::cost
