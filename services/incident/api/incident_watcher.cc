#include "incident/api/incident_watcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/api/proto_mapping.h"

namespace agentwatch::incident {
namespace {

// Poll errors are logged at most this often.
constexpr absl::Duration kErrorLogInterval = absl::Seconds(10);

const std::string& LabelValue(const Labels& labels, const std::string& name) {
  static const std::string* const kEmpty = new std::string();
  const auto it = labels.find(name);
  return it == labels.end() ? *kEmpty : it->second;
}

}  // namespace

absl::StatusOr<WatchSpec> WatchSpecFromProto(const v1::WatchIncidentsRequest& request) {
  // The filters are ListIncidents' (same names, same rules).
  v1::ListIncidentsRequest list;
  list.set_tenant(request.tenant());
  *list.mutable_severities() = request.severities();
  *list.mutable_matchers() = request.matchers();
  ASSIGN_OR_RETURN(IncidentQuery query, QueryFromProto(list));
  WatchSpec spec;
  spec.filter.tenant = std::move(query.tenant);
  spec.filter.severities = std::move(query.severities);
  spec.filter.matchers = std::move(query.matchers);
  spec.send_initial = request.send_initial();
  if (!request.resume_cursor().empty()) {
    ASSIGN_OR_RETURN(spec.resume_after,
                     DecodeWatchCursor(request.resume_cursor(), "resume_cursor"));
  }
  return spec;
}

v1::IncidentEventType EventTypeOfKind(absl::string_view kind) {
  return kind == timeline_kind::kCreated ? v1::INCIDENT_EVENT_TYPE_CREATED
                                         : v1::INCIDENT_EVENT_TYPE_UPDATED;
}

std::string EncodeWatchCursor(int64_t position) { return absl::StrCat("e", position); }

absl::StatusOr<int64_t> DecodeWatchCursor(absl::string_view cursor, absl::string_view field) {
  int64_t position = 0;
  const absl::string_view digits = cursor.substr(cursor.empty() ? 0 : 1);
  const bool well_formed =
      cursor.size() >= 2 && cursor.size() <= 20 && cursor.front() == 'e' &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      absl::SimpleAtoi(digits, &position);
  if (!well_formed) {
    return common::InvalidField(field, "not a cursor of this API (use an event's cursor)");
  }
  return position;
}

// --- Watch ---

Watch::Watch(WatchSpec spec, WatchSink* sink, size_t queue_limit)
    : spec_(std::move(spec)), queue_limit_(queue_limit), sink_(sink) {
  for (const LabelMatcher& m : spec_.filter.matchers) {
    if (m.op == MatchOp::kRegex || m.op == MatchOp::kNotRegex) {
      regexes_.push_back(std::make_unique<re2::RE2>(m.value, re2::RE2::Quiet));
    } else {
      regexes_.push_back(nullptr);
    }
  }
  if (spec_.resume_after) last_cursor_ = *spec_.resume_after;
}

Watch::~Watch() = default;

bool Watch::Matches(const Incident& incident) const {
  const WatchFilter& f = spec_.filter;
  if (!f.tenant.empty() && incident.tenant != f.tenant) return false;
  if (!f.severities.empty() && std::find(f.severities.begin(), f.severities.end(),
                                         incident.severity) == f.severities.end()) {
    return false;
  }
  for (size_t i = 0; i < f.matchers.size(); ++i) {
    const LabelMatcher& m = f.matchers[i];
    const std::string& value = LabelValue(incident.labels, m.name);
    bool ok = false;
    switch (m.op) {
      case MatchOp::kEqual:
        ok = value == m.value;
        break;
      case MatchOp::kNotEqual:
        ok = value != m.value;
        break;
      case MatchOp::kRegex:
        ok = regexes_[i]->ok() && re2::RE2::FullMatch(value, *regexes_[i]);
        break;
      case MatchOp::kNotRegex:
        ok = regexes_[i]->ok() && !re2::RE2::FullMatch(value, *regexes_[i]);
        break;
      default:
        ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

Watch::Next Watch::Pop(v1::IncidentEvent* event, absl::Status* end) {
  std::lock_guard<std::mutex> lock(mu_);
  if (join_pending_) {
    join_pending_ = false;
    return Next::kJoined;
  }
  if (!queue_.empty()) {
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    if (snapshot_queued_ > 0) --snapshot_queued_;
    *event = *next.event;
    event->set_cursor(EncodeWatchCursor(next.cursor));
    last_cursor_ = next.cursor;
    return Next::kEvent;
  }
  if (end_set_) {
    std::string message = end_reason_;
    if (end_code_ != absl::StatusCode::kCancelled) {
      absl::StrAppend(&message, last_cursor_ ? absl::StrCat("; resume with cursor ",
                                                            EncodeWatchCursor(*last_cursor_))
                                             : std::string("; watch again (no change was missed)"));
    }
    *end = absl::Status(end_code_, message);
    return Next::kEnded;
  }
  return Next::kNone;
}

void Watch::Detach() {
  std::lock_guard<std::mutex> lock(sink_mu_);
  sink_ = nullptr;
}

size_t Watch::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool Watch::Push(std::shared_ptr<const v1::IncidentEvent> event, int64_t cursor, bool snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (end_set_) return false;
  if (!snapshot && queue_.size() - snapshot_queued_ >= queue_limit_) {
    end_set_ = true;
    end_code_ = absl::StatusCode::kResourceExhausted;
    end_reason_ = "watcher fell behind";
    queue_.clear();
    snapshot_queued_ = 0;
    return false;
  }
  queue_.push_back({std::move(event), cursor});
  if (snapshot) ++snapshot_queued_;
  return true;
}

void Watch::Join(int64_t floor) {
  std::lock_guard<std::mutex> lock(mu_);
  if (end_set_ || joined_) return;
  joined_ = true;
  join_pending_ = true;
  if (!last_cursor_) last_cursor_ = floor;
}

void Watch::End(absl::StatusCode code, absl::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (end_set_) return;
  end_set_ = true;
  end_code_ = code;
  end_reason_ = std::string(reason);
  queue_.clear();
  snapshot_queued_ = 0;
  join_pending_ = false;
}

bool Watch::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return end_set_;
}

void Watch::WakeSink() {
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (sink_ != nullptr) sink_->Wake();
}

// --- IncidentWatcher ---

IncidentWatcher::IncidentWatcher(WatchSource& source, const common::Clock& clock,
                                 IncidentWatcherOptions options, std::function<bool()> serving)
    : source_(source), clock_(clock), options_(options), serving_(std::move(serving)) {}

IncidentWatcher::~IncidentWatcher() { Stop(); }

void IncidentWatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { Loop(); });
}

void IncidentWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  EndAll(absl::StatusCode::kUnavailable, "replica shutting down");
}

