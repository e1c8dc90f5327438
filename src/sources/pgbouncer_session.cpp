// The only code that talks to PgBouncer's admin console: plain libpq, simple query protocol
// (PQexec of SHOW commands), never the `options` startup parameter, client-side deadline.
#include "pgconn/pgbouncer_session.h"

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <optional>

#include "pg_rows.h"
#include "pgconn/conninfo.h"

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kClientDeadlineGrace{250};

// PgBouncer's own refusal texts first, then the PostgreSQL/libpq ones.
FailureReason ClassifyPgbouncerFailure(std::string_view message) {
  if (message.find("no more connections allowed") != std::string_view::npos) {
    return FailureReason::kTooManyConnections;
  }
  if (message.find("not allowed") != std::string_view::npos ||
      message.find("no such user") != std::string_view::npos) {
    return FailureReason::kAuth;
  }
  return ClassifyFailure("", message);
}

double Micros(const Rows& rows, int row, const char* column) {
  return static_cast<double>(rows.IntIfAny(row, column)) / 1e6;
}

std::vector<PgbouncerPool> ReadPools(const Rows& rows) {
  std::vector<PgbouncerPool> pools;
  for (int r = 0; r < rows.size(); ++r) {
    PgbouncerPool p;
    p.database = rows.TextIfAny(r, "database");
    p.user = rows.TextIfAny(r, "user");
    p.cl_active = rows.IntIfAny(r, "cl_active");
    p.cl_waiting = rows.IntIfAny(r, "cl_waiting");
    p.cl_active_cancel_req = rows.IntIfAny(r, "cl_active_cancel_req");
    p.cl_waiting_cancel_req = rows.IntIfAny(r, "cl_waiting_cancel_req");
    p.sv_active = rows.IntIfAny(r, "sv_active");
    p.sv_active_cancel = rows.IntIfAny(r, "sv_active_cancel");
    p.sv_being_canceled = rows.IntIfAny(r, "sv_being_canceled");
    p.sv_idle = rows.IntIfAny(r, "sv_idle");
    p.sv_used = rows.IntIfAny(r, "sv_used");
    p.sv_tested = rows.IntIfAny(r, "sv_tested");
    p.sv_login = rows.IntIfAny(r, "sv_login");
    p.max_wait_seconds =
        static_cast<double>(rows.IntIfAny(r, "maxwait")) + Micros(rows, r, "maxwait_us");
    p.pool_mode = rows.TextIfAny(r, "pool_mode");
    pools.push_back(std::move(p));
  }
  return pools;
}

std::vector<PgbouncerStats> ReadStats(const Rows& rows) {
  std::vector<PgbouncerStats> stats;
  for (int r = 0; r < rows.size(); ++r) {
    PgbouncerStats s;
    s.database = rows.TextIfAny(r, "database");
    s.xact_count = rows.IntIfAny(r, "total_xact_count");
    s.query_count = rows.IntIfAny(r, "total_query_count");
    s.received_bytes = rows.IntIfAny(r, "total_received");
    s.sent_bytes = rows.IntIfAny(r, "total_sent");
    s.xact_seconds = Micros(rows, r, "total_xact_time");
    s.query_seconds = Micros(rows, r, "total_query_time");
    s.wait_seconds = Micros(rows, r, "total_wait_time");
    stats.push_back(std::move(s));
  }
  return stats;
}

std::vector<PgbouncerDatabase> ReadDatabases(const Rows& rows) {
  std::vector<PgbouncerDatabase> databases;
  for (int r = 0; r < rows.size(); ++r) {
    PgbouncerDatabase d;
    d.name = rows.TextIfAny(r, "name");
    d.force_user = rows.TextIfAny(r, "force_user");
    d.pool_size = rows.IntIfAny(r, "pool_size");
    d.reserve_pool = rows.IntIfAny(r, "reserve_pool");
    d.pool_mode = rows.TextIfAny(r, "pool_mode");
    d.max_connections = rows.IntIfAny(r, "max_connections");
    d.current_connections = rows.IntIfAny(r, "current_connections");
    d.paused = rows.IntIfAny(r, "paused") != 0;
    d.disabled = rows.IntIfAny(r, "disabled") != 0;
    databases.push_back(std::move(d));
  }
  return databases;
}

