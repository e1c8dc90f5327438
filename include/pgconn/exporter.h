// Wires config, sessions, pollers, the snapshot and the HTTP server together, and owns them.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/accept_probe.h"
#include "pgconn/config.h"
#include "pgconn/config_diff.h"
#include "pgconn/deadline_watchdog.h"
#include "pgconn/http_server.h"
#include "pgconn/log_watcher.h"
#include "pgconn/pgbouncer_poller.h"
#include "pgconn/poll_scheduler.h"
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

  // Reload (serve mode). `loader` re-reads the config the way main read it at start (file plus
  // flag overrides) and throws ConfigError / WebConfigError when it is invalid.
  using ConfigLoader = std::function<Config()>;
  void EnableReload(ConfigLoader loader, bool http_lifecycle);
  struct ReloadResult {
    bool ok = false;
    std::string error;  // the located config error when !ok
  };
  // Re-reads the config and applies the difference: unchanged targets keep their sessions and
  // last results, removed ones close theirs, added ones start, changed ones restart. A bad
  // config changes nothing. Thread-safe (SIGHUP and POST /-/reload); never throws.
  ReloadResult Reload();

 private:
  Families ExporterFamilies() const;
  std::unique_ptr<TargetPoller> MakePoller(const TargetConfig& target);
  std::unique_ptr<ProcessWatcher> MakeProcessWatcher();
  // Adds the target's server_log watcher when it has one (started when `start`).
  void AddLogWatcher(const TargetConfig& target, bool start);
  void StopPoller(const std::string& name);
  void StopLogWatcher(const std::string& name);
  void ApplyConfig(Config next);
  ChangeHandlers<TargetConfig> TargetChangeHandlers();
  // The one place a [[pgbouncer]] poller is made (start-up, and reload later).
  std::unique_ptr<PgbouncerPoller> MakePgbouncerPoller(const PgbouncerConfig& pgbouncer);
  void PollPgbouncersOnce();
  // Reload: stops every PgBouncer poller (dropping its series) and starts the new config's.
  void RestartPgbouncerPollers();
  // [[pgbouncer]] log: followed like server_log, its refusals labelled pgbouncer.
  void AddPgbouncerLogWatcher(const PgbouncerConfig& pgbouncer, bool start);
  void StopPgbouncerLogWatchers();  // joins each and drops its series

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  SnapshotStore store_;
  SnapshotAssembler assembler_;
  TargetFacts facts_;  // written by the pollers, read by the process watcher
  DeadlineWatchdog watchdog_;
  SharedAcceptProbe accept_probes_;  // shared by the targets' sessions
  // Runs every poller's polls; declared before the pollers so it outlives them.
  PollScheduler scheduler_;
  std::vector<std::unique_ptr<TargetPoller>> pollers_;
  std::vector<TargetStatus> last_statuses_;  // filled by PollAllOnce, aligned with pollers_
  std::unique_ptr<ProcessWatcher> process_watcher_;
  std::vector<std::unique_ptr<PgbouncerPoller>> pgbouncer_pollers_;
  std::vector<PgbouncerStatus> last_pgbouncer_statuses_;  // aligned with pgbouncer_pollers_
  std::unique_ptr<HttpServer> http_;

  ConfigLoader loader_;  // empty: reload is refused
  bool http_lifecycle_ = false;
  std::mutex reload_mutex_;  // one reload at a time
  std::atomic<bool> last_reload_ok_{true};
  std::atomic<double> last_reload_success_unix_{0};
  // One per [[target]] with server_log; declared last so they stop before the rest.
  std::vector<std::unique_ptr<LogWatcher>> log_watchers_;
  std::vector<std::unique_ptr<LogWatcher>> pgbouncer_log_watchers_;  // [[pgbouncer]] with log
};

}  // namespace pgconn
