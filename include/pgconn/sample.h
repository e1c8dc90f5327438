// Plain data read from one PostgreSQL target in one poll. Filled by src/sources, read by
// the pure mapping code; no behaviour here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgconn {

struct ServerSettings {
  int server_version_num = 0;
  int64_t max_connections = 0;
  int64_t superuser_reserved_connections = 0;
  std::optional<int64_t> reserved_connections;  // PG16+ only
  int64_t max_worker_processes = 0;
  int64_t autovacuum_max_workers = 0;
  int64_t max_wal_senders = 0;
  int64_t max_files_per_process = 0;
  std::string data_directory;  // empty when the role may not read it
};

// One GROUP BY row of pg_stat_activity.
struct ActivityGroup {
  std::string backend_type;
  std::string database;
  std::string user;
  std::string application;
  std::string client_addr;                 // empty for Unix sockets and background processes
  std::string state;                       // "unknown" when NULL (no pg_monitor, or not a client)
  int64_t sessions = 0;                    // all sessions, the exporter's own included
  int64_t others = 0;                      // sessions other than the exporter's own
  int64_t lock_waiting = 0;                // others waiting on a heavyweight lock
  double oldest_xact_seconds = 0;          // others only; 0 when none
  double oldest_state_change_seconds = 0;  // age of the current state, others only
  double longest_query_seconds = 0;        // active others only
};

struct DatabaseLimit {
  std::string name;
  int64_t connection_limit = -1;  // datconnlimit, -1 = unlimited
};

struct RoleLimit {
  std::string name;
  int64_t connection_limit = -1;  // rolconnlimit, -1 = unlimited
};

// Outcome of one named query ("collector") within a poll.
struct CollectorOutcome {
  std::string name;
  bool success = false;
  double duration_seconds = 0;
  std::string error;  // empty on success; never contains a password
};

// Our own login role, re-read by oid each poll: a dropped role or a lost LOGIN goes
// unnoticed by a session that already lives, but the next login would fail.
struct LoginRoleCheck {
  bool exists = false;
  bool can_login = false;
  bool expired = false;  // rolvaliduntil has passed
};

struct TargetSample {
  std::optional<ServerSettings> settings;
  std::optional<std::vector<ActivityGroup>> activity;
  std::optional<std::vector<DatabaseLimit>> databases;
  std::optional<std::vector<RoleLimit>> roles;
  std::vector<CollectorOutcome> collectors;
  std::optional<LoginRoleCheck> login_role;
};

}  // namespace pgconn