void IncidentWatcher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const absl::Status status = PollOnce();
    if (!status.ok()) {
      const absl::Time now = clock_.Now();
      if (now - last_error_log_ >= kErrorLogInterval) {
        last_error_log_ = now;
        common::LogWarning("watch poll failed; retrying", {{"error", status.ToString()}});
      }
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll_interval),
                 [this] { return stopping_; });
  }
}

std::shared_ptr<Watch> IncidentWatcher::Add(WatchSpec spec, WatchSink* sink) {
  auto watch = std::make_shared<Watch>(std::move(spec), sink, options_.queue_limit);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) {
    watch->End(absl::StatusCode::kUnavailable, "replica shutting down");
  } else {
    watches_.push_back(watch);
  }
  return watch;
}

void IncidentWatcher::Remove(const std::shared_ptr<Watch>& watch) {
  watch->End(absl::StatusCode::kCancelled, "watch cancelled");
  std::lock_guard<std::mutex> lock(mu_);
  watches_.erase(std::remove(watches_.begin(), watches_.end(), watch), watches_.end());
}

size_t IncidentWatcher::watch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watches_.size();
}

void IncidentWatcher::EndAll(absl::StatusCode code, absl::string_view reason) {
  std::vector<std::shared_ptr<Watch>> watches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watches.swap(watches_);
  }
  for (const auto& watch : watches) {
    watch->End(code, reason);
    watch->WakeSink();
  }
}

