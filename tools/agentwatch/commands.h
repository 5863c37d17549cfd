// The subcommands of the agentwatch CLI. Each takes its arguments (after the
// command words) and returns the process exit code: 0 success, 1 the
// operation failed (a service answered an error or is down), 2 bad usage.
#pragma once

#include "agentwatch/command.h"

namespace agentwatch::cli {

// commands.cc: looking at the platform.
int CheckCommand(const Args& args);
int StatusCommand(const Args& args);
int IncidentsListCommand(const Args& args);
int IncidentsShowCommand(const Args& args);
int CostReportCommand(const Args& args);
int ForecastCommand(const Args& args);
int SendCommand(const Args& args);

// ops_commands.cc: acting on it.
int IncidentsAckCommand(const Args& args);
int IncidentsResolveCommand(const Args& args);
int IncidentsNoteCommand(const Args& args);
int IncidentsPostmortemCommand(const Args& args);
int IncidentsCloseCommand(const Args& args);
int IncidentsWatchCommand(const Args& args);
int AlertsCommand(const Args& args);
int RulesListCommand(const Args& args);
int RulesApplyCommand(const Args& args);
int SilencesCommand(const Args& args);
int SlosCommand(const Args& args);
int BudgetsCommand(const Args& args);
int RecommendationsCommand(const Args& args);

// demo.cc: a simulated agent platform with injected faults.
int DemoCommand(const Args& args);

}  // namespace agentwatch::cli
