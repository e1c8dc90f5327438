// Every SQL statement the exporter sends, in one place. All run on PostgreSQL 12-18
// (CI runs 15, 12 and 18); version differences are handled in the text itself:
// settings that do not exist on a version (reserved_connections before 16) are simply absent.
#pragma once

#include <string>
#include <vector>

namespace pgconn::queries {

inline constexpr const char* kSettings = R"SQL(
SELECT name, setting FROM pg_settings
WHERE name IN ('server_version_num', 'max_connections', 'superuser_reserved_connections',
               'reserved_connections', 'max_worker_processes', 'autovacuum_max_workers',
               'max_wal_senders', 'max_files_per_process', 'data_directory',
               'autovacuum_worker_slots')
)SQL";

// Aggregated on the server: rows grow with distinct groups, not with sessions.
inline constexpr const char* kActivity = R"SQL(
SELECT coalesce(backend_type,
                -- Without pg_monitor, other roles' backend_type is NULL too; a session with a
                -- database and a role is then taken for a client (background processes have
                -- neither; autovacuum and parallel workers may be miscounted).
                CASE WHEN datid IS NOT NULL AND usesysid IS NOT NULL THEN 'client backend'
                     ELSE 'unknown' END) AS backend_type,
       coalesce(datname, '') AS database,
       coalesce(usename, '') AS usename,
       coalesce(application_name, '') AS application,
       coalesce(host(client_addr), '') AS client_addr,
       coalesce(state, 'unknown') AS state,
       count(*) AS sessions,
       count(*) FILTER (WHERE pid <> pg_backend_pid()) AS others,
       count(*) FILTER (WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock')
         AS lock_waiting,
       greatest(0, coalesce(extract(epoch FROM
         max(now() - xact_start) FILTER (WHERE pid <> pg_backend_pid())), 0))
         AS oldest_xact_seconds,
       greatest(0, coalesce(extract(epoch FROM
         max(now() - state_change) FILTER (WHERE pid <> pg_backend_pid())), 0))
         AS oldest_state_change_seconds,
       greatest(0, coalesce(extract(epoch FROM
         max(now() - query_start) FILTER (WHERE pid <> pg_backend_pid() AND state = 'active')), 0))
         AS longest_query_seconds
FROM pg_stat_activity
GROUP BY 1, 2, 3, 4, 5, 6
)SQL";

inline constexpr const char* kDatabases = R"SQL(
SELECT datname, datconnlimit FROM pg_database WHERE datallowconn ORDER BY datname
)SQL";

inline constexpr const char* kRoles = R"SQL(
SELECT rolname, rolconnlimit FROM pg_roles WHERE rolcanlogin ORDER BY rolname
)SQL";

// Issue 14, PostgreSQL 14+ only: session counters per database (session_time is in ms).
inline constexpr const char* kDatabaseSessions = R"SQL(
SELECT datname, sessions, sessions_abandoned, sessions_fatal, sessions_killed,
       session_time / 1000.0 AS session_seconds
FROM pg_stat_database WHERE datname IS NOT NULL ORDER BY datname
)SQL";

// Whether other roles' pg_stat_activity rows are visible: pg_read_all_stats privileges
// (pg_monitor grants them; superusers have every role's privileges).
inline constexpr const char* kVisibility = R"SQL(
SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS complete
)SQL";

// Provider reserve settings; NULL for a name the server does not know. The names are
// validated setting identifiers (letters, digits, _ and .), so quoting them inline is safe.
inline std::string ReservedSettingsQuery(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "'" : ", '") + name + "'";
  return "SELECT name, current_setting(name, true) FROM unnest(ARRAY[" + list +
         "]::text[]) AS s(name)";
}

// Run once per new session, before any poll: keeps the role's settings from ending our idle
// session (the startup options already override statement/lock/idle-in-transaction ones).
inline constexpr const char* kSessionGuardPg14 = "SET idle_session_timeout = 0";
inline constexpr const char* kSessionGuardPg17 = "SET transaction_timeout = 0";
// Issue 15: our prepared statements need no per-value plans; without this the first five
// executions of each are planned again (the plan cache's custom-plan trial).
inline constexpr const char* kGenericPlans = "SET plan_cache_mode = force_generic_plan";
inline constexpr const char* kLoginRoleOid =
    "SELECT oid FROM pg_roles WHERE rolname = session_user";

// Our role by the oid read at login (a dropped role has no row; session_user would error).
inline constexpr const char* kLoginRoleByOid = R"SQL(
SELECT rolcanlogin, coalesce(rolvaliduntil < now(), false) AS expired FROM pg_roles WHERE oid = $1
)SQL";

// Issue 15: read what changed. Settings only change with a reload (pg_conf_load_time, which a
// backend updates when it processes SIGHUP, between statements) or a restart; this key names
// both, in microseconds, so it compares exactly on every version.
inline constexpr const char* kSettingsKey =
    "((extract(epoch FROM pg_conf_load_time()) * 1000000)::bigint || ':' || "
    "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint)";

// `sql` with the key as a last column `cache_key`, gated on parameter $1 (the key read before,
// NULL when none): while the key is unchanged the server skips the statement (a one-time
// filter: the scan is never executed) and returns no row.
inline std::string GatedByKey(const std::string& sql) {
  const std::string key = kSettingsKey;
  return "SELECT q.*, " + key + " AS cache_key FROM (" + sql + ") q WHERE " + key +
         " IS DISTINCT FROM $1";
}

// Issue 15: the churn figures as more aggregates of kActivity, so one poll reads
// pg_stat_activity once (each read walks the proc array once per backend: O(sessions^2)).
// The client sums them per (database, user, application); `{buckets}` becomes one
// `churn_le_<i>` column per age bound. $1 is the previous poll's server time in Unix seconds
// ('infinity' before the first poll: nothing counts as new).
inline constexpr const char* kChurnClient =
    "backend_type = 'client backend' AND pid <> pg_backend_pid()";
inline constexpr const char* kActivityChurnColumns = R"SQL(,
       extract(epoch FROM now()) AS server_now,
       count(*) FILTER (WHERE {client}) AS churn_sessions,
       count(*) FILTER (WHERE {client} AND backend_start > to_timestamp($1::float8)) AS churn_new,{buckets}
       -- summed as intervals, one extract per group: a numeric extract per row cost ~25%
       coalesce(extract(epoch FROM sum(greatest(now() - backend_start, interval '0'))
         FILTER (WHERE {client})), 0) AS churn_age_sum)SQL";

}  // namespace pgconn::queries
