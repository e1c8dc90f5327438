// What the poller publishes and a scrape reads: immutable once published.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgconn/gzip_member.h"

namespace pgconn {

// One [[pool]] on the landing page.
struct PoolSummary {
  std::string name;
  int64_t busy = 0;
  int64_t open = 0;
  int64_t capacity = 0;  // size x instances
};

// One target as the landing page shows it.
struct TargetSummary {
  std::string name;
  std::string dsn_redacted;
  bool up = false;
  std::optional<int64_t> client_connections;  // used, the exporter's own session included
  std::optional<int64_t> usable_connections;
  std::optional<int64_t> max_connections;
  std::optional<double> last_success_unix;  // seconds since the epoch
  std::string last_error;                   // redacted, empty when up
  // The figures above and below are from the last successful poll: when the target is down
  // they are carried over (figures_stale) and figures_at_unix says how old they are.
  std::optional<int64_t> available_connections;
  std::vector<std::pair<std::string, int64_t>> reserved_slots;  // setting name -> slots
  std::vector<PoolSummary> pools;
  std::optional<bool> visibility_complete;
  std::optional<double> figures_at_unix;
  bool figures_stale = false;
  std::string failure_reason;                // e.g. "too_many_connections"; empty when up
  std::optional<int64_t> backend_processes;  // postmaster children from /proc, when watched
};

// One PgBouncer (database, user) pool on the landing page.
struct PgbouncerPoolSummary {
  std::string database;
  std::string user;
  int64_t clients_active = 0;
  int64_t clients_waiting = 0;
  double max_wait_seconds = 0;
  int64_t servers_in_use = 0;  // every server state but idle
  int64_t servers_idle = 0;
  int64_t pool_size = 0;
  bool saturated = false;
};

// One [[pgbouncer]] as the landing page shows it.
struct PgbouncerSummary {
  std::string name;
  bool up = false;
  std::string failure_reason;                     // e.g. "connection_refused"; empty when up
  std::string last_error;                         // redacted, empty when up
  std::optional<int64_t> client_connections;      // SHOW LISTS used_clients
  std::optional<int64_t> max_client_connections;  // max_client_conn
  std::vector<PgbouncerPoolSummary> pools;
};

// Text joined on first use from parts the snapshot shares with the assembler: a fleet's
// exposition is ~18 MiB at 1,000 targets, and a scrape with gzip (Prometheus's) never needs it
// joined. Thread-safe; copies share the text.
class LazyText {
 public:
  LazyText() : LazyText(std::string()) {}
  explicit LazyText(std::string text);
  explicit LazyText(std::function<std::string()> join);
  const std::string& Get() const;

 private:
  struct State {
    std::once_flag once;
    std::function<std::string()> join;
    std::string text;
  };
  std::shared_ptr<State> state_;
};

// Each target's /probe text, stitched per request from the shared parts (a copy per target and
// publish held another 18 MiB at 1,000 targets).
class ProbeTexts {
 public:
  void Add(const std::string& name, std::function<std::string()> stitch);
  void Set(const std::string& name, std::string text);  // a fixed text
  size_t count(const std::string& name) const { return stitch_.count(name); }
  std::optional<std::string> Find(const std::string& name) const;
  std::string at(const std::string& name) const;  // throws std::out_of_range

 private:
  std::map<std::string, std::function<std::string()>> stitch_;
};

struct Snapshot {
  LazyText text;           // the whole exposition, text format 0.0.4
  GzipHead text_gzip;      // its gzip member, unfinished: a scrape appends its own part and ends it
  ProbeTexts target_text;  // per target only, for /probe
  std::vector<TargetSummary> targets;
  double built_at_unix = 0;
  std::vector<PgbouncerSummary> pgbouncers;  // [[pgbouncer]] in first-published order
};

// The one place a scrape and the poller meet: a pointer swap under a mutex.
class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}
  std::shared_ptr<const Snapshot> Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  // The previous snapshot is freed after the lock is released: a large fleet's takes
  // milliseconds to free, and a scrape waiting on the lock meanwhile waited for all of it.
  void Publish(std::shared_ptr<const Snapshot> snapshot) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_.swap(snapshot);
    }
    snapshot.reset();
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace pgconn
