// The only code that talks to PostgreSQL (through libpqxx 6.4).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <pqxx/pqxx>

#include "pgconn/conninfo.h"
#include "pgconn/target_session.h"
#include "queries.h"

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;
// Lets the server-side statement_timeout fire first when the backend is merely slow.
constexpr Millis kClientDeadlineGrace{250};

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

int64_t ToInt(const std::map<std::string, std::string>& settings, const std::string& name) {
  auto it = settings.find(name);
  return it == settings.end() ? 0 : std::stoll(it->second);
}

ServerSettings ReadSettings(const pqxx::result& rows) {
  std::map<std::string, std::string> settings;
  for (const auto& row : rows) settings[row[0].c_str()] = row[1].c_str();
  ServerSettings out;
  out.server_version_num = static_cast<int>(ToInt(settings, "server_version_num"));
  out.max_connections = ToInt(settings, "max_connections");
  out.superuser_reserved_connections = ToInt(settings, "superuser_reserved_connections");
  if (settings.count("reserved_connections")) {
    out.reserved_connections = ToInt(settings, "reserved_connections");
  }
  out.max_worker_processes = ToInt(settings, "max_worker_processes");
  out.autovacuum_max_workers = ToInt(settings, "autovacuum_max_workers");
  out.max_wal_senders = ToInt(settings, "max_wal_senders");
  out.max_files_per_process = ToInt(settings, "max_files_per_process");
  if (settings.count("data_directory")) out.data_directory = settings["data_directory"];
  return out;
}

std::vector<ActivityGroup> ReadActivity(const pqxx::result& rows) {
  std::vector<ActivityGroup> groups;
  groups.reserve(rows.size());
  for (const auto& row : rows) {
    ActivityGroup group;
    group.backend_type = row["backend_type"].c_str();
    group.database = row["database"].c_str();
    group.user = row["usename"].c_str();
    group.application = row["application"].c_str();
    group.client_addr = row["client_addr"].c_str();
    group.state = row["state"].c_str();
    group.sessions = row["sessions"].as<int64_t>();
    group.others = row["others"].as<int64_t>();
    group.lock_waiting = row["lock_waiting"].as<int64_t>();
    group.oldest_xact_seconds = row["oldest_xact_seconds"].as<double>();
    group.oldest_state_change_seconds = row["oldest_state_change_seconds"].as<double>();
    group.longest_query_seconds = row["longest_query_seconds"].as<double>();
    groups.push_back(std::move(group));
  }
  return groups;
}

template <typename Limit>
std::vector<Limit> ReadLimits(const pqxx::result& rows) {
  std::vector<Limit> limits;
  limits.reserve(rows.size());
  for (const auto& row : rows) limits.push_back(Limit{row[0].c_str(), row[1].as<int64_t>()});
  return limits;
}

std::string BuildPgbouncerConninfo(TargetConfig target) {
  target.via_pgbouncer = true;
  return BuildConninfo(target);
}

class PostgresSession final : public TargetSession {
 public:
  PostgresSession(const TargetConfig& target, DeadlineWatchdog& watchdog)
      : conninfo_(BuildConninfo(target)),
        pgbouncer_conninfo_(BuildPgbouncerConninfo(target)),
        query_deadline_(target.query_timeout + kClientDeadlineGrace),
        watchdog_(watchdog) {}

  bool IsOpen() const override { return conn_ != nullptr; }

  void Open() override {
    Close();
    try {
      conn_ = std::make_unique<pqxx::connection>(conninfo_);
    } catch (const pqxx::sql_error& error) {
      throw PollFailure(ClassifyFailure(error.sqlstate(), error.what()), Trimmed(error.what()));
    } catch (const std::exception& error) {
      if (SwitchToPgbouncerConninfo(error.what())) return Open();
      throw PollFailure(ClassifyFailure("", error.what()), Trimmed(error.what()));
    }
  }

  // PgBouncer's default config refuses `options`: the target is a pooled database.
  bool SwitchToPgbouncerConninfo(const std::string& message) {
    if (message.find("unsupported startup parameter: options") == std::string::npos) return false;
    if (conninfo_ == pgbouncer_conninfo_) return false;
    conninfo_ = pgbouncer_conninfo_;
    return true;
  }

  TargetSample Poll() override {
    if (!conn_) throw PollFailure(FailureReason::kOther, "session is not open");
    TargetSample sample;
    Collect(
        sample, "settings", [&](pqxx::result rows) { sample.settings = ReadSettings(rows); },
        queries::kSettings);
    Collect(
        sample, "activity", [&](pqxx::result rows) { sample.activity = ReadActivity(rows); },
        queries::kActivity);
    Collect(
        sample, "databases",
        [&](pqxx::result rows) { sample.databases = ReadLimits<DatabaseLimit>(rows); },
        queries::kDatabases);
    Collect(
        sample, "roles", [&](pqxx::result rows) { sample.roles = ReadLimits<RoleLimit>(rows); },
        queries::kRoles);
    return sample;
  }

  void Close() override {
    try {
      conn_.reset();
    } catch (...) {  // closing a dead socket must never take the poller down
    }
  }

 private:
  struct Lost {
    bool deadline_fired = false;
    std::string message;
  };

  // Runs one query under the client-side deadline and records its outcome.
  void Collect(TargetSample& sample, const char* name,
               const std::function<void(pqxx::result)>& read, const char* sql) {
    CollectorOutcome outcome;
    outcome.name = name;
    const auto started = Clock::now();
    std::optional<Lost> lost = RunGuarded(outcome, read, sql, started + query_deadline_);
    outcome.duration_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    sample.collectors.push_back(std::move(outcome));
    // The guard is disarmed by now, so closing cannot race the watchdog on a reused fd.
    if (lost) LoseSession(*lost);
  }

  std::optional<Lost> RunGuarded(CollectorOutcome& outcome,
                                 const std::function<void(pqxx::result)>& read, const char* sql,
                                 Clock::time_point deadline) {
    auto guard = watchdog_.Arm(conn_->sock(), deadline);
    try {
      pqxx::nontransaction tx(*conn_, outcome.name);
      read(tx.exec(sql));
      outcome.success = true;
      return std::nullopt;
    } catch (const pqxx::broken_connection& error) {
      outcome.error = Trimmed(error.what());
      return Lost{guard.fired(), outcome.error};
    } catch (const std::exception& error) {
      outcome.error = Trimmed(error.what());
      if (guard.fired() || !conn_->is_open()) return Lost{guard.fired(), outcome.error};
      return std::nullopt;
    }
  }

  [[noreturn]] void LoseSession(const Lost& lost) {
    Close();
    if (lost.deadline_fired) {
      throw PollFailure(
          FailureReason::kTimeout,
          "no answer within " + std::to_string(query_deadline_.count()) + " ms; session dropped");
    }
    throw PollFailure(ClassifyFailure("", lost.message), "session lost: " + lost.message);
  }

  std::string conninfo_;
  std::string pgbouncer_conninfo_;  // without `options`
  Millis query_deadline_;
  DeadlineWatchdog& watchdog_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace

std::unique_ptr<TargetSession> MakePostgresSession(const TargetConfig& target,
                                                   DeadlineWatchdog& watchdog) {
  return std::make_unique<PostgresSession>(target, watchdog);
}

}  // namespace pgconn
