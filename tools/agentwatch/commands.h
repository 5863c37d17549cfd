// The subcommands of the agentwatch CLI. Each takes its arguments (after the
// command words) and returns the process exit code: 0 success, 1 the
// operation failed (a service answered an error or is down), 2 bad usage.
#pragma once

#include <string>
#include <vector>

namespace agentwatch::cli {

using Args = std::vector<std::string>;

int CheckCommand(const Args& args);
int StatusCommand(const Args& args);
int IncidentsListCommand(const Args& args);
int IncidentsShowCommand(const Args& args);
int CostReportCommand(const Args& args);
int ForecastCommand(const Args& args);
int SendCommand(const Args& args);

}  // namespace agentwatch::cli
