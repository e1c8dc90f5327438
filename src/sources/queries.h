// Every SQL statement the exporter sends, in one place. All run on PostgreSQL 12-17
// (PostgreSQL 15 is what CI runs); version differences are handled in the text itself:
// settings that do not exist on a version (reserved_connections before 16) are simply absent.
#pragma once

namespace pgconn::queries {

inline constexpr const char* kSettings = R"SQL(
SELECT name, setting FROM pg_settings
WHERE name IN ('server_version_num', 'max_connections', 'superuser_reserved_connections',
               'reserved_connections', 'max_worker_processes', 'autovacuum_max_workers',
               'max_wal_senders', 'max_files_per_process', 'data_directory')
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

// Run once per new session, before any poll: keeps the role's settings from ending our idle
// session (the startup options already override statement/lock/idle-in-transaction ones).
inline constexpr const char* kSessionGuardPg14 = "SET idle_session_timeout = 0";
inline constexpr const char* kSessionGuardPg17 = "SET transaction_timeout = 0";
inline constexpr const char* kLoginRoleOid =
    "SELECT oid FROM pg_roles WHERE rolname = session_user";

// Our role by the oid read at login (a dropped role has no row; session_user would error).
inline constexpr const char* kLoginRoleByOid = R"SQL(
SELECT rolcanlogin, coalesce(rolvaliduntil < now(), false) AS expired FROM pg_roles WHERE oid = $1
)SQL";

}  // namespace pgconn::queries
