// The thin HTTP layer: serves the latest Snapshot; never touches PostgreSQL.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "pgconn/snapshot.h"

namespace spdlog {
class logger;
}

namespace pgconn {

struct HttpOptions {
  std::string listen_address = "0.0.0.0:10432";  // normalized HOST:PORT
  std::string telemetry_path = "/metrics";
  std::string version;  // shown on the landing page
  int threads = 1024;   // one per open connection (civetweb); sized for abuse, see README
  // user -> bcrypt hash (--web.config.file); when not empty, every path but /healthz needs
  // basic auth.
  std::map<std::string, std::string> basic_auth_users;
  // POST /-/reload, like Prometheus's --web.enable-lifecycle: without it the path answers 403.
  bool enable_lifecycle = false;
  // Re-reads the config: nullopt when applied, else the error (the old config keeps running).
  std::function<std::optional<std::string>()> reload;
};

// Owns a civetweb server; the constructor starts listening (throws std::runtime_error with
// the reason when the port cannot be bound), the destructor stops and joins its threads.
class HttpServer {
 public:
  HttpServer(const HttpOptions& options, const SnapshotStore& store,
             std::shared_ptr<spdlog::logger> log);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;  // the bound port (useful when the address asked for port 0)
  // Reload: new basic-auth users (empty: no authentication) for the following requests.
  void SetBasicAuthUsers(const std::map<std::string, std::string>& users);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Plain HTML, no JavaScript: each target's used/usable bar, last poll time, link to metrics.
std::string RenderLandingPage(const Snapshot& snapshot, const HttpOptions& options);

}  // namespace pgconn
