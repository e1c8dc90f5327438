// Wires config, sessions, pollers, the snapshot and the HTTP server together, and owns them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/deadline_watchdog.h"
#include "pgconn/http_server.h"
#include "pgconn/poller.h"
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

 private:
  Families ExporterFamilies() const;

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  SnapshotStore store_;
  SnapshotAssembler assembler_;
  DeadlineWatchdog watchdog_;
  std::vector<std::unique_ptr<TargetPoller>> pollers_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pgconn
