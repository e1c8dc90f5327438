// The only code that talks to a PostgreSQL target. Plain libpq: libpqxx 6.4 throws from
// make_result() on a dead connection before the result owns its PGresult, which leaked the
// result and lost libpq's own message (the reason a session ended).
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "churn_queries.h"
#include "pg_rows.h"
#include "pgconn/conninfo.h"
#include "pgconn/reserved_settings.h"
#include "pgconn/target_session.h"
#include "poll_plan.h"
#include "queries.h"

namespace pgconn {
namespace {

using Clock = std::chrono::steady_clock;
// Lets the server-side statement_timeout fire first when the backend is merely slow.
constexpr Millis kClientDeadlineGrace{250};

struct ConnFree {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, ConnFree>;

int64_t ToInt(const std::map<std::string, std::string>& settings, const std::string& name) {
  auto it = settings.find(name);
  return it == settings.end() ? 0 : std::stoll(it->second);
}

ServerSettings ReadSettings(const Rows& rows) {
  std::map<std::string, std::string> settings;
  for (int i = 0; i < rows.size(); ++i) settings[rows.Text(i, 0)] = rows.Text(i, 1);
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
  if (settings.count("autovacuum_worker_slots")) {
    out.autovacuum_worker_slots = ToInt(settings, "autovacuum_worker_slots");
  }
  return out;
}

ActivityGroup ReadActivityRow(const Rows& rows, int i) {
  ActivityGroup group;
  group.backend_type = rows.Text(i, "backend_type");
  group.database = rows.Text(i, "database");
  group.user = rows.Text(i, "usename");
  group.application = rows.Text(i, "application");
  group.client_addr = rows.Text(i, "client_addr");
  group.state = rows.Text(i, "state");
  group.sessions = rows.Int(i, "sessions");
  group.others = rows.Int(i, "others");
  group.lock_waiting = rows.Int(i, "lock_waiting");
  group.oldest_xact_seconds = rows.Double(i, "oldest_xact_seconds");
  group.oldest_state_change_seconds = rows.Double(i, "oldest_state_change_seconds");
  group.longest_query_seconds = rows.Double(i, "longest_query_seconds");
  return group;
}

std::vector<ActivityGroup> ReadActivity(const Rows& rows) {
  std::vector<ActivityGroup> groups;
  groups.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) groups.push_back(ReadActivityRow(rows, i));
  return groups;
}

std::vector<ReservedSetting> ReadReservedSettings(const Rows& rows) {
  std::vector<ReservedSetting> settings;
  for (int i = 0; i < rows.size(); ++i) {
    ReservedSetting setting{rows.Text(i, 0), std::nullopt};
    if (!rows.IsNull(i, 1)) setting.value = rows.Text(i, 1);
    settings.push_back(std::move(setting));
  }
  return settings;
}

template <typename Limit>
std::vector<Limit> ReadLimits(const Rows& rows) {
  std::vector<Limit> limits;
  limits.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) limits.push_back(Limit{rows.Text(i, 0), rows.Int(i, 1)});
  return limits;
}

LoginRoleCheck ReadLoginRole(const Rows& rows) {
  LoginRoleCheck check;
  check.exists = rows.size() > 0;
  if (check.exists) {
    check.can_login = rows.Bool(0, 0);
    check.expired = rows.Bool(0, 1);
  }
  return check;
}

// libpq's parameter array: text values, NULL for nullopt (pointers into `params`).
std::vector<const char*> ParamValues(const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  return values;
}

// One statement's outcome: the result on success, else libpq's own message and SQLSTATE.
struct Exec {
  Result result;
  std::string error;
  std::string sqlstate;
  bool lost = false;            // the session cannot be used any more
  bool deadline_fired = false;  // our client-side deadline shut the socket down
};

std::string BuildPgbouncerConninfo(TargetConfig target) {
  target.via_pgbouncer = true;
  return BuildConninfo(target);
}

class PostgresSession final : public TargetSession {
 public:
  PostgresSession(const TargetConfig& target, DeadlineWatchdog& watchdog,
                  SharedAcceptProbe& accept_probes, Millis probe_reuse)
      : conninfo_(BuildConninfo(target)),
        pgbouncer_conninfo_(BuildPgbouncerConninfo(target)),
        query_deadline_(target.query_timeout + kClientDeadlineGrace),
        probe_timeout_(target.connect_timeout),
        endpoint_(AcceptEndpointFor(target)),
        watchdog_(watchdog),
        accept_probes_(accept_probes),
        probe_reuse_(probe_reuse),
        reserved_settings_sql_(
            queries::GatedByKey(queries::ReservedSettingsQuery(ReservedSettingNames(target)))) {}

