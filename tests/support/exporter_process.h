// Runs the real pgconn_exporter binary (PGCONN_EXPORTER_BIN) against a config written to a temp
// dir, on a free 127.0.0.1 port, with its stdout+stderr captured to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"

namespace pgconn::testing {

// The env var test configs name in password_env; ExporterOptions sets it by default.
inline constexpr const char* kPasswordEnv = "PGCONN_TEST_PASSWORD";

// PGCONN_EXPORTER_BIN (the build's binary), or $PGCONN_EXPORTER_BIN_OVERRIDE when set; throws
// when it is not an executable file.
std::string ExporterBinary();

// `[exporter]` table; the listen address always comes from --web.listen-address.
std::string ExporterToml(const std::string& poll_interval = "500ms",
                         const std::string& extra_lines = "");
// One `[[target]]` table with password_env = kPasswordEnv and query_timeout 2s by default.
std::string TargetToml(const std::string& name, const std::string& dsn,
                       const std::string& extra_lines = "");

struct ExporterOptions {
  std::map<std::string, std::string> env;  // added to kPasswordEnv=kExporterPassword
  std::vector<std::string> extra_args;
  std::chrono::milliseconds healthy_timeout{10000};
};

class ExporterProcess {
 public:
  // Writes the config, starts the exporter and waits until GET /healthz answers 200.
  // Throws (with the log) when it exits or does not become healthy in time.
  explicit ExporterProcess(const std::string& config_toml, ExporterOptions options = {});
  ~ExporterProcess();  // SIGKILL if still running; reports an unexpected crash as a failure
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& ConfigPath() const { return config_path_; }
  std::string Log() const;

  HttpResponse Get(const std::string& path, const std::map<std::string, std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  std::string ScrapeText() const;  // GET /metrics, throws unless 200
  Metrics Scrape() const;

  // Scrapes every `interval` until `predicate(metrics)` holds; `last` gets the last scrape.
  bool ScrapeUntil(const std::function<bool(const Metrics&)>& predicate,
                   std::chrono::milliseconds timeout, Metrics* last = nullptr,
                   std::chrono::milliseconds interval = std::chrono::milliseconds(100)) const;

  // Sends `signal` (SIGTERM by default), then waits; returns the exit code (128+signal when
  // killed by one). After `timeout` it sends SIGKILL, records a test failure and returns -1.
  int Stop(int signal = SIGTERM,
           std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  bool Running();

 private:
  std::unique_ptr<TempDir> dir_;
  std::string config_path_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// `pgconn_exporter --config.file F --once` (plus extra args); 60 s deadline.
ProcessResult RunOnce(const std::string& config_toml,
                      const std::vector<std::string>& extra_args = {},
                      const std::map<std::string, std::string>& env = {});
// `pgconn_exporter --config.file PATH --check-config` for a config file that exists already.
ProcessResult RunCheckConfigFile(const std::string& path,
                                 const std::map<std::string, std::string>& env = {});
// The same for text written to a temp file named `file_name`; *path gets its full path.
ProcessResult RunCheckConfig(const std::string& config_toml, std::string* path = nullptr,
                             const std::map<std::string, std::string>& env = {});
// Any other invocation, e.g. {"--version"}.
ProcessResult RunExporter(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

}  // namespace pgconn::testing