int64_t IncidentWatcher::LowWater() const {
  return gaps_.empty() ? high_ : gaps_.begin()->first - 1;
}

void IncidentWatcher::NoteGaps(int64_t from_exclusive, const std::vector<WatchEntry>& entries,
                               absl::Time now) {
  int64_t previous = from_exclusive;
  for (const WatchEntry& e : entries) {
    if (e.entry_id > previous + 1) gaps_[previous + 1] = Gap{e.entry_id - 1, now};
    previous = std::max(previous, e.entry_id);
  }
  while (gaps_.size() > options_.max_gaps) {
    auto oldest = gaps_.begin();
    for (auto it = gaps_.begin(); it != gaps_.end(); ++it) {
      if (it->second.seen < oldest->second.seen) oldest = it;
    }
    gaps_.erase(oldest);
  }
}

void IncidentWatcher::FillGap(int64_t id) {
  auto it = gaps_.upper_bound(id);
  if (it == gaps_.begin()) return;
  --it;
  const int64_t first = it->first;
  const Gap gap = it->second;
  if (id > gap.last) return;
  gaps_.erase(it);
  if (first < id) gaps_[first] = Gap{id - 1, gap.seen};
  if (id < gap.last) gaps_[id + 1] = Gap{gap.last, gap.seen};
}

