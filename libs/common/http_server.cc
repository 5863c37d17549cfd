#include "common/http_server.h"

#include <civetweb.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace agentwatch::common {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void Send(mg_connection* conn, const HttpResponse& response) {
  std::string head =
      absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
                   "\r\nContent-Type: ", response.content_type,
                   "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (!response.body.empty()) mg_write(conn, response.body.data(), response.body.size());
}

}  // namespace

HttpServer::HttpServer(std::string listen, size_t max_body_bytes)
    : listen_(std::move(listen)), max_body_bytes_(max_body_bytes) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, HttpHandler handler) {
  handlers_[path] = std::move(handler);
}

absl::Status HttpServer::Start() {
  std::string host;
  int port;
  RETURN_IF_ERROR(ParseHostPort("http_listen", listen_, &host, &port));
  mg_init_library(0);
  const std::string ports = absl::StrCat(host, ":", port);
  const char* options[] = {"listening_ports",    ports.c_str(), "num_threads", "8",
                           "request_timeout_ms", "30000",       nullptr};
  mg_callbacks callbacks{};
  ctx_ = mg_start(&callbacks, this, options);
  if (ctx_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", listen_));
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port ports_info[4];
  const int n = mg_get_server_ports(ctx_, 4, ports_info);
  port_ = n > 0 ? ports_info[0].port : port;
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "";
  request.query = info->query_string ? info->query_string : "";
  for (int i = 0; i < info->num_headers; ++i) {
    request.headers[absl::AsciiStrToLower(info->http_headers[i].name)] =
        info->http_headers[i].value;
  }
  const auto it = self->handlers_.find(request.path);
  if (it == self->handlers_.end()) {
    Send(conn, HttpResponse{404, "text/plain; charset=utf-8", "not found\n", {}});
    return 404;
  }
  if (info->content_length > static_cast<long long>(self->max_body_bytes_)) {
    Send(conn, HttpResponse{413, "text/plain; charset=utf-8", "body too large\n", {}});
    return 413;
  }
  char buffer[16384];
  while (true) {
    const int n = mg_read(conn, buffer, sizeof(buffer));
    if (n <= 0) break;
    request.body.append(buffer, static_cast<size_t>(n));
    if (request.body.size() > self->max_body_bytes_) {
      Send(conn, HttpResponse{413, "text/plain; charset=utf-8", "body too large\n", {}});
      return 413;
    }
  }
  HttpResponse response;
  try {
    response = it->second(request);
  } catch (const std::exception& e) {
    LogError("http handler threw", {{"path", request.path}, {"error", e.what()}});
    response = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
  }
  Send(conn, response);
  return response.status;
}

}  // namespace agentwatch::common