  bool IsOpen() const override { return conn_ != nullptr; }

  void Open() override {
    Close();
    Conn conn(PQconnectdb(conninfo_.c_str()));
    if (!conn) throw PollFailure(FailureReason::kOther, "libpq: out of memory");
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      const std::string message = Trimmed(PQerrorMessage(conn.get()));
      if (SwitchToPgbouncerConninfo(message)) return Open();
      throw PollFailure(ClassifyFailure("", message), message);
    }
    conn_ = std::move(conn);
    settings_ = {};
    reserved_settings_ = {};
    prepared_.clear();
    // PgBouncer in transaction mode may hand each poll another server session: no prepared
    // statements there, the batch goes as one simple query with its parameters inline.
    use_prepared_ = conninfo_ != pgbouncer_conninfo_;
    GuardSession();
  }

  // PgBouncer's default config refuses `options`: the target is a pooled database.
  bool SwitchToPgbouncerConninfo(const std::string& message) {
    if (message.find("unsupported startup parameter: options") == std::string::npos) return false;
    if (conninfo_ == pgbouncer_conninfo_) return false;
    conninfo_ = pgbouncer_conninfo_;
    return true;
  }

  // One round trip (issue 15): every collector's statement in one pipeline of prepared
  // statements (parsed and planned once per session), or one multi-statement simple query
  // through PgBouncer; either is one implicit transaction. Settings come back only when they
  // changed.
  TargetSample Poll() override {
    if (!conn_) throw PollFailure(FailureReason::kOther, "session is not open");
    TargetSample sample;
    RunBatch(PlanPoll(sample), sample);
    return sample;
  }

  void Close() override { conn_.reset(); }

  std::optional<AcceptProbeResult> ProbeAccept() override {
    if (!endpoint_) return std::nullopt;
    return accept_probes_.Probe(*endpoint_, probe_timeout_, probe_reuse_);
  }

 private:
  // The statements of one poll, in the order their collectors were always reported.
  std::vector<Statement> PlanPoll(TargetSample& sample) {
    std::vector<Statement> plan;
    plan.push_back({"pgconn_settings",
                    queries::GatedByKey(queries::kSettings),
                    {settings_.key},
                    {{"settings", [&](const Rows& rows) {
                        ReadGated<ServerSettings>(rows, settings_, sample.settings, ReadSettings);
                      }}}});
    plan.push_back({"pgconn_activity",
                    activity_sql_,
                    {SinceParameter(last_server_now_)},
                    {{"activity", [&](const Rows& rows) { sample.activity = ReadActivity(rows); }},
                     {"churn", [&](const Rows& rows) {
                        sample.churn = ReadChurnFromActivity(rows, last_server_now_);
                      }}}});
    plan.push_back(
        {"pgconn_databases", queries::kDatabases, {}, {{"databases", [&](const Rows& rows) {
                                                          sample.databases =
                                                              ReadLimits<DatabaseLimit>(rows);
                                                        }}}});
    plan.push_back({"pgconn_roles", queries::kRoles, {}, {{"roles", [&](const Rows& rows) {
                                                             sample.roles =
                                                                 ReadLimits<RoleLimit>(rows);
                                                           }}}});
    plan.push_back(
        {"pgconn_login_role",
         queries::kLoginRoleByOid,
         {role_oid_},
         {{"login_role", [&](const Rows& rows) { sample.login_role = ReadLoginRole(rows); }}}});
    if (ServerVersion() >= 140000) {
      plan.push_back({"pgconn_database_sessions",
                      queries::kDatabaseSessions,
                      {},
                      {{"database_sessions", [&](const Rows& rows) {
                          sample.database_sessions = ReadDatabaseSessions(rows);
                        }}}});
    }
    plan.push_back(
        {"pgconn_visibility", queries::kVisibility, {}, {{"visibility", [&](const Rows& rows) {
                                                            sample.visibility_complete =
                                                                rows.Bool(0, 0);
                                                          }}}});
    plan.push_back({"pgconn_reserved_settings",
                    reserved_settings_sql_,
                    {reserved_settings_.key},
                    {{"reserved_settings", [&](const Rows& rows) {
                        ReadGated<std::vector<ReservedSetting>>(rows, reserved_settings_,
                                                                sample.reserved_settings,
                                                                ReadReservedSettings);
                      }}}});
    // The text's hash in the name: behind an undetected pooler another session's statement
    // of the same name but other text (other reserved settings) is never executed as ours.
    for (auto& statement : plan) {
      char hash[24];
      std::snprintf(hash, sizeof hash, "_%zx", std::hash<std::string>{}(statement.sql));
      statement.name += hash;
    }
    return plan;
  }

