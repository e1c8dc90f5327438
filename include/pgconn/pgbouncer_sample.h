// Plain data read from one PgBouncer admin console in one poll (SHOW POOLS, STATS, DATABASES,
// CONFIG, LISTS). Filled by src/sources, read by the pure mapping; no behaviour here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgconn/sample.h"

namespace pgconn {

// One SHOW POOLS row: one (database, user) pool.
struct PgbouncerPool {
  std::string database;
  std::string user;
  int64_t cl_active = 0;
  int64_t cl_waiting = 0;
  int64_t cl_active_cancel_req = 0;
  int64_t cl_waiting_cancel_req = 0;
  int64_t sv_active = 0;
  int64_t sv_active_cancel = 0;
  int64_t sv_being_canceled = 0;
  int64_t sv_idle = 0;
  int64_t sv_used = 0;
  int64_t sv_tested = 0;
  int64_t sv_login = 0;
  double max_wait_seconds = 0;  // maxwait + maxwait_us / 1e6
  std::string pool_mode;
};

// One SHOW STATS row (per database), times in seconds, traffic in bytes.
struct PgbouncerStats {
  std::string database;
  int64_t xact_count = 0;
  int64_t query_count = 0;
  int64_t received_bytes = 0;
  int64_t sent_bytes = 0;
  double xact_seconds = 0;
  double query_seconds = 0;
  double wait_seconds = 0;
};

// One SHOW DATABASES row.
struct PgbouncerDatabase {
  std::string name;
  std::string force_user;  // empty when not set
  int64_t pool_size = 0;
  int64_t reserve_pool = 0;
  std::string pool_mode;        // empty: the global pool_mode applies
  int64_t max_connections = 0;  // max_db_connections for this database, 0 = unlimited
  int64_t current_connections = 0;
  bool paused = false;
  bool disabled = false;
};

struct PgbouncerSample {
  std::optional<std::vector<PgbouncerPool>> pools;
  std::optional<std::vector<PgbouncerStats>> stats;
  std::optional<std::vector<PgbouncerDatabase>> databases;
  std::optional<std::map<std::string, std::string>> config;  // SHOW CONFIG key -> value
  std::optional<std::map<std::string, int64_t>> lists;       // SHOW LISTS list -> items
  std::vector<CollectorOutcome> collectors;
};

}  // namespace pgconn