std::map<std::string, std::string> ReadConfig(const Rows& rows) {
  std::map<std::string, std::string> config;
  for (int r = 0; r < rows.size(); ++r)
    config[rows.TextIfAny(r, "key")] = rows.TextIfAny(r, "value");
  return config;
}

std::map<std::string, int64_t> ReadLists(const Rows& rows) {
  std::map<std::string, int64_t> lists;
  for (int r = 0; r < rows.size(); ++r)
    lists[rows.TextIfAny(r, "list")] = rows.IntIfAny(r, "items");
  return lists;
}

class LibpqPgbouncerSession final : public PgbouncerSession {
 public:
  LibpqPgbouncerSession(const PgbouncerConfig& pgbouncer, DeadlineWatchdog& watchdog)
      : conninfo_(BuildConninfo(pgbouncer.console)),
        query_deadline_(pgbouncer.console.query_timeout + kClientDeadlineGrace),
        watchdog_(watchdog) {}
  ~LibpqPgbouncerSession() override { Close(); }

  bool IsOpen() const override { return conn_ != nullptr; }

  void Open() override {
    Close();
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    if (conn == nullptr) throw PollFailure(FailureReason::kOther, "out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
      const std::string message = Trimmed(PQerrorMessage(conn));
      PQfinish(conn);
      throw PollFailure(ClassifyPgbouncerFailure(message), message);
    }
    conn_ = conn;
  }

  PgbouncerSample Poll() override {
    if (!conn_) throw PollFailure(FailureReason::kOther, "session is not open");
    PgbouncerSample s;
    Collect(s, "pools", "SHOW POOLS", [&](const Rows& r) { s.pools = ReadPools(r); });
    Collect(s, "stats", "SHOW STATS", [&](const Rows& r) { s.stats = ReadStats(r); });
    Collect(s, "databases", "SHOW DATABASES",
            [&](const Rows& r) { s.databases = ReadDatabases(r); });
    Collect(s, "config", "SHOW CONFIG", [&](const Rows& r) { s.config = ReadConfig(r); });
    Collect(s, "lists", "SHOW LISTS", [&](const Rows& r) { s.lists = ReadLists(r); });
    return s;
  }

  void Close() override {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }

 private:
  // One SHOW under the client-side deadline; a dead session is closed and thrown as lost.
  void Collect(PgbouncerSample& sample, const char* name, const char* sql,
               const std::function<void(const Rows&)>& read) {
    CollectorOutcome outcome;
    outcome.name = name;
    const auto started = Clock::now();
    bool fired = false;
    {
      auto guard = watchdog_.Arm(PQsocket(conn_), started + query_deadline_);
      Result rows(PQexec(conn_, sql));
      fired = guard.fired();
      if (rows && PQresultStatus(rows.get()) == PGRES_TUPLES_OK) {
        read(Rows(rows.get()));
        outcome.success = true;
      } else {
        outcome.error = Trimmed(rows ? PQresultErrorMessage(rows.get()) : PQerrorMessage(conn_));
        if (outcome.error.empty()) outcome.error = Trimmed(PQerrorMessage(conn_));
      }
    }
    outcome.duration_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    sample.collectors.push_back(outcome);
    if (fired || PQstatus(conn_) != CONNECTION_OK) LoseSession(fired, outcome.error);
  }

  [[noreturn]] void LoseSession(bool deadline_fired, const std::string& message) {
    Close();
    if (deadline_fired) {
      throw PollFailure(
          FailureReason::kTimeout,
          "no answer within " + std::to_string(query_deadline_.count()) + " ms; session dropped");
    }
    throw PollFailure(ClassifyPgbouncerFailure(message), "session lost: " + message);
  }

  std::string conninfo_;
  Millis query_deadline_;
  DeadlineWatchdog& watchdog_;
  PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<PgbouncerSession> MakePgbouncerSession(const PgbouncerConfig& pgbouncer,
                                                       DeadlineWatchdog& watchdog) {
  return std::make_unique<LibpqPgbouncerSession>(pgbouncer, watchdog);
}

}  // namespace pgconn
