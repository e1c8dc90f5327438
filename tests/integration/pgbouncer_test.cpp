// [[pgbouncer]] against a real Debian PgBouncer 1.18 in front of a real PostgreSQL 15, in
// transaction pooling mode with a pool of 2: the queue that PostgreSQL cannot see.
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <thread>

#include "support/scenario.h"
#include "support/test_pgbouncer.h"

namespace pgconn::testing {
namespace {

constexpr int kPoolSize = 2;
constexpr int kClients = 6;  // kPoolSize busy, the rest queue in PgBouncer
constexpr int kUsable = 37;  // 40 - 3 superuser-reserved

PgbouncerOptions SmallPool(int size = kPoolSize, int reserve = 0) {
  PgbouncerOptions options;
  options.default_pool_size = size;
  options.reserve_pool_size = reserve;
  return options;
}

Labels Bouncer(Labels extra = {}) {
  extra["pgbouncer"] = "bouncer";
  return extra;
}
Labels AppPool(Labels extra = {}) {
  extra["database"] = kAppDatabase;
  extra["user"] = kAppRoleA;
  return Bouncer(std::move(extra));
}

std::string PgbouncerToml(const std::string& name, const std::string& dsn,
                          const std::string& extra = "") {
  return "\n[[pgbouncer]]\nname = \"" + name + "\"\ndsn = \"" + dsn +
         "\"\nconnect_timeout = \"2s\"\n" +
         (extra.find("query_timeout") == std::string::npos ? "query_timeout = \"2s\"\n" : "") +
         (extra.find("password_env") == std::string::npos
              ? "password_env = \"" + std::string(kPasswordEnv) + "\"\n"
              : "") +
         extra;
}

class PgbouncerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<TestPostgres>(); }
  static void TearDownTestSuite() { server_.reset(); }
  static TestPostgres& Server() { return *server_; }

 private:
  static std::unique_ptr<TestPostgres> server_;
};
std::unique_ptr<TestPostgres> PgbouncerTest::server_;

double Clients(const Metrics& m, const std::string& state) {
  return Value(m, "pgconn_pgbouncer_clients", AppPool({{"state", state}})).value_or(-1);
}

TEST_F(PgbouncerTest, ClientsQueueBehindAFullPoolAndDrainAfter) {
  TestPostgres& pg = Server();
  TestPgbouncer bouncer(pg, SmallPool());
  ExporterProcess exporter(MainConfig(pg, "300ms") +
                           PgbouncerToml("bouncer", bouncer.Dsn(), "target = \"main\"\n"));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) { return Value(s, "pgconn_pgbouncer_up", Bouncer()) == 1.0; }, 15s, &m))
      << Dump(m) << exporter.Log();

  auto clients = std::make_unique<ClientPool>(bouncer.port());
  clients->OpenMany(ClientSpec{kAppRoleA, kAppPassword, kAppDatabase, "queued"},
                    SessionState::kActive, kClients);
  const bool queued = exporter.ScrapeUntil(
      [](const Metrics& s) {
        // Steady queue: every server connection handed out (a poll can land mid-login).
        return Clients(s, "waiting") == kClients - kPoolSize && Clients(s, "active") == kPoolSize &&
               Value(s, "pgconn_pgbouncer_servers", AppPool({{"state", "active"}})) == kPoolSize &&
               Value(s, "pgconn_pgbouncer_max_wait_seconds", AppPool()).value_or(0) > 0 &&
               Value(s, "pgconn_pgbouncer_pool_saturated", AppPool()) == 1.0;
      },
      20s, &m);
  ASSERT_TRUE(queued) << Dump(m) << bouncer.Log();
  EXPECT_EQ(Clients(m, "active"), kPoolSize) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_pgbouncer_servers", AppPool({{"state", "active"}})), kPoolSize);
  EXPECT_EQ(Value(m, "pgconn_pgbouncer_pool_size", Bouncer({{"database", kAppDatabase}})),
            kPoolSize);
  EXPECT_GE(Value(m, "pgconn_pgbouncer_client_connections", Bouncer()).value_or(0), kClients);
  EXPECT_EQ(Value(m, "pgconn_pgbouncer_max_client_connections", Bouncer()), 100);
  // What PostgreSQL alone sees: only the pool's server connections, never the queue.
  EXPECT_LT(Value(m, "pgconn_client_connections", Main()).value_or(99), kClients) << Dump(m);
  // The landing page shows the same queue (one snapshot feeds both; the clients still wait).
  const HttpResponse page = exporter.Get("/");
  EXPECT_EQ(page.status, 200);
  const std::string pool_row = "<td>" + std::string(kAppDatabase) + " / " + std::string(kAppRoleA) +
                               "</td><td>" + std::to_string(kPoolSize) + "</td><td>" +
                               std::to_string(kClients - kPoolSize) + "</td>";
  EXPECT_NE(page.body.find(pool_row), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<span class=\"down\">saturated</span>"), std::string::npos)
      << page.body;

  clients.reset();
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Clients(s, "waiting") == 0 &&
               Value(s, "pgconn_pgbouncer_max_wait_seconds", AppPool()) == 0.0 &&
               Value(s, "pgconn_pgbouncer_pool_saturated", AppPool()) == 0.0;
      },
      20s, &m))
      << Dump(m);
  EXPECT_GT(Value(m, "pgconn_pgbouncer_wait_seconds_total", Bouncer({{"database", kAppDatabase}}))
                .value_or(0),
            0)
      << Dump(m);
  const PromtoolResult promtool = PromtoolCheckMetrics(exporter.ScrapeText());
  EXPECT_TRUE(promtool.ok) << promtool.output;
}

