// One HTTP port per service (civetweb): /metrics, /healthz, /readyz and any
// endpoint a service adds (webhooks). Handlers run on civetweb's threads and
// must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"

struct mg_context;
struct mg_connection;

namespace agentwatch::common {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::map<std::string, std::string> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // `listen` is host:port; port 0 picks a free port (see port()).
  explicit HttpServer(std::string listen, size_t max_body_bytes = 16 << 20);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes exact `path` to `handler`; before Start only.
  void Handle(const std::string& path, HttpHandler handler);

  absl::Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  static int Dispatch(mg_connection* conn, void* self);

  std::string listen_;
  size_t max_body_bytes_;
  std::map<std::string, HttpHandler> handlers_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace agentwatch::common
