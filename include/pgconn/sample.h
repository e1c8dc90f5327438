// Plain data read from one PostgreSQL target in one poll. Filled by src/sources, read by
// the pure mapping code; no behaviour here.
#pragma once

#include <array>
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
  std::string data_directory;                      // empty when the role may not read it
  std::optional<int64_t> autovacuum_worker_slots;  // PG18+: MaxBackends follows it
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

// pg_stat_database session counters of one database (PostgreSQL 14+).
struct DatabaseSessions {
  std::string database;
  int64_t sessions = 0;
  int64_t abandoned = 0;
  int64_t fatal = 0;
  int64_t killed = 0;
  double session_seconds = 0;
};

// Upper bounds of pgconn_connection_age_seconds (+Inf is the group's session count).
inline constexpr std::array<double, 6> kConnectionAgeBuckets = {1, 10, 60, 600, 3600, 86400};

// One (database, user, application) group of client backends, the exporter's own excluded.
struct ChurnGroup {
  std::string database;
  std::string user;
  std::string application;
  int64_t new_sessions = 0;  // backend_start after the previous poll's server time
  int64_t sessions = 0;
  std::array<int64_t, kConnectionAgeBuckets.size()> age_buckets{};  // cumulative, le each bound
  double age_sum_seconds = 0;
};

// A provider's or operator's setting that keeps slots away from ordinary roles (e.g. RDS's
// rds.rds_superuser_reserved_connections), read with current_setting(name, true).
struct ReservedSetting {
  std::string name;
  std::optional<std::string> value;  // nullopt: the server does not know the setting
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
  std::optional<std::vector<DatabaseSessions>> database_sessions;  // PG14+ only
  std::optional<std::vector<ChurnGroup>> churn;
  std::optional<std::vector<ReservedSetting>> reserved_settings;
  // Whether the session sees other roles' sessions (pg_read_all_stats, or superuser).
  std::optional<bool> visibility_complete;
  std::optional<LoginRoleCheck> login_role;
};

}  // namespace pgconn