// PgBouncer's default config (no ignore_startup_parameters) rejects `options`: the console
// and a pooled [[target]] (detected, or via_pgbouncer = true) must still be up.
TEST_F(PgbouncerTest, DefaultConfigServesTheConsoleAndPooledTargets) {
  TestPostgres& pg = Server();
  TestPgbouncer bouncer(pg, SmallPool());
  ExporterProcess exporter(
      ExporterToml("300ms") + TargetToml("detected", bouncer.Dsn(kExporterRole, "postgres")) +
      TargetToml("declared", bouncer.Dsn(kExporterRole, "postgres"), "via_pgbouncer = true\n") +
      PgbouncerToml("bouncer", bouncer.Dsn()));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return IsUp(s, "detected") && IsUp(s, "declared") &&
               Value(s, "pgconn_pgbouncer_up", Bouncer()) == 1.0;
      },
      20s, &m))
      << Dump(m) << exporter.Log() << bouncer.Log();
  EXPECT_EQ(Value(m, "pgconn_max_connections", TargetLabels("detected")), 40);
  EXPECT_EQ(bouncer.Log().find("unsupported startup parameter: options") != std::string::npos, true)
      << "the default config must have refused options once (detection)";
}

// The exporter keeps exactly one console session, poll after poll.
TEST_F(PgbouncerTest, HoldsExactlyOneConsoleSession) {
  TestPostgres& pg = Server();
  TestPgbouncer bouncer(pg, SmallPool());
  ExporterProcess exporter(MainConfig(pg, "200ms") + PgbouncerToml("bouncer", bouncer.Dsn()));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Value(s, "pgconn_pgbouncer_poll_duration_seconds", Bouncer()).has_value() &&
               Value(s, "pgconn_pgbouncer_up", Bouncer()) == 1.0;
      },
      15s, &m))
      << Dump(m) << exporter.Log();
  for (int check = 0; check < 5; ++check) {
    std::this_thread::sleep_for(500ms);  // several polls
    int ours = 0;
    for (const Row& row : bouncer.ConsoleSql("SHOW CLIENTS")) {
      // type, user, database, ...
      if (row.size() > 2 && row[1] == std::string(kExporterRole) && row[2] == "pgbouncer") ++ours;
    }
    EXPECT_EQ(ours, 1) << "check " << check;
  }
}

TEST_F(PgbouncerTest, DownAndRefusedAreReportedWithTheirReason) {
  TestPostgres& pg = Server();
  TestPgbouncer bouncer(pg, SmallPool());
  const std::string dead =
      "host=127.0.0.1 port=" + std::to_string(PickFreePort()) + " dbname=pgbouncer user=x";
  ExporterOptions options;
  options.env["APP_PW"] = kAppPassword;
  ExporterProcess exporter(
      ExporterToml("300ms") + TargetToml("main", pg.Dsn()) + PgbouncerToml("dead", dead) +
          PgbouncerToml("refused", bouncer.Dsn(kAppRoleA), "password_env = \"APP_PW\"\n"),
      options);
  const auto errors = [](const Metrics& s, const std::string& name, const std::string& reason) {
    return Value(s, "pgconn_pgbouncer_poll_errors_total", {{"pgbouncer", name}, {"reason", reason}})
        .value_or(0);
  };
  Metrics m;
  // The target's first poll may finish after the PgBouncers' first failures: wait for both.
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return errors(s, "dead", "connect_refused") > 0 && errors(s, "refused", "auth") > 0 &&
               IsUp(s);
      },
      15s, &m))
      << "a dead PgBouncer must not affect the targets\n"
      << Dump(m) << exporter.Log();
  EXPECT_EQ(Value(m, "pgconn_pgbouncer_up", {{"pgbouncer", "dead"}}), 0.0);
  EXPECT_EQ(Value(m, "pgconn_pgbouncer_up", {{"pgbouncer", "refused"}}), 0.0);
  EXPECT_NE(exporter.Log().find("not allowed"), std::string::npos) << exporter.Log();
}

