#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"

namespace agentwatch::common {
namespace {

absl::StatusOr<RedisReply> Decode(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_NIL:
      out.type = RedisReply::Type::kNil;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < reply->elements; ++i) {
        ASSIGN_OR_RETURN(RedisReply element, Decode(reply->element[i]));
        out.elements.push_back(std::move(element));
      }
      break;
    case REDIS_REPLY_ERROR:
      return absl::InternalError(absl::StrCat("redis: ", std::string(reply->str, reply->len)));
    default:
      return absl::InternalError("redis: unexpected reply type");
  }
  return out;
}

}  // namespace

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() { DropLocked(); }

void RedisClient::DropLocked() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

absl::Duration RedisReconnectBackoff(absl::Duration base, absl::Duration max, int failures) {
  absl::Duration wait = base;
  for (int i = 1; i < failures && wait < max; ++i) wait *= 2;
  return std::min(wait, max);
}

void RedisClient::BackOffLocked(absl::Time now) {
  ++failures_in_a_row_;
  retry_after_ = now + RedisReconnectBackoff(options_.reconnect_backoff,
                                             options_.max_reconnect_backoff, failures_in_a_row_);
}

absl::Status RedisClient::EnsureConnectedLocked() {
  if (ctx_ != nullptr) return absl::OkStatus();
  const absl::Time now = absl::Now();
  if (now < retry_after_) {
    return absl::UnavailableError(
        absl::StrCat("redis ", options_.host, ":", options_.port, " unreachable (backing off)"));
  }
  const timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  redisContext* ctx =
      redisConnectWithTimeout(options_.host.c_str(), options_.port, connect_timeout);
  if (ctx == nullptr || ctx->err != 0) {
    const std::string reason = ctx == nullptr ? "out of memory" : ctx->errstr;
    if (ctx != nullptr) redisFree(ctx);
    BackOffLocked(now);
    return absl::UnavailableError(
        absl::StrCat("redis ", options_.host, ":", options_.port, " unreachable: ", reason));
  }
  const timeval command_timeout = absl::ToTimeval(options_.command_timeout);
  redisSetTimeout(ctx, command_timeout);
  ctx_ = ctx;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(EnsureConnectedLocked());
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> argvlen;
    argv.reserve(args.size());
    argvlen.reserve(args.size());
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      argvlen.push_back(arg.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), argvlen.data()) !=
        REDIS_OK) {
      const std::string reason = ctx_->errstr;
      DropLocked();
      return absl::UnavailableError(absl::StrCat("redis write failed: ", reason));
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  absl::Status first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string reason = ctx_->errstr;
      DropLocked();
      BackOffLocked(absl::Now());
      return absl::UnavailableError(absl::StrCat("redis read failed: ", reason));
    }
    auto* reply = static_cast<redisReply*>(raw);
    absl::StatusOr<RedisReply> decoded = Decode(reply);
    freeReplyObject(reply);
    if (!decoded.ok()) {
      if (first_error.ok()) first_error = decoded.status();
      replies.emplace_back();
    } else {
      replies.push_back(std::move(decoded).value());
    }
  }
  failures_in_a_row_ = 0;  // the server answered
  if (!first_error.ok()) return first_error;
  return replies;
}

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(std::vector<RedisReply> replies, Pipeline({args}));
  return std::move(replies.front());
}

absl::Status RedisClient::Ping() {
  ASSIGN_OR_RETURN(RedisReply reply, Command({"PING"}));
  if (reply.str != "PONG") return absl::InternalError("redis PING did not answer PONG");
  return absl::OkStatus();
}

}  // namespace agentwatch::common
