// A schema migration compiled into a service binary (see
// cmake/AgentwatchHelpers.cmake, aw_embed_migrations).
#pragma once

#include <string>

namespace agentwatch::common {

struct Migration {
  int version;       // NNN from NNN_name.sql; applied in ascending order
  std::string name;  // the file name without .sql
  std::string sql;   // may hold several statements
};

}  // namespace agentwatch::common
