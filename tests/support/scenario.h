// Shorthands shared by the integration tests: the usual config for a TestPostgres and labels.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <string>

#include "support/client_pool.h"
#include "support/exporter_process.h"
#include "support/http_client.h"
#include "support/test_postgres.h"

namespace pgconn::testing {

using namespace std::chrono_literals;

// {target="NAME"} plus `extra`.
inline Labels TargetLabels(const std::string& target, Labels extra = {}) {
  extra["target"] = target;
  return extra;
}
inline Labels Main(Labels extra = {}) { return TargetLabels("main", std::move(extra)); }

// One target "main" against `pg` as pgconn_exporter (password via kPasswordEnv).
inline std::string MainConfig(const TestPostgres& pg, const std::string& poll_interval = "500ms",
                              const std::string& target_extra = "",
                              const std::string& exporter_extra = "") {
  return ExporterToml(poll_interval, exporter_extra) + TargetToml("main", pg.Dsn(), target_extra);
}

// Sends SIGCONT on every path out of a test that stopped a process, so the server can always
// be stopped afterwards.
class ContinueOnExit {
 public:
  explicit ContinueOnExit(pid_t pid) : pid_(pid) {}
  ~ContinueOnExit() { kill(pid_, SIGCONT); }
  ContinueOnExit(const ContinueOnExit&) = delete;
  ContinueOnExit& operator=(const ContinueOnExit&) = delete;

 private:
  pid_t pid_;
};

// A TCP port on 127.0.0.1 where nothing listens, as a target DSN.
inline std::string DeadDsn() {
  return "host=127.0.0.1 port=" + std::to_string(PickFreePort()) +
         " dbname=postgres user=pgconn_exporter";
}

inline bool IsUp(const Metrics& m, const std::string& target = "main") {
  return Value(m, "pgconn_up", TargetLabels(target)) == 1.0;
}
inline bool IsDown(const Metrics& m, const std::string& target = "main") {
  return Value(m, "pgconn_up", TargetLabels(target)) == 0.0;
}
inline double Errors(const Metrics& m, const std::string& reason,
                     const std::string& target = "main") {
  return Value(m, "pgconn_poll_errors_total", TargetLabels(target, {{"reason", reason}}))
      .value_or(-1);
}

// The metrics as text for failure messages (only pgconn_* lines, to keep them readable).
inline std::string Dump(const Metrics& m) {
  std::string out;
  for (const auto& [key, value] : m) {
    if (key.rfind("pgconn_", 0) == 0) out += "  " + key + " " + std::to_string(value) + "\n";
  }
  return out;
}

}  // namespace pgconn::testing