  // Session counters exist from 14; the version read with the settings, else the one libpq
  // got at login.
  int ServerVersion() const {
    return settings_.value ? settings_.value->server_version_num : PQserverVersion(conn_.get());
  }

  // Settings a role (ALTER ROLE ... SET) could use to end our idle session, per version.
  void GuardSession() {
    const int version = PQserverVersion(conn_.get());
    if (version >= 140000) MustRun(queries::kSessionGuardPg14);
    if (version >= 170000) MustRun(queries::kSessionGuardPg17);
    if (use_prepared_) MustRun(queries::kGenericPlans);
    Exec oid = Run(queries::kLoginRoleOid, {});
    if (oid.result && PQntuples(oid.result.get()) == 1) {
      role_oid_ = PQgetvalue(oid.result.get(), 0, 0);
    } else {
      FailOpen(oid);
    }
  }

  void MustRun(const char* sql) {
    Exec exec = Run(sql, {});
    if (!exec.result) FailOpen(exec);
  }

  [[noreturn]] void FailOpen(const Exec& exec) {
    Close();
    throw PollFailure(Classify(exec), "preparing the session failed: " + exec.error);
  }

  // Runs one statement under the client-side deadline; parameters as text.
  Exec Run(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    const std::vector<const char*> values = ParamValues(params);
    return Guarded([&] {
      return params.empty()
                 ? PQexec(conn_.get(), sql.c_str())
                 : PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0);
    });
  }

  // One blocking libpq call under the client-side deadline.
  Exec Guarded(const std::function<PGresult*()>& call) {
    Result result;
    bool fired = false;
    {
      auto guard = watchdog_.Arm(PQsocket(conn_.get()), Clock::now() + query_deadline_);
      result.reset(call());
      fired = guard.fired();
    }
    return Finish(std::move(result), fired);
  }

  // A statement's outcome from its result (null when libpq had none).
  Exec Finish(Result result, bool deadline_fired) {
    Exec out;
    out.result = std::move(result);
    out.deadline_fired = deadline_fired;
    const auto status = out.result ? PQresultStatus(out.result.get()) : PGRES_FATAL_ERROR;
    if (!deadline_fired && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)) return out;
    if (out.result) {
      out.error = Trimmed(PQresultErrorMessage(out.result.get()));
      const char* state = PQresultErrorField(out.result.get(), PG_DIAG_SQLSTATE);
      if (state) out.sqlstate = state;
    }
    out.result.reset();
    out.lost = out.deadline_fired || PQstatus(conn_.get()) != CONNECTION_OK;
    // On a dead connection the result holds only libpq's last line ("server closed the
    // connection unexpectedly"); the server's FATAL message is in the connection's text.
    if (out.lost || out.error.empty()) out.error = Trimmed(PQerrorMessage(conn_.get()));
    return out;
  }

  // Where a batch stopped: statements before `done` are recorded; `failed` is the first
  // failure (the server then skips the rest of the batch).
  struct BatchRun {
    size_t done = 0;
    std::optional<Exec> failed;
  };

  // Sends the plan in one round trip under one client-side deadline. After a failed
  // statement the rest run one by one, so a failing collector still fails alone. A
  // statement's duration is the time from the previous result (or the send) to its own;
  // collectors sharing a statement report the same duration.
  void RunBatch(const std::vector<Statement>& plan, TargetSample& sample) {
    if (use_prepared_ && !PrepareMissing(plan)) use_prepared_ = false;
    BatchRun run;
    {
      auto guard = watchdog_.Arm(PQsocket(conn_.get()), Clock::now() + query_deadline_);
      if (use_prepared_) {
        RunPipeline(plan, sample, guard, run);
      } else {
        RunSimple(plan, sample, guard, run);
      }
    }
    // libpq marks the connection bad only once it read the end that follows a FATAL result.
    if (run.failed && PQstatus(conn_.get()) != CONNECTION_OK) run.failed->lost = true;
    if (run.failed && run.failed->lost) LoseSession(*run.failed);
    for (; run.done < plan.size(); ++run.done) Collect(sample, plan[run.done]);
  }

  // Records one statement's result; returns false when it failed.
  bool Take(const std::vector<Statement>& plan, TargetSample& sample, Result result,
            const DeadlineWatchdog::Guard& guard, Clock::time_point& last, BatchRun& run) {
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    Exec exec = Finish(std::move(result), guard.fired());
    if (!exec.result && exec.sqlstate == "26000") {  // our prepared statement is gone
      use_prepared_ = false;
      prepared_.clear();
      run.failed = std::move(exec);  // not the collector's failure: it runs again alone
      return false;
    }
    Record(sample, plan[run.done++], exec, seconds);
    if (!exec.result) run.failed = std::move(exec);
    return !run.failed;
  }

  // One multi-statement simple query; libpq returns one result per statement, then null.
  void RunSimple(const std::vector<Statement>& plan, TargetSample& sample,
                 const DeadlineWatchdog::Guard& guard, BatchRun& run) {
    std::string sql;
    for (const auto& statement : plan) sql += InlineParameters(statement) + ";\n";
    auto last = Clock::now();
    const bool sent = PQsendQuery(conn_.get(), sql.c_str()) == 1;
    while (Result result{PQgetResult(conn_.get())}) {
      if (run.failed || run.done >= plan.size()) continue;  // drain: libpq needs the final null
      Take(plan, sample, std::move(result), guard, last, run);
    }
    if (!run.failed && (!sent || run.done < plan.size()))
      run.failed = Finish(nullptr, guard.fired());
  }

  // The prepared statements in one pipeline with one sync: each result is followed by a null,
  // statements after a failure come back PGRES_PIPELINE_ABORTED, the sync ends the batch.
  void RunPipeline(const std::vector<Statement>& plan, TargetSample& sample,
                   const DeadlineWatchdog::Guard& guard, BatchRun& run) {
    auto last = Clock::now();
    bool sent = PQenterPipelineMode(conn_.get()) == 1;
    for (size_t i = 0; sent && i < plan.size(); ++i) sent = SendPrepared(plan[i]);
    if (!sent || PQpipelineSync(conn_.get()) != 1) {
      run.failed = Finish(nullptr, guard.fired());
      run.failed->lost = true;  // a half-sent pipeline: start a new session
      return;
    }
    for (size_t i = 0; i < plan.size(); ++i) {
      Result result{PQgetResult(conn_.get())};
      if (!result) break;
      const bool aborted = PQresultStatus(result.get()) == PGRES_PIPELINE_ABORTED;
      if (!aborted && !run.failed) Take(plan, sample, std::move(result), guard, last, run);
      Result end{PQgetResult(conn_.get())};  // null after each statement's result
    }
    Result sync{PQgetResult(conn_.get())};
    const bool synced = sync && PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC;
    if (!synced || PQexitPipelineMode(conn_.get()) != 1) {
      if (!run.failed) run.failed = Finish(nullptr, guard.fired());
      run.failed->lost = true;  // the protocol state is unknown: start a new session
    }
  }

  bool SendPrepared(const Statement& statement) {
    const std::vector<const char*> values = ParamValues(statement.params);
    return PQsendQueryPrepared(conn_.get(), statement.name.c_str(), static_cast<int>(values.size()),
                               values.data(), nullptr, nullptr, 0) == 1;
  }

  // Prepares what this session has not prepared yet (the first poll of a session); false
  // when one fails: the session then sends simple queries.
  bool PrepareMissing(const std::vector<Statement>& plan) {
    for (const auto& statement : plan) {
      if (prepared_.count(statement.name)) continue;
      Exec exec = Guarded([&] {
        return PQprepare(conn_.get(), statement.name.c_str(), statement.sql.c_str(), 0, nullptr);
      });
      if (exec.lost) LoseSession(exec);
      if (!exec.result) return false;
      prepared_.insert(statement.name);
    }
    return true;
  }

  FailureReason Classify(const Exec& exec) const {
    if (exec.deadline_fired) return FailureReason::kTimeout;
    const FailureReason reason = ClassifyFailure(exec.sqlstate, exec.error);
    if (exec.lost && (reason == FailureReason::kOther || reason == FailureReason::kQueryError)) {
      return FailureReason::kConnectionLost;
    }
    return reason;
  }

  // Records the outcome of each collector reading `exec`'s result.
  static void Record(TargetSample& sample, const Statement& statement, const Exec& exec,
                     double seconds) {
    for (const auto& reader : statement.readers) {
      CollectorOutcome outcome;
      outcome.name = reader.collector;
      if (exec.result) {
        try {
          reader.read(Rows(exec.result.get()));
          outcome.success = true;
        } catch (const std::exception& error) {
          outcome.error = std::string("unreadable result: ") + error.what();
        }
      } else {
        outcome.error = exec.error;
      }
      outcome.duration_seconds = seconds;
      sample.collectors.push_back(std::move(outcome));
    }
  }

  // Runs one statement alone and records its outcome; a lost session ends the poll.
  void Collect(TargetSample& sample, const Statement& statement) {
    const auto started = Clock::now();
    Exec exec = Run(statement.sql, statement.params);
    Record(sample, statement, exec, std::chrono::duration<double>(Clock::now() - started).count());
    if (exec.lost) LoseSession(exec);
  }

  [[noreturn]] void LoseSession(const Exec& exec) {
    Close();
    if (exec.deadline_fired) {
      throw PollFailure(
          FailureReason::kTimeout,
          "no answer within " + std::to_string(query_deadline_.count()) + " ms; session dropped");
    }
    throw PollFailure(Classify(exec), "session lost: " + exec.error);
  }

  std::string conninfo_;
  std::string pgbouncer_conninfo_;  // without `options`
  Millis query_deadline_;
  Millis probe_timeout_;
  std::optional<AcceptEndpoint> endpoint_;
  DeadlineWatchdog& watchdog_;
  SharedAcceptProbe& accept_probes_;
  Millis probe_reuse_;
  Conn conn_;
  std::string role_oid_;
  std::string reserved_settings_sql_;
  std::optional<double> last_server_now_;  // previous churn poll's server time
  // Read again only when the settings key changed; emptied on every new session.
  Cached<ServerSettings> settings_;
  Cached<std::vector<ReservedSetting>> reserved_settings_;
  std::string activity_sql_ = ActivityWithChurnQuery();
  bool use_prepared_ = true;
  std::set<std::string> prepared_;  // names prepared in this session
};

}  // namespace

std::unique_ptr<TargetSession> MakePostgresSession(const TargetConfig& target,
                                                   DeadlineWatchdog& watchdog,
                                                   SharedAcceptProbe& accept_probes,
                                                   Millis probe_reuse) {
  return std::make_unique<PostgresSession>(target, watchdog, accept_probes, probe_reuse);
}

}  // namespace pgconn