void IncidentWatcher::ExpireGaps(absl::Time now) {
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (now - it->second.seen > options_.lag_window) {
      it = gaps_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status IncidentWatcher::Initialize(absl::Time now) {
  ASSIGN_OR_RETURN(const int64_t head, source_.LastEntryId());
  gaps_.clear();
  const int64_t first = std::max<int64_t>(1, head - options_.initial_lookback + 1);
  if (head >= first) {
    // Ids handed out just before the start whose transactions are still open
    // are gaps: their changes commit after the watches joined.
    ASSIGN_OR_RETURN(const std::vector<WatchEntry> recent, source_.EntriesIn({{first, head}}));
    NoteGaps(first - 1, recent, now);
    const int64_t last_seen = recent.empty() ? first - 1 : recent.back().entry_id;
    if (last_seen < head) gaps_[last_seen + 1] = Gap{head, now};
  }
  high_ = head;
  initialized_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<IncidentWatcher::Built>> IncidentWatcher::BuildEvents(
    const std::vector<WatchEntry>& entries) {
  std::vector<Built> out;
  if (entries.empty()) return out;
  std::set<IncidentKey> keys;
  for (const WatchEntry& e : entries) keys.insert({e.entry.tenant, e.entry.incident_id});
  ASSIGN_OR_RETURN(std::vector<Incident> incidents,
                   source_.Incidents(std::vector<IncidentKey>(keys.begin(), keys.end())));
  std::map<IncidentKey, std::pair<Incident, v1::Incident>> by_key;
  std::vector<v1::Incident*> protos;
  for (Incident& incident : incidents) {
    auto& slot = by_key[{incident.tenant, incident.id}];
    IncidentToProto(incident, &slot.second);
    slot.first = std::move(incident);
  }
  for (auto& [key, slot] : by_key) protos.push_back(&slot.second);
  if (decorator_ && !protos.empty()) {
    if (absl::Status status = decorator_(protos); !status.ok()) {
      common::LogWarning("watch: incidents sent without their SLA fields",
                         {{"error", status.ToString()}});
    }
  }
  for (const WatchEntry& e : entries) {
    const auto it = by_key.find({e.entry.tenant, e.entry.incident_id});
    if (it == by_key.end()) continue;
    auto event = std::make_shared<v1::IncidentEvent>();
    event->set_type(EventTypeOfKind(e.entry.kind));
    *event->mutable_incident() = it->second.second;
    TimelineEntryToProto(e.entry, event->mutable_entry());
    TimeToProto(e.entry.time, event->mutable_time());
    event->set_entry_id(e.entry_id);
    out.push_back(Built{e.entry_id, it->second.first, std::move(event)});
  }
  return out;
}

absl::Status IncidentWatcher::JoinWatch(Watch& watch) {
  const WatchSpec& spec = watch.spec();
  if (spec.resume_after && *spec.resume_after < high_) {
    watch.floor_ = *spec.resume_after;
    watch.catch_up_at_ = *spec.resume_after;
    watch.phase_ = Watch::Phase::kCatchingUp;
    watch.Join(watch.floor_);
    return absl::OkStatus();
  }
  const int64_t floor = spec.resume_after ? *spec.resume_after : LowWater();
  if (spec.send_initial && !spec.resume_after) {
    // The snapshot is read before this poll's entries: a change it already
    // shows may follow it as an event, never one it misses.
    IncidentQuery query;
    query.statuses = {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged,
                      IncidentStatus::kMitigated};
    query.tenant = spec.filter.tenant;
    query.severities = spec.filter.severities;
    query.matchers = spec.filter.matchers;
    query.page_size = kMaxPageSize;
    std::vector<Incident> open;
    while (true) {
      ASSIGN_OR_RETURN(IncidentPage page, source_.ListIncidents(query));
      for (Incident& incident : page.incidents) open.push_back(std::move(incident));
      if (!page.next) break;
      query.after = page.next;
    }
    std::vector<v1::Incident> protos(open.size());
    std::vector<v1::Incident*> pointers;
    for (size_t i = 0; i < open.size(); ++i) {
      IncidentToProto(open[i], &protos[i]);
      pointers.push_back(&protos[i]);
    }
    if (decorator_ && !pointers.empty()) {
      if (absl::Status status = decorator_(pointers); !status.ok()) {
        common::LogWarning("watch: snapshot sent without SLA fields",
                           {{"error", status.ToString()}});
      }
    }
    watch.Join(floor);
    // Oldest first, as changes come.
    for (size_t i = open.size(); i-- > 0;) {
      if (!watch.Matches(open[i])) continue;
      auto event = std::make_shared<v1::IncidentEvent>();
      event->set_type(v1::INCIDENT_EVENT_TYPE_SNAPSHOT);
      TimeToProto(open[i].update_time, event->mutable_time());
      *event->mutable_incident() = std::move(protos[i]);
      watch.Push(std::move(event), floor, /*snapshot=*/true);
    }
  } else {
    watch.Join(floor);
  }
  watch.floor_ = floor;
  watch.phase_ = Watch::Phase::kLive;
  return absl::OkStatus();
}

absl::Status IncidentWatcher::CatchUp(Watch& watch, int64_t low) {
  // Reads while the queue has room, up to max_batches_per_poll reads a poll;
  // never more events than the queue takes (a catching-up watch is paced,
  // not ended).
  const size_t room = options_.queue_limit / 2 + 1;
  const int limit = options_.batch_size;
  for (int read = 0; read < options_.max_batches_per_poll &&
                     watch.phase_ == Watch::Phase::kCatchingUp && watch.queued() < room;
       ++read) {
    // A bounded id window per read (ids are dense): each read costs the same
    // however far back the cursor is. Beyond the poller's position the live
    // fan-out delivers.
    const int64_t upto = std::min(high_, watch.catch_up_at_ + int64_t{8} * limit);
    ASSIGN_OR_RETURN(const std::vector<WatchEntry> entries,
                     source_.EntriesAfter(watch.catch_up_at_, upto, limit));
    ASSIGN_OR_RETURN(const std::vector<Built> built, BuildEvents(entries));
    // A short read saw every committed entry up to `upto` (those still in
    // flight are the poller's gaps, delivered live when they commit).
    int64_t done = entries.size() == static_cast<size_t>(limit) ? entries.back().entry_id : upto;
    for (const Built& b : built) {
      if (!watch.Matches(b.incident)) continue;
      if (watch.queued() >= options_.queue_limit) {
        done = b.entry_id - 1;  // the rest at the next poll
        break;
      }
      if (!watch.Push(b.event, std::max(watch.floor_, std::min(b.entry_id, low)), false)) {
        return absl::OkStatus();  // ended meanwhile
      }
    }
    watch.catch_up_at_ = done;
    if (watch.catch_up_at_ >= high_) watch.phase_ = Watch::Phase::kLive;
  }
  return absl::OkStatus();
}

absl::Status IncidentWatcher::PollOnce() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  const absl::Time now = clock_.Now();
  if (serving_) {
    if (serving_()) {
      was_serving_ = true;
    } else if (was_serving_) {
      was_serving_ = false;
      initialized_ = false;
      EndAll(absl::StatusCode::kUnavailable, "replica not serving (database unreachable)");
      return absl::OkStatus();
    } else {
      return absl::OkStatus();  // not serving yet: watches wait
    }
  }
  std::vector<std::shared_ptr<Watch>> watches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.erase(std::remove_if(watches_.begin(), watches_.end(),
                                  [](const std::shared_ptr<Watch>& w) { return w->ended(); }),
                   watches_.end());
    watches = watches_;
  }
  if (watches.empty()) {
    // Nobody watches: no reads at all; the next watch starts afresh.
    initialized_ = false;
    gaps_.clear();
    return absl::OkStatus();
  }
  if (!initialized_) RETURN_IF_ERROR(Initialize(now));

  std::vector<Watch*> woken;
  for (const auto& watch : watches) {
    if (watch->phase_ != Watch::Phase::kPending) continue;
    const absl::Status joined = JoinWatch(*watch);
    if (!joined.ok()) {
      for (Watch* w : woken) w->WakeSink();
      return joined;
    }
    woken.push_back(watch.get());
  }
  for (Watch* watch : woken) watch->WakeSink();
  woken.clear();

  // Late commits into the gaps, then the new entries.
  ExpireGaps(now);
  std::vector<WatchEntry> entries;
  if (!gaps_.empty()) {
    std::vector<EntryIdRange> ranges;
    for (const auto& [first, gap] : gaps_) ranges.push_back({first, gap.last});
    ASSIGN_OR_RETURN(entries, source_.EntriesIn(ranges));
  }
  int64_t high = high_;
  std::vector<WatchEntry> fresh;
  for (int batch = 0; batch < options_.max_batches_per_poll; ++batch) {
    ASSIGN_OR_RETURN(
        std::vector<WatchEntry> read,
        source_.EntriesAfter(high, std::numeric_limits<int64_t>::max(), options_.batch_size));
    const bool full = read.size() == static_cast<size_t>(options_.batch_size);
    if (!read.empty()) high = read.back().entry_id;
    for (WatchEntry& e : read) fresh.push_back(std::move(e));
    if (!full) break;
  }
  // Every read succeeded: commit the new position.
  for (const WatchEntry& e : entries) FillGap(e.entry_id);
  NoteGaps(high_, fresh, now);
  high_ = high;
  for (WatchEntry& e : fresh) entries.push_back(std::move(e));
  const int64_t low = LowWater();

  ASSIGN_OR_RETURN(const std::vector<Built> built, BuildEvents(entries));
  for (const auto& watch : watches) {
    if (watch->phase_ != Watch::Phase::kLive) continue;
    bool pushed = false;
    for (const Built& b : built) {
      if (b.entry_id <= watch->floor_ || !watch->Matches(b.incident)) continue;
      pushed = true;
      if (!watch->Push(b.event, std::max(watch->floor_, std::min(b.entry_id, low)), false)) break;
    }
    if (pushed) woken.push_back(watch.get());
  }
  for (const auto& watch : watches) {
    if (watch->phase_ != Watch::Phase::kCatchingUp) continue;
    RETURN_IF_ERROR(CatchUp(*watch, low));
    woken.push_back(watch.get());
  }
  std::sort(woken.begin(), woken.end());
  woken.erase(std::unique(woken.begin(), woken.end()), woken.end());
  for (Watch* watch : woken) watch->WakeSink();
  return absl::OkStatus();
}

}  // namespace agentwatch::incident
