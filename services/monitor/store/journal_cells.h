// The rollup cells of one tenant as one ingest-journal row stores them
// (monitor.ingest_journal.cells, see PgMonitorStore): a version byte, the
// distinct metric names once, then per cell its metric's index, series key,
// bucket (unix seconds), count, sum, min, max and serialized sketch (empty
// for metrics without one). Integers are LEB128 varints, doubles their 8
// IEEE bytes little-endian.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "monitor/core/rollup.h"

namespace agentwatch::monitor {

// Version byte of EncodeJournalCells' format.
inline constexpr char kJournalCellsVersion = 1;

// Encodes `cells`, which must all be of one tenant (it is not stored: the
// journal row carries it).
std::string EncodeJournalCells(const std::vector<const RollupDelta*>& cells);

// Decodes EncodeJournalCells' output, giving each cell `tenant`. DATA_LOSS
// (never a crash) for an unknown version, a truncated or overlong input, a
// metric index out of range, a negative count or an unreadable sketch.
absl::StatusOr<std::vector<RollupDelta>> DecodeJournalCells(const std::string& tenant,
                                                            absl::string_view bytes);

}  // namespace agentwatch::monitor