// A frozen PgBouncer (SIGSTOP) never answers: the client-side deadline drops the session,
// the target keeps being polled, and the console comes back by itself after SIGCONT.
TEST_F(PgbouncerTest, FrozenPgbouncerTimesOutAndRecovers) {
  TestPostgres& pg = Server();
  TestPgbouncer bouncer(pg, SmallPool());
  ExporterProcess exporter(MainConfig(pg, "300ms") +
                           PgbouncerToml("bouncer", bouncer.Dsn(), "query_timeout = \"1s\"\n"));
  const auto up = [](const Metrics& s) { return Value(s, "pgconn_pgbouncer_up", Bouncer()); };
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil([&](const Metrics& s) { return up(s) == 1.0; }, 15s, &m));
  bouncer.Signal(SIGSTOP);
  const bool timed_out = exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Value(s, "pgconn_pgbouncer_poll_errors_total", Bouncer({{"reason", "timeout"}}))
                   .value_or(0) > 0;
      },
      20s, &m);
  bouncer.Signal(SIGCONT);
  ASSERT_TRUE(timed_out) << Dump(m) << exporter.Log();
  EXPECT_EQ(up(m), 0.0);
  EXPECT_TRUE(IsUp(m)) << "the target's poller must not wait for the PgBouncer";
  EXPECT_TRUE(exporter.ScrapeUntil([&](const Metrics& s) { return up(s) == 1.0; }, 30s, &m))
      << Dump(m) << exporter.Log();
}

// [[pgbouncer]] log: each client PgBouncer turns away at max_client_conn counts exactly once.
TEST_F(PgbouncerTest, LogCountsClientsRefusedAtMaxClientConn) {
  TestPostgres& pg = Server();
  PgbouncerOptions options = SmallPool();
  options.max_client_conn = 3;  // the exporter's console session takes one of them
  TestPgbouncer bouncer(pg, options);
  ExporterProcess exporter(
      MainConfig(pg, "300ms") +
      PgbouncerToml("bouncer", bouncer.Dsn(), "log = \"" + bouncer.LogPath() + "\"\n"));
  const auto refused = [](const Metrics& s) {
    return Value(s, "pgconn_refused_connections_total",
                 Bouncer({{"reason", "pgbouncer_max_client_conn"}}));
  };
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [&](const Metrics& s) {
        return refused(s) == 0.0 && Value(s, "pgconn_pgbouncer_up", Bouncer()) == 1.0;
      },
      15s, &m))
      << Dump(m) << exporter.Log();

  ClientPool clients(bouncer.port());
  int turned_away = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string error = clients.TryOpen({kAppRoleA, kAppPassword, kAppDatabase, "burst"});
    if (error.find("max_client_conn") != std::string::npos) ++turned_away;
  }
  ASSERT_GT(turned_away, 0) << bouncer.Log();
  ASSERT_TRUE(
      exporter.ScrapeUntil([&](const Metrics& s) { return refused(s) == turned_away; }, 15s, &m))
      << Dump(m) << bouncer.Log();
  std::this_thread::sleep_for(1s);  // several polls: nothing is counted twice
  m = exporter.Scrape();
  EXPECT_EQ(refused(m), turned_away) << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_refused_connections_total", Bouncer({{"reason", "reserved_slots"}})),
            0.0)
      << "known reasons are zero-filled";
  const PromtoolResult promtool = PromtoolCheckMetrics(exporter.ScrapeText());
  EXPECT_TRUE(promtool.ok) << promtool.output;
}

TEST_F(PgbouncerTest, PlanFlagsABudgetAboveTheServersUsableConnections) {
  TestPostgres& pg = Server();
  // Two databases x (30 + 10) = 80 server connections, against 37 usable.
  TestPgbouncer bouncer(pg, SmallPool(30, 10));
  TempDir dir("pgconn-pgb-plan-");
  const std::string path = dir.File("plan.toml");
  WriteFile(path,
            MainConfig(pg, "1s") + PgbouncerToml("bouncer", bouncer.Dsn(), "target = \"main\"\n"));
  const ProcessResult plan = RunExporter({"plan", "--config.file", path});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  for (const std::string& line :
       {"pgbouncer bouncer -> target main: EXCEEDS THE SERVER (short by " +
            std::to_string(80 - kUsable) + ")",
        std::string("server connection budget (pool_size + reserve_pool per pool)  80"),
        "usable on the target                                       " + std::to_string(kUsable)}) {
    EXPECT_NE(plan.out.find(line), std::string::npos) << "missing: " << line << "\n" << plan.out;
  }

  ExporterProcess exporter(ReadFile(path));
  Metrics m;
  ASSERT_TRUE(exporter.ScrapeUntil(
      [](const Metrics& s) {
        return Value(s, "pgconn_pgbouncer_server_connection_budget", Bouncer(Main())) == 80.0 &&
               IsUp(s);
      },
      15s, &m))
      << Dump(m);
  EXPECT_EQ(Value(m, "pgconn_usable_connections", Main()), kUsable);
}

}  // namespace
}  // namespace pgconn::testing
