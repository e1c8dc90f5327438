// Wires config, sessions, pollers, the snapshot and the HTTP server together, and owns them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/deadline_watchdog.h"
#include "pgconn/http_server.h"
#include "pgconn/pgbouncer_poller.h"
#include "pgconn/poller.h"
#include "pgconn/process_watcher.h"
#include "pgconn/snapshot.h"
#include "pgconn/snapshot_assembler.h"

namespace spdlog {
class logger;
}

namespace pgconn {

std::string VersionString();  // "pgconn_exporter VERSION (revision REV)"

class Exporter {
 public:
  Exporter(Config config, std::shared_ptr<spdlog::logger> log);
  // Stops serving first, then polling, then closes every session.
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Binds the HTTP listener (throws std::runtime_error when it cannot) and starts polling.
  void Start();
  // Polls every target once, concurrently; true when all are up. For --once.
  bool PollAllOnce();
  const SnapshotStore& store() const { return store_; }
  // Each polled target with the status its last PollAllOnce left, in config order (for `plan`).
  std::vector<std::pair<TargetConfig, TargetStatus>> LastPolled() const;
  // Each [[pgbouncer]] with the status its last PollAllOnce left, in config order.
  std::vector<std::pair<PgbouncerConfig, PgbouncerStatus>> LastPolledPgbouncers() const;

 private:
  Families ExporterFamilies() const;
  // The one place a [[pgbouncer]] poller is made (start-up, and reload later).
  std::unique_ptr<PgbouncerPoller> MakePgbouncerPoller(const PgbouncerConfig& pgbouncer);
  void PollPgbouncersOnce();

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  SnapshotStore store_;
  SnapshotAssembler assembler_;
  TargetFacts facts_;  // written by the pollers, read by the process watcher
  DeadlineWatchdog watchdog_;
  std::vector<std::unique_ptr<TargetPoller>> pollers_;
  std::vector<TargetStatus> last_statuses_;  // filled by PollAllOnce, aligned with pollers_
  std::unique_ptr<ProcessWatcher> process_watcher_;
  std::vector<std::unique_ptr<PgbouncerPoller>> pgbouncer_pollers_;
  std::vector<PgbouncerStatus> last_pgbouncer_statuses_;  // aligned with pgbouncer_pollers_
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pgconn
