// WatchIncidents' engine: one poller per replica reads the shared timeline by
// entry_id (so changes committed by any replica reach every replica's
// watchers) and fans the changes out to the open watches whose filters match.
//
// Ordering and the lag window: entry ids are handed out before their
// transactions commit, so a lower id can become visible after a higher one.
// The poller remembers the ids it found missing below its position (gaps),
// each for `lag_window`, and reads them again on every poll: a late commit
// within the window is delivered once (a gap filled is forgotten); one later
// than that is not delivered live. Events reach a watch in the order the
// poller sees them: ascending entry_id within a poll, late commits after.
//
// Cursors: an event's cursor is a position P such that every entry with an id
// <= P was seen by the poller (or its gap expired) when the event was queued,
// and the entries with greater ids that the watch had not received are
// redelivered when it resumes after P: delivery is at least once (drop
// duplicates by entry_id).
//
// Backpressure: every watch has a bounded queue; the poller never blocks on
// a watch; a watch whose queue is full is ended with RESOURCE_EXHAUSTED
// "watcher fell behind; resume with cursor X".
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/clock.h"
#include "incident/core/query.h"
#include "incident/core/types.h"
#include "incident/store/watch_source.h"

namespace re2 {
class RE2;
}

namespace agentwatch::incident {

// What a watch selects (filters combine with AND; empty ones match all),
// tested on the incident's state read with the change.
struct WatchFilter {
  std::string tenant;
  std::vector<Severity> severities;
  std::vector<LabelMatcher> matchers;  // validated (RE2 compiles)
};

// A validated WatchIncidentsRequest.
struct WatchSpec {
  WatchFilter filter;
  bool send_initial = false;            // ignored with resume_after
  std::optional<int64_t> resume_after;  // from resume_cursor
};

// Validates `request`: INVALID_ARGUMENT naming the field (tenant,
// severities[i], matchers[i].name/.op/.value, resume_cursor).
absl::StatusOr<WatchSpec> WatchSpecFromProto(const v1::WatchIncidentsRequest& request);

// CREATED for a "created" entry; UPDATED for every other kind (the enum has
// no finer type; the entry's kind says what changed).
v1::IncidentEventType EventTypeOfKind(absl::string_view kind);

// The opaque cursor of position `position`, and back (INVALID_ARGUMENT
// naming `field` when malformed).
std::string EncodeWatchCursor(int64_t position);
absl::StatusOr<int64_t> DecodeWatchCursor(absl::string_view cursor, absl::string_view field);

// The consumer of a watch (the gRPC stream, or a test). Wake() is called from
// the poller thread when the watch has something new (joined, events, ended);
// it must not block and must not call back into the IncidentWatcher.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual void Wake() = 0;
};

class IncidentWatcher;

// One open watch: its bounded queue between the poller (producer) and its
// sink (consumer). Thread-safe.
class Watch {
 public:
  enum class Next {
    kNone,    // nothing yet
    kJoined,  // the watch is live (once, before its first event)
    kEvent,   // *event holds the next event, its cursor set
    kEnded,   // *end holds the final status; nothing follows
  };

  Watch(WatchSpec spec, WatchSink* sink, size_t queue_limit);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // The consumer's next step.
  Next Pop(v1::IncidentEvent* event, absl::Status* end);

  // No Wake() is running or will be called once this returns.
  void Detach();

  // Events queued (snapshot included).
  size_t queued() const;

  const WatchSpec& spec() const { return spec_; }

  // True when the incident passes the filter.
  bool Matches(const Incident& incident) const;

 private:
  friend class IncidentWatcher;
  enum class Phase { kPending, kCatchingUp, kLive };

  // Producer side (poller thread). Push returns false when the watch ended
  // (now, because its queue is full, or before).
  bool Push(std::shared_ptr<const v1::IncidentEvent> event, int64_t cursor, bool snapshot);
  void Join(int64_t floor);
  // Ends the watch (first call wins): the queue is dropped and the consumer
  // finishes with `code` and "`reason`; resume with cursor X".
  void End(absl::StatusCode code, absl::string_view reason);
  bool ended() const;
  void WakeSink();

  struct Queued {
    std::shared_ptr<const v1::IncidentEvent> event;
    int64_t cursor = 0;
  };

  const WatchSpec spec_;
  const size_t queue_limit_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;  // per matcher; null when not a regex

