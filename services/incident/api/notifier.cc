#include "incident/api/notifier.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "agentwatch/incident/v1/incident.pb.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "incident/api/paging_mapping.h"

namespace agentwatch::incident {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  std::string* text = static_cast<std::string*>(out);
  if (text->size() < 4096) text->append(data, std::min(size * n, 4096 - text->size()));
  return size * n;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t Feed(char* buffer, size_t size, size_t n, void* in) {
  Upload* upload = static_cast<Upload*>(in);
  const size_t left = upload->data->size() - upload->offset;
  const size_t count = std::min(left, size * n);
  std::memcpy(buffer, upload->data->data() + upload->offset, count);
  upload->offset += count;
  return count;
}

struct CurlHandle {
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  ~CurlHandle() {
    if (list != nullptr) curl_slist_free_all(list);
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

TimelineEntry Entry(const NotificationEvent& e, absl::string_view kind, std::string text,
                    absl::Time now, const std::string& detail) {
  TimelineEntry entry;
  entry.tenant = e.tenant;
  entry.incident_id = e.incident_id;
  entry.time = TruncateToMicros(now);
  entry.actor = std::string(kEscalationActor);
  entry.kind = std::string(kind);
  entry.text = std::move(text);
  entry.details = {{"channel_id", e.channel_id},
                   {"tier", absl::StrCat(e.tier)},
                   {"cycle", absl::StrCat(e.cycle)},
                   {"idempotency_key", e.idempotency_key}};
  if (!e.person.empty()) entry.details["person"] = e.person;
  if (!detail.empty()) entry.details["detail"] = detail.substr(0, 512);
  return entry;
}

}  // namespace

std::string HmacSha256Hex(absl::string_view key, absl::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

absl::StatusOr<std::string> ResolveSecret(absl::string_view ref) {
  if (absl::ConsumePrefix(&ref, "env:")) {
    const char* value = std::getenv(std::string(ref).c_str());
    if (value == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("environment variable ", ref, " not set"));
    }
    return std::string(value);
  }
  if (absl::ConsumePrefix(&ref, "file:")) {
    std::ifstream in{std::string(ref)};
    if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read secret file ", ref));
    std::stringstream content;
    content << in.rdbuf();
    std::string value = content.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
  }
  return absl::FailedPreconditionError(absl::StrCat("bad secret reference \"", ref, "\""));
}

Notifier::Notifier(IncidentStore& store, const common::Clock& clock)
    : store_(store), clock_(clock) {
  GlobalInit();
}

SendResult Notifier::SendHttp(const std::string& url, const std::vector<std::string>& headers,
                              const std::string& body, absl::Duration timeout) {
  CurlHandle h;
  if (h.curl == nullptr) return {absl::UnavailableError("curl_easy_init failed"), ""};
  for (const std::string& header : headers) h.list = curl_slist_append(h.list, header.c_str());
  std::string answer;
  curl_easy_setopt(h.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.curl, CURLOPT_HTTPHEADER, h.list);
  curl_easy_setopt(h.curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h.curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h.curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(h.curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &answer);
  const CURLcode code = curl_easy_perform(h.curl);
  if (code != CURLE_OK) {
    return {absl::UnavailableError(absl::StrCat("POST failed: ", curl_easy_strerror(code))), ""};
  }
  long http = 0;
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &http);
  const std::string detail = absl::StrCat("HTTP ", http, answer.empty() ? "" : ": ", answer);
  if (http >= 200 && http < 300) return {absl::OkStatus(), detail};
  if (http == 408 || http == 429 || http >= 500) return {absl::UnavailableError(detail), detail};
  return {absl::FailedPreconditionError(detail), detail};
}

SendResult Notifier::SendEmail(const NotificationChannel& c, const NotificationEvent& e) {
  std::string password;
  if (!c.username.empty()) {
    absl::StatusOr<std::string> secret = ResolveSecret(c.secret_ref);
    if (!secret.ok()) return {secret.status(), std::string(secret.status().message())};
    password = *std::move(secret);
  }
  CurlHandle h;
  if (h.curl == nullptr) return {absl::UnavailableError("curl_easy_init failed"), ""};
  const std::string url = absl::StrCat("smtp://", c.smtp_host, ":", c.smtp_port, "/agentwatch");
  const std::string from = absl::StrCat("<", c.from_address, ">");
  for (const std::string& to : c.to_addresses) {
    h.list = curl_slist_append(h.list, absl::StrCat("<", to, ">").c_str());
  }
  const std::string message = EmailMessage(e, c);
  Upload upload{&message};
  curl_easy_setopt(h.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h.curl, CURLOPT_MAIL_RCPT, h.list);
  curl_easy_setopt(h.curl, CURLOPT_READFUNCTION, Feed);
  curl_easy_setopt(h.curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h.curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h.curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(h.curl, CURLOPT_NOSIGNAL, 1L);
  if (c.starttls) curl_easy_setopt(h.curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!c.username.empty()) {
    curl_easy_setopt(h.curl, CURLOPT_USERNAME, c.username.c_str());
    curl_easy_setopt(h.curl, CURLOPT_PASSWORD, password.c_str());
  }
  const CURLcode code = curl_easy_perform(h.curl);
  long reply = 0;
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &reply);
  if (code == CURLE_OK) return {absl::OkStatus(), absl::StrCat("SMTP ", reply)};
  const std::string detail =
      absl::StrCat("SMTP to ", c.smtp_host, ":", c.smtp_port, " failed: ", curl_easy_strerror(code),
                   reply ? absl::StrCat(" (reply ", reply, ")") : "");
  if (reply >= 500 && reply < 600) return {absl::FailedPreconditionError(detail), detail};
  return {absl::UnavailableError(detail), detail};
}

SendResult Notifier::Send(const NotificationChannel& c, const NotificationEvent& e) {
  const std::vector<std::string> json = {"Content-Type: application/json",
                                         absl::StrCat(kIdempotencyHeader, ": ", e.idempotency_key)};
  switch (c.kind) {
    case ChannelKind::kWebhook: {
      const std::string body = WebhookBody(e);
      std::vector<std::string> headers = json;
      for (const auto& [name, value] : c.headers)
        headers.push_back(absl::StrCat(name, ": ", value));
      if (!c.secret_ref.empty()) {
        absl::StatusOr<std::string> key = ResolveSecret(c.secret_ref);
        if (!key.ok()) return {key.status(), std::string(key.status().message())};
        headers.push_back(absl::StrCat(kSignatureHeader, ": sha256=", HmacSha256Hex(*key, body)));
      }
      return SendHttp(c.url, headers, body, c.timeout);
    }
    case ChannelKind::kSlack: {
      absl::StatusOr<std::string> url = ResolveSecret(c.secret_ref);
      if (!url.ok()) return {url.status(), std::string(url.status().message())};
      return SendHttp(*url, json, SlackBody(e, c.slack_channel), c.timeout);
    }
    case ChannelKind::kPagerDuty: {
      absl::StatusOr<std::string> key = ResolveSecret(c.secret_ref);
      if (!key.ok()) return {key.status(), std::string(key.status().message())};
      return SendHttp(c.url, json, PagerDutyBody(e, *key), c.timeout);
    }
    case ChannelKind::kEmail:
      return SendEmail(c, e);
    case ChannelKind::kUnspecified:
      break;
  }
  return {absl::FailedPreconditionError("channel has no kind"), "channel has no kind"};
}

absl::Status Notifier::Deliver(const std::vector<common::OutboxEntry>& entries) {
  absl::Status first_error;
  for (const common::OutboxEntry& entry : entries) {
    absl::StatusOr<NotificationEvent> event = ParseNotificationEvent(entry.payload);
    if (!event.ok()) {
      common::LogError("dropping an unreadable notification",
                       {{"key", entry.idempotency_key}, {"error", event.status().ToString()}});
      continue;
    }
    ASSIGN_OR_RETURN(const bool done, store_.WasDelivered(event->tenant, event->idempotency_key));
    if (done) continue;
    DeliveryRecord record{event->tenant,     event->idempotency_key, event->incident_id,
                          event->channel_id, event->person,          TruncateToMicros(clock_.Now()),
                          TimelineEntry{}};
    absl::StatusOr<ConfigRecord> stored =
        store_.GetConfig(config_kind::kChannel, event->channel_id);
    if (absl::IsNotFound(stored.status())) {
      record.entry = Entry(*event, timeline_kind::kNotificationFailed,
                           absl::StrCat("Channel ", event->channel_id, " was deleted; not sent"),
                           record.time, "");
      RETURN_IF_ERROR(store_.RecordDelivery(record));
      continue;
    }
    if (!stored.ok()) return stored.status();
    v1::NotificationChannel proto;
    if (!proto.ParseFromString(stored->body)) {
      return absl::InternalError(absl::StrCat("channel ", stored->id, " is unreadable"));
    }
    ASSIGN_OR_RETURN(const NotificationChannel channel, ChannelFromProto(proto, "channel"));
    if (channel.disabled) {
      record.entry =
          Entry(*event, timeline_kind::kNotificationFailed,
                absl::StrCat("Channel ", channel.name, " is disabled; not sent"), record.time, "");
      RETURN_IF_ERROR(store_.RecordDelivery(record));
      continue;
    }
    const SendResult result = Send(channel, *event);
    if (result.status.ok()) {
      record.entry =
          Entry(*event, timeline_kind::kNotified,
                absl::StrCat("Notified ", event->person.empty() ? channel.name : event->person,
                             " via ", channel.name),
                record.time, result.detail);
      RETURN_IF_ERROR(store_.RecordDelivery(record));
      continue;
    }
    if (!absl::IsUnavailable(result.status)) {
      record.entry = Entry(*event, timeline_kind::kNotificationFailed,
                           absl::StrCat("Notification via ", channel.name, " failed for good"),
                           record.time, result.detail);
      RETURN_IF_ERROR(store_.RecordDelivery(record));
      continue;
    }
    if (entry.attempts == 0) {
      const absl::Status appended = store_.AppendTimeline(
          Entry(*event, timeline_kind::kNotificationFailed,
                absl::StrCat("Notification via ", channel.name, " failed; retrying"), record.time,
                result.detail));
      if (!appended.ok() && !absl::IsNotFound(appended)) return appended;
    }
    if (first_error.ok()) first_error = result.status;
  }
  return first_error;
}

}  // namespace agentwatch::incident
