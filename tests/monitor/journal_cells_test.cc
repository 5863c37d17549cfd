// The ingest journal's cell encoding: a round trip keeps every field and
// sketch, and every malformed input is DATA_LOSS (never a crash).
#include "monitor/store/journal_cells.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "monitor/core/quantile_sketch.h"

namespace agentwatch::monitor {
namespace {

using ::agentwatch::testing::IsOk;
using ::agentwatch::testing::StatusIs;

std::vector<RollupDelta> Cells() {
  std::vector<RollupDelta> cells(3);
  cells[0].metric = "workflow_runs_total";
  cells[0].series_key = "0123456789abcdef0123456789abcdef";
  cells[0].bucket = absl::FromUnixSeconds(1'700'000'040);
  cells[0].stats = {7, 7, 1, 1};
  cells[1].metric = "workflow_duration_seconds";
  cells[1].series_key = "fedcba9876543210fedcba9876543210";
  cells[1].bucket = absl::FromUnixSeconds(1'700'000'100);
  cells[1].stats = {std::numeric_limits<int64_t>::max(), -2.5, -1e300, 1e300};
  cells[1].sketch.emplace();
  for (double v : {0.001, 0.5, 3.0, 3.0, 120.0}) cells[1].sketch->Add(v);
  cells[2] = cells[0];
  cells[2].bucket += absl::Minutes(1);
  for (RollupDelta& cell : cells) cell.tenant = "acme";
  return cells;
}

std::string Encoded() {
  const std::vector<RollupDelta> cells = Cells();
  std::vector<const RollupDelta*> pointers;
  for (const RollupDelta& cell : cells) pointers.push_back(&cell);
  return EncodeJournalCells(pointers);
}

TEST(JournalCellsTest, RoundTripKeepsEveryFieldAndSketch) {
  const std::vector<RollupDelta> cells = Cells();
  absl::StatusOr<std::vector<RollupDelta>> decoded = DecodeJournalCells("acme", Encoded());
  ASSERT_THAT(decoded, IsOk());
  ASSERT_EQ(decoded->size(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ((*decoded)[i].tenant, "acme");
    EXPECT_EQ((*decoded)[i].metric, cells[i].metric);
    EXPECT_EQ((*decoded)[i].series_key, cells[i].series_key);
    EXPECT_EQ((*decoded)[i].bucket, cells[i].bucket);
    EXPECT_EQ((*decoded)[i].stats, cells[i].stats);
    ASSERT_EQ((*decoded)[i].sketch.has_value(), cells[i].sketch.has_value());
    if (cells[i].sketch.has_value()) {
      EXPECT_EQ((*decoded)[i].sketch->Serialize(), cells[i].sketch->Serialize());
    }
  }
  // The decoded cells share one copy of the tenant and of each metric name
  // (cells 0 and 2 are of one metric).
  EXPECT_TRUE((*decoded)[0].tenant.SharesCopyWith((*decoded)[1].tenant));
  EXPECT_TRUE((*decoded)[0].tenant.SharesCopyWith((*decoded)[2].tenant));
  EXPECT_TRUE((*decoded)[0].metric.SharesCopyWith((*decoded)[2].metric));
  EXPECT_FALSE((*decoded)[0].metric.SharesCopyWith((*decoded)[1].metric));
  EXPECT_THAT(DecodeJournalCells("acme", EncodeJournalCells({})), IsOk());
}

// EncodedBytesAreTheFormatsBytes' expectations (see there).
constexpr char kCellsHex[] =
    "010213776f726b666c6f775f72756e735f746f74616c19776f726b666c6f775f6475726174696f6e"
    "5f7365636f6e64730300203031323334353637383961626364656630313233343536373839616263"
    "646566a8e2cfaa06070000000000001c40000000000000f03f000000000000f03f00012066656463"
    "62613938373635343332313066656463626139383736353433323130e4e2cfaa06ffffffffffffff"
    "ff7f00000000000004c09c7500883ce437fe9c7500883ce4377e290180107b14ae47e17a843f0004"
    "b10501b702015902b9010100fca9f1d24d62503f0000000000005e40002030313233343536373839"
    "61626364656630313233343536373839616263646566e4e2cfaa06070000000000001c4000000000"
    "0000f03f000000000000f03f00";
constexpr size_t kVariedBytes = 491903;
constexpr uint64_t kVariedDigest = 4065999348646415884u;

// The bytes are fixed by the format: the hex of Cells()' encoding and the
// size and FNV-1a digest of 2,000 varied cells (20 metrics, sketched and
// plain, series keys of 0 to 40 bytes, buckets, counts and extremes across
// their ranges, long sketches) as the push_back encoder wrote them.
TEST(JournalCellsTest, EncodedBytesAreTheFormatsBytes) {
  std::string hex;
  for (unsigned char c : Encoded()) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
  EXPECT_EQ(hex, kCellsHex);

  std::mt19937_64 rng(5);
  std::vector<RollupDelta> cells(2000);
  for (size_t i = 0; i < cells.size(); ++i) {
    RollupDelta& cell = cells[i];
    cell.tenant = "tenant";
    cell.metric = "metric_" + std::to_string(i / 100);
    cell.series_key = std::string(rng() % 41, static_cast<char>('a' + rng() % 26));
    cell.bucket = absl::FromUnixSeconds(static_cast<int64_t>(rng() % 4'000'000'000u));
    cell.stats.count = static_cast<int64_t>(rng() >> (1 + rng() % 63));
    cell.stats.sum = std::ldexp(static_cast<double>(rng() % 1000) - 500, rng() % 200 - 100);
    cell.stats.min = -cell.stats.sum;
    cell.stats.max = cell.stats.sum * 2;
    if (i % 3 != 0) {
      cell.sketch.emplace();
      const int n = 1 + static_cast<int>(rng() % 300);
      for (int j = 0; j < n; ++j) {
        cell.sketch->Add(std::lognormal_distribution<double>(0, 1 + j % 3)(rng) *
                         (j % 5 == 0 ? -1 : 1));
      }
    }
  }
  std::vector<const RollupDelta*> pointers;
  for (const RollupDelta& cell : cells) pointers.push_back(&cell);
  const std::string bytes = EncodeJournalCells(pointers);
  uint64_t digest = 1469598103934665603u;
  for (unsigned char c : bytes) digest = (digest ^ c) * 1099511628211u;
  EXPECT_EQ(bytes.size(), kVariedBytes);
  EXPECT_EQ(digest, kVariedDigest);
  absl::StatusOr<std::vector<RollupDelta>> decoded = DecodeJournalCells("tenant", bytes);
  ASSERT_THAT(decoded, IsOk());
  ASSERT_EQ(decoded->size(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ((*decoded)[i].series_key, cells[i].series_key);
    EXPECT_EQ((*decoded)[i].stats, cells[i].stats);
  }
}

TEST(JournalCellsTest, EveryTruncationAndBadByteIsDataLoss) {
  const std::string bytes = Encoded();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(DecodeJournalCells("acme", bytes.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss))
        << n;
  }
  EXPECT_THAT(DecodeJournalCells("acme", bytes + "x"), StatusIs(absl::StatusCode::kDataLoss));
  std::string version = bytes;
  version[0] = 2;
  EXPECT_THAT(DecodeJournalCells("acme", version), StatusIs(absl::StatusCode::kDataLoss));
  // Two metrics; the first cell's metric index (right after the names and
  // the cell count) pointed past them.
  std::string index = bytes;
  const size_t names = 1 + 1 + 1 + std::string("workflow_runs_total").size() + 1 +
                       std::string("workflow_duration_seconds").size();
  ASSERT_EQ(index[names + 1], 0);
  index[names + 1] = 2;
  EXPECT_THAT(DecodeJournalCells("acme", index), StatusIs(absl::StatusCode::kDataLoss));
  // Every single-byte change either decodes or is DATA_LOSS.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string changed = bytes;
    changed[i] = static_cast<char>(changed[i] ^ 0x5a);
    const absl::Status status = DecodeJournalCells("acme", changed).status();
    EXPECT_TRUE(status.ok() || status.code() == absl::StatusCode::kDataLoss) << i << status;
  }
}

}  // namespace
}  // namespace agentwatch::monitor