  // Poller thread only.
  Phase phase_ = Phase::kPending;
  int64_t floor_ = 0;        // entries with greater ids are this watch's
  int64_t catch_up_at_ = 0;  // kCatchingUp: read up to here

  mutable std::mutex mu_;
  std::deque<Queued> queue_;
  size_t snapshot_queued_ = 0;  // SNAPSHOT events at the front (not bounded)
  bool join_pending_ = false;
  bool joined_ = false;
  std::optional<int64_t> last_cursor_;  // of the last event popped, else the start
  bool end_set_ = false;
  absl::StatusCode end_code_ = absl::StatusCode::kOk;
  std::string end_reason_;

  std::mutex sink_mu_;
  WatchSink* sink_;
};

struct IncidentWatcherOptions {
  absl::Duration poll_interval = absl::Milliseconds(150);
  // How long a missing id is waited for (a transaction committing late).
  absl::Duration lag_window = absl::Seconds(10);
  int batch_size = 1000;            // entries per query
  int max_batches_per_poll = 20;    // new entries read per poll: batch_size times this
  size_t queue_limit = 1000;        // events per watch (snapshot not counted)
  size_t max_gaps = 1024;           // missing-id ranges remembered (oldest dropped)
  int64_t initial_lookback = 2000;  // ids below the head checked for gaps at start
};

// Thread-safe. The poller runs between Start() and Stop(); tests may call
// PollOnce() instead.
class IncidentWatcher {
 public:
  // Adds fields (SLA) to the incidents of a poll's events; its error is
  // logged and the incidents go out without them.
  using Decorator = std::function<absl::Status(const std::vector<v1::Incident*>&)>;

  // `source` and `clock` must outlive it. `serving` (optional) says whether
  // the replica serves: when it turns false every open watch ends with
  // UNAVAILABLE (clients resume on another replica).
  IncidentWatcher(WatchSource& source, const common::Clock& clock, IncidentWatcherOptions options,
                  std::function<bool()> serving = nullptr);
  ~IncidentWatcher();

  // Set before Start().
  void SetDecorator(Decorator decorator) { decorator_ = std::move(decorator); }

  void Start();
  // Stops the poller and ends every watch with UNAVAILABLE. Idempotent.
  void Stop();

  // Registers a watch; it joins at the next poll (Next::kJoined). After
  // Stop() the watch is ended with UNAVAILABLE already. Never blocks on I/O
  // and never calls the sink.
  std::shared_ptr<Watch> Add(WatchSpec spec, WatchSink* sink);

  // Ends `watch` (CANCELLED) and forgets it. Idempotent.
  void Remove(const std::shared_ptr<Watch>& watch);

  // One poll: joins new watches, reads the timeline, fans out. Errors
  // (UNAVAILABLE) leave the state as it was; the next poll retries.
  absl::Status PollOnce();

  size_t watch_count() const;

 private:
  struct Built {
    int64_t entry_id = 0;
    Incident incident;
    std::shared_ptr<const v1::IncidentEvent> event;
  };
  struct Gap {
    int64_t last = 0;
    absl::Time seen;
  };

  void Loop();
  void EndAll(absl::StatusCode code, absl::string_view reason);
  absl::Status Initialize(absl::Time now);
  absl::Status JoinWatch(Watch& watch);
  void NoteGaps(int64_t from_exclusive, const std::vector<WatchEntry>& entries, absl::Time now);
  void FillGap(int64_t id);
  void ExpireGaps(absl::Time now);
  int64_t LowWater() const;
  absl::StatusOr<std::vector<Built>> BuildEvents(const std::vector<WatchEntry>& entries);
  absl::Status CatchUp(Watch& watch, int64_t low);

  WatchSource& source_;
  const common::Clock& clock_;
  const IncidentWatcherOptions options_;
  const std::function<bool()> serving_;
  Decorator decorator_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Watch>> watches_;
  bool stopped_ = false;
  bool stopping_ = false;
  std::condition_variable cv_;
  std::thread thread_;

  // Poll state (under poll_mu_).
  std::mutex poll_mu_;
  bool initialized_ = false;
  bool was_serving_ = false;
  int64_t high_ = 0;             // greatest id seen
  std::map<int64_t, Gap> gaps_;  // first missing id -> range
  absl::Time last_error_log_ = absl::InfinitePast();
};

}  // namespace agentwatch::incident
